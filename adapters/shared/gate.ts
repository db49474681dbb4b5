/**
 * The promotion gate decision of the step contract (docs/step-contract.md, "Register steps and
 * promotion gates"), once in TypeScript (for `mlplane run`) and once as Python source that every
 * cloud target embeds in its register step. `test/contract/gate.test.ts` runs both on the same
 * table of cases and fails if they ever disagree.
 */
import type { PromotionGateModel } from '../../lib/model/types';

/** The outcome of a gate. */
export type GateDecision =
  | { readonly outcome: 'promote'; readonly reason: string }
  | { readonly outcome: 'keep'; readonly reason: string }
  | { readonly outcome: 'error'; readonly reason: string };

/**
 * Decide whether a candidate is promoted.
 *
 * @param gate the register step's gate; absent = promote unconditionally
 * @param metrics the candidate's `metrics.json` (already parsed; any JSON value)
 * @param reference the metric recorded on the alias holder; undefined when no version holds the
 *   alias or it has no value for the metric (ignored for a fixed-value gate)
 */
export function decideGate(gate: PromotionGateModel | undefined, metrics: unknown, reference: number | undefined): GateDecision {
  if (!gate) return { outcome: 'promote', reason: 'no gate' };
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) {
    return { outcome: 'error', reason: 'metrics.json is not a JSON object of metric name to number' };
  }
  const values = metrics as Record<string, unknown>;
  const candidate = values[gate.metric];
  if (typeof candidate !== 'number' || !Number.isFinite(candidate)) {
    const found = Object.keys(values).sort().join(', ') || 'none';
    return { outcome: 'error', reason: `metric ${gate.metric} is missing or not a finite number in metrics.json (metrics: ${found})` };
  }
  const ref = gate.against.kind === 'value' ? gate.against.value : reference;
  if (ref === undefined || !Number.isFinite(ref)) return { outcome: 'promote', reason: `${gate.metric}=${fmt(candidate)}; no reference value` };
  const wins = gate.comparison === 'greaterThan' ? candidate > ref + gate.minDelta : candidate < ref - gate.minDelta;
  const op = gate.comparison === 'greaterThan' ? '>' : '<';
  const rel = gate.comparison === 'greaterThan' ? `${fmt(ref)} + ${fmt(gate.minDelta)}` : `${fmt(ref)} - ${fmt(gate.minDelta)}`;
  return wins
    ? { outcome: 'promote', reason: `${gate.metric}=${fmt(candidate)} ${op} ${rel}` }
    : { outcome: 'keep', reason: `${gate.metric}=${fmt(candidate)} is not ${op} ${rel}` };
}

function fmt(n: number): string {
  return String(n);
}

/**
 * The same decision as Python 3 source (standard library only): `decide_gate(gate, metrics,
 * reference)` returns `('promote' | 'keep' | 'error', reason)`. `gate` is the model's
 * `PromotionGateModel` as parsed JSON (or None).
 */
export const GATE_PYTHON = String.raw`
def decide_gate(gate, metrics, reference):
    import math
    def fmt(n):
        return repr(float(n)) if not float(n).is_integer() else str(int(n)) if abs(n) < 1e21 else repr(float(n))
    if not gate:
        return ('promote', 'no gate')
    if not isinstance(metrics, dict):
        return ('error', 'metrics.json is not a JSON object of metric name to number')
    name = gate['metric']
    candidate = metrics.get(name)
    if isinstance(candidate, bool) or not isinstance(candidate, (int, float)) or not math.isfinite(candidate):
        found = ', '.join(sorted(metrics.keys())) or 'none'
        return ('error', 'metric %s is missing or not a finite number in metrics.json (metrics: %s)' % (name, found))
    against = gate['against']
    ref = against['value'] if against['kind'] == 'value' else reference
    if ref is None or not math.isfinite(float(ref)):
        return ('promote', '%s=%s; no reference value' % (name, fmt(candidate)))
    delta = gate['minDelta']
    if gate['comparison'] == 'greaterThan':
        wins, op, rel = candidate > ref + delta, '>', '%s + %s' % (fmt(ref), fmt(delta))
    else:
        wins, op, rel = candidate < ref - delta, '<', '%s - %s' % (fmt(ref), fmt(delta))
    if wins:
        return ('promote', '%s=%s %s %s' % (name, fmt(candidate), op, rel))
    return ('keep', '%s=%s is not %s %s' % (name, fmt(candidate), op, rel))
`.trim();
