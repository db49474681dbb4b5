import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, resolveContext, sourceApp, type Args } from '../cli-args';

type StepEvent = import('../../adapters/local').StepEvent;
type RunRecord = import('../../adapters/local').RunRecord;

const ICON: Record<StepEvent['state'], string> = {
  queued: '·', running: '…', retried: '↻', done: '✔', cached: '⚡', reused: '⚡', failed: '✖', skipped: '⤼', 'not-run': '-', interrupted: '■',
};

/**
 * `mlplane run <Env>/<Pipeline>`: run a pipeline on this machine under the step contract, with the
 * step cache, the local model registry and a run record under `.mlplane/`. `--resume <runId>`
 * continues an interrupted or failed run. Exits 0 when the run succeeds, 1 otherwise.
 */
export async function run(args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const local = await import('../../adapters/local');
  const appDir = process.cwd();
  const json = args.flags.json === true;
  const resumeId = typeof args.flags.resume === 'string' ? args.flags.resume : undefined;
  const resume = resumeId !== undefined ? local.readRunRecord(appDir, resumeId) : undefined;
  if (resumeId !== undefined && !resume) throw new UsageError(`--resume ${resumeId}: no run record at ${path.join('.mlplane', 'runs', resumeId, 'run.json')}; list runs with: ls .mlplane/runs`);
  const target = resume?.pipeline ?? args.positional[0];
  if (!target || !/^[^/]+\/[^/]+$/.test(target)) throw new UsageError(`run needs <Environment>/<Pipeline>, e.g. mlplane run Fraud/Train${target ? ` (got '${target}')` : ''}`);
  if (resume && args.positional[0] !== undefined && args.positional[0] !== resume.pipeline) {
    throw new UsageError(`run ${resumeId} is of ${resume.pipeline}, not ${args.positional[0]}; drop the pipeline argument with --resume`);
  }
  if (resume && (args.lists?.param?.length || args.lists?.data?.length)) throw new UsageError('--resume keeps the parameters and data of the run; drop --param and --data');

  const concurrencyFlag = args.flags.concurrency;
  const concurrency = typeof concurrencyFlag === 'string' ? Number(concurrencyFlag) : resume?.concurrency ?? local.DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency ${String(concurrencyFlag)} must be a whole number ≥ 1`);
  const parameters = resume ? { ...resume.parameters } : pairs('param', args.lists?.param ?? []);
  const context = resolveContext(args);

  // The app named in cdk.json, as every verb loads it.
  const { defineApp } = await import('../build');
  const { ValidationErrors, renderEnvironment } = await import('../../lib');
  const { envs, problems } = await defineApp({ context, app: sourceApp(args) });
  if (problems.length > 0) throw new ValidationErrors(problems);
  const envName = target.split('/')[0];
  const env = envs.find((e) => e.node.id === envName);
  if (!env) throw new UsageError(`no environment '${envName}' (environments: ${envs.map((e) => e.node.id).join(', ')})`);
  const model = renderEnvironment(env);
  const resource = model.resources.find((r) => r.path === target);
  if (resource?.kind === 'batchInference') {
    err.write(`mlplane: [${target}] is a batch inference; running batch inference locally is not supported yet (it scores with the serving container of '${resource.model.model}', which defines no step command); run a pipeline (${pipelinesOf(model).join(', ')}) or deploy it to a target\n`);
    return 1;
  }

  const configured = resume ? {} : runSettings(context).data;
  const data = resume ? Object.fromEntries(Object.entries(resume.datasets).map(([p, d]) => [p, d.source])) : pairs('data', args.lists?.data ?? []);
  const { plan, problems: planProblems } = local.planRun({ environment: model, target, parameters, data, configured, exists: (p) => fs.existsSync(path.resolve(appDir, p)), secrets: { env: process.env, appDir } });
  if (!plan) throw new ValidationErrors(planProblems, 'mlplane run cannot start');

  const executor = chooseExecutor(local, typeof args.flags.executor === 'string' ? args.flags.executor : resume?.executor, err);
  if (typeof executor === 'number') return executor;

  const progress = json ? err : out;
  const started = Date.now();
  const width = Math.max(...plan.pipeline.steps.map((s) => s.name.length));
  const line = (e: StepEvent) => {
    const attempt = e.attempt !== undefined && (e.state === 'running' || e.state === 'retried') ? ` (attempt ${e.attempt})` : '';
    const secs = e.elapsedMs !== undefined && e.state !== 'running' ? ` ${(e.elapsedMs / 1000).toFixed(1)} s` : '';
    const log = e.log && (e.state === 'failed' || e.state === 'retried') ? `; log: ${e.log}` : '';
    return `${ICON[e.state]} ${e.step.padEnd(width)} ${e.state}${attempt}${secs}${e.message ? `: ${e.message}` : ''}${log}`;
  };
  // On a terminal: one live line per step, redrawn in place; elsewhere one line per state change.
  const tty = (progress as NodeJS.WriteStream).isTTY === true ? (progress as NodeJS.WriteStream) : undefined;
  const live = tty ? liveTable(tty, plan.pipeline.steps.map((s) => s.name), line) : undefined;
  const onEvent = (e: StepEvent) => {
    if (live) live.update(e);
    else progress.write(`+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s ${line(e)}\n`);
  };

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    err.write('\nmlplane: stopping running steps (Ctrl-C again to exit at once)…\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  let record: RunRecord;
  try {
    const runId = resume?.runId ?? local.newRunId();
    progress.write(`run ${runId}${resume ? ' (resumed)' : ''} of ${target}: ${executor.name} executor, concurrency ${concurrency}${args.flags['no-cache'] ? ', cache off' : ''}\n`);
    record = await local.runPipeline({
      environment: model, plan, appDir, executor, concurrency, runId, cache: args.flags['no-cache'] !== true && (resume?.cache ?? true),
      resume, signal: controller.signal, onEvent,
    });
  } finally {
    process.off('SIGINT', onSigint);
    live?.stop();
  }

  if (json) out.write(`${JSON.stringify(record, null, 2)}\n`);
  const summary = summarize(record);
  const recordPath = path.join('.mlplane', 'runs', record.runId, 'run.json');
  progress.write(`\nrun ${record.runId} ${record.status} in ${((record.durationMs ?? 0) / 1000).toFixed(1)} s: ${summary}\nrecord: ${recordPath}\n`);
  for (const s of record.steps) {
    const r = s.registration;
    if (r) progress.write(`${s.name}: registered ${r.model} version ${r.version}; gate ${r.gate.outcome}: ${r.gate.reason}${r.promotedTo ? `; '${r.promotedTo}' → version ${r.version}` : ''}\n`);
  }
  if (record.status === 'interrupted') {
    err.write(`mlplane: run interrupted; resume it with: mlplane run --resume ${record.runId}\n`);
    return 1;
  }
  if (record.status === 'failed') {
    const f = record.failed;
    err.write(`mlplane: step ${f?.step ?? '?'} failed: ${f?.reason ?? 'see the run record'}${f?.log ? `; log: ${f.log}` : ''}\n`);
    return 1;
  }
  return 0;
}

/**
 * A table of every step's latest state, redrawn in place on a terminal (running steps show their
 * elapsed time, updated four times a second).
 */
function liveTable(stream: NodeJS.WriteStream, steps: readonly string[], line: (e: StepEvent) => string): { update(e: StepEvent): void; stop(): void } {
  const rows = new Map<string, { e: StepEvent; since: number }>(steps.map((s) => [s, { e: { step: s, state: 'queued' }, since: Date.now() }]));
  const waiting = new Set(steps);
  let drawn = 0;
  const draw = () => {
    const lines = [...rows.values()].map(({ e, since }) => {
      if (waiting.has(e.step)) return `  ${e.step}`;
      return e.state === 'running' ? `${line(e)} ${((Date.now() - since) / 1000).toFixed(1)} s` : line(e);
    });
    if (drawn > 0) stream.write(`\x1b[${drawn}A`);
    for (const l of lines) stream.write(`\x1b[2K${l.slice(0, (stream.columns || 120) - 1)}\n`);
    drawn = lines.length;
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  draw();
  return {
    update(e) {
      waiting.delete(e.step);
      const prev = rows.get(e.step);
      rows.set(e.step, { e, since: prev && prev.e.state === e.state ? prev.since : Date.now() });
      draw();
    },
    stop() {
      clearInterval(timer);
      draw();
    },
  };
}

/** `--executor`, or container when docker/podman answers, else process with a note. */
function chooseExecutor(local: typeof import('../../adapters/local'), flag: string | undefined, err: NodeJS.WritableStream): import('../../adapters/local').Executor | number {
  if (flag !== undefined && flag !== 'process' && flag !== 'container') throw new UsageError(`--executor '${flag}' is not allowed; use process or container`);
  if (flag === 'process') return local.processExecutor();
  const engine = local.detectContainerEngine();
  if (engine) return local.containerExecutor(engine);
  if (flag === 'container') {
    err.write('mlplane: --executor container needs docker or podman, and neither `docker info` nor `podman info` succeeded; start the engine, or run steps as host processes with --executor process\n');
    return 1;
  }
  err.write('note: no container engine answered (`docker info`, `podman info`); running steps as host processes (--executor process). Their commands run in this directory with the tools on your PATH.\n');
  return local.processExecutor();
}

/** `name=value` pairs of a repeatable flag. */
function pairs(flag: string, values: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} needs name=value, got '${v}'`);
    result[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return result;
}

/** Context `mlplane:run`: `{ "data": { "<Env>/<Dataset>": "<local file or directory>" } }`. */
function runSettings(context: Record<string, unknown>): { data: Record<string, string> } {
  const raw = context['mlplane:run'];
  if (raw === undefined) return { data: {} };
  const data = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as { data?: unknown }).data : undefined;
  if (data === undefined) return { data: {} };
  if (!data || typeof data !== 'object' || Array.isArray(data) || Object.values(data).some((v) => typeof v !== 'string')) {
    throw new UsageError(`context mlplane:run.data must map dataset paths to local paths, e.g. { "Fraud/Transactions": "examples/fraud/data/transactions.csv" }`);
  }
  return { data: data as Record<string, string> };
}

function pipelinesOf(model: import('../../lib').EnvironmentModel): string[] {
  return model.resources.filter((r) => r.kind === 'pipeline').map((r) => r.path);
}

function summarize(r: RunRecord): string {
  const counts = new Map<string, number>();
  for (const s of r.steps) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}
