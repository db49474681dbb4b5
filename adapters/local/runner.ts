/**
 * The scheduler of `mlplane run`: runs a pipeline model's DAG on this machine under the step
 * contract (docs/step-contract.md) — data and order-only edges, conditions with skip propagation,
 * bounded parallelism, retries with fresh outputs, per-attempt timeouts, the step cache, register
 * steps against the local registry, and a run record written after every step.
 *
 * How an attempt is started is the executor's business (executors.ts); what a step receives comes
 * from the pure functions of contract.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ContainerStepModel, EnvironmentModel, RegisterStepModel, StepModel } from '../../lib/model/types';
import { stableStringify } from '../../lib/model/stable-json';
import { describeOperand, evaluateCondition, outputFileText, parseValueText, valueText } from './contract';
import type { AttemptOutcome, Executor, StepIo } from './executors';
import type { RunPlan } from './plan';
import type { AttemptRecord, DatasetRecord, RunRecord, StepEvent, StepRecord } from './record';
import { RUN_RECORD_FORMAT } from './record';
import { LocalRegistry } from './registry-store';
import { resolveLocalSecrets } from './secrets';
import { RunLayout, StepCache, contentDigest, emptyDir, hashOf, newRunId, stateRoot, writeAtomic } from './store';

/** Version of the cache key recipe; bump when it changes meaning. */
const CACHE_KEY_VERSION = 1;

/** Options of `runPipeline`. */
export interface RunOptions {
  readonly environment: EnvironmentModel;
  /** The settled plan (see `planRun`). */
  readonly plan: RunPlan;
  /** App directory: working directory of process steps, and home of `.mlplane/`. */
  readonly appDir: string;
  readonly executor: Executor;
  /** Steps running at once. @default 4 */
  readonly concurrency?: number;
  /** Reuse cached step results. @default true */
  readonly cache?: boolean;
  /** Id of the new run. @default - a new id (`newRunId`) */
  readonly runId?: string;
  /** Continue this interrupted or failed run: its completed steps are reused when their key is unchanged. */
  readonly resume?: RunRecord;
  /** Aborting stops every running step and records the run as interrupted. */
  readonly signal?: AbortSignal;
  /** Called on every step state change. */
  readonly onEvent?: (e: StepEvent) => void;
}

/** Steps running at once unless `--concurrency` says otherwise. */
export const DEFAULT_CONCURRENCY = 4;

