/**
 * mlplane's GCP reconciler: desired (the synthesized documents and manifest) vs live (read through
 * the SDKs; owned resources found by the `mlplane-env` label) → plan → apply in dependency order
 * with bounded parallelism, under a per-environment lock with a journal of intents.
 *
 * @see ./README.md
 */
import { DeployError, withDigest, type DeployEngine, type DeployInput, type PlanAction } from '../../deploy';
import type { GcpSettings, Manifest } from '../index';
import { checkMessage, protoRoot } from '../simulator/protos';
import { Calls, isNotFound, makeClients } from './clients';
import { breakLock, currentHolder, type LockRecord } from './lock';
import { datasetIdOf } from './apply';
import { ENV_LABEL, rpcOf, type KindContext } from './kinds';
import type { Json } from './proto-json';
import { type GcpEngineOptions, UNMANAGED, type Run } from './run';
import { observe, toPlan } from './observe';
import { apply } from './apply';

export type { GcpEngineOptions, MutationPoint } from './run';
export { mergeBindings } from './steps';

/**
 * Define the GCP deploy engine.
 *
 * @example
 * const engine = createGcpDeployEngine();
 * const plan = await engine.diff({ model, documents, settings, progress });
 */
export function createGcpDeployEngine(options: GcpEngineOptions = {}): DeployEngine<GcpSettings> {
  return {
    target: 'gcp',
    diff: async (input) => withRun(input, options, async (run) => ({ ...withDigest(toPlan(await observe(run, 'deploy', {}))), reads: run.calls.reads })),
    deploy: async (input) => withRun(input, options, (run) => apply(run, 'deploy', {})),
    planDestroy: async (input, destroyOptions) => withRun(input, options, async (run) => ({ ...withDigest(toPlan(await observe(run, 'destroy', destroyOptions))), reads: run.calls.reads })),
    destroy: async (input, destroyOptions) => withRun(input, options, (run) => apply(run, 'destroy', destroyOptions)),
    lockHolder: async (input) =>
      withRun(input, options, async (run) => {
        const h = await currentHolder(run.clients.bigquery.dataset(datasetIdOf(run)), run.calls).catch((e: unknown) => {
          if (isNotFound(e)) return undefined;
          throw e;
        });
        return h ? describeHolder(h) : undefined;
      }),
    unlock: async (input) =>
      withRun(input, options, async (run) => {
        const dataset = run.clients.bigquery.dataset(datasetIdOf(run));
        const h = await currentHolder(dataset, run.calls);
        if (!h) return undefined;
        await breakLock(dataset, run.calls);
        return describeHolder(h);
      }),
  };
}

function describeHolder(h: LockRecord): string {
  const pending = h.intents.length > 0 ? `; ${h.intents.length} change(s) it had started (${h.intents.map((i) => `${i.action} ${i.key}`).join(', ')}) are settled by reads on the next deploy` : '';
  return `${h.operation} by ${h.user} on ${h.host} (pid ${h.pid}), started ${h.startedAt}, lease until ${h.expiresAt}${pending}`;
}

async function withRun<T>(input: DeployInput<GcpSettings>, options: GcpEngineOptions, fn: (run: Run) => Promise<T>): Promise<T> {
  // Everything about the input is checked before the first request.
  const { manifest, bodies } = checkInput(input);
  const clients = makeClients(input.settings.project, input.settings.region, options.env ?? process.env);
  const running = new Map<string, { path: string; action: PlanAction; started: number }>();
  const calls = new Calls(options.retry ?? {}, (what, attempt, waitMs, reason) => {
    input.progress.log(`retrying ${what} in ${waitMs} ms (attempt ${attempt + 1}): ${reason}`);
    const step = running.get(what);
    if (step) input.progress.event({ id: what, path: step.path, action: step.action, state: 'retrying', message: `${reason}; retry in ${waitMs} ms`, elapsedMs: Date.now() - step.started });
  });
  const sleep = options.retry?.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const ctx: KindContext = {
    clients,
    calls,
    envLabel: manifest.ownershipLabels[ENV_LABEL] as string,
    wait: (client, rpc, op, what, timeoutMs) => waitOperation(calls, client, rpc, op, what, timeoutMs, options.pollIntervalMs ?? 250, sleep),
  };
  return fn({ input, options, manifest, bodies, clients, calls, ctx, started: Date.now(), running, said: new Set(), listedUnfiltered: new Set() });
}

