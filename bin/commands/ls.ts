import { resolveContext, sourceApp, type Args } from '../cli-args';
import { table } from './table';

/** `mlplane ls`: environments, targets and the artifacts each would produce. Writes nothing. */
export async function run(args: Args, out: NodeJS.WritableStream): Promise<number> {
  const { buildApp } = await import('../build');
  const result = await buildApp({ context: resolveContext(args), strict: args.flags.strict === true, app: sourceApp(args) });
  const environments = result.environments.map((e) => ({
    name: e.name,
    stage: e.model.environment.stage,
    resources: e.model.resources.map((r) => ({ path: r.path, kind: r.kind })),
    artifacts: [
      { target: 'model', files: [`${e.name}.model.json`] },
      ...e.outputs.map((o) => ({ target: o.target, files: o.kind === 'documents' ? o.files.map((f) => `${e.name}.${o.target}/${f}`) : o.files.map((s) => `${s}.template.json`) })),
    ],
  }));
  if (args.flags.json) {
    out.write(`${JSON.stringify({ targets: result.targets, environments }, null, 2)}\n`);
    return 0;
  }
  const rows: string[][] = [];
  for (const e of environments) for (const a of e.artifacts) for (const f of a.files) rows.push([e.name, e.stage, a.target, f]);
  out.write(table(['environment', 'stage', 'target', 'artifact'], rows));
  return 0;
}
