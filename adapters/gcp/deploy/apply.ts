/**
 * Apply a plan: the lock, the journal of intents, dependency order with bounded parallelism,
 * deletes in reverse order, and the summary.
 */
import { checkApprovedPlan, DeployError, InterruptedError, withDigest, type DeploySummary, type DestroyOptions, type PlanAction } from '../../deploy';
import { classifyGcp, cloudError } from './clients';
import { EnvironmentLock, type Intent } from './lock';
import { type MutationPoint, type Step, type Observed, type RunContext, SIMULATED_CRASH, type Run } from './run';
import { isLongRunning, observe, toPlan } from './observe';
import { createDataset } from './steps';
import { callStats, describeCallStats } from '../../shared/calls';
import { AdaptiveLimits, apiOfMethod, DEFAULT_CONCURRENCY, type RunStats } from './schedule';
import type { Json } from './proto-json';

/**
 * Deploy or destroy: read, and when something changes, take the lock (creating the environment
 * dataset first if needed), read again under it, check that the plan is the approved one, settle a
 * crashed run's intents, execute, release. The counts are taken after the release, so the lock's
 * own writes are in them.
 */
export async function apply(run: Run, mode: 'deploy' | 'destroy', destroyOptions: DestroyOptions): Promise<DeploySummary> {
  const { input, options, ctx, calls } = run;
  let observed = await observe(run, mode, destroyOptions);
  // Nothing is written (not even the dataset that holds the lock) for a plan nobody saw.
  checkApprovedPlan(input, withDigest(toPlan(observed)));
  const changing = observed.steps.some((s) => s.run && s.item.action !== 'noop');
  if (!changing && !observed.lockPresent) return summary(run, observed, new Set());
  const datasetStep = observed.steps.find((s) => s.item.type === 'BigQuery dataset' && s.item.action === 'create');
  let datasetCreated = 0;
  if (!observed.datasetPresent) {
    if (mode === 'destroy') {
      // Nothing of ours holds data without the dataset; deletes run without a lock home.
      return execute(run, observed, undefined, mode);
    }
    // The environment dataset is the lock's home: it is created first.
    const entry = run.manifest.entries.find((e) => e.method === 'bigquery.datasets.insert');
    if (datasetStep && entry) {
      input.progress.event({ id: datasetStep.item.id, path: datasetStep.item.path, action: 'create', state: 'running' });
      // A concurrent run of ours may have created it first: then this run did not.
      // What depends on other entries (the customer-managed key and its grant, batch writers'
      // access) is added by the dataset's update step under the lock, after those entries.
      const body = run.bodies.get(entry.key) as Json;
      const { defaultEncryptionConfiguration: _k, access: _a, ...bare } = body;
      void _k;
      void _a;
      datasetCreated = (await createDataset({ ...ctx, dataset: run.clients.bigquery.dataset(datasetIdOf(run)) }, entry, entry.dependsOn.length > 0 ? bare : body)) ? 1 : 0;
      input.progress.event({ id: datasetStep.item.id, path: datasetStep.item.path, action: 'create', state: 'done' });
    }
  }
  const dataset = run.clients.bigquery.dataset(datasetIdOf(run));
  const lock = await EnvironmentLock.acquire(dataset, calls, ctx.envLabel, mode, {
    // The plan read before the lock is journaled with the lock itself: its mutations need no journal write of their own.
    intents: observed.steps.filter((s) => s.run && s.item.action !== 'noop').map((s) => ({ key: s.item.id, action: s.item.action, target: s.target })),
    leaseMs: input.lockLeaseMs ?? options.lockLeaseMs,
    timeoutMs: input.lockTimeoutMs ?? 0,
    ...(options.lockPollMs !== undefined ? { pollMs: options.lockPollMs } : {}),
    ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
    onWait: (h) => input.progress.log(`waiting for the environment lock held by ${h.holder} (${h.operation} since ${h.startedAt})`),
    onTakeOver: (h, why) => input.progress.log(`took over the environment lock of ${h.holder} (${h.operation} by ${h.user} on ${h.host}, pid ${h.pid}, since ${h.startedAt}): ${why}`),
  });
  let crashed = false;
  let result: DeploySummary;
  try {
    // Settle a crashed run's intents: the re-read below shows what happened to each.
    observed = await observe(run, mode, destroyOptions);
    // The plan applied must be the plan shown: the dataset this run created before the lock shows as it was planned.
    const current = toPlan(observed);
    const asPlanned = datasetStep && datasetCreated > 0 ? { ...current, items: current.items.map((i) => (i.id === datasetStep.item.id ? datasetStep.item : i)) } : current;
    checkApprovedPlan(input, withDigest(asPlanned));
    settle(run, lock.inherited, observed);
    const r = await execute(run, observed, lock, mode);
    // The dataset created before the lock shows as unchanged in the re-read plan.
    // (or as updated, when its key and access were added under the lock).
    const reread = observed.steps.find((s) => s.item.id === datasetStep?.item.id)?.item.action;
    result = datasetCreated > 0 ? { ...r, created: r.created + 1, ...(reread === 'update' ? { updated: r.updated - 1 } : { unchanged: r.unchanged - 1 }) } : r;
  } catch (e) {
    crashed = (e as { [SIMULATED_CRASH]?: boolean })[SIMULATED_CRASH] === true;
    throw e;
  } finally {
    if (crashed) lock.abandon();
    else await lock.release();
  }
  const stats = runStats(run);
  input.progress.log(`${describeCallStats(stats)}${stats.lowestConcurrency < (input.concurrency ?? DEFAULT_CONCURRENCY) ? `, throttled down to ${stats.lowestConcurrency} in flight` : ''}`);
  return { ...result, writes: calls.writes, reads: calls.reads, durationMs: Date.now() - run.started, stats };
}

