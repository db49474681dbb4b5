import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveContext, sourceApp, type Args } from '../cli-args';
import { bytes, table } from './table';

/** `mlplane synth`: synthesize every environment for the selected targets and print a summary. */
export async function run(args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { buildApp, formatWarning, serialize } = await import('../build');
  const outdir = path.resolve(typeof args.flags.out === 'string' ? args.flags.out : 'cdk.out');
  const started = Date.now();
  const result = await buildApp({ context: resolveContext(args), outdir, strict: args.flags.strict === true, app: sourceApp(args) });
  const assembly = result.app.synth();
  const stackBytes = (name: string) => {
    const stack = assembly.stacks.find((s) => s.stackName === name || s.id === name);
    return stack ? Buffer.byteLength(fs.readFileSync(path.join(assembly.directory, stack.templateFile))) : 0;
  };
  const environments = result.environments.map((e) => {
    const modelBytes = Buffer.byteLength(serialize(e.model));
    return {
      name: e.name,
      stage: e.model.environment.stage,
      resources: e.model.resources.length,
      model: { file: `${e.name}.model.json`, bytes: modelBytes },
      targets: e.outputs.map((o) => ({
        target: o.target,
        artifacts: o.kind === 'documents' ? o.files.map((f) => `${e.name}.${o.target}/${f}`) : o.files.map((s) => `${s}.template.json`),
        bytes: o.kind === 'documents' ? o.bytes : o.files.reduce((n, s) => n + stackBytes(s), 0),
        warnings: o.warnings.length,
      })),
    };
  });
  const durationMs = Date.now() - started;
  if (args.flags.json) {
    out.write(`${JSON.stringify({ ok: true, outdir, targets: result.targets, environments, warnings: result.warnings, durationMs }, null, 2)}\n`);
  } else {
    for (const w of result.warnings) err.write(`${formatWarning(w)}\n`);
    const rows: string[][] = [];
    for (const e of environments) {
      rows.push([e.name, e.stage, String(e.resources), 'model', '1', bytes(e.model.bytes)]);
      for (const t of e.targets) rows.push(['', '', '', t.target, String(t.artifacts.length), bytes(t.bytes)]);
    }
    out.write(table(['environment', 'stage', 'resources', 'target', 'files', 'size'], rows));
    out.write(`\nSynthesized ${environments.length} environment${environments.length === 1 ? '' : 's'} for ${result.targets.length ? result.targets.join(', ') : 'no target (models only)'} into ${path.relative(process.cwd(), outdir) || '.'}/ in ${(durationMs / 1000).toFixed(1)} s\n`);
  }
  return 0;
}
