import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchChartSvg, recordBenchResults, type BenchRow } from '../../bench/chart';
import { svgSections } from '../support/svg-bars';

const ROWS: readonly BenchRow[] = [
  { label: 'aws, 100 pipelines', value: 14.34, baseline: 11.63, unit: 's', group: 'CPU' },
  { label: 'gcp, 100 pipelines', value: 2.01, baseline: 11.63, unit: 's', group: 'CPU' },
  { label: 'aws, 100 pipelines', value: 346, baseline: 290, unit: 'MiB', group: 'peak memory' },
];

describe('benchChartSvg', () => {
  it('draws one bar per row at its ratio to the baseline, labelled with the row, on one scale, with the 1× line', () => {
    const svg = benchChartSvg('synth', ROWS);
    const sections = svgSections(svg);
    expect(sections.map((s) => s.title)).toEqual(['CPU', 'peak memory']);
    const bars = sections.flatMap((s) => s.bars);
    expect(bars.map((b) => b.label)).toEqual(ROWS.map((r) => r.label));
    // 14.34 / 11.63 = 1.2330…, 2.01 / 11.63 = 0.1728…, 346 / 290 = 1.1931…
    expect(bars.map((b) => b.text)).toEqual(['1.23×  (14.3 s vs 11.6 s)', '0.17×  (2.01 s vs 11.6 s)', '1.19×  (346 MiB vs 290 MiB)']);
    for (const [i, r] of ROWS.entries()) expect(bars[i]!.value).toBeCloseTo(r.value / r.baseline, 12);
    const scale = Number(/data-scale="([^"]+)"/.exec(svg)?.[1]);
    for (const b of bars) {
      expect(Math.abs(b.width - b.value * scale)).toBeLessThanOrEqual(0.006);
      expect(b.x).toBe(bars[0]!.x);
    }
    // The 1× reference line sits where a bar of ratio 1 would end.
    const ref = /<g class="reference" data-value="1"><line x1="([\d.]+)"/.exec(svg);
    expect(Number(ref?.[1])).toBeCloseTo(bars[0]!.x + scale, 1);
    expect(svg).toContain('baseline = 1×');
  });

  it('is deterministic', () => {
    expect(benchChartSvg('synth', [...ROWS])).toBe(benchChartSvg('synth', ROWS.map((r) => ({ ...r }))));
  });

  it('fails if a baseline is zero or missing: no ratio exists', () => {
    expect(() => benchChartSvg('x', [{ label: 'run', value: 3, baseline: 0, unit: 'ms' }])).toThrow("bench row 'run': baseline must be a positive number and value finite, got value 3, baseline 0");
  });
});

describe('recordBenchResults', () => {
  it('writes the rows with their ratios as JSON and the chart as SVG', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-bench-out-'));
    const { json, svg } = recordBenchResults('synth', ROWS, { dir, title: 'synth vs baseline' });
    expect([json, svg].map((f) => path.basename(f))).toEqual(['synth.json', 'synth.svg']);
    const data = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect(data).toMatchObject({ name: 'synth', title: 'synth vs baseline', node: process.version });
    expect(data.rows.map((r: { ratio: number }) => r.ratio)).toEqual(ROWS.map((r) => r.value / r.baseline));
    expect(svgSections(fs.readFileSync(svg, 'utf8')).flatMap((s) => s.bars).map((b) => b.label)).toEqual(ROWS.map((r) => r.label));
    expect(() => recordBenchResults('../x', ROWS, { dir })).toThrow("bench name '../x' must be a file name");
  });
});
