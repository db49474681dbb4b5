/**
 * GCP deploy benchmark: deploy a generated environment against the simulator running in its own
 * process with a fixed latency per call, and print the wall time over an honest lower bound (the
 * manifest's longest dependency chain in round trips, or all round trips over the concurrency,
 * whichever is larger) and over a sequential deploy (concurrency 1), then a no-op redeploy's
 * requests counted at the simulator. Method: bench/README.md, "GCP deploy".
 *
 * `node --import tsx bench/gcp-deploy.bench.ts [--pipelines 100] [--latency-ms 20] [--concurrency 32] [--full] [--calls] [--profile]`
 * (`--full` adds the 2,000-resource run; `--calls` lists the measured deploy's requests by rpc;
 * `--profile` writes CPU profiles of it and of the simulator process.)
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Construct } from 'constructs';
import type { DeploySummary } from '../adapters/deploy';
import { gcpAdapter, type Manifest, type ManifestEntry } from '../adapters/gcp';
import { createGcpDeployEngine } from '../adapters/gcp/deploy';
import { isLongRunning } from '../adapters/gcp/deploy/observe';
import { UNMANAGED } from '../adapters/gcp/deploy/run';
import { renderEnvironment } from '../lib';
import { recordBenchResults, type BenchRow } from './chart';
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
const latencyMs = opt('latency-ms', 20);
const concurrency = opt('concurrency', 32);
/** GetOperation answers "not done" this many times before "done" (the simulator's `--operation-polls`). */
const operationPolls: number = 1;
/** The engine's first pause before polling an operation (its documented schedule grows it ×1.5). */
const firstPollMs = 5;
/** The run's own sequential phases: read the live state, take the lock, read again under it, release. */
const PROTOCOL_ROUND_TRIPS = 4;

process.env.METADATA_SERVER_DETECTION ??= 'none';

/** What the simulator counted since its last reset: requests (all, and by rpc) and its process's CPU time. */
interface SimStats {
  readonly reads: number;
  readonly writes: number;
  readonly cpuMs: number;
  /** TCP connections the simulator accepted. */
  readonly connections: number;
  readonly byRpc: Readonly<Record<string, number>>;
}

interface Simulator {
  readonly url: string;
  stats(): Promise<SimStats>;
  reset(): Promise<void>;
  /** Start a CPU profile of the simulator process; the function returned stops it and gives its file. */
  profile(): Promise<() => Promise<string>>;
  stop(): Promise<void>;
}

