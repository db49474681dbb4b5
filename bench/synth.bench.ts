/**
 * `npm run bench`: synthesis time and peak memory of construct → model and of each registered
 * adapter for generated environments of 10, 100 and 1,000 pipelines, next to a plain aws-cdk-lib
 * app with the same number of CloudFormation resources measured in the same run, as ratios.
 *
 * Each measurement runs in its own process. Options: `--sizes 10,100` `--repeat 3` (median).
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { targetNames } from '../adapters/registry';

interface Sample { phase: string; size: number; ms: number; maxRssMiB: number; count: number }

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const sizes = opt('sizes', '10,100,1000').split(',').map(Number);
const repeat = Number(opt('repeat', '3'));
const here = path.dirname(new URL(import.meta.url).pathname);

function sample(phase: string, size: number): Sample | { phase: string; error: string } {
  const runs: Sample[] = [];
  for (let i = 0; i < repeat; i++) {
    let out: string;
    try {
      out = execFileSync(process.execPath, ['--max-old-space-size=16384', '--import', 'tsx', path.join(here, 'worker.ts'), phase, String(size)], {
      cwd: path.join(here, '..'),
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
      encoding: 'utf8',
      maxBuffer: 1 << 24,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    } catch (e) {
      const stderr = String((e as { stderr?: string }).stderr ?? e);
      return { phase, error: stderr.split('\n').find((l) => /Error|problem/.test(l))?.slice(0, 160) ?? 'failed' };
    }
    runs.push(JSON.parse(out.trim().split('\n').pop()!));
  }
  runs.sort((a, b) => a.ms - b.ms);
  const median = runs[Math.floor(runs.length / 2)];
  return { ...median, maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)) };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`mlplane synthesis benchmark — ${repeat} run(s) per cell, median time, max peak RSS; node ${process.version}\n`);
console.log(`${'pipelines'.padEnd(10)}${'phase'.padEnd(16)}${pad('time ms', 10)}${pad('peak MiB', 10)}${pad('output', 12)}${pad('time ×', 9)}${pad('mem ×', 8)}`);
for (const size of sizes) {
  const phases = ['model', ...targetNames().map((t) => `adapter:${t}`)];
  const all = phases.map((p) => sample(p, size));
  for (const f of all) if ('error' in f) console.log(`${String(size).padEnd(10)}${f.phase.padEnd(16)}  failed: ${f.error}`);
  const samples = all.filter((s): s is Sample => !('error' in s));
  const aws = samples.find((s) => s.phase === 'adapter:aws');
  // Baseline: as many CloudFormation resources as the aws target emits (or, without it, as many as model objects).
  const baselineCount = aws ? aws.count : size * 7 + Math.ceil(size / 10) * 4 + 2;
  const base = sample('baseline', baselineCount);
  if ('error' in base) {
    console.log(`baseline failed: ${base.error}`);
    continue;
  }
  const baseline = base;
  for (const s of [...samples, baseline]) {
    const unit = s.phase === 'model' ? `${s.count} B` : s.phase === 'baseline' || s.phase === 'adapter:aws' ? `${s.count} res` : `${s.count} B`;
    console.log(`${String(size).padEnd(10)}${s.phase.padEnd(16)}${pad(s.ms, 10)}${pad(s.maxRssMiB, 10)}${pad(unit, 12)}${pad((s.ms / baseline.ms).toFixed(2), 9)}${pad((s.maxRssMiB / baseline.maxRssMiB).toFixed(2), 8)}`);
  }
  console.log('');
}
console.log('time × and mem × are ratios to "baseline": a plain aws-cdk-lib app (SQS queues, ≤450 per stack) with the same number of');
console.log('CloudFormation resources, synthesized in the same run with built-in validation off. Lower is better.');
