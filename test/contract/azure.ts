/**
 * Azure ML as a target of the executed contract harness: synthesizes the ARM template, runs its
 * pipeline job through the emulator of Azure ML's documented placeholder rules
 * (test/adapters/azure/emulator.ts) with the probe as every container step's program, and reports
 * what each step received.
 *
 * The emulator runs the job definition of a schedule; a pipeline without one gets a daily schedule
 * added to its model (a schedule changes when a job is submitted, not what its steps receive). Run
 * parameters are the job's inputs, as on a submitted run
 * (https://learn.microsoft.com/azure/machine-learning/reference-yaml-job-pipeline, "inputs").
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ArmTemplate } from '../../adapters/azure/arm';
import type { EnvironmentModel, PipelineModel, RegisterStepModel } from '../../lib/model/types';
import { pipelineJob, runPipeline, type Registry } from '../adapters/azure/emulator';
import { synth } from '../adapters/azure/models';
import { containerSteps, installProbe, pipelineOf, readProbe, type RunObservation, type Scenario, type StepObservation } from './harness';

const ML = 'Microsoft.MachineLearningServices/workspaces';

/** The model with a schedule on `pipelinePath` when it has none, so the emulator has a job to run. */
export function scheduled(model: EnvironmentModel, pipelinePath: string): EnvironmentModel {
  return {
    ...model,
    resources: model.resources.map((r) =>
      r.kind === 'pipeline' && r.path === pipelinePath && r.schedules.length === 0 ? { ...r, schedules: [{ kind: 'cron', expression: '0 2 * * *', timeZone: 'UTC' }] } : r,
    ),
  } as EnvironmentModel;
}

/** Synthesize the template azure deploys for `pipelinePath` of `model` (scheduled when needed). */
export function azureTemplate(model: EnvironmentModel, pipelinePath: string): ArmTemplate {
  return synth(scheduled(model, pipelinePath)).documents['template.json'] as ArmTemplate;
}

/** Name suffix of the first schedule resource of the pipeline, the job the emulator runs. */
function scheduleOf(template: ArmTemplate, p: PipelineModel): string {
  const schedule = template.resources.find((r) => r.type === `${ML}/schedules` && (r.properties as { tags?: Record<string, string> }).tags?.['mlplane-path'] === p.path);
  if (!schedule) throw new Error(`the template has no schedule of ${p.path}`);
  return `/${schedule.name.split('/').pop()}`;
}

/** Step path → node of the pipeline job, from the `mlplane-path` tag of the component each node runs. */
function nodesOf(template: ArmTemplate, jobs: Record<string, Record<string, unknown>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [node, job] of Object.entries(jobs)) {
    if (job.type !== 'command') continue;
    const version = [...String(job.componentId).matchAll(/'([^']*)'/g)].map((m) => m[1]).slice(1).join('/');
    const component = template.resources.find((r) => r.type === `${ML}/components/versions` && r.name === version);
    const stepPath = (component?.properties as { componentSpec: { tags: Record<string, string> } } | undefined)?.componentSpec.tags['mlplane-path'];
    if (stepPath) out.set(stepPath, node);
  }
  return out;
}

/**
 * Run `pipelinePath` of `model` under `scenario` on the azure emulator; what every step received.
 * `tamper` may edit the synthesized template before it runs (to check that the harness notices).
 */
