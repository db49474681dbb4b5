/**
 * Small pipeline models for the local runner's tests: steps are `sh -c` scripts (cheap to start on
 * a busy machine), run by the real process executor in a temporary app directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planRun, processExecutor, runPipeline, type RunOptions, type RunRecord, type StepEvent } from '../../adapters/local';
import type {
  ContainerStepModel, DatasetModel, EnvironmentModel, PipelineModel, PipelineParameterModel, RegisterStepModel, StepInputModel, StepModel, StepOutputModel,
} from '../../lib/model/types';

const made: string[] = [];

/** A fresh app directory (removed by `removeAppDirs`). */
export function appDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-run-'));
  made.push(dir);
  return dir;
}

/** Remove every app directory made by `appDir`. */
export function removeAppDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

type StepOpts = Partial<Omit<ContainerStepModel, 'kind' | 'name' | 'path'>>;

/** A container step running `script` with `sh -c` (placeholders may appear inside the script). */
export function shStep(name: string, script: string, o: StepOpts = {}): ContainerStepModel {
  const inputs = o.inputs ?? [];
  const fromInputs = inputs.flatMap((i) => (i.source.kind === 'step' ? [i.source.step] : []));
  return {
    kind: 'container',
    name,
    path: `T/P/${name}`,
    dependsOn: [...new Set([...(o.dependsOn ?? []), ...fromInputs, ...(o.orderOnly ?? [])])].sort(),
    orderOnly: o.orderOnly ?? [],
    conditions: o.conditions ?? [],
    retries: o.retries ?? 0,
    timeoutSeconds: o.timeoutSeconds,
    caching: o.caching ?? true,
    image: o.image ?? 'example.com/test:1',
    command: o.command ?? ['sh', '-c', script],
    args: o.args ?? [],
    env: o.env ?? {},
    inputs,
    outputs: o.outputs ?? [],
    resources: { cpu: 1, memoryGiB: 1 },
  };
}

/** An artifact output. */
export const artifactOut = (name: string, type: 'dataset' | 'model' | 'metrics' | 'artifact' = 'artifact'): StepOutputModel => ({ name, type: { kind: 'artifact', type } });
/** A parameter output. */
export const paramOut = (name: string, type: 'string' | 'int' | 'float' | 'bool' = 'string'): StepOutputModel => ({ name, type: { kind: 'parameter', type } });
/** An artifact input from a step output. */
export const fromStep = (name: string, step: string, output: string, type: 'dataset' | 'model' | 'metrics' | 'artifact' = 'artifact'): StepInputModel => ({
  name, type: { kind: 'artifact', type }, source: { kind: 'step', step, output },
});
/** A parameter input from a pipeline parameter. */
export const fromParam = (name: string, parameter: string, type: 'string' | 'int' | 'float' | 'bool' = 'string'): StepInputModel => ({
  name, type: { kind: 'parameter', type }, source: { kind: 'parameter', parameter },
});

/** A register step of model `m` in registry `T/Registry`. */
export function registerStep(name: string, o: Partial<Omit<RegisterStepModel, 'kind' | 'name' | 'path'>> & Pick<RegisterStepModel, 'artifact'>): RegisterStepModel {
  return {
    kind: 'register',
    name,
    path: `T/P/${name}`,
    dependsOn: [...new Set([o.artifact.step, ...(o.metrics ? [o.metrics.step] : []), ...(o.dependsOn ?? [])])].sort(),
    orderOnly: [],
    conditions: o.conditions ?? [],
    retries: o.retries ?? 0,
    caching: false,
    artifact: o.artifact,
    metrics: o.metrics,
    registry: 'T/Registry',
    model: 'm',
    promoteTo: o.promoteTo,
    gate: o.gate,
  };
}

/** A dataset of environment T. */
export function dataset(id: string, version = '1'): DatasetModel {
  return { kind: 'dataset', path: `T/${id}`, id, schema: [], source: { kind: 'managed' }, format: 'csv', version, clusterBy: [], retain: true };
}

/** An environment `T` with pipeline `T/P` of `steps`. */
export function envOf(steps: StepModel[], parameters: PipelineParameterModel[] = [], datasets: DatasetModel[] = []): EnvironmentModel {
  const pipeline: PipelineModel = { kind: 'pipeline', path: 'T/P', id: 'P', parameters, steps, schedules: [] };
  return {
    schemaVersion: '1.1.0',
    environment: { name: 'T', path: 'T', stage: 'dev', region: 'any', tags: {}, network: { mode: 'public' }, encryption: { kind: 'platform' } },
    resources: [...datasets, pipeline],
    grants: [],
  };
}

/** Options of `runIn`. */
export interface RunIn extends Partial<Omit<RunOptions, 'environment' | 'plan' | 'appDir' | 'executor'>> {
  readonly parameters?: Record<string, string>;
  readonly data?: Record<string, string>;
}

/** Plan and run pipeline `T/P` of `env` in `dir` with the process executor; returns the record and every event. */
export async function runIn(dir: string, env: EnvironmentModel, o: RunIn = {}): Promise<{ record: RunRecord; events: StepEvent[] }> {
  const { plan, problems } = planRun({ environment: env, target: 'T/P', parameters: o.parameters, data: o.data, exists: (p) => fs.existsSync(path.resolve(dir, p)) });
  if (!plan) throw new Error(problems.map((p) => `[${p.path}] ${p.message}`).join('\n'));
  const events: StepEvent[] = [];
  const onEvent = (e: StepEvent) => {
    events.push(e);
    o.onEvent?.(e);
  };
  const record = await runPipeline({ ...o, environment: env, plan, appDir: dir, executor: processExecutor(), onEvent });
  return { record, events };
}

/** The final state of each step, by name. */
export function states(r: RunRecord): Record<string, string> {
  return Object.fromEntries(r.steps.map((s) => [s.name, s.state]));
}

/** Lines of a file, or none. */
export function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}
