/**
 * `mlplane unlock <env>`: remove the deploy lock an interrupted or killed run left behind, after
 * showing who holds it and asking (or `--yes`). The next deploy settles the run's unfinished
 * changes by reading the live state, as after any crash.
 */
import * as path from 'node:path';
import { EXIT, UsageError, resolveContext, sourceApp, type Args } from '../cli-args';
import { lineProgress } from '../progress';

/** `mlplane unlock <environment> [--target <t>] [--yes]`. */
export async function run(args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const names = args.positional;
  if (names.length !== 1) throw new UsageError(`unlock takes one environment name, e.g. mlplane unlock Fraud --target gcp (got ${names.length === 0 ? 'none' : names.join(' ')})`);
  const name = names[0] as string;
  const { buildApp, settingsFor } = await import('../build');
  const { loadEngine } = await import('../../adapters/engines');
  const { loadAdapter } = await import('../../adapters/registry');
  const outdir = path.resolve(typeof args.flags.out === 'string' ? args.flags.out : 'cdk.out');
  const result = await buildApp({ context: resolveContext(args), outdir, strict: false, app: sourceApp(args) });
  const env = result.environments.find((e) => e.name === name);
  if (!env) throw new UsageError(`no environment named '${name}'; environments: ${result.environments.map((e) => e.name).join(', ')}`);
  let code: number = EXIT.OK;
  for (const target of result.targets) {
    const adapter = await loadAdapter(target);
    const output = env.outputs.find((o) => o.target === target);
    const engine = adapter.kind === 'documents' ? await loadEngine(target) : undefined;
    if (!engine || !output?.documents) continue;
    if (!engine.lockHolder || !engine.unlock) {
      out.write(`${name} (${target}): this target keeps no mlplane lock (its cloud runs one deployment of an environment at a time); nothing to unlock\n`);
      continue;
    }
    const input = { model: env.model, documents: output.documents, settings: adapter.parseSettings(settingsFor((k) => result.app.node.tryGetContext(k), target, name, env.model.environment.stage)), progress: lineProgress(err) };
    const holder = await engine.lockHolder(input);
    if (!holder) {
      out.write(`${name} (${target}): not locked\n`);
      continue;
    }
    out.write(`${name} (${target}): locked by ${holder}\n`);
    if (args.flags.yes !== true && !(await confirm(`Remove the lock of ${name} (${target})? Only do this if that run is gone`, out))) {
      err.write(`mlplane: the lock of ${name} (${target}) was left in place; rerun with --yes to remove it without asking\n`);
      code = EXIT.FAILURE;
      continue;
    }
    await engine.unlock(input);
    out.write(`${name} (${target}): unlocked; the next 'mlplane deploy ${name}' settles the interrupted run's changes by reading the live state\n`);
  }
  return code;
}

/** Ask on a terminal; without one, refuse (the caller names `--yes`). */
async function confirm(question: string, out: NodeJS.WritableStream): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const readline = await import('node:readline/promises');
  const rl = readline.createInterface({ input: process.stdin, output: out });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
