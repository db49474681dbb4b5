/**
 * Schedules on GCP: Vertex schedules take a unix cron with a `TZ=` prefix; fixed rates become the
 * equivalent cron when one exists; monitoring jobs take an interval.
 */
import type { ScheduleModel } from '../../lib/model/types';

/** A cron expression, or why there is none. */
export type CronResult = { readonly cron: string } | { readonly problem: string };

/** The cron (without `TZ=`) that fires every `seconds`, when one exists. */
export function rateToCron(seconds: number): CronResult {
  const minutes = seconds / 60;
  const hours = seconds / 3600;
  const days = seconds / 86400;
  if (Number.isInteger(minutes) && minutes >= 1 && minutes < 60 && 60 % minutes === 0) return { cron: minutes === 1 ? '* * * * *' : `*/${minutes} * * * *` };
  if (Number.isInteger(hours) && hours >= 1 && hours < 24 && 24 % hours === 0) return { cron: hours === 1 ? '0 * * * *' : `0 */${hours} * * *` };
  if (days === 1) return { cron: '0 0 * * *' };
  if (days === 7) return { cron: '0 0 * * 0' };
  return {
    problem: `a fixed rate of ${seconds}s has no cron equivalent (Vertex schedules are cron-based); use a rate that divides an hour or a day, 1 day or 7 days, or use Schedule.cron`,
  };
}

/** `TZ=<zone> <cron>` for a Vertex Schedule. */
export function vertexCron(schedule: ScheduleModel): CronResult {
  if (schedule.kind === 'cron') return { cron: `TZ=${schedule.timeZone} ${schedule.expression}` };
  const r = rateToCron(schedule.seconds);
  return 'cron' in r ? { cron: `TZ=UTC ${r.cron}` } : r;
}

/** The interval in seconds of a schedule that fires at a fixed interval (for monitoring jobs). */
export function scheduleInterval(schedule: ScheduleModel): { readonly seconds: number } | { readonly problem: string } {
  if (schedule.kind === 'rate') return { seconds: schedule.seconds };
  const f = schedule.expression.trim().split(/\s+/);
  const fixed = (s: string | undefined) => s !== undefined && /^\d+$/.test(s);
  if (f.length === 5 && fixed(f[0])) {
    if (f[1] === '*' && f[2] === '*' && f[3] === '*' && f[4] === '*') return { seconds: 3600 };
    const every = /^\*\/(\d+)$/.exec(f[1] ?? '');
    if (every && f[2] === '*' && f[3] === '*' && f[4] === '*') return { seconds: Number(every[1]) * 3600 };
    if (fixed(f[1]) && f[2] === '*' && f[3] === '*' && f[4] === '*') return { seconds: 86400 };
    if (fixed(f[1]) && f[2] === '*' && f[3] === '*' && /^([0-7]|MON|TUE|WED|THU|FRI|SAT|SUN)$/i.test(f[4] ?? '')) return { seconds: 7 * 86400 };
  }
  return {
    problem: `cron '${schedule.expression}' does not fire at a fixed interval; Vertex model monitoring runs every N hours; use Schedule.rate or a cron like '0 */6 * * *'`,
  };
}
