import type { Duration } from './core/duration';
import { show } from './core/errors';
import type { ScheduleModel } from './model/types';
import { unknownPropsProblems, type KnownKeys } from './core/props';

/** Fields of a cron schedule; a field not given means "every". */
export interface CronOptions {
  /**
   * Minute (0-59).
   *
   * @default - '0' when any coarser field is given, else '*'
   */
  readonly minute?: string | number;
  /**
   * Hour (0-23).
   *
   * @default '*'
   */
  readonly hour?: string | number;
  /**
   * Day of month (1-31).
   *
   * @default '*'
   */
  readonly day?: string | number;
  /**
   * Month (1-12 or JAN-DEC).
   *
   * @default '*'
   */
  readonly month?: string | number;
  /**
   * Day of week (0-6, 0 = Sunday, or SUN-SAT).
   *
   * @default '*'
   */
  readonly weekDay?: string | number;
  /**
   * IANA time zone the fields are read in.
   *
   * @default 'UTC'
   */
  readonly timeZone?: string;
}

/** Options of `Schedule.expression`. */
export interface ExpressionOptions {
  /**
   * IANA time zone the expression is read in.
   *
   * @default 'UTC'
   */
  readonly timeZone?: string;
}

/** @internal The keys of `ExpressionOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const EXPRESSION_OPTIONS_KEYS: KnownKeys<ExpressionOptions> = { timeZone: true };

/** @internal The keys of `CronOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const CRON_OPTIONS_KEYS: KnownKeys<CronOptions> = { minute: true, hour: true, day: true, month: true, weekDay: true, timeZone: true };

/**
 * When a pipeline, batch job or monitor runs: a cron in a time zone, or a fixed rate.
 *
 * @example Schedule.cron({ hour: 2, minute: 0, timeZone: 'Europe/Amsterdam' })
 * @example Schedule.rate(Duration.hours(6))
 */
export class Schedule {
  /** A cron schedule from its fields. */
  public static cron(options: CronOptions): Schedule {
    const coarser = [options.hour, options.day, options.month, options.weekDay].some((v) => v !== undefined);
    const f = (v: string | number | undefined, d = '*') => (v === undefined ? d : String(v));
    const expression = [f(options.minute, coarser ? '0' : '*'), f(options.hour), f(options.day), f(options.month), f(options.weekDay)].join(' ');
    return new Schedule({ kind: 'cron', expression, timeZone: options.timeZone ?? 'UTC' }, undefined, unknownPropsProblems('CronOptions', options, CRON_OPTIONS_KEYS));
  }

  /** A cron schedule from a five-field expression (`minute hour day month weekday`). */
  public static expression(expression: string, options: ExpressionOptions = {}): Schedule {
    const problems = unknownPropsProblems('ExpressionOptions', options, EXPRESSION_OPTIONS_KEYS);
    return new Schedule({ kind: 'cron', expression: expression.trim().replace(/\s+/g, ' '), timeZone: options.timeZone ?? 'UTC' }, undefined, problems);
  }

  /** Every `interval` (whole minutes, at least 1 minute). */
  public static rate(interval: Duration): Schedule {
    return new Schedule({ kind: 'rate', seconds: interval.toSeconds() }, interval.toString());
  }

  private constructor(
    private readonly model: ScheduleModel,
    private readonly text?: string,
    private readonly optionProblems: readonly string[] = [],
  ) {}

  /** @internal Problems with this schedule (message prefixes name it). */
  public _problems(): string[] {
    const m = this.model;
    if (m.kind === 'rate') {
      return m.seconds >= 60 && m.seconds % 60 === 0
        ? []
        : [`schedule rate ${this.text} must be a whole number of minutes, at least 1 minute; use e.g. Duration.hours(6)`];
    }
    return [...this.optionProblems, ...cronProblems(m.expression), ...timeZoneProblems(m.timeZone)];
  }

  /** @internal */
  public _render(): ScheduleModel {
    return this.model;
  }

