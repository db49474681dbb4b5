/**
 * `mlplane diff | deploy | destroy` for every selected document target (azure, gcp) through its
 * deploy engine, and for the aws target through the CDK toolkit. One mechanism for progress,
 * `--json`, approval and exit codes, whatever the target.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DeployInput, DeploySummary, Plan, PlanItem, ProgressSink } from '../../adapters/deploy';
import { InterruptedError, PlanChangedError } from '../../adapters/deploy';
import { EXIT, UsageError, resolveContext, sourceApp, type Args } from '../cli-args';
import { liveProgress, lineProgress } from '../progress';

/** The verbs this module runs. */
export type DeployVerb = 'diff' | 'deploy' | 'destroy';

const SYMBOL: Record<PlanItem['action'], string> = { create: '+', update: '~', replace: '±', delete: '-', noop: '=' };

/** Render a plan for people: a count line, then one line per change with its ML summary. */
export function renderPlan(plan: Plan): string {
  const count = (a: PlanItem['action']) => plan.items.filter((i) => i.action === a).length;
  const head = `${plan.environment} (${plan.target}): ${count('create')} to create, ${count('update')} to update, ${count('replace')} to replace, ${count('delete')} to delete, ${count('noop')} unchanged`;
  const lines = plan.items
    .filter((i) => i.action !== 'noop')
    .map((i) => {
      const detail = i.summary.length > 0 ? i.summary : i.changes.map((c) => `${c.property}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`);
      return [`  ${SYMBOL[i.action]} ${i.action.padEnd(8)} ${i.path}  (${i.type})`, ...detail.map((d) => `      ${d}`)].join('\n');
    });
  const health = (plan.health ?? []).map((h) => `  ! unhealthy  ${h}`);
  return [head, ...lines, ...health].join('\n') + '\n';
}