/** The environment dataset's id (the lock's home). */
export function datasetIdOf(run: Run): string {
  return (run.manifest.entries.find((e) => e.method === 'bigquery.datasets.insert')?.id as string | undefined) ?? run.manifest.environment;
}

/** The cloud resource a step writes, as progress lines name it: `gcp Endpoint fraud-prod-scoring`. */
export function cloudResource(s: Step): string {
  const name = s.target.split(/[/:]/).filter((x) => x !== '').pop() ?? s.target;
  return `gcp ${s.item.type} ${name}`;
}

/** Log how each intent a crashed run left behind was settled by the re-read. */
export function settle(run: Run, intents: readonly Intent[], observed: Observed): void {
  for (const i of intents) {
    const step = observed.steps.find((s) => s.item.id === i.key);
    const state = !step ? 'gone from the plan' : step.item.action === 'noop' ? 'completed (found live, adopted)' : `still to do (${step.item.action})`;
    run.input.progress.log(`settled interrupted ${i.action} of ${i.key} (${i.target}) by a read: ${state}`);
  }
}

/**
 * Run the steps: the apply phase in dependency order with at most `concurrency` in flight, then
 * deletes rank by rank. Each mutation is journaled before it is sent. The first failure stops new
 * work; in-flight work finishes; the failure is rethrown as a `DeployError` naming the resource.
 */