  public toString(): string {
    return this.model.kind === 'rate' ? `every ${this.text}` : `cron(${this.model.expression}) ${this.model.timeZone}`;
  }
}

const CRON_FIELDS: ReadonlyArray<{ name: string; min: number; max: number; names?: readonly string[] }> = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

/** Problems with a five-field cron expression, each naming the field, the value and what is allowed. */
export function cronProblems(expression: string): string[] {
  const parts = expression.split(' ').filter((p) => p.length > 0);
  if (parts.length !== 5) {
    return [`cron ${show(expression)} has ${parts.length} field${parts.length === 1 ? '' : 's'}; use five: minute hour day-of-month month day-of-week, e.g. '0 2 * * *'`];
  }
  const problems: string[] = [];
  parts.forEach((part, i) => {
    const spec = CRON_FIELDS[i];
    for (const item of part.split(',')) {
      if (!cronItemValid(item, spec)) {
        const names = spec.names ? ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}` : '';
        problems.push(`cron ${show(expression)}: ${spec.name} ${show(item)} is not valid; use *, a number ${spec.min}-${spec.max}${names}, a range a-b, a list a,b or a step */n`);
      }
    }
  });
  if (parts[2] !== '*' && parts[4] !== '*') {
    problems.push(`cron ${show(expression)} restricts both day of month and day of week, which targets interpret differently (OR vs AND); restrict only one of them`);
  }
  return problems;
}

function cronItemValid(item: string, spec: (typeof CRON_FIELDS)[number]): boolean {
  const m = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
  if (!m) return false;
  const [, range, step] = m;
  if (step !== undefined && (Number(step) < 1 || Number(step) > spec.max)) return false;
  if (range === '*') return true;
  const bounds = range.split('-').map((v) => cronValue(v, spec));
  if (bounds.some((b) => b === undefined)) return false;
  if (bounds.length === 2 && (bounds[0] as number) > (bounds[1] as number)) return false;
  if (step !== undefined && bounds.length === 1) return false;
  return true;
}

function cronValue(v: string, spec: (typeof CRON_FIELDS)[number]): number | undefined {
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    return n >= spec.min && n <= spec.max ? n : undefined;
  }
  const idx = spec.names?.indexOf(v.toUpperCase()) ?? -1;
  return idx >= 0 ? idx + spec.min : undefined;
}

/** Problems with a time zone name: it must be a canonical-form IANA name the runtime knows. */
export function timeZoneProblems(timeZone: string): string[] {
  if (timeZone !== 'UTC' && (!knownTimeZone(timeZone) || !/^[A-Za-z]+(?:\/[A-Za-z0-9_+-]+){1,2}$/.test(timeZone))) {
    return [`time zone ${show(timeZone)} is not an IANA time zone name; use 'UTC' or an Area/Location name such as 'Europe/Amsterdam' or 'America/New_York'`];
  }
  return [];
}

/**
 * Whether the runtime knows `timeZone`, asked once per name. The runtime's list of canonical zone
 * names answers most names (~1.5 ms once per process); a name not on it (a link such as
 * `US/Pacific`, or a current name the list spells the old way, `Asia/Kolkata`) is tried with an
 * `Intl.DateTimeFormat`, which accepts every zone the runtime knows but costs ~20 ms of CPU the
 * first time in a process (it loads the locale's formatting data; 2–3 % of an azure+gcp synth of
 * 100 pipelines, bench/README.md).
 */
function knownTimeZone(timeZone: string): boolean {
  let known = KNOWN_TIME_ZONES.get(timeZone);
  if (known === undefined) {
    CANONICAL_TIME_ZONES ??= new Set(Intl.supportedValuesOf('timeZone'));
    known = CANONICAL_TIME_ZONES.has(timeZone) || acceptedTimeZone(timeZone);
    KNOWN_TIME_ZONES.set(timeZone, known);
  }
  return known;
}

function acceptedTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

let CANONICAL_TIME_ZONES: Set<string> | undefined;
const KNOWN_TIME_ZONES = new Map<string, boolean>();