/** Run a pipeline; resolves with the final record (also at `.mlplane/runs/<runId>/run.json`). */
export async function runPipeline(o: RunOptions): Promise<RunRecord> {
  const { pipeline } = o.plan;
  const root = stateRoot(o.appDir);
  const runId = o.resume?.runId ?? o.runId ?? newRunId();
  const layout = new RunLayout(root, runId);
  const cache = new StepCache(path.join(root, 'cache'));
  const registry = new LocalRegistry(path.join(root, 'registry'));
  const concurrency = Math.max(1, o.concurrency ?? DEFAULT_CONCURRENCY);
  const signal = o.signal ?? new AbortController().signal;
  const emit = (e: StepEvent) => o.onEvent?.(e);
  const rel = (p: string) => path.relative(o.appDir, p) || '.';
  const started = Date.now();

  fs.mkdirSync(layout.dir, { recursive: true });
  const datasets: Record<string, DatasetRecord> = {};
  for (const [dsPath, { source, model }] of Object.entries(o.plan.datasets)) {
    const dir = stageDataset(path.resolve(o.appDir, source), layout.dataset(model.id));
    datasets[dsPath] = { source, dir: rel(dir), version: model.version, digest: contentDigest(dir) };
  }

  const record: RunRecord = {
    format: RUN_RECORD_FORMAT,
    runId,
    environment: o.environment.environment.name,
    pipeline: pipeline.path,
    status: 'running',
    executor: o.executor.name,
    concurrency,
    cache: o.cache ?? true,
    startedAt: new Date(started).toISOString(),
    parameters: o.plan.parameters,
    datasets,
    steps: pipeline.steps.map((s) => ({ name: s.name, kind: s.kind, state: 'not-run', cacheHit: false, attempts: [], durationMs: 0, outputs: {} })),
  };
  const save = () => writeAtomic(layout.record, stableStringify(record));
  save();

  const stepRecord = (name: string) => record.steps.find((s) => s.name === name)!;
  const state = new Map<string, 'pending' | 'ready' | 'running' | StepRecord['state']>(pipeline.steps.map((s) => [s.name, 'pending']));
  const paramText = new Map<string, string>(); // `${step}.${output}` → value text
  const metrics = new Map<string, Record<string, number>>(); // `${step}.${output}` → metrics.json

  const values = {
    stepOutput: (step: string, output: string) => paramText.get(`${step}.${output}`),
    metrics: (step: string, output: string) => metrics.get(`${step}.${output}`),
    parameter: (name: string) => o.plan.parameters[name],
  };

  /** Input artifact directory of a step input, or its value text. */
  const ioOf = (step: ContainerStepModel): StepIo => {
    const inputs: Record<string, StepIo['inputs'][string]> = {};
    for (const i of step.inputs) {
      const s = i.source;
      if (i.type.kind === 'artifact') {
        const dir = s.kind === 'dataset' ? path.resolve(o.appDir, datasets[s.dataset].dir) : s.kind === 'step' ? layout.artifact(s.step, s.output) : undefined;
        if (dir === undefined) throw new Error(`[${step.path}] artifact input '${i.name}' is wired to a ${s.kind}; wire a dataset or a step output`);
        inputs[i.name] = { kind: 'artifact', dir };
      } else {
        const text = s.kind === 'value' ? valueText(s.value) : s.kind === 'parameter' ? o.plan.parameters[s.parameter] : s.kind === 'step' ? paramText.get(`${s.step}.${s.output}`) : undefined;
        if (text === undefined) throw new Error(`[${step.path}] parameter input '${i.name}' has no value`);
        inputs[i.name] = { kind: 'parameter', text };
      }
    }
    const outputs: Record<string, StepIo['outputs'][string]> = {};
    for (const out of step.outputs) {
      outputs[out.name] = out.type.kind === 'artifact' ? { kind: 'artifact', dir: layout.artifact(step.name, out.name) } : { kind: 'parameter', file: layout.param(step.name, out.name) };
    }
    return { inputs, outputs, params: o.plan.parameters, paramsDir: layout.paramsDir(step.name) };
  };

  /** The cache key: image, command, args, env, parameter values received, input artifact contents. */
  const keyOf = (step: StepModel): string => {
    if (step.kind === 'register') {
      const digestOf = (ref: { step: string; output: string } | undefined) => (ref ? contentDigest(layout.artifact(ref.step, ref.output)) : null);
      return hashOf({ v: CACHE_KEY_VERSION, kind: 'register', registry: step.registry, model: step.model, promoteTo: step.promoteTo ?? null, gate: step.gate ?? null, artifact: digestOf(step.artifact), metrics: digestOf(step.metrics) });
    }
    const io = ioOf(step);
    const words = [...step.command, ...step.args, ...Object.values(step.env)].join('\n');
    const params = Object.fromEntries(Object.entries(o.plan.parameters).filter(([n]) => new RegExp(`\\{\\{\\s*params\\.${n}\\s*\\}\\}`).test(words)));
    const inputs = step.inputs.map((i) => {
      const x = io.inputs[i.name];
      if (x.kind === 'parameter') return { name: i.name, value: x.text };
      if (i.source.kind === 'dataset') return { name: i.name, dataset: i.source.dataset, version: datasets[i.source.dataset].version, digest: datasets[i.source.dataset].digest };
      return { name: i.name, digest: contentDigest(x.dir) };
    });
    return hashOf({ v: CACHE_KEY_VERSION, kind: 'container', image: step.image, command: step.command, args: step.args, env: step.env, secretEnv: step.secretEnv, outputs: step.outputs, params, inputs });
  };

  /** Read what a successful container step produced; a message when a parameter output is missing or malformed. */
  const collect = (step: ContainerStepModel, rec: StepRecord): string | undefined => {
    for (const out of step.outputs) {
      if (out.type.kind === 'artifact') {
        const dir = layout.artifact(step.name, out.name);
        rec.outputs[out.name] = { kind: 'artifact', path: rel(dir) };
        if (out.type.type === 'metrics') {
          const m = readMetrics(dir);
          if (m) {
            metrics.set(`${step.name}.${out.name}`, m);
            (rec.metrics ??= {})[out.name] = m;
          }
        }
        continue;
      }
      const file = layout.param(step.name, out.name);
      if (!fs.existsSync(file)) return `did not write parameter output '${out.name}' (the contract: write its value as text to the file {{outputs.${out.name}}}, here ${rel(file)})`;
      const text = outputFileText(fs.readFileSync(file, 'utf8'));
      const parsed = parseValueText(text, out.type.type);
      if ('error' in parsed) return `parameter output '${out.name}' (${out.type.type}): ${parsed.error}`;
      paramText.set(`${step.name}.${out.name}`, text);
      rec.outputs[out.name] = { kind: 'parameter', path: rel(file), value: text };
    }
    return undefined;
  };

  const freshOutputs = (step: ContainerStepModel) => {
    fs.rmSync(layout.paramsDir(step.name), { recursive: true, force: true });
    fs.mkdirSync(layout.paramsDir(step.name), { recursive: true });
    for (const out of step.outputs) if (out.type.kind === 'artifact') emptyDir(layout.artifact(step.name, out.name));
  };

  /** Run one attempt of a register step in this process, logging to `log`. */
  const registerAttempt = (step: RegisterStepModel, log: string): AttemptOutcome => {
    const lines: string[] = [];
    try {
      const modelDir = layout.artifact(step.artifact.step, step.artifact.output);
      let m: unknown;
      if (step.metrics) {
        const file = path.join(layout.artifact(step.metrics.step, step.metrics.output), 'metrics.json');
        m = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
        lines.push(fs.existsSync(file) ? `metrics: ${JSON.stringify(m)}` : `no metrics.json in ${rel(path.dirname(file))}`);
      }
      const r = registry.register(step, { modelDir, digest: contentDigest(modelDir), metrics: m ?? (step.gate ? undefined : {}), runId });
      lines.push(`registered ${step.registry}/${step.model} version ${r.version}`, `gate: ${r.gate.outcome} (${r.gate.reason})`);
      if (r.promotedTo) lines.push(`alias '${r.promotedTo}' → version ${r.version}${r.previous !== undefined ? ` (was ${r.previous})` : ''}`);
      else if (step.promoteTo) lines.push(`alias '${step.promoteTo}' stays on ${r.previous !== undefined ? `version ${r.previous}` : 'no version'}`);
      stepRecord(step.name).registration = r;
      fs.appendFileSync(log, `${lines.join('\n')}\n`);
      return { exitCode: 0, signal: null, timedOut: false, interrupted: false };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      fs.appendFileSync(log, `${[...lines, message].join('\n')}\n`);
      return { exitCode: 1, signal: null, timedOut: false, interrupted: false, error: message };
    }
  };

  /** Reuse a step completed in the run being resumed, when its key is unchanged and its outputs are on disk. */
  const resumeStep = (step: StepModel, key: string, rec: StepRecord): boolean => {
    const prev = o.resume?.steps.find((s) => s.name === step.name);
    if (!prev || !['done', 'cached', 'reused'].includes(prev.state) || prev.cacheKey !== key) return false;
    if (step.kind === 'container') {
      if (step.outputs.some((out) => !fs.existsSync(out.type.kind === 'artifact' ? layout.artifact(step.name, out.name) : layout.param(step.name, out.name)))) return false;
      if (collect(step, rec) !== undefined) return false;
    }
    Object.assign(rec, { attempts: prev.attempts, registration: prev.registration, reusedFrom: prev.reusedFrom ?? runId, cacheHit: prev.cacheHit });
    return true;
  };

  const execute = async (step: StepModel): Promise<StepRecord['state']> => {
    const rec = stepRecord(step.name);
    const t0 = Date.now();
    const finish = (s: StepRecord['state'], message?: string, log?: string): StepRecord['state'] => {
      rec.state = s;
      rec.durationMs = Date.now() - t0;
      if (message && s !== 'done' && s !== 'cached' && s !== 'reused') rec.reason = message;
      emit({ step: step.name, state: s, elapsedMs: rec.durationMs, message, log, attempt: rec.attempts.length || undefined });
      return s;
    };
    let key: string;
    try {
      key = keyOf(step);
    } catch (e) {
      return finish('failed', e instanceof Error ? e.message : String(e));
    }
    rec.cacheKey = key;
    if (o.resume && resumeStep(step, key, rec)) return finish('reused', `completed earlier in run ${runId}`);

    if (step.kind === 'container' && step.caching && record.cache) {
      const hit = cache.lookup(key);
      if (hit) {
        freshOutputs(step);
        cache.restore(hit, (n) => layout.artifact(step.name, n), (n) => layout.param(step.name, n));
        if (collect(step, rec) === undefined) {
          rec.cacheHit = true;
          rec.reusedFrom = hit.runId;
          return finish('cached', `outputs of run ${hit.runId}`);
        }
      }
    }

    const attempts = step.retries + 1;
    for (let n = 1; n <= attempts; n++) {
      const log = layout.log(step.name, n);
      fs.mkdirSync(path.dirname(log), { recursive: true });
      fs.writeFileSync(log, '');
      emit({ step: step.name, state: 'running', attempt: n, log: rel(log) });
      const startedAt = new Date();
      let outcome: AttemptOutcome;
      let failure: string | undefined;
      if (step.kind === 'container') {
        freshOutputs(step);
        const secrets = resolveLocalSecrets(o.environment, step, { env: process.env, appDir: o.appDir });
        outcome = secrets.problems.length > 0 ? { exitCode: null, signal: null, timedOut: false, interrupted: false, error: secrets.problems.join('; ') } : await o.executor.launch({
          step, io: ioOf(step), appDir: o.appDir, logFile: log, signal, secrets: secrets.values,
          timeoutMs: step.timeoutSeconds !== undefined ? step.timeoutSeconds * 1000 : undefined,
          name: `mlplane-${runId}-${step.name}-${n}`.toLowerCase().replace(/[^a-z0-9_.-]/g, '-'),
        });
        failure = attemptFailure(outcome, step.timeoutSeconds);
        if (failure === undefined) failure = collect(step, rec);
      } else {
        outcome = signal.aborted ? { exitCode: null, signal: null, timedOut: false, interrupted: true } : registerAttempt(step, log);
        failure = attemptFailure(outcome, undefined);
      }
      const attempt: AttemptRecord = {
        attempt: n, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(),
        exitCode: outcome.exitCode, signal: outcome.signal, timedOut: outcome.timedOut, interrupted: outcome.interrupted,
        error: failure !== undefined && failure !== `exit code ${outcome.exitCode}` ? failure : undefined, log: rel(log),
      };
      rec.attempts.push(attempt);
      if (failure === undefined) {
        if (step.kind === 'container' && step.caching) cache.store({ key, step: step.name, runId, outputs: Object.fromEntries(step.outputs.map((x) => [x.name, x.type.kind])) }, (nm) => layout.artifact(step.name, nm), (nm) => layout.param(step.name, nm));
        return finish('done');
      }
      if (outcome.interrupted || signal.aborted) return finish('interrupted', 'interrupted (Ctrl-C)', rel(log));
      if (n < attempts) {
        emit({ step: step.name, state: 'retried', attempt: n, message: `${failure}; attempt ${n + 1} of ${attempts}`, log: rel(log) });
        continue;
      }
      const reason = `${failure}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`;
      if (!record.failed) record.failed = { step: step.name, reason, log: rel(log) };
      return finish('failed', reason, rel(log));
    }
    return finish('failed', 'no attempt ran');
  };

  // Every step waits for its upstream steps: data, order-only, and the producers of its condition operands.
  const upstream = new Map(pipeline.steps.map((s) => [s.name, upstreamOf(s)]));
  const running = new Map<string, Promise<void>>();
  const ready: StepModel[] = [];
  const settled = (s: string | undefined) => s === 'done' || s === 'cached' || s === 'reused';

  const advance = () => {
    for (const step of pipeline.steps) {
      if (state.get(step.name) !== 'pending') continue;
      const ups = upstream.get(step.name)!.map((u) => ({ name: u, state: state.get(u) }));
      const broken = ups.find((u) => u.state === 'failed' || u.state === 'not-run' || u.state === 'interrupted');
      if (broken) {
        if (broken.state === 'interrupted' || signal.aborted) continue; // stays not-run, resumable
        state.set(step.name, 'not-run');
        const rec = stepRecord(step.name);
        rec.state = 'not-run';
        rec.reason = `upstream step '${broken.name}' ${broken.state === 'failed' ? 'failed' : 'did not run'}`;
        emit({ step: step.name, state: 'not-run', message: rec.reason });
        continue;
      }
      const skipped = ups.find((u) => u.state === 'skipped');
      if (skipped) {
        skip(step, `upstream step '${skipped.name}' was skipped`);
        continue;
      }
      if (!ups.every((u) => settled(u.state))) continue;
      const conditions: Array<{ text: string; holds: boolean }> = [];
      let error: string | undefined;
      for (const c of step.conditions) {
        const r = evaluateCondition(c, values);
        if ('error' in r) {
          error = `${r.error} (condition declared on '${c.declaredOn}': ${describeOperand(c.operand)} ${c.op} ${valueText(c.value)})`;
          break;
        }
        conditions.push(r);
      }
      const rec = stepRecord(step.name);
      if (conditions.length > 0) rec.conditions = conditions;
      if (error) {
        state.set(step.name, 'failed');
        rec.state = 'failed';
        rec.reason = error;
        if (!record.failed) record.failed = { step: step.name, reason: error };
        emit({ step: step.name, state: 'failed', message: error });
        continue;
      }
      const falseOne = conditions.find((c) => !c.holds);
      if (falseOne) {
        skip(step, `condition is false: ${falseOne.text}`);
        continue;
      }
      state.set(step.name, 'ready');
      ready.push(step);
      emit({ step: step.name, state: 'queued' });
    }
  };
  const skip = (step: StepModel, reason: string) => {
    state.set(step.name, 'skipped');
    const rec = stepRecord(step.name);
    rec.state = 'skipped';
    rec.reason = reason;
    emit({ step: step.name, state: 'skipped', message: reason });
  };

  for (;;) {
    advance();
    while (!signal.aborted && running.size < concurrency && ready.length > 0) {
      const step = ready.shift()!;
      state.set(step.name, 'running');
      running.set(step.name, execute(step).then((s) => {
        state.set(step.name, s);
        running.delete(step.name);
        save();
      }));
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }

  for (const step of pipeline.steps) {
    const s = state.get(step.name);
    if (s === 'pending' || s === 'ready') {
      const rec = stepRecord(step.name);
      rec.state = 'not-run';
      rec.reason ??= signal.aborted ? 'the run was interrupted before it started' : 'not reached';
    }
  }
  const finals = record.steps.map((s) => s.state);
  record.status = signal.aborted ? 'interrupted' : finals.some((s) => s === 'failed' || s === 'not-run') ? 'failed' : 'succeeded';
  record.endedAt = new Date().toISOString();
  record.durationMs = Date.now() - started;
  save();
  return record;
}

/** Upstream steps of a step: `dependsOn`, register sources and condition operand producers. */
export function upstreamOf(step: StepModel): string[] {
  const names = new Set(step.dependsOn);
  if (step.kind === 'register') {
    names.add(step.artifact.step);
    if (step.metrics) names.add(step.metrics.step);
  } else {
    for (const i of step.inputs) if (i.source.kind === 'step') names.add(i.source.step);
  }
  for (const c of step.conditions) if (c.operand.kind !== 'parameter') names.add(c.operand.step);
  names.delete(step.name);
  return [...names].sort();
}

/** Why an attempt failed, or undefined when it succeeded. */
function attemptFailure(o: AttemptOutcome, timeoutSeconds: number | undefined): string | undefined {
  if (o.error !== undefined) return o.error;
  if (o.interrupted) return 'interrupted';
  if (o.timedOut) return `timed out after ${timeoutSeconds} s (the step's timeout bounds each attempt)`;
  if (o.exitCode === 0) return undefined;
  return o.exitCode !== null ? `exit code ${o.exitCode}` : `killed by ${o.signal}`;
}

/** `metrics.json` of a metrics directory, when it is a flat object of finite numbers. */
function readMetrics(dir: string): Record<string, number> | undefined {
  const file = path.join(dir, 'metrics.json');
  if (!fs.existsSync(file)) return undefined;
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined;
    return Object.fromEntries(Object.entries(m).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
  } catch {
    return undefined;
  }
}

/** A dataset source as a directory: a directory is used as it is; a file is linked (or copied) into `staging`. */
function stageDataset(source: string, staging: string): string {
  if (fs.statSync(source).isDirectory()) return source;
  emptyDir(staging);
  const to = path.join(staging, path.basename(source));
  try {
    fs.linkSync(source, to);
  } catch {
    fs.copyFileSync(source, to);
  }
  return staging;
}

/** Read a run record. */
export function readRunRecord(appDir: string, runId: string): RunRecord | undefined {
  const file = new RunLayout(stateRoot(appDir), runId).record;
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord) : undefined;
}
