/**
 * GCP deploy benchmark: deploy a generated environment of about 200 resources against the
 * simulator with a fixed latency per call, and print the wall time next to (a) the lower bound
 * (the critical path of the dependency graph, or the total work over the concurrency, whichever is
 * larger) and (b) a sequential apply, plus the no-op redeploy's reads and writes.
 *
 * `node --import tsx bench/gcp-deploy.bench.ts [--pipelines 100] [--latency-ms 20] [--concurrency 8]`
 */
import { Construct } from 'constructs';
import type { DeploySummary, ProgressEvent } from '../adapters/deploy';
import { gcpAdapter, type Manifest } from '../adapters/gcp';
import { createGcpDeployEngine } from '../adapters/gcp/deploy';
import { startGcpSimulator } from '../adapters/gcp/simulator';
import { renderEnvironment } from '../lib';
import { defineGenerated } from './generate';

class Root extends Construct {
  constructor() {
    super(undefined as unknown as Construct, '');
  }
}

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : def;
};
const pipelines = opt('pipelines', 100);
const latencyMs = opt('latency-ms', 20);
const concurrency = opt('concurrency', 8);

process.env.METADATA_SERVER_DETECTION ??= 'none';

interface Run {
  readonly summary: DeploySummary;
  readonly wallMs: number;
  /** Time each step spent running, by manifest key. */
  readonly stepMs: Map<string, number>;
}

async function deploy(c: number): Promise<Run & { manifest: Manifest }> {
  const sim = await startGcpSimulator({ port: 0, latencyMs, operationPolls: 1 });
  try {
    const model = renderEnvironment(defineGenerated(new Root(), pipelines));
    const settings = gcpAdapter.parseSettings({ project: 'bench-project', region: 'europe-west4' });
    const { documents } = gcpAdapter.synth(model, settings);
    const stepMs = new Map<string, number>();
    const progress = {
      event: (e: ProgressEvent) => {
        if (e.state === 'done' && e.elapsedMs !== undefined) stepMs.set(e.id, e.elapsedMs);
      },
      log: () => undefined,
    };
    const engine = createGcpDeployEngine({ env: { MLPLANE_GCP_ENDPOINT: sim.url }, pollIntervalMs: latencyMs, retry: { baseMs: 10 } });
    // Warm the SDK clients (they parse the protos once per process) outside the measurement.
    await engine.diff({ model, documents, settings, progress });
    sim.requestLog.length = 0;
    const started = Date.now();
    const summary = await engine.deploy({ model, documents, settings, progress, concurrency: c });
    const wallMs = Date.now() - started;
    if (c === concurrency) {
      const noop = await engine.deploy({ model, documents, settings, progress, concurrency: c });
      console.log(`no-op redeploy: ${noop.writes} writes, ${noop.reads} reads, ${noop.durationMs} ms`);
    }
    return { summary, wallMs, stepMs, manifest: documents['manifest.json'] as Manifest };
  } finally {
    await sim.close();
  }
}

/** Longest path through the manifest's dependency graph, each entry weighted by its measured time. */
function criticalPath(manifest: Manifest, stepMs: ReadonlyMap<string, number>): number {
  const finish = new Map<string, number>();
  for (const e of manifest.entries) {
    const start = Math.max(0, ...e.dependsOn.map((d) => finish.get(d) ?? 0));
    finish.set(e.key, start + (stepMs.get(e.key) ?? 0));
  }
  return Math.max(0, ...finish.values());
}

async function main(): Promise<void> {
  console.log(`gcp deploy benchmark — ${pipelines} pipelines, ${latencyMs} ms latency per call, node ${process.version}`);
  const sequential = await deploy(1);
  const parallel = await deploy(concurrency);
  const resources = parallel.manifest.entries.length;
  const applySteps = [...sequential.stepMs.values()].reduce((a, b) => a + b, 0);
  const overhead = sequential.wallMs - applySteps; // reads, lock and journal outside the steps
  const critical = criticalPath(parallel.manifest, sequential.stepMs);
  const work = Math.round(applySteps / concurrency);
  const bound = Math.max(critical, work) + Math.max(0, overhead);
  console.log(`resources in manifest:     ${resources} (${parallel.summary.created} created)`);
  console.log(`sequential apply:          ${sequential.wallMs} ms (${sequential.summary.writes} writes, ${sequential.summary.reads} reads)`);
  console.log(`concurrency ${concurrency}:             ${parallel.wallMs} ms (${parallel.summary.writes} writes, ${parallel.summary.reads} reads)`);
  console.log(`critical path:             ${critical} ms (longest dependency chain of step times measured in the sequential run)`);
  console.log(`work / concurrency:        ${work} ms (${applySteps} ms of steps over ${concurrency} slots)`);
  console.log(`lower bound:               ${bound} ms (the larger of the two + ${Math.max(0, overhead)} ms of reads and lock outside the steps)`);
  console.log(`speed-up vs sequential:    ${(sequential.wallMs / parallel.wallMs).toFixed(1)}x; wall / lower bound: ${(parallel.wallMs / bound).toFixed(2)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
