import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COST_TARGETS, estimateCost } from '../../adapters/shared/cost';
import { loadSnapshot } from '../../bin/commands/cost';
import { barChartSvg, costChartSvg } from '../../bin/commands/cost-chart';
import { exampleModels } from '../support/examples';
import { cli } from '../support/cli';
import { svgBars, svgSections } from '../support/svg-bars';

const money = (n: number) => `$${n.toFixed(2)}`;
const range = (lo: number, hi: number) => (Math.abs(hi - lo) < 0.005 ? money(lo) : `${money(lo)}–${money(hi)}`);

describe('mlplane cost --format svg', () => {
  it('draws, per environment, the priced total of each target and each target per component, with the cost model’s figures and proportional bars', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-cost-svg-'));
    const r = await cli('cost', '--format', 'svg', '--out', out, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).files.map((f: string) => path.basename(f)).sort()).toEqual(['Churn.cost.svg', 'Fraud.cost.svg']);
    const snapshot = loadSnapshot();
    for (const model of exampleModels()) {
      const svg = fs.readFileSync(path.join(out, `${model.environment.name}.cost.svg`), 'utf8');
      expect(svg).toContain(`${model.environment.name} (${model.environment.stage}): estimated monthly cost`);
      expect(svg).toContain(`snapshot of ${snapshot.date}`);
      const sections = svgSections(svg);
      const estimates = COST_TARGETS.map((t) => estimateCost(model, t, snapshot));
      expect(sections.map((s) => s.title)).toEqual(['Priced total per target', ...COST_TARGETS.map((t) => `${t}: per component`)]);
      // Totals: one bar per target, value = low, range to high, figure = the table's amount.
      const totals = sections[0]!.bars;
      expect(totals.map((b) => b.label)).toEqual(estimates.map((e) => `${e.target} [${e.region}]`));
      for (const [i, e] of estimates.entries()) {
        const bar = totals[i]!;
        expect(bar.value).toBeCloseTo(e.total.low, 9);
        expect(bar.high ?? bar.value).toBeCloseTo(e.total.high, 9);
        expect(bar.text).toBe(`${range(e.total.low, e.total.high)}${e.unpriced.length > 0 ? `  (+${e.unpriced.length} unpriced)` : ''}`);
      }
      // Components: the estimate's lines summed per component, every line counted once.
      for (const [i, e] of estimates.entries()) {
        const bars = sections[i + 1]!.bars;
        const components = [...new Set(e.lines.map((l) => l.component))];
        expect(bars.map((b) => b.label)).toEqual(components.map((c) => `${c} (${e.lines.filter((l) => l.component === c).length})`));
        for (const [j, c] of components.entries()) {
          const lines = e.lines.filter((l) => l.component === c);
          const [lo, hi] = [lines.reduce((s, l) => s + l.low, 0), lines.reduce((s, l) => s + l.high, 0)];
          expect(bars[j]!.value).toBeCloseTo(lo, 9);
          expect(bars[j]!.high ?? bars[j]!.value).toBeCloseTo(hi, 9);
          expect(bars[j]!.text).toBe(range(lo, hi));
        }
        expect(bars.reduce((s, b) => s + b.value, 0)).toBeCloseTo(e.total.low, 9);
      }
      // Geometry: every bar on one scale (to the 0.01 px the coordinates are written with).
      const scale = Number(/data-scale="([^"]+)"/.exec(svg)?.[1]);
      expect(scale).toBeGreaterThan(0);
      const all = sections.flatMap((s) => s.bars);
      const x0 = all[0]!.x;
      for (const b of all) {
        expect(b.x).toBe(x0);
        expect(Math.abs(b.width - b.value * scale)).toBeLessThanOrEqual(0.006);
        if (b.high !== undefined) {
          expect(b.rangeX).toBeCloseTo(x0 + b.width, 1);
          expect(Math.abs((b.rangeWidth ?? 0) - (b.high - b.value) * scale)).toBeLessThanOrEqual(0.006);
        } else expect(b.rangeWidth).toBeUndefined();
      }
      // The longest bar (to its high end) fills most of the plot: the scale is not degenerate.
      const longest = Math.max(...all.map((b) => b.width + (b.rangeWidth ?? 0)));
      expect(longest).toBeGreaterThan(300);
    }
  });

  it('is deterministic, and says "nothing priced" for a target whose lines are all unpriced', () => {
    const model = exampleModels().find((m) => m.environment.name === 'Churn')!;
    const snapshot = { ...loadSnapshot(), targets: { ...loadSnapshot().targets, gcp: { region: 'test', prices: {} } } };
    const estimates = COST_TARGETS.map((t) => estimateCost(model, t, snapshot));
    const svg = costChartSvg('Churn', 'staging', estimates, snapshot);
    expect(costChartSvg('Churn', 'staging', COST_TARGETS.map((t) => estimateCost(model, t, snapshot)), snapshot)).toBe(svg);
    const gcp = svgSections(svg).find((s) => s.title === 'gcp: per component')!;
    expect(gcp.bars).toEqual([]);
    expect(svg).toContain(`nothing priced (${estimates[1]!.unpriced.length} item(s) unpriced: mlplane cost lists them)`);
  });

  it('escapes labels, and keeps a chart of zeros drawable', () => {
    const svg = barChartSvg({ title: 'a < b & "c"', sections: [{ title: 's', bars: [{ label: '<x>', value: 0, text: '0' }] }], tick: String });
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    const [bar] = svgBars(svg);
    expect(bar).toMatchObject({ label: '<x>', value: 0, width: 0 });
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('fails if --format names an unknown format: lists table, svg and png', async () => {
    const bad = await cli('cost', '--format', 'pdf');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--format 'pdf' is not allowed with cost; use table, svg, png");
  });
});