/** Start the simulator in a child process. */
async function startSimulator(): Promise<Simulator> {
  const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'gcp-sim-worker.ts');
  const child: ChildProcess = fork(worker, ['--latency-ms', String(latencyMs), '--operation-polls', String(operationPolls)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>(): Promise<T> => new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code})`)));
  });
  const { url } = await next<{ url: string }>();
  return {
    url,
    stats: () => {
      const p = next<SimStats>();
      child.send('stats');
      return p;
    },
    reset: async () => {
      const p = next<unknown>();
      child.send('reset');
      await p;
    },
    profile: async () => {
      const p = next<unknown>();
      child.send('profile');
      await p;
      return async () => {
        const done = next<{ profile: string }>();
        child.send('profile-stop');
        return (await done).profile;
      };
    },
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.send('stop');
    }),
  };
}

interface Measured {
  readonly summary: DeploySummary;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly simCpuMs: number;
  /** TCP connections the simulator accepted during the deploy (keep-alive sockets are reused). */
  readonly connections: number;
  /** Requests of the measured deploy by rpc, as the simulator counted them. */
  readonly byRpc: Readonly<Record<string, number>>;
  readonly noop?: { readonly reads: number; readonly writes: number; readonly connections: number; readonly byRpc: Readonly<Record<string, number>>; readonly wallMs: number };
}

async function deploy(pipelines: number, c: number, withNoop: boolean): Promise<Measured & { manifest: Manifest }> {
  const sim = await startSimulator();
  try {
    const model = renderEnvironment(defineGenerated(new Root(), pipelines));
    const settings = gcpAdapter.parseSettings({ project: 'bench-project', region: 'europe-west4' });
    const { documents } = gcpAdapter.synth(model, settings);
    const progress = { event: () => undefined, log: () => undefined };
    const engine = createGcpDeployEngine({ env: { MLPLANE_GCP_ENDPOINT: sim.url }, pollIntervalMs: firstPollMs, retry: { baseMs: 10 } });
    // Warm the SDK clients (they parse the protos once per process) outside the measurement.
    await engine.diff({ model, documents, settings, progress });
    const profiling = args.includes('--profile') && c !== 1 ? await startProfile() : undefined;
    const simProfiling = profiling ? await sim.profile() : undefined;
    await sim.reset();
    const simCpu0 = (await sim.stats()).cpuMs;
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    const summary = await engine.deploy({ model, documents, settings, progress, concurrency: c });
    const wallMs = Math.round(performance.now() - started);
    const cpu = process.cpuUsage(cpu0);
    const after = await sim.stats();
    const simCpuMs = after.cpuMs - simCpu0;
    if (profiling) console.log(`  profile of the deploy: ${await profiling()}`);
    if (simProfiling) console.log(`  profile of the simulator during the deploy: ${await simProfiling()}`);
    let noop: Measured['noop'];
    if (withNoop) {
      await sim.reset();
      const t0 = performance.now();
      await engine.deploy({ model, documents, settings, progress, concurrency: c });
      const { reads, writes, connections, byRpc } = await sim.stats();
      noop = { reads, writes, connections, byRpc, wallMs: Math.round(performance.now() - t0) };
    }
    return { summary, wallMs, cpuMs: Math.round((cpu.user + cpu.system) / 1000), simCpuMs, connections: after.connections, byRpc: after.byRpc, manifest: documents['manifest.json'] as Manifest, ...(noop ? { noop } : {}) };
  } finally {
    await sim.stop();
  }
}

/** Round trips and poll pauses of applying one entry: its call, and the polls of its long-running operation. */
function entryCost(e: ManifestEntry): { roundTrips: number; sleepMs: number } {
  const lro = isLongRunning(e, 'create');
  if (!lro || operationPolls === 0) return { roundTrips: 1, sleepMs: 0 };
  const polls = operationPolls + 1;
  let sleepMs = 0;
  for (let i = 0, interval = firstPollMs; i < polls; i++, interval = Math.min(10_000, Math.ceil(interval * 1.5))) sleepMs += interval;
  return { roundTrips: 1 + polls, sleepMs };
}

/** The honest lower bound of a first deploy of `manifest`, in ms, with its parts. */
function bound(manifest: Manifest, c: number): { ms: number; chainMs: number; chainRoundTrips: number; workMs: number; totalRoundTrips: number; chainKeys: string[] } {
  // Every entry is applied by the engine: Vertex AI and BigQuery ones, and (platform.ts) the
  // service accounts, the staging bucket, KMS and the IAM policies of the bucket and the project.
  const managed = manifest.entries;
  const keys = new Set(managed.map((e) => e.key));
  const finish = new Map<string, { ms: number; rt: number; keys: string[] }>();
  let chain = { ms: 0, rt: 0, keys: [] as string[] };
  let total = 0;
  for (const e of managed) {
    const cost = entryCost(e);
    total += cost.roundTrips;
    const none = { ms: 0, rt: 0, keys: [] as string[] };
    const before = e.dependsOn.filter((d) => keys.has(d)).map((d) => finish.get(d) ?? none).reduce((a, b) => (b.ms > a.ms ? b : a), none);
    const end = { ms: before.ms + cost.roundTrips * latencyMs + cost.sleepMs, rt: before.rt + cost.roundTrips, keys: [...before.keys, `${e.key} (${cost.roundTrips})`] };
    finish.set(e.key, end);
    if (end.ms > chain.ms) chain = end;
  }
  const protocolMs = PROTOCOL_ROUND_TRIPS * latencyMs;
  const workMs = Math.round((total * latencyMs) / c);
  return { ms: protocolMs + Math.max(chain.ms, workMs), chainMs: chain.ms, chainRoundTrips: chain.rt + PROTOCOL_ROUND_TRIPS, workMs, totalRoundTrips: total, chainKeys: chain.keys };
}

async function row(pipelines: number): Promise<void> {
  const parallel = await deploy(pipelines, concurrency, true);
  // `--no-sequential` (quick iterations) leaves out the sequential deploy and the ratio over it.
  const sequential = args.includes('--no-sequential') ? undefined : await deploy(pipelines, 1, false);
  const resources = parallel.manifest.entries.length;
  const platform = parallel.manifest.entries.filter((e) => UNMANAGED.test(e.method)).length;
  const b = bound(parallel.manifest, concurrency);
  const s = parallel.summary.stats;
  console.log(`\n${resources} resources (${pipelines} pipelines; ${platform} of them service accounts, the staging bucket and IAM policies)`);
  console.log(`  bound:          ${b.ms} ms = ${PROTOCOL_ROUND_TRIPS} protocol round trips + max(chain ${b.chainMs} ms, ${b.totalRoundTrips} round trips × ${latencyMs} ms / ${concurrency} = ${b.workMs} ms); chain ${b.chainRoundTrips} round trips`);
  console.log(`  concurrency ${concurrency}: ${parallel.wallMs} ms, ${parallel.summary.writes} writes, ${parallel.summary.reads} reads; ${s?.criticalPathRoundTrips} round trips on the critical path, parallelism ${s?.parallelism}; engine CPU ${parallel.cpuMs} ms, simulator CPU ${parallel.simCpuMs} ms, ${parallel.connections} connections`);
  if (sequential) console.log(`  sequential:     ${sequential.wallMs} ms, ${sequential.summary.writes} writes, ${sequential.summary.reads} reads; engine CPU ${sequential.cpuMs} ms, simulator CPU ${sequential.simCpuMs} ms, ${sequential.connections} connections`);
  console.log(`  wall / bound:   ${(parallel.wallMs / b.ms).toFixed(2)}×   (target ≤ 1.15×)`);
  if (sequential) console.log(`  sequential / wall: ${(sequential.wallMs / parallel.wallMs).toFixed(1)}×   (target ≥ 10×)`);
  // The engine is one Node process: its CPU (SDK request building, proto/JSON conversion, HTTP) is
  // serial, so the deploy cannot take less than that CPU time either, whatever the concurrency.
  console.log(`  engine CPU / bound: ${(parallel.cpuMs / b.ms).toFixed(2)}× — the deploy cannot be faster than its own CPU time (${(parallel.cpuMs / parallel.summary.stats!.calls).toFixed(1)} ms per call); wall / max(bound, engine CPU): ${(parallel.wallMs / Math.max(b.ms, parallel.cpuMs)).toFixed(2)}×`);
  if (args.includes('--critical')) {
    console.log(`  the bound's chain (round trips): ${b.chainKeys.join(' → ')}`);
    console.log(`  the deploy's critical path (each request sent after the one before was answered):`);
    for (const c of s?.criticalPath ?? []) console.log(`    ${String(c.startMs).padStart(5)}–${String(c.endMs).padEnd(5)} ms  ${c.what}`);
  }
  if (args.includes('--calls')) {
    for (const [rpc, n] of Object.entries(parallel.byRpc).sort((a, b) => b[1] - a[1])) console.log(`    ${String(n).padStart(5)} ${rpc}`);
  }
  if (parallel.noop) console.log(`  no-op redeploy: ${parallel.noop.writes} writes, ${parallel.noop.reads} reads (counted at the simulator; ${resources} resources), ${parallel.noop.connections} connections, ${parallel.noop.wallMs} ms`);
  if (parallel.noop && args.includes('--calls')) {
    for (const [rpc, n] of Object.entries(parallel.noop.byRpc).sort((a, b) => b[1] - a[1])) console.log(`    ${String(n).padStart(5)} ${rpc}`);
  }
  const chartRows: BenchRow[] = [{ label: `wall, concurrency ${concurrency}, vs the bound`, value: parallel.wallMs, baseline: b.ms, unit: 'ms' }];
  if (sequential) chartRows.push({ label: 'sequential vs concurrent wall', value: sequential.wallMs, baseline: parallel.wallMs, unit: 'ms' });
  console.log(`  chart: ${recordBenchResults(`gcp-deploy-${pipelines}`, chartRows, { title: `gcp deploy, ${resources} resources, ${latencyMs} ms latency` }).svg}`);
}

/** `--profile`: a CPU profile of the measured deploy only (written to the temp folder). */
async function startProfile(): Promise<() => Promise<string>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    const file = path.join((await import('node:os')).tmpdir(), `gcp-deploy-${Date.now()}.cpuprofile`);
    (await import('node:fs')).writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    return file;
  };
}

async function main(): Promise<void> {
  console.log(`gcp deploy benchmark — simulator in its own process, ${latencyMs} ms latency per call, LROs done after ${operationPolls + 1} polls, node ${process.version}`);
  await row(opt('pipelines', 100));
  if (args.includes('--full')) await row(1000);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