export async function execute(run: Run, observed: Observed, lock: EnvironmentLock | undefined, mode: 'deploy' | 'destroy' = 'deploy'): Promise<DeploySummary> {
  const { input, options } = run;
  const limits = new AdaptiveLimits(Math.max(1, input.concurrency ?? DEFAULT_CONCURRENCY));
  const apiOf = apis(run, observed);
  run.calls.onThrottle = (what) => {
    const api = apiOf.get(what) ?? (run.running.has(what) ? undefined : /\/locations\//.test(what) ? 'aiplatform' : undefined);
    if (api) limits.throttled(api);
    else for (const a of new Set(apiOf.values())) limits.throttled(a);
  };
  const dataset = run.clients.bigquery.dataset(datasetIdOf(run));
  const rc: RunContext = { ...run.ctx, dataset };
  const done = new Set<string>();
  const applied = new Set<string>();
  let mutationIndex = 0;
  let failure: unknown;
  const stopped = () => input.signal?.aborted === true;
  const stepKeys = new Set(observed.steps.map((s) => s.item.id));

  const runStep = async (s: Step) => {
    const started = Date.now();
    const { id, path, action } = s.item;
    if (!s.run || action === 'noop') {
      done.add(id);
      return;
    }
    const resource = cloudResource(s);
    input.progress.event({ id, path, action, resource, state: 'running' });
    run.running.set(id, { path, action, started });
    const point: MutationPoint = { index: mutationIndex++, key: id, action };
    try {
      if (lock) await lock.intend({ key: id, action, target: s.target });
      hook(options.hooks?.beforeMutation, point);
      await s.run(rc);
      hook(options.hooks?.afterMutation, point);
      lock?.done(id);
      applied.add(id);
      done.add(id);
      input.progress.event({ id, path, action, resource, state: 'done', elapsedMs: Date.now() - started });
    } catch (e) {
      input.progress.event({ id, path, action, resource, state: 'failed', message: cloudError(e).message, elapsedMs: Date.now() - started });
      if ((e as { [SIMULATED_CRASH]?: boolean })[SIMULATED_CRASH] || e instanceof DeployError) throw e;
      const c = cloudError(e);
      throw new DeployError(`${action} of ${s.item.type} ${s.target} failed: ${c.status ? `HTTP ${c.status}${c.rpcStatus ? ` ${c.rpcStatus}` : ''}: ` : ''}${c.message}`, path, classifyGcp(e).retry);
    }
  };

  // Whether every dependency of a step is done. Dependencies only ever become done, so each step
  // keeps the position of its first one not yet done and each is looked at until it is: the
  // pending steps are rescanned after every completion, and a step can have a thousand dependencies
  // (a project policy on every service account).
  const firstOpen = new Map<Step, number>();
  const depsDone = (s: Step): boolean => {
    let i = firstOpen.get(s) ?? 0;
    while (i < s.deps.length && (done.has(s.deps[i] as string) || !stepKeys.has(s.deps[i] as string))) i++;
    firstOpen.set(s, i);
    return i === s.deps.length;
  };

  const priority = criticalFirst(run, observed.steps);
  const runPhase = async (steps: Step[]) => {
    // Ready steps start in order of the longest chain of work still behind them (critical path
    // first), so a long chain (an endpoint, its deployed model, traffic, a monitor) is never queued
    // behind short independent work while the concurrency limit is reached.
    const pending = [...steps].sort((a, b) => (priority.get(b) ?? 0) - (priority.get(a) ?? 0));
    const inFlight = new Set<Promise<void>>();
    while (pending.length > 0 || inFlight.size > 0) {
      if (failure === undefined && !stopped()) {
        for (let i = 0; i < pending.length; ) {
          const s = pending[i] as Step;
          if ((!s.run || s.item.action === 'noop') && depsDone(s)) {
            // Nothing to send: done at once, and what waited on it may now start.
            pending.splice(i, 1);
            done.add(s.item.id);
            i = 0;
            continue;
          }
          const api = apiOf.get(s.item.id) as string;
          if (limits.canStart(api) && depsDone(s)) {
            pending.splice(i, 1);
            limits.started(api);
            let ok = false;
            const p: Promise<void> = runStep(s)
              .then(() => {
                ok = true;
              })
              .catch((e: unknown) => {
                failure ??= e;
              })
              .finally(() => {
                limits.finished(api, ok);
                inFlight.delete(p);
              });
            inFlight.add(p);
          } else i++;
        }
      }
      if (inFlight.size === 0) {
        if (failure !== undefined || pending.length === 0 || stopped()) break;
        throw new DeployError(`dependency cycle or missing dependency among ${pending.map((s) => s.item.id).join(', ')}`, observed.manifest.environment);
      }
      await Promise.race(inFlight);
    }
  };

  for (const s of observed.steps) if (s.run && s.item.action !== 'noop') input.progress.event({ id: s.item.id, path: s.item.path, action: s.item.action, state: 'pending' });
  await runPhase(observed.steps.filter((s) => s.phase === 'apply'));
  const deletes = observed.steps.filter((s) => s.phase === 'delete');
  for (const rank of [...new Set(deletes.map((s) => s.rank))].sort((a, b) => a - b)) {
    if (failure !== undefined || stopped()) break;
    await runPhase(deletes.filter((s) => s.rank === rank));
  }
  LOWEST.set(run, Math.min(LOWEST.get(run) ?? Infinity, limits.lowest));
  if (failure !== undefined) throw failure;
  const left = observed.steps.filter((s) => s.run && s.item.action !== 'noop' && !applied.has(s.item.id));
  if (stopped() && left.length > 0) {
    const env = observed.manifest.environment;
    throw new InterruptedError(
      `interrupted (${String(input.signal?.reason ?? 'signal')}): ${applied.size} change(s) applied, ${left.length} not started (${left.map((s) => `${s.item.action} ${s.item.path}`).join(', ')}); in-flight calls finished and the lock was released. Run 'mlplane ${mode} ${env}' to continue`,
      env,
    );
  }
  return summary(run, observed, applied);
}

/**
 * Each step's priority: the round trips of the longest chain of work from the step to the end of
 * the run (its own — one call, three for a long-running operation: the call and at least two
 * polls — plus the longest of the steps that wait for it). A step with nothing to send costs none.
 */
export function criticalFirst(run: Run, steps: readonly Step[]): Map<Step, number> {
  const entries = new Map(run.manifest.entries.map((e) => [e.key, e]));
  const dependents = new Map<string, Step[]>();
  for (const s of steps) {
    for (const d of s.deps) {
      const list = dependents.get(d);
      if (list) list.push(s);
      else dependents.set(d, [s]);
    }
  }
  const memo = new Map<Step, number>();
  const visiting = new Set<Step>();
  const level = (s: Step): number => {
    const known = memo.get(s);
    if (known !== undefined) return known;
    if (visiting.has(s)) return 0; // a cycle is reported by the scheduler itself
    visiting.add(s);
    const entry = entries.get(s.item.id);
    const own = !s.run || s.item.action === 'noop' ? 0 : entry && isLongRunning(entry, s.item.action) ? 3 : 1;
    let after = 0;
    for (const d of dependents.get(s.item.id) ?? []) if (d.phase === s.phase) after = Math.max(after, level(d));
    visiting.delete(s);
    memo.set(s, own + after);
    return own + after;
  };
  for (const s of steps) level(s);
  return memo;
}

/** Lowest concurrency each run was throttled down to. */
const LOWEST = new WeakMap<Run, number>();

/** The API of each step (`aiplatform`, `bigquery`, …): its manifest method's, or for a step outside the manifest (an orphan's delete) its type's. */
function apis(run: Run, observed: Observed): Map<string, string> {
  const methods = new Map(run.manifest.entries.map((e) => [e.key, apiOfMethod(e.method)]));
  return new Map(observed.steps.map((s) => [s.item.id, methods.get(s.item.id) ?? (s.item.type.startsWith('BigQuery') ? 'bigquery' : 'aiplatform')]));
}

/** Call a test hook; whatever it throws is marked as a simulated crash (no cleanup). */
export function hook(fn: ((p: MutationPoint) => void) | undefined, point: MutationPoint): void {
  if (!fn) return;
  try {
    fn(point);
  } catch (e) {
    const crash = e instanceof Error ? e : new Error(String(e));
    Object.defineProperty(crash, SIMULATED_CRASH, { value: true });
    throw crash;
  }
}

/** The `DeploySummary` of what was applied. */
export function summary(run: Run, observed: Observed, applied: ReadonlySet<string>): DeploySummary {
  const count = (a: PlanAction) => observed.steps.filter((s) => s.item.action === a && applied.has(s.item.id)).length;
  return {
    target: 'gcp',
    environment: observed.manifest.environment,
    created: count('create'),
    updated: count('update'),
    replaced: count('replace'),
    deleted: count('delete'),
    unchanged: observed.steps.filter((s) => s.item.action === 'noop').length,
    writes: run.calls.writes,
    reads: run.calls.reads,
    durationMs: Date.now() - run.started,
    stats: runStats(run),
  };
}

/** What the run measured of itself: calls, round trips on the critical path, parallelism. */
export function runStats(run: Run): RunStats {
  return {
    ...callStats(run.calls.spans),
    calls: run.calls.reads + run.calls.writes,
    lowestConcurrency: LOWEST.get(run) ?? run.input.concurrency ?? DEFAULT_CONCURRENCY,
  };
}
