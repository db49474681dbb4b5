/**
 * Property diffs between a desired document and a live resource, and the ML-terms summary lines of
 * the changes (traffic shifts, alias moves, thresholds, schedules, schemas).
 */
import type { PropertyChange } from '../../deploy';
import type { Json } from './proto-json';

/** Maps compared as a whole (every key is ours), not key by key from the desired side. */
const EXACT_MAPS = new Set(['labels', 'trafficSplit', 'parameterValues', 'skewThresholds', 'driftThresholds', 'featureAlertConditions']);

/**
 * Changes from `live` to `desired`, looking only at what `desired` sets (the service adds output
 * fields and defaults); maps in `EXACT_MAPS` and lists are compared whole.
 */
export function propertyChanges(desired: Json, live: Json, prefix = ''): PropertyChange[] {
  const out: PropertyChange[] = [];
  for (const [k, want] of Object.entries(desired)) {
    const have = live[k];
    const p = prefix ? `${prefix}.${k}` : k;
    if (isObject(want) && isObject(have) && !EXACT_MAPS.has(k)) {
      out.push(...propertyChanges(want, have, p));
    } else if (!equal(want, have)) {
      out.push({ property: p, before: have, after: want });
    }
  }
  return out;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep equality of JSON values (object key order ignored; numbers compared by value). */
export function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b) && a !== undefined && b !== undefined && a !== null && b !== null;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => equal(a[k], b[k]));
  }
  if (isObject(a) && b === undefined) return Object.keys(a).length === 0;
  if (isObject(b) && a === undefined) return Object.keys(b).length === 0;
  return false;
}

/** Top-level fields of a set of changes (`a.b.c` → `a`). */
export function topFields(changes: readonly PropertyChange[]): string[] {
  return [...new Set(changes.map((c) => c.property.split('.')[0] as string))];
}

const pct = (v: unknown) => `${v === undefined ? 0 : Number(v)}%`;

/** `traffic blue 90% → 80%, green 10% → 20%`. */
export function trafficSummary(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>, names: ReadonlyMap<string, string>): string {
  const ids = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort((a, b) => (names.get(a) ?? a).localeCompare(names.get(b) ?? b));
  const parts = ids.filter((id) => Number(before[id] ?? 0) !== Number(after[id] ?? 0)).map((id) => `${names.get(id) ?? id} ${pct(before[id])} → ${pct(after[id])}`);
  return `traffic ${parts.join(', ')}`;
}

/** Threshold lines of a monitoring job change. */
export function thresholdSummaries(before: Json, after: Json): string[] {
  const collect = (j: Json) => {
    const out = new Map<string, number>();
    for (const c of (j.modelDeploymentMonitoringObjectiveConfigs as Json[] | undefined) ?? []) {
      const o = (c.objectiveConfig as Json | undefined) ?? {};
      for (const [kind, key] of [
        ['predictionDriftDetectionConfig', 'driftThresholds'],
        ['trainingPredictionSkewDetectionConfig', 'skewThresholds'],
      ] as const) {
        const t = ((o[kind] as Json | undefined)?.[key] as Record<string, { value?: number }> | undefined) ?? {};
        for (const [feature, v] of Object.entries(t)) out.set(`${key === 'driftThresholds' ? 'drift' : 'skew'} ${feature}`, Number(v.value ?? 0));
      }
    }
    return out;
  };
  const b = collect(before);
  const a = collect(after);
  const lines: string[] = [];
  for (const k of [...new Set([...b.keys(), ...a.keys()])].sort()) {
    if (b.get(k) !== a.get(k)) lines.push(`threshold ${k} ${b.has(k) ? b.get(k) : '(none)'} → ${a.has(k) ? a.get(k) : '(none)'}`);
  }
  return lines;
}

/** A human form of `3600s`. */
function every(duration: unknown): string {
  const s = Number(String(duration ?? '0').replace(/s$/, ''));
  if (s % 86400 === 0) return `every ${s / 86400}d`;
  if (s % 3600 === 0) return `every ${s / 3600}h`;
  return `every ${s}s`;
}

