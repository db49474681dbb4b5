/**
 * Before a run starts: find the pipeline, settle parameter values and dataset sources, and check
 * that every placeholder and condition operand resolves. Pure: the caller says which local paths
 * exist. Every problem is reported at once, naming the construct path and the fix.
 */
import type { DatasetModel, EnvironmentModel, PipelineModel } from '../../lib/model/types';
import type { Problem } from '../../lib/core/errors';
import { resolveLocalSecrets, type SecretSource } from './secrets';
import { parseValueText, resolveStep, valueText } from './contract';

/** What a run needs, settled. */
export interface RunPlan {
  readonly pipeline: PipelineModel;
  /** Pipeline parameter → value text. */
  readonly parameters: Readonly<Record<string, string>>;
  /** Dataset path → the local source given for it (relative to the app directory or absolute). */
  readonly datasets: Readonly<Record<string, { readonly source: string; readonly model: DatasetModel }>>;
}

/** Inputs of `planRun`. */
export interface PlanInput {
  readonly environment: EnvironmentModel;
  /** `<Env>/<Pipeline>`. */
  readonly target: string;
  /** `--param name=value` texts. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Dataset id or path → local file or directory (`--data`); each must name a dataset of the environment. */
  readonly data?: Readonly<Record<string, string>>;
  /** Dataset path → local sample configured for the app (context `mlplane:run`), used when `data` has none. */
  readonly configured?: Readonly<Record<string, string>>;
  /** Whether a local path exists. */
  readonly exists: (p: string) => boolean;
  /**
   * Where secret values come from; each Secret a step reads must have one.
   *
   * @default - the process environment and `.mlplane/secrets/` of the working directory
   */
  readonly secrets?: SecretSource;
}

/** Settle a run, or return every problem that prevents it. */
export function planRun(input: PlanInput): { plan?: RunPlan; problems: Problem[] } {
  const { environment: env, target } = input;
  const pipelines = env.resources.filter((r): r is PipelineModel => r.kind === 'pipeline');
  const pipeline = pipelines.find((p) => p.path === target);
  if (!pipeline) {
    return { problems: [{ path: target, message: `is not a pipeline of environment '${env.environment.name}' (pipelines: ${pipelines.map((p) => p.path).join(', ') || 'none'}); run one of them` }] };
  }
  const problems: Problem[] = [];

  const parameters: Record<string, string> = {};
  const given = input.parameters ?? {};
  for (const name of Object.keys(given)) {
    if (!pipeline.parameters.some((p) => p.name === name)) {
      problems.push({ path: pipeline.path, message: `--param ${name}: the pipeline has no parameter '${name}' (parameters: ${pipeline.parameters.map((p) => p.name).join(', ') || 'none'}); fix the name` });
    }
  }
  for (const p of pipeline.parameters) {
    const text = given[p.name];
    if (text === undefined) {
      if (p.default === undefined) problems.push({ path: pipeline.path, message: `parameter '${p.name}' (${p.type}) has no default; pass --param ${p.name}=<value>` });
      else parameters[p.name] = valueText(p.default);
      continue;
    }
    const parsed = parseValueText(text, p.type);
    if ('error' in parsed) problems.push({ path: pipeline.path, message: `--param ${p.name}: ${parsed.error}; pass a value of type ${p.type}` });
    else parameters[p.name] = valueText(parsed.value);
  }

  const datasets: Record<string, { source: string; model: DatasetModel }> = {};
  const data = input.data ?? {};
  for (const key of Object.keys(data)) {
    const known = env.resources.some((r) => r.kind === 'dataset' && (r.path === key || r.id === key));
    if (!known) {
      const names = env.resources.filter((r) => r.kind === 'dataset').map((r) => r.id);
      problems.push({ path: env.environment.path, message: `--data ${key}: no dataset '${key}' in environment '${env.environment.name}' (datasets: ${names.join(', ') || 'none'}); use a dataset id or path` });
    }
  }
  for (const step of pipeline.steps) {
    if (step.kind !== 'container') continue;
    for (const i of step.inputs) {
      if (i.source.kind !== 'dataset' || datasets[i.source.dataset]) continue;
      const ds = env.resources.find((r): r is DatasetModel => r.kind === 'dataset' && r.path === (i.source as { dataset: string }).dataset);
      if (!ds) {
        problems.push({ path: step.path, message: `input '${i.name}' reads dataset '${i.source.dataset}', which is not in this environment` });
        continue;
      }
      const source = data[ds.path] ?? data[ds.id] ?? input.configured?.[ds.path];
      if (source === undefined) {
        problems.push({ path: ds.path, message: `dataset '${ds.id}' (read by step '${step.name}') has no local data; pass --data ${ds.id}=<file or directory> (${ds.format} files), or set it in cdk.json context "mlplane:run": { "data": { "${ds.path}": "<path>" } }` });
      } else if (!input.exists(source)) {
        problems.push({ path: ds.path, message: `local data '${source}' for dataset '${ds.id}' does not exist; pass --data ${ds.id}=<an existing file or directory>` });
      } else {
        datasets[ds.path] = { source, model: ds };
      }
    }
  }

  const secrets = input.secrets ?? { env: process.env, appDir: process.cwd() };
  for (const step of pipeline.steps) {
    if (step.kind !== 'container') continue;
    for (const message of resolveLocalSecrets(env, step, secrets).problems) problems.push({ path: step.path, message });
  }
  problems.push(...stepProblems(pipeline, parameters));
  return problems.length > 0 ? { problems } : { plan: { pipeline, parameters, datasets }, problems };
}

/** Placeholders that cannot resolve, and condition operands that name nothing. */
function stepProblems(pipeline: PipelineModel, parameters: Readonly<Record<string, string>>): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(pipeline.steps.map((s) => [s.name, s]));
  for (const step of pipeline.steps) {
    if (step.kind === 'container') {
      const names = (list: readonly { name: string }[]) => Object.fromEntries(list.map((x) => [x.name, '']));
      const r = resolveStep(step, { inputs: names(step.inputs), outputs: names(step.outputs), params: parameters });
      for (const p of r.problems) problems.push({ path: step.path, message: p });
    }
    for (const c of step.conditions) {
      const o = c.operand;
      if (o.kind === 'parameter') {
        if (!(o.parameter in parameters) && !pipeline.parameters.some((p) => p.name === o.parameter)) problems.push({ path: step.path, message: `condition reads pipeline parameter '${o.parameter}', which the pipeline does not define` });
        continue;
      }
      const producer = byName.get(o.step);
      const output = producer?.kind === 'container' ? producer.outputs.find((x) => x.name === o.output) : undefined;
      if (!output) problems.push({ path: step.path, message: `condition reads output '${o.step}.${o.output}', which no step of the pipeline declares` });
    }
  }
  return problems;
}
