/**
 * `mlplane run` scheduler overhead: a pipeline of N no-op steps (`true`, caching off, one at a
 * time) run by the local runner, next to N bare spawns of the same command, measured in the same
 * process; prints the overhead per step and the ratio. A second row runs the same pipeline with
 * every step a cache hit.
 *
 * `node --import tsx bench/local-run.bench.ts [--steps 50] [--concurrency 1]`
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planRun, processExecutor, runPipeline } from '../adapters/local';
import type { ContainerStepModel, EnvironmentModel } from '../lib/model/types';
import { recordBenchResults } from './chart';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : def;
};
const steps = opt('steps', 50);
const concurrency = opt('concurrency', 1);

function noop(name: string, caching: boolean): ContainerStepModel {
  return {
    kind: 'container', name, path: `Bench/P/${name}`, dependsOn: [], orderOnly: [], conditions: [], retries: 0, caching,
    image: 'example.com/noop:1', command: ['true'], args: [], env: {}, inputs: [], outputs: [], resources: { cpu: 1, memoryGiB: 1 },
  };
}

function environment(caching: boolean): EnvironmentModel {
  return {
    schemaVersion: '1.1.0',
    environment: { name: 'Bench', path: 'Bench', stage: 'dev', region: 'any', tags: {}, network: { mode: 'public' }, encryption: { kind: 'platform' } },
    resources: [{ kind: 'pipeline', path: 'Bench/P', id: 'P', parameters: [], steps: Array.from({ length: steps }, (_, i) => noop(`S${i}`, caching)), schedules: [] }],
    grants: [],
  };
}

async function runMs(dir: string, caching: boolean): Promise<number> {
  const env = environment(caching);
  const { plan } = planRun({ environment: env, target: 'Bench/P', exists: () => true });
  const started = performance.now();
  const record = await runPipeline({ environment: env, plan: plan!, appDir: dir, executor: processExecutor(), concurrency });
  if (record.status !== 'succeeded') throw new Error(`bench run ${record.status}`);
  return performance.now() - started;
}

async function spawnsMs(): Promise<number> {
  const started = performance.now();
  for (let done = 0; done < steps; done += concurrency) {
    const batch = Math.min(concurrency, steps - done);
    await Promise.all(Array.from({ length: batch }, () => new Promise<void>((resolve, reject) => {
      spawn('true', [], { stdio: 'ignore' }).on('exit', () => resolve()).on('error', reject);
    })));
  }
  return performance.now() - started;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-bench-run-'));
try {
  await spawnsMs(); // warm up
  const bare = await spawnsMs();
  const run = await runMs(dir, false);
  await runMs(dir, true); // fills the cache
  const cached = await runMs(dir, true);
  const per = (ms: number) => (ms / steps).toFixed(2);
  console.log(`\nmlplane run benchmark — ${steps} no-op steps (\`true\`), concurrency ${concurrency}; node ${process.version}`);
  console.log(`bare spawns:          ${bare.toFixed(0)} ms (${per(bare)} ms per step)`);
  console.log(`mlplane run:          ${run.toFixed(0)} ms (${per(run)} ms per step; overhead ${((run - bare) / steps).toFixed(2)} ms per step; ratio ${(run / bare).toFixed(2)}x)`);
  console.log(`mlplane run, cached:  ${cached.toFixed(0)} ms (${per(cached)} ms per step, no process started)`);
  const recorded = recordBenchResults(
    'local-run',
    [
      { label: `mlplane run, ${steps} steps`, value: run, baseline: bare, unit: 'ms' },
      { label: `mlplane run, ${steps} steps, all cached`, value: cached, baseline: bare, unit: 'ms' },
    ],
    { title: `mlplane run vs ${steps} bare spawns of \`true\` (concurrency ${concurrency})` },
  );
  console.log(`results: ${path.relative(process.cwd(), recorded.json)}, chart: ${path.relative(process.cwd(), recorded.svg)}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
