import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, resolveContext, type Args } from '../cli-args';

/** `mlplane graph`: each pipeline DAG and each environment's topology as Mermaid and DOT files. */
export async function run(args: Args, out: NodeJS.WritableStream): Promise<number> {
  const { defineApp } = await import('../build');
  const { ValidationErrors, environmentGraph, pipelineGraph, renderEnvironment, toDot, toMermaid } = await import('../../lib');
  const format = typeof args.flags.format === 'string' ? args.flags.format : 'both';
  if (!['mermaid', 'dot', 'both'].includes(format)) throw new UsageError(`--format '${format}' is not allowed; use mermaid, dot or both`);
  const dir = path.resolve(typeof args.flags.out === 'string' ? args.flags.out : path.join('cdk.out', 'graph'));
  const { envs, problems } = await defineApp({ context: resolveContext(args) });
  if (problems.length > 0) throw new ValidationErrors(problems);
  const written: string[] = [];
  fs.mkdirSync(dir, { recursive: true });
  const write = (base: string, g: ReturnType<typeof environmentGraph>) => {
    if (format !== 'dot') written.push(save(dir, `${base}.mmd`, toMermaid(g)));
    if (format !== 'mermaid') written.push(save(dir, `${base}.dot`, toDot(g)));
  };
  for (const env of envs) {
    const model = renderEnvironment(env);
    write(model.environment.name, environmentGraph(model));
    for (const r of model.resources) if (r.kind === 'pipeline') write(r.path.replace(/\//g, '.'), pipelineGraph(r));
  }
  const rel = written.map((f) => path.relative(process.cwd(), f));
  out.write(args.flags.json ? `${JSON.stringify({ files: rel }, null, 2)}\n` : `${rel.join('\n')}\n`);
  return 0;
}

function save(dir: string, file: string, content: string): string {
  const p = path.join(dir, file);
  fs.writeFileSync(p, content);
  return p;
}
