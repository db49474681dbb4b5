import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decideGate, GATE_PYTHON } from '../../adapters/shared/gate';
import type { PromotionGateModel } from '../../lib/model/types';

const gt = (minDelta = 0): PromotionGateModel => ({ metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta });
const lt: PromotionGateModel = { metric: 'loss', comparison: 'lessThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.01 };
const fixed: PromotionGateModel = { metric: 'auc', comparison: 'greaterThan', against: { kind: 'value', value: 0.8 }, minDelta: 0 };

/** Cases: [gate, metrics, reference, expected outcome]. */
const CASES: Array<[PromotionGateModel | undefined, unknown, number | undefined, 'promote' | 'keep' | 'error']> = [
  [undefined, {}, undefined, 'promote'],
  [gt(), { auc: 0.9 }, 0.8, 'promote'],
  [gt(), { auc: 0.8 }, 0.8, 'keep'],
  [gt(), { auc: 0.7 }, 0.8, 'keep'],
  [gt(0.05), { auc: 0.84 }, 0.8, 'keep'],
  [gt(0.05), { auc: 0.86 }, 0.8, 'promote'],
  [gt(), { auc: 0.5 }, undefined, 'promote'],
  [gt(), { other: 1 }, 0.8, 'error'],
  [gt(), { auc: 'high' }, 0.8, 'error'],
  [gt(), { auc: true }, 0.8, 'error'],
  [gt(), { auc: null }, 0.8, 'error'],
  [gt(), [0.9], 0.8, 'error'],
  [lt, { loss: 0.2 }, 0.3, 'promote'],
  [lt, { loss: 0.295 }, 0.3, 'keep'],
  [fixed, { auc: 0.81 }, undefined, 'promote'],
  [fixed, { auc: 0.79 }, 0.1, 'keep'],
];

describe('promotion gate', () => {
  it('TypeScript decides every case as the contract says', () => {
    expect(CASES.map(([g, m, r]) => decideGate(g, m, r).outcome)).toEqual(CASES.map((c) => c[3]));
  });

  it('the Python every cloud target embeds decides every case the same way', () => {
    const program = `${GATE_PYTHON}\nimport json, sys\ncases = json.load(sys.stdin)\nprint(json.dumps([decide_gate(g, m, r)[0] for g, m, r in cases]))\n`;
    const input = JSON.stringify(CASES.map(([g, m, r]) => [g ?? null, m, r ?? null]));
    const out = execFileSync('python3', ['-c', program], { input, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(CASES.map((c) => c[3]));
  });

  it('names the missing metric and the metrics found', () => {
    expect(decideGate(gt(), { loss: 1, acc: 2 }, 0.8).reason).toBe('metric auc is missing or not a finite number in metrics.json (metrics: acc, loss)');
  });
});
