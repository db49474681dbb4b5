import { resolveContext, sourceApp, type Args } from '../cli-args';
import { table } from './table';

/**
 * `mlplane ls`: every environment × stage × target and the artifacts each would produce. Each
 * stage an environment is defined for is built on its own (as `--stage <s>` would); `--stage`
 * lists one stage. Writes nothing.
 */
export async function run(args: Args, out: NodeJS.WritableStream): Promise<number> {
  const { buildApp, defineApp } = await import('../build');
  const { STAGE_CONTEXT_KEY } = await import('../../lib/environment');
  const context = resolveContext(args);
  const stages = typeof args.flags.stage === 'string' ? [args.flags.stage] : await declaredStages(context);
  const environments = [];
  let targets: readonly string[] = [];
  for (const stage of stages) {
    const result = await buildApp({ context: { ...context, [STAGE_CONTEXT_KEY]: stage }, strict: args.flags.strict === true, app: sourceApp(args) });
    targets = result.targets;
    environments.push(
      ...result.environments.map((e) => ({
        name: e.name,
        stage: e.model.environment.stage,
        resources: e.model.resources.map((r) => ({ path: r.path, kind: r.kind })),
        artifacts: [
          { target: 'model', files: [`${e.name}.model.json`] },
          ...e.outputs.map((o) => ({ target: o.target, files: o.kind === 'documents' ? o.files.map((f) => `${e.name}.${o.target}/${f}`) : o.files.map((s) => `${s}.template.json`) })),
        ],
      })),
    );
  }
  if (args.flags.json) {
    out.write(`${JSON.stringify({ targets, stages, environments }, null, 2)}\n`);
    return 0;
  }
  const rows: string[][] = [];
  for (const e of environments) for (const a of e.artifacts) for (const f of a.files) rows.push([e.name, e.stage, a.target, f]);
  out.write(table(['environment', 'stage', 'target', 'artifact'], rows));
  return 0;

  /** Every stage some environment is defined for, in first-declared order. */
  async function declaredStages(ctx: Record<string, unknown>): Promise<string[]> {
    const { envs } = await defineApp({ context: ctx, app: sourceApp(args) });
    return [...new Set(envs.flatMap((e) => e.stages))];
  }
}
