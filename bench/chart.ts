/**
 * Bench results as data and as a picture: `benchChartSvg` turns result rows into an SVG bar chart
 * of each row's ratio to the baseline measured in the same run (a dashed line marks 1×), and
 * `recordBenchResults` writes the rows (`<name>.json`) and the chart (`<name>.svg`) under
 * `bench/out/` (git-ignored), so a run leaves something to look at besides the console.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { barChartSvg, type BarSection } from '../bin/commands/cost-chart';

/** One measured figure and the baseline it is compared with, both from the same run and in the same unit. */
export interface BenchRow {
  /** What was measured, e.g. `aws, 100 pipelines (CPU)`. */
  readonly label: string;
  readonly value: number;
  /** The baseline's figure; the chart draws `value / baseline`. */
  readonly baseline: number;
  /** Unit of `value` and `baseline`, e.g. `ms`, `s`, `MiB`. */
  readonly unit: string;
  /** Rows with the same group are drawn under one heading, in the order groups first appear. @default - one group */
  readonly group?: string;
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));

/**
 * The rows as a bar chart of ratios to the baseline: one bar per row, labelled with the row and
 * printed as `1.23×  (14.3 s vs 11.6 s)`, on one scale with a dashed line at 1×. Pure and
 * deterministic: the same rows give the same bytes.
 *
 * @throws Error if a row's baseline is not a positive finite number (no ratio exists).
 */
export function benchChartSvg(title: string, rows: readonly BenchRow[], subtitle: readonly string[] = []): string {
  for (const r of rows) {
    if (!(Number.isFinite(r.baseline) && r.baseline > 0) || !Number.isFinite(r.value)) {
      throw new Error(`bench row '${r.label}': baseline must be a positive number and value finite, got value ${r.value}, baseline ${r.baseline}; measure the baseline in the same run`);
    }
  }
  const groups = [...new Set(rows.map((r) => r.group ?? ''))];
  const sections: BarSection[] = groups.map((g) => ({
    title: g === '' ? 'ratio to the baseline (lower is faster / smaller)' : g,
    bars: rows
      .filter((r) => (r.group ?? '') === g)
      .map((r) => ({ label: r.label, value: r.value / r.baseline, text: `${(r.value / r.baseline).toFixed(2)}×  (${fmt(r.value)} ${r.unit} vs ${fmt(r.baseline)} ${r.unit})` })),
  }));
  return barChartSvg({ title, subtitle, sections, tick: (v) => `${Number(v.toPrecision(6))}×`, reference: { value: 1, label: 'baseline = 1×' } });
}

/** Where `recordBenchResults` writes unless told otherwise: `bench/out/` beside this file. */
export const BENCH_OUT = path.join(import.meta.dirname, 'out');

/**
 * Write a bench's rows to `<dir>/<name>.json` and their chart to `<dir>/<name>.svg`; returns both
 * paths. The JSON also records the Node version and the time of the run (the SVG has neither, so
 * it stays a pure function of the rows).
 */
export function recordBenchResults(name: string, rows: readonly BenchRow[], options: { readonly title?: string; readonly dir?: string } = {}): { readonly json: string; readonly svg: string } {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`bench name '${name}' must be a file name (letters, digits, '.', '-', '_')`);
  const dir = options.dir ?? BENCH_OUT;
  fs.mkdirSync(dir, { recursive: true });
  const title = options.title ?? name;
  const json = path.join(dir, `${name}.json`);
  const svg = path.join(dir, `${name}.svg`);
  fs.writeFileSync(svg, benchChartSvg(title, rows, [`node ${process.version}; each bar is the measured figure ÷ the baseline measured in the same run`]));
  fs.writeFileSync(json, `${JSON.stringify({ name, title, node: process.version, recordedAt: new Date().toISOString(), rows: rows.map((r) => ({ ...r, ratio: r.value / r.baseline })) }, null, 2)}\n`);
  return { json, svg };
}
