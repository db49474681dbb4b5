/**
 * `mlplane promote <Env> <model>@<alias|version> --from <stage> --to <stage>`: run a declared
 * `ModelPromotion` with the target cloud's own mechanism (Azure ML workspace copy, Vertex Model
 * Registry copy / upload, MLflow registry + S3 copy on aws). Both stages are built from the one definition; the approval is checked
 * before any cloud call, the gate against the metrics recorded on the source version.
 */
import { EXIT, UsageError, resolveContext, type Args } from '../cli-args';

/** Run the verb; returns the exit code. */
export async function run(args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const usage = 'usage: mlplane promote [<Env> <model>@<alias|version>] --from <stage> --to <stage> [--target <t>] [--approved-by <who>] [--from-profile <p>] [--to-profile <p>]';
  if (args.positional.length === 0) return runAll(args, out, err);
  const [envName, ref, ...extra] = args.positional;
  if (!envName || !ref || extra.length > 0) throw new UsageError(`${usage} (got ${JSON.stringify(args.positional)})`);
  const m = /^([a-z][a-z0-9_-]{0,62})@([A-Za-z0-9][A-Za-z0-9-]*)$/.exec(ref);
  if (!m) throw new UsageError(`'${ref}' is not <model>@<alias|version>, e.g. fraud@champion or fraud@3`);
  const [, modelName, sel] = m as unknown as [string, string, string];
  const selector = /^\d+$/.test(sel) ? { version: sel } : { alias: sel };
  const from = typeof args.flags.from === 'string' ? args.flags.from : undefined;
  const to = typeof args.flags.to === 'string' ? args.flags.to : undefined;
  if (!from || !to) throw new UsageError(`--from and --to are required; ${usage}`);
  const approvedBy = typeof args.flags['approved-by'] === 'string' ? args.flags['approved-by'] : undefined;

  const { buildApp, settingsFor } = await import('../build');
  const { environmentsOf, ModelPromotion, STAGE_CONTEXT_KEY } = await import('../../lib');
  const { loadAdapter } = await import('../../adapters/registry');
  const { approvalProblem } = await import('../../adapters/shared/promotion');
  const context = resolveContext(args);
  const built = async (stage: string) => {
    const result = await buildApp({ context: { ...context, [STAGE_CONTEXT_KEY]: stage }, strict: args.flags.strict === true });
    const env = result.environments.find((e) => e.name === envName);
    if (!env) throw new UsageError(`no environment '${envName}' at stage '${stage}'; environments at ${stage}: ${result.environments.map((e) => e.name).join(', ') || 'none'}`);
    const construct = environmentsOf(result.app).find((e) => e.node.id === envName && e.selected);
    return { result, env, promotions: construct ? ModelPromotion.of(construct).map((p) => p._render()) : [] };
  };
  const source = await built(from);
  if (source.result.targets.length !== 1) {
    throw new UsageError(`promote acts on one target; ${source.result.targets.length === 0 ? 'none is' : `${source.result.targets.join(', ')} are`} selected: pass --target azure, gcp or aws`);
  }
  const target = source.result.targets[0] as string;
  const spec = source.promotions.find((p) => p.model === modelName && p.from === from && p.to === to);
  if (!spec) {
    const declared = source.promotions.map((p) => `${p.model} ${p.from}→${p.to} (${p.path})`).join(', ') || 'none';
    throw new UsageError(`${envName} declares no promotion of model '${modelName}' from ${from} to ${to} (declared: ${declared}); define one with new ModelPromotion(env, id, { model, from: '${from}', to: '${to}' })`);
  }
  const refused = approvalProblem(spec, approvedBy);
  if (refused) {
    err.write(`mlplane: ${refused}\n`);
    return EXIT.FAILURE;
  }
  const dest = await built(to);
  const adapter = await loadAdapter(target);
  const side = (b: typeof source, stage: string) => {
    const output = b.env.outputs.find((o) => o.target === target);
    return {
      model: b.env.model,
      documents: output?.documents ?? {},
      settings: adapter.parseSettings(settingsFor((k) => b.result.app.node.tryGetContext(k), target, envName, stage)),
    };
  };
  const profiles = { from: typeof args.flags['from-profile'] === 'string' ? args.flags['from-profile'] : undefined, to: typeof args.flags['to-profile'] === 'string' ? args.flags['to-profile'] : undefined };
  if ((profiles.from || profiles.to) && target !== 'aws') throw new UsageError(`--from-profile and --to-profile name AWS profiles and apply to --target aws only (the target is ${target})`);
  const request = { spec, selector, source: side(source, from), target: side(dest, to), ...(approvedBy ? { approvedBy } : {}), ...(profiles.from || profiles.to ? { profiles: { ...(profiles.from ? { from: profiles.from } : {}), ...(profiles.to ? { to: profiles.to } : {}) } } : {}), log: (line: string) => err.write(`  ${line}\n`) };
  let promote: (r: typeof request) => Promise<import('../../adapters/shared/promotion').PromotionResult>;
  if (target === 'gcp') promote = (await import('../../adapters/gcp/deploy/promote')).promoteGcp;
  else if (target === 'azure') promote = (await import('../../adapters/azure/deploy/promote')).promoteAzure;
  else if (target === 'aws') promote = (await import('../../adapters/aws/deploy/promote')).promoteAws;
  else throw new UsageError(`promote on target '${target}' is not available; promote with --target azure, gcp or aws`);

  const result = await promote(request);
  if (args.flags.json) out.write(`${JSON.stringify({ environment: envName, cloud: target, from, to, ...result }, null, 2)}\n`);
  else if (result.outcome === 'promoted') out.write(`${envName} (${target}): promoted ${result.source} from ${from} to ${to} as ${result.target} (${result.reason}); ${result.writes} writes\n`);
  else out.write(`${envName} (${target}): unchanged: ${result.source} is ${result.reason}; ${result.writes} writes\n`);
  return EXIT.OK;
}

/**
 * `mlplane promote --from <s> --to <t>` without a model: every `ModelPromotion` declared between
 * those stages, each of the version holding its alias (what CI runs after deploying `<t>`). None
 * declared is not an error: there is nothing to promote.
 */
async function runAll(args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const from = typeof args.flags.from === 'string' ? args.flags.from : undefined;
  const to = typeof args.flags.to === 'string' ? args.flags.to : undefined;
  if (!from || !to) throw new UsageError('--from and --to are required: mlplane promote --from <stage> --to <stage> (every declared promotion) or mlplane promote <Env> <model>@<alias|version> --from <stage> --to <stage>');
  const { defineApp } = await import('../build');
  const { ModelPromotion, STAGE_CONTEXT_KEY } = await import('../../lib');
  const { envs } = await defineApp({ context: { ...resolveContext(args), [STAGE_CONTEXT_KEY]: from } });
  const declared = envs.flatMap((e) => ModelPromotion.of(e).map((p) => ({ env: e.node.id, spec: p._render() }))).filter((p) => p.spec.from === from && p.spec.to === to);
  if (declared.length === 0) {
    out.write(`no ModelPromotion from ${from} to ${to} is declared; nothing to promote\n`);
    return EXIT.OK;
  }
  for (const { env, spec } of declared) {
    if (!spec.alias) throw new UsageError(`[${spec.path}] has no alias, so there is no version to pick without one: run mlplane promote ${env} ${spec.model}@<alias|version> --from ${from} --to ${to}, or give the ModelPromotion an alias`);
    const code = await run({ ...args, positional: [env, `${spec.model}@${spec.alias}`] }, out, err);
    if (code !== EXIT.OK) return code;
  }
  return EXIT.OK;
}
