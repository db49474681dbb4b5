/**
 * The self-managed AWS stack as a target of the executed contract harness: synthesizes the
 * CloudFormation template, runs the pipeline's state machine through the emulator of Step Functions,
 * ECS/Batch container overrides and the S3 staging containers (test/adapters/aws/emulate.ts), and
 * runs the probe as every step's `main` container with the argv and env the emulator resolved
 * (volume mounts already moved onto this machine by the emulator). Register steps run the
 * synthesized register script for real against the stub registry of contract-run.ts.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import type { EnvironmentModel, PipelineModel, RegisterStepModel } from '../../lib/model/types';
import { ContractRun } from '../adapters/aws/contract-run';
import { Emulator, RunFailed, machineDefinition, type Container, type TemplateJson } from '../adapters/aws/emulate';
import { synth } from '../adapters/aws/support';
import { containerSteps, installProbe, pipelineOf, readProbe, type RunObservation, type Scenario, type StepObservation } from './harness';

/** The CloudFormation template aws synthesizes for `model` (heavy: synthesize once per file). */
export function awsTemplate(model: EnvironmentModel): TemplateJson {
  return Template.fromStack(synth(model).stacks[0] as never).toJSON() as TemplateJson;
}

function bucketOf(t: TemplateJson): string {
  const id = Object.keys(t.Resources).find((k) => k.startsWith('PlatformArtifacts') && t.Resources[k]?.Type === 'AWS::S3::Bucket');
  if (!id) throw new Error('no artifact bucket');
  return `ref:${id}`;
}

/** A run parameter's text as the typed value of the execution input. */
function inputValue(p: PipelineModel, name: string, text: string): unknown {
  const type = p.parameters.find((x) => x.name === name)?.type;
  if (type === 'bool') return text === 'true';
  if (type === 'int' || type === 'float') return Number(text);
  return text;
}

/** Logical-id prefix of the state machine of pipeline `p` (`Contract/Train` → `TrainStateMachine`). */
function machineOf(p: PipelineModel): string {
  return `${p.path.split('/').pop()}StateMachine`;
}

/**
 * Run `pipelinePath` of `model` under `scenario` on the aws emulator; what every step received.
 * `tamper` may edit the synthesized template before it runs (to check that the harness notices).
 */
export function observeAws(model: EnvironmentModel, pipelinePath: string, scenario: Scenario, template: TemplateJson, tamper?: (t: TemplateJson) => void): RunObservation {
  const p = pipelineOf(model, pipelinePath);
  const t = structuredClone(template);
  tamper?.(t);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-contract-aws-'));
  const bin = path.join(work, 'bin');
  const probe = path.join(work, 'probe');
  installProbe(bin, probe, p, scenario);

  const registers = p.steps.filter((x): x is RegisterStepModel => x.kind === 'register');
  const modelName = (s: RegisterStepModel) => s.model.split('/').pop()!.toLowerCase();
  const before: Record<string, { versions: { tags: Record<string, string> }[]; aliases: Record<string, number> }> = {};
  if (scenario.reference !== undefined) {
    for (const s of registers.filter((x) => x.gate?.against.kind === 'alias')) {
      before[modelName(s)] = { versions: [{ tags: { [`metric.${s.gate!.metric}`]: String(scenario.reference) } }], aliases: { [(s.gate!.against as { alias: string }).alias]: 1 } };
    }
  }
  const stand = new ContractRun(p, { input: {}, registry: before });
  const process_ = (state: string, c: Container): number => {
    const step = p.steps.find((s) => s.name === state);
    if (step?.kind !== 'container') return stand.process(state, c);
    const program = path.join(bin, c.argv[0] ?? '');
    const r = spawnSync(fs.existsSync(program) ? program : (c.argv[0] ?? 'false'), c.argv.slice(1), {
      env: { ...c.env, PATH: process.env.PATH ?? '/usr/bin:/bin', MLPLANE_PROBE_DIR: probe }, encoding: 'utf8', timeout: 20_000,
    });
    return r.status ?? 1;
  };
  const emulator = new Emulator(t, process_);
  stand.emulator = emulator;
  for (const [dataset, files] of Object.entries(scenario.data)) {
    const prefix = `datasets/${dataset.split('/').pop()!.toLowerCase()}/`;
    for (const [file, body] of Object.entries(files)) emulator.putObject(`s3://${bucketOf(t)}/${prefix}${file}`, body);
  }
  const input = scenario.params ? { parameters: Object.fromEntries(Object.entries(scenario.params).map(([k, v]) => [k, inputValue(p, k, v)])) } : {};
  let order: string[] = [];
  let succeeded = true;
  try {
    order = emulator.run(machineDefinition(t, machineOf(p)), input as never, 'run-1').steps;
  } catch (e) {
    if (!(e instanceof RunFailed)) throw e;
    succeeded = false;
  }

  const steps: Record<string, StepObservation> = {};
  for (const s of containerSteps(p)) {
    const seen = order.includes(s.name) ? readProbe(probe, s) : undefined;
    if (seen) steps[s.name] = seen;
  }
  const gates: Record<string, 'promote' | 'keep' | 'error'> = {};
  const after = stand.registry();
  for (const s of registers) {
    const r = stand.registers.get(s.name);
    if (!r) continue;
    if (r.status !== 0) {
      gates[s.name] = 'error';
      continue;
    }
    const m = after[modelName(s)];
    const added = (m?.versions.length ?? 0) > (before[modelName(s)]?.versions.length ?? 0);
    gates[s.name] = added && s.promoteTo !== undefined && m?.aliases[s.promoteTo] === m?.versions.length ? 'promote' : 'keep';
  }
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(path.dirname(emulator.s3), { recursive: true, force: true });
  fs.rmSync(path.dirname(stand.registryFile), { recursive: true, force: true });
  return { target: 'aws', order, steps, gates, succeeded };
}
