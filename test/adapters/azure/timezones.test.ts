import { describe, expect, it } from 'vitest';
import { ncrontab } from '../../../adapters/azure/common';
import { knownIanaZones, windowsTimeZone } from '../../../adapters/azure/timezones';
import type { EnvironmentModel } from '../../../lib/model/types';
import { examples } from './models';
import { churnModel, fraudModel } from './fixtures';

/** UTC offset (minutes) of an IANA zone at an instant, from the platform's tz database. */
function offset(zone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(at);
  const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/** Standard (winter) offsets of the Windows zones, in minutes, for a cross-check. */
const WINDOWS_STANDARD_OFFSET: Readonly<Record<string, number>> = {
  'UTC': 0, 'GMT Standard Time': 0, 'W. Europe Standard Time': 60, 'Romance Standard Time': 60, 'Central European Standard Time': 60,
  'Central Europe Standard Time': 60, 'GTB Standard Time': 120, 'FLE Standard Time': 120, 'Eastern Standard Time': -300,
  'Central Standard Time': -360, 'Mountain Standard Time': -420, 'US Mountain Standard Time': -420, 'Pacific Standard Time': -480,
  'Tokyo Standard Time': 540, 'China Standard Time': 480, 'Singapore Standard Time': 480, 'India Standard Time': 330,
  'AUS Eastern Standard Time': 600, 'New Zealand Standard Time': 720, 'E. South America Standard Time': -180, 'Russian Standard Time': 180,
};

function zonesOf(models: EnvironmentModel[]): string[] {
  const zones = new Set<string>();
  for (const m of models) {
    for (const r of m.resources) {
      const schedules = r.kind === 'pipeline' || r.kind === 'batchInference' ? r.schedules : r.kind === 'driftMonitor' ? [r.schedule] : [];
      for (const s of schedules) if (s.kind === 'cron') zones.add(s.timeZone);
    }
  }
  return [...zones].sort();
}

describe('IANA → Windows time zones', () => {
  it('maps the zones of the examples and the fixtures', () => {
    const zones = zonesOf([...examples(), fraudModel(), churnModel()]);
    expect(zones.length).toBeGreaterThan(0);
    for (const z of zones) expect(windowsTimeZone(z), z).toBeDefined();
    expect(windowsTimeZone('Europe/Amsterdam')).toBe('W. Europe Standard Time');
    expect(windowsTimeZone('America/New_York')).toBe('Eastern Standard Time');
  });

  it('only lists zones the platform tz database knows', () => {
    for (const z of knownIanaZones()) expect(() => new Intl.DateTimeFormat('en-US', { timeZone: z }), z).not.toThrow();
  });

  it('maps each zone to a Windows zone with the same standard offset', () => {
    const winter = new Date(Date.UTC(2026, 0, 15, 12));
    const southernWinter = new Date(Date.UTC(2026, 6, 15, 12));
    for (const z of knownIanaZones()) {
      const win = windowsTimeZone(z) as string;
      const expected = WINDOWS_STANDARD_OFFSET[win];
      if (expected === undefined) continue;
      const standard = Math.min(offset(z, winter), offset(z, southernWinter));
      expect(standard, `${z} → ${win}`).toBe(expected);
    }
  });

  it('returns nothing for an unknown zone', () => {
    expect(windowsTimeZone('Mars/Olympus_Mons')).toBeUndefined();
    expect(windowsTimeZone('toString')).toBeUndefined();
  });
});

describe('cron expressions', () => {
  it('writes weekday and month names as numbers and Sunday as 0, as NCronTab reads them', () => {
    expect(ncrontab(['0', '9', '*', '*', 'MON'])).toBe('0 9 * * 1');
    expect(ncrontab(['30', '3', '*', 'jan,Jul', 'mon-fri'])).toBe('30 3 * 1,7 1-5');
    expect(ncrontab(['0', '0', '*', '*', '7'])).toBe('0 0 * * 0');
    expect(ncrontab(['0', '0', '*', '*', '5-7'])).toBe('0 0 * * 5-6,0');
    expect(ncrontab(['0', '0', '*', '*', 'FRI-SUN'])).toBe('0 0 * * 5-6,0');
    expect(ncrontab(['*/15', '*', '*', '*', '*'])).toBe('*/15 * * * *');
  });
});
