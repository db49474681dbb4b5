/**
 * `mlplane --help` start-up, as a ratio to `node -e 0` measured in the same run (issue 16: ≤ 0.3 s
 * on a quiet machine). Runs are interleaved, so machine load affects both sides alike; the ratio
 * of the medians is printed. The compiled CLI (dist/, built by `npm ci`) is what users run.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { recordBenchResults } from './chart';

const ROOT = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.MLPLANE_BENCH_RUNS ?? 15);

function time(args: readonly string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const compiled = fs.existsSync(path.join(ROOT, 'dist/bin/mlplane.js'));
const base: number[] = [];
const help: number[] = [];
for (let i = 0; i < RUNS; i++) {
  base.push(time(['-e', '0']));
  help.push(time(['bin/mlplane-cli.mjs', '--help']));
}
const [b, h] = [median(base), median(help)];
console.log(`\nCLI start-up (${RUNS} interleaved runs, medians; ${compiled ? 'compiled dist/' : 'NOT BUILT: tsx from source — run npm run build'})`);
console.log(`  node -e 0              ${b.toFixed(0).padStart(6)} ms`);
console.log(`  mlplane --help         ${h.toFixed(0).padStart(6)} ms   ratio ${(h / b).toFixed(2)}×   (above node: ${(h - b).toFixed(0)} ms)`);
const recorded = recordBenchResults('cli', [{ label: 'mlplane --help vs node -e 0', value: h, baseline: b, unit: 'ms' }], { title: `CLI start-up (${RUNS} interleaved runs, medians${compiled ? '' : '; not built: tsx from source'})` });
console.log(`  results: ${path.relative(process.cwd(), recorded.json)}, chart: ${path.relative(process.cwd(), recorded.svg)}`);