/** Run a deploy verb; returns the exit code. */
export async function runDeployVerb(verb: DeployVerb, args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const approval = typeof args.flags['require-approval'] === 'string' ? args.flags['require-approval'] : 'destructive';
  if (!['never', 'destructive', 'any-change'].includes(approval)) throw new UsageError(`--require-approval '${approval}' is not allowed; use never, destructive or any-change`);
  // Unset: each engine's default (gcp adapts per API up to 32 in flight; azure 8).
  const concurrency = args.flags.concurrency === undefined ? undefined : Number(args.flags.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)) throw new UsageError(`--concurrency '${args.flags.concurrency}' must be a whole number 1-64`);
  const lockTimeoutMs = args.flags['lock-timeout'] === undefined ? 0 : parseDuration('--lock-timeout', String(args.flags['lock-timeout']));
  const lockLeaseMs = args.flags['lock-lease'] === undefined ? undefined : parseDuration('--lock-lease', String(args.flags['lock-lease']));
  if (lockLeaseMs !== undefined && lockLeaseMs < 10_000) throw new UsageError(`--lock-lease '${String(args.flags['lock-lease'])}' is too short; use at least 10s (e.g. 15m)`);

  const { buildApp, contextValue } = await import('../build');
  const { costCapProblem, planCostLine, recordDeployed } = await import('./cost-plan');
  const { loadEngine } = await import('../../adapters/engines');
  const { loadAdapter } = await import('../../adapters/registry');
  const { settingsFor } = await import('../build');
  const outdir = path.resolve(typeof args.flags.out === 'string' ? args.flags.out : 'cdk.out');
  const context = resolveContext(args);
  // Validation happens here, before any engine is loaded: an invalid app makes zero cloud calls.
  // `--app` names a synthesized assembly (a directory, deployed as it is) or the app's command (built from source).
  const appGiven = typeof args.flags.app === 'string' ? path.resolve(args.flags.app) : undefined;
  const assemblyGiven = appGiven !== undefined && fs.existsSync(appGiven) && fs.statSync(appGiven).isDirectory();
  const result = await buildApp({ context, outdir, strict: args.flags.strict === true, app: assemblyGiven ? undefined : sourceApp(args) });
  const only = new Set(args.positional);
  // `--stage` selected the environments while building (context mlplane:stage); a stage that selects none failed there.
  const environments = result.environments.filter((e) => only.size === 0 || only.has(e.name));
  for (const name of only) if (!result.environments.some((e) => e.name === name)) throw new UsageError(`no environment named '${name}'; environments: ${result.environments.map((e) => e.name).join(', ')}`);

  // `--app cdk.out`: deploy the synthesized, digest-verified artifact instead of what the source builds now.
  const artifactDir = assemblyGiven ? appGiven : undefined;
  const artifact = artifactDir ? (await import('../artifact')).loadArtifact(artifactDir) : undefined;
  const json = args.flags.json === true;
  // SIGINT/SIGTERM: no new writes, in-flight calls finish, the lock is released; a second signal exits at once.
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      err.write(`mlplane: ${signal} again, exiting now without waiting; the lock is left to be taken over (mlplane unlock or the next deploy)\n`);
      process.exit(130);
    }
    err.write(`mlplane: ${signal} received: starting no new changes, waiting for those in flight to finish, then releasing the lock (${signal} again exits at once)\n`);
    stop.abort(signal);
  };
  if (verb !== 'diff') {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    return await runTargets();
  } catch (e) {
    if (e instanceof PlanChangedError) {
      err.write(`mlplane: ${e.message}\n`);
      if (!json) out.write(`The plan now:\n${renderPlan(e.plan)}`);
      else out.write(`${JSON.stringify({ planChanged: true, plans: [e.plan] }, null, 2)}\n`);
      return EXIT.FAILURE;
    }
    if (e instanceof InterruptedError) {
      err.write(`mlplane: ${e.message}\n`);
      return 130;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  async function runTargets(): Promise<number> {
    const tty = !json && (out as NodeJS.WriteStream).isTTY === true;
    const plans: Plan[] = [];
    const summaries: DeploySummary[] = [];
    let changes = false;
    const unhealthy: string[] = [];
    for (const target of result.targets) {
      const adapter = await loadAdapter(target);
      if (adapter.kind === 'constructs') {
        const { runCdkVerb } = await import('./cdk-toolkit');
        const code = await runCdkVerb(verb, result.app, environments.flatMap((e) => e.outputs.filter((o) => o.target === target).flatMap((o) => o.files)), { approval, json, fail: args.flags.fail === true, ...(artifactDir ? { assemblyDir: artifactDir } : {}) }, out, err);
        if (code === EXIT.CHANGES) changes = true;
        else if (code !== EXIT.OK) return code;
        continue;
      }
      const engine = await loadEngine(target);
      if (!engine) throw new UsageError(`target '${target}' has no deploy engine in this version; synthesize it with mlplane synth and deploy the documents in cdk.out/`);
      for (const env of environments) {
        const output = env.outputs.find((o) => o.target === target);
        if (!output?.documents) continue;
        const progress: ProgressSink & { stop?: () => void } = tty ? liveProgress(out as NodeJS.WriteStream) : lineProgress(err);
        const built = artifact && artifactDir ? (await import('../artifact')).fromArtifact(artifact, artifactDir, env.name, target) : { model: env.model, documents: output.documents };
        if (built.model.environment.stage !== env.model.environment.stage) {
          throw new UsageError(`${artifactDir} holds ${env.name} synthesized for stage '${built.model.environment.stage}', but this run is for stage '${env.model.environment.stage}'; deploy it with --stage ${built.model.environment.stage}, or synthesize this stage with \`mlplane synth --stage ${env.model.environment.stage} -o <dir>\``);
        }
        const input: DeployInput = {
          model: built.model,
          documents: built.documents,
          settings: adapter.parseSettings(settingsFor((k) => result.app.node.tryGetContext(k), target, env.name, env.model.environment.stage)),
          progress,
          ...(concurrency !== undefined ? { concurrency } : {}),
          lockTimeoutMs,
          ...(lockLeaseMs !== undefined ? { lockLeaseMs } : {}),
          signal: stop.signal,
        };
        const destroyOptions = { destroyData: args.flags['destroy-data'] === true, purge: args.flags.purge === true };
        try {
          const plan = verb === 'destroy' ? await engine.planDestroy(input, destroyOptions) : await engine.diff(input);
          plans.push(plan);
          const hasChanges = plan.items.some((i) => i.action !== 'noop');
          changes ||= hasChanges;
          unhealthy.push(...(plan.health ?? []));
          if (!json) out.write(renderPlan(plan));
          if (!json) out.write(planCostLine(plan, built.model, verb) ?? '');
          const overCap = verb === 'deploy' ? costCapProblem(built.model, target, contextValue(result.app.node.tryGetContext('mlplane:costCap'))) : undefined;
          if (overCap !== undefined) {
            err.write(`mlplane: ${overCap}; nothing was applied\n`);
            return EXIT.FAILURE;
          }
          if (verb === 'diff' || (verb === 'destroy' && !hasChanges)) continue;
          // The approval is of this plan; the engine applies it only if a re-read under its lock gives the same one.
          const destructive = plan.items.some((i) => i.action === 'delete' || i.action === 'replace');
          if (hasChanges && approval !== 'never' && (approval === 'any-change' || destructive)) {
            const approved = await confirm(`${verb} ${env.name} (${target}) ${destructive ? 'deletes or replaces resources' : 'changes resources'}`, out, err);
            if (!approved) return EXIT.FAILURE;
          }
          if (stop.signal.aborted) throw new InterruptedError(`interrupted (${String(stop.signal.reason)}) before anything was applied; run 'mlplane ${verb} ${env.name}' to continue`, env.name);
          const applying: DeployInput = { ...input, approvedPlan: plan, unattended: approval === 'never' };
          // A no-op deploy still runs: it verifies live health and reports its (zero) counts.
          const s = verb === 'destroy' ? await engine.destroy(applying, destroyOptions) : await engine.deploy(applying);
          summaries.push({ ...s, reads: s.reads + (plan.reads ?? 0) });
          recordDeployed(built.model, target, verb);
        } finally {
          progress.stop?.();
        }
      }
    }
    if (json) out.write(`${JSON.stringify(verb === 'diff' ? { changes, unhealthy, plans } : { plans, summaries }, null, 2)}\n`);
    else for (const s of summaries) out.write(`${s.environment} (${s.target}): ${s.created} created, ${s.updated} updated, ${s.replaced} replaced, ${s.deleted} deleted, ${s.unchanged} unchanged — ${s.writes} writes, ${s.reads} reads, ${(s.durationMs / 1000).toFixed(1)} s\n`);
    if (verb === 'diff' && args.flags.fail === true && unhealthy.length > 0) {
      err.write(`mlplane: live resources are unhealthy:\n  ${unhealthy.join('\n  ')}\n`);
      return EXIT.FAILURE;
    }
    return verb === 'diff' && args.flags.fail === true && changes ? EXIT.CHANGES : EXIT.OK;
  }
}

/**
 * Ask for approval on a terminal. Without a terminal it never prompts: it refuses, naming the flag.
 */
async function confirm(question: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<boolean> {
  if (!process.stdin.isTTY) {
    err.write(`mlplane: approval required (${question}) but stdin is not a terminal; rerun with --require-approval never to proceed without asking\n`);
    return false;
  }
  const readline = await import('node:readline/promises');
  const rl = readline.createInterface({ input: process.stdin, output: out });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question}. Continue? [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * A duration option with its unit (`1500ms`, `30s`, `5m`, `1h`). A bare number is refused: it
 * used to be read as seconds while the hint said milliseconds.
 */
export function parseDuration(flag: string, raw: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(raw.trim());
  if (!m) {
    const bare = /^\d+$/.test(raw.trim());
    throw new UsageError(`${flag} '${raw}' ${bare ? 'has no unit' : 'is not a duration'}; give a unit: ms, s, m or h (e.g. 30s, 5m, 1500ms)`);
  }
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
}