/**
 * Check the manifest and documents: shape, references, dependency order, and every Vertex body
 * against its proto (unknown and output-only fields are errors).
 *
 * @throws DeployError listing every problem; no request has been sent.
 */
export function checkInput(input: DeployInput<GcpSettings>): { manifest: Manifest; bodies: Map<string, Json> } {
  const manifest = input.documents['manifest.json'] as Manifest | undefined;
  const envPath = input.model.environment.path;
  if (!manifest || manifest.target !== 'gcp' || !Array.isArray(manifest.entries)) {
    throw new DeployError(`the gcp documents have no manifest.json; run 'mlplane synth' for the gcp target first`, envPath);
  }
  const problems: string[] = [];
  if (manifest.project !== input.settings.project || manifest.region !== input.settings.region) {
    problems.push(`manifest is for ${manifest.project}/${manifest.region} but settings say ${input.settings.project}/${input.settings.region}; synthesize again`);
  }
  if (!manifest.ownershipLabels?.[ENV_LABEL]) problems.push(`manifest has no ownership label '${ENV_LABEL}'`);
  if (!manifest.entries.some((e) => e.method === 'bigquery.datasets.insert' && e.id)) {
    problems.push(`manifest has no environment BigQuery dataset (bigquery.datasets.insert), which holds the deploy lock and journal`);
  }
  const keys = new Set<string>();
  const bodies = new Map<string, Json>();
  for (const e of manifest.entries) {
    if (keys.has(e.key)) problems.push(`duplicate manifest key ${e.key}`);
    for (const d of e.dependsOn) if (!keys.has(d)) problems.push(`[${e.path}] ${e.key} depends on ${d}, which is not listed before it`);
    keys.add(e.key);
    const body = input.documents[e.document];
    if (typeof body !== 'object' || body === null) {
      problems.push(`[${e.path}] document ${e.document} of ${e.key} is missing`);
      continue;
    }
    bodies.set(e.key, body as Json);
    if (e.schema.kind === 'proto' && !UNMANAGED.test(e.method)) {
      let type;
      try {
        type = protoRoot().lookupType(e.schema.message);
      } catch {
        problems.push(`[${e.path}] unknown message ${e.schema.message}`);
        continue;
      }
      for (const p of checkMessage(type, body, { checkRequired: e.method.endsWith('.create') || e.method.endsWith('.upload') }).slice(0, 5)) problems.push(`[${e.path}] ${e.document}: ${p.field}: ${p.message}`);
    }
  }
  if (problems.length > 0) throw new DeployError(`invalid gcp documents, nothing was sent:\n  ${problems.join('\n  ')}`, envPath);
  return { manifest, bodies };
}

async function waitOperation(calls: Calls, client: object, rpc: string, op: unknown, what: string, timeoutMs: number, firstPollMs: number, sleep: (ms: number) => Promise<void>): Promise<Json | undefined> {
  const deadline = Date.now() + timeoutMs;
  let current = op as { name?: string; done?: boolean; result?: unknown; error?: { message?: string; code?: number } };
  let interval = firstPollMs;
  const check = rpcOf(client, `check${rpc.charAt(0).toUpperCase()}${rpc.slice(1)}Progress`) as unknown as (name: string) => Promise<typeof current>;
  while (!current.done) {
    if (Date.now() > deadline) throw new DeployError(`operation ${current.name} did not finish within ${Math.round(timeoutMs / 1000)} s`, what, true);
    await sleep(interval);
    interval = Math.min(10_000, Math.ceil(interval * 1.5));
    const name = String(current.name);
    current = await calls.run('read', name, () => check(name));
  }
  if (current.error) throw new DeployError(`operation ${current.name} failed: ${current.error.message ?? JSON.stringify(current.error)}`, what);
  return (current.result ?? undefined) as Json | undefined;
}