/** ML-terms lines of a resource's changes. */
export function summarize(type: string, changes: readonly PropertyChange[], before: Json, after: Json): string[] {
  const lines: string[] = [];
  const rest: string[] = [];
  for (const c of changes) {
    if (c.property === 'cron') lines.push(`schedule '${String(c.before ?? '')}' → '${String(c.after)}'`);
    else if (c.property === 'modelDeploymentMonitoringScheduleConfig.monitorInterval') lines.push(`schedule ${every(c.before)} → ${every(c.after)}`);
    else if (c.property.startsWith('modelDeploymentMonitoringObjectiveConfigs')) {
      const t = thresholdSummaries(before, after);
      if (t.length > 0) {
        for (const l of t) if (!lines.includes(l)) lines.push(l);
      } else rest.push('monitoring objectives');
    } else if (c.property === 'schema.fields' || c.property === 'schema') lines.push(...schemaSummary(c.before, c.after));
    else rest.push(c.property);
  }
  if (rest.length > 0) lines.push(`${type}: ${[...new Set(rest)].join(', ')} changed`);
  return lines;
}

interface BqField {
  readonly name: string;
  readonly type: string;
  readonly mode?: string;
  readonly fields?: readonly BqField[];
}

function fieldsOf(v: unknown): BqField[] {
  if (Array.isArray(v)) return v as BqField[];
  if (isObject(v) && Array.isArray(v.fields)) return v.fields as BqField[];
  return [];
}

/** `schema + column region STRING`, `schema - column x` lines. */
export function schemaSummary(before: unknown, after: unknown): string[] {
  const b = new Map(fieldsOf(before).map((f) => [f.name, f]));
  const a = new Map(fieldsOf(after).map((f) => [f.name, f]));
  const out: string[] = [];
  for (const [n, f] of a) if (!b.has(n)) out.push(`schema + column ${n} ${f.type}${f.mode && f.mode !== 'NULLABLE' ? ` ${f.mode}` : ''}`);
  for (const [n] of b) if (!a.has(n)) out.push(`schema - column ${n}`);
  for (const [n, f] of a) {
    const o = b.get(n);
    if (o && (o.type !== f.type || (o.mode ?? 'NULLABLE') !== (f.mode ?? 'NULLABLE'))) out.push(`schema column ${n} ${o.type} ${o.mode ?? 'NULLABLE'} → ${f.type} ${f.mode ?? 'NULLABLE'}`);
  }
  return out.length > 0 ? out : ['schema changed'];
}

/**
 * Why a BigQuery schema change is not additive (BigQuery only adds NULLABLE/REPEATED columns and
 * relaxes REQUIRED → NULLABLE), or undefined when it is.
 */
export function nonAdditive(before: unknown, after: unknown, prefix = ''): string | undefined {
  const next = new Map(fieldsOf(after).map((f) => [f.name.toLowerCase(), f]));
  for (const f of fieldsOf(before)) {
    const n = next.get(f.name.toLowerCase());
    if (!n) return `column '${prefix}${f.name}' would be removed`;
    if (n.type !== f.type) return `column '${prefix}${f.name}' would change type ${f.type} → ${n.type}`;
    const om = f.mode ?? 'NULLABLE';
    const nm = n.mode ?? 'NULLABLE';
    if (om !== nm && !(om === 'REQUIRED' && nm === 'NULLABLE')) return `column '${prefix}${f.name}' would change mode ${om} → ${nm}`;
    if (f.fields) {
      const inner = nonAdditive(f.fields, n.fields ?? [], `${prefix}${f.name}.`);
      if (inner) return inner;
    }
  }
  const old = new Set(fieldsOf(before).map((f) => f.name.toLowerCase()));
  for (const n of fieldsOf(after)) if (!old.has(n.name.toLowerCase()) && n.mode === 'REQUIRED') return `new column '${prefix}${n.name}' is REQUIRED (existing rows have no value)`;
  return undefined;
}