export function observeAzure(model: EnvironmentModel, pipelinePath: string, scenario: Scenario, tamper?: (t: ArmTemplate) => void, template = azureTemplate(model, pipelinePath)): RunObservation {
  const p = pipelineOf(model, pipelinePath);
  const t = structuredClone(template);
  tamper?.(t);
  const schedule = scheduleOf(t, p);
  const job = pipelineJob(t, schedule);
  for (const [name, text] of Object.entries(scenario.params ?? {})) {
    if (!job.inputs[name]) throw new Error(`the pipeline job has no input ${name}`);
    job.inputs[name] = { ...job.inputs[name], value: text };
  }
  const nodes = nodesOf(t, job.jobs);
  const stepOfNode = new Map(p.steps.filter((s) => nodes.has(s.path)).map((s) => [nodes.get(s.path)!, s.name]));

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-contract-azure-'));
  const bin = path.join(work, 'bin');
  const probe = path.join(work, 'probe');
  installProbe(bin, probe, p, scenario);
  // The emulator hands the step a fixed environment: the probe learns where to record from its own
  // text. The platform's own scripts may call the same program (the register and condition nodes run
  // `python3 -`): a call whose first word is no step's hands over to the real program.
  for (const program of new Set(containerSteps(p).map((s) => s.command[0]!))) {
    const file = path.join(bin, program);
    const real = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).stdout.trim() || 'false';
    const handOver = `key=$(printf '%s' "$1" | tr -c 'A-Za-z0-9_' '_')\nif [ ! -f "$MLPLANE_PROBE_DIR/$key.action" ]; then exec '${real}' "$@"; fi\n`;
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('#!/bin/sh\n', `#!/bin/sh\nMLPLANE_PROBE_DIR='${probe}'\n${handOver}`));
  }

  const registry: Registry = {};
  if (scenario.reference !== undefined) {
    for (const s of p.steps.filter((x): x is RegisterStepModel => x.kind === 'register' && x.gate?.against.kind === 'alias')) {
      const alias = (s.gate!.against as { alias: string }).alias;
      (registry[s.model.split('/').pop()!.toLowerCase()] ??= []).push({ version: '1', tags: { [`mlplane-alias-${alias}`]: 'true', [`mlplane-metric-${s.gate!.metric}`]: String(scenario.reference) } });
    }
  }
  // Stage each dataset's files where the emulator mounts its data asset (before any node runs).
  const stageData = (outputPath: (node: string, output: string) => string) => {
    const root = outputPath('n', 'o').replace(/\/jobs\/n\/outputs\/o$/, '');
    for (const s of containerSteps(p)) {
      const node = nodes.get(s.path)!;
      const bindings = (job.jobs[node]!.inputs ?? {}) as Record<string, { job_input_type: string; uri?: string }>;
      for (const input of s.inputs) {
        if (input.source.kind !== 'dataset') continue;
        const uri = bindings[input.name]?.uri;
        if (uri === undefined) continue;
        const dir = path.join(root, 'data', uri.replace(/[^A-Za-z0-9._-]/g, '_'));
        fs.mkdirSync(dir, { recursive: true });
        for (const [name, content] of Object.entries(scenario.data[input.source.dataset] ?? {})) fs.writeFileSync(path.join(dir, name), content);
      }
    }
    return {};
  };

  const saved = process.env.PATH;
  process.env.PATH = `${bin}${path.delimiter}${saved ?? ''}`;
  let run;
  try {
    run = runPipeline(t, schedule, [], { writes: stageData, registry });
  } finally {
    process.env.PATH = saved;
  }

  const order = run.order.filter((n) => stepOfNode.has(n) && run.nodes.get(n)?.state !== 'skipped').map((n) => stepOfNode.get(n)!);
  const steps: Record<string, StepObservation> = {};
  for (const s of containerSteps(p)) {
    const seen = run.nodes.get(nodes.get(s.path)!)?.state === 'succeeded' ? readProbe(probe, s) : undefined;
    if (seen) steps[s.name] = seen;
  }
  const gates: Record<string, 'promote' | 'keep' | 'error'> = {};
  for (const s of p.steps.filter((x): x is RegisterStepModel => x.kind === 'register')) {
    const state = run.nodes.get(nodes.get(s.path)!)?.state;
    if (state === 'failed') gates[s.name] = 'error';
    if (state !== 'succeeded') continue;
    // The version this run registered: the one past those the registry held before.
    const added = Object.entries(run.registry).flatMap(([name, versions]) => versions.slice(registry[name]?.length ?? 0));
    const latest = added[added.length - 1];
    gates[s.name] = s.promoteTo && latest?.tags[`mlplane-alias-${s.promoteTo}`] === 'true' ? 'promote' : 'keep';
  }
  const failed = [...run.nodes.values()].some((n) => n.state === 'failed') || run.order.length < Object.keys(job.jobs).length;
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(run.outputPath('n', 'o').replace(/\/jobs\/n\/outputs\/o$/, ''), { recursive: true, force: true });
  return { target: 'azure', order, steps, gates, succeeded: !failed };
}
