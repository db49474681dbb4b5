/**
 * Vertex AI Pipelines as a target of the executed contract harness: synthesizes the KFP IR, runs it
 * through the emulator of KFP's documented placeholder resolution (test/adapters/gcp/support/kfp-run.ts)
 * and, for every container step, runs the probe with the argv and env the emulator resolved.
 *
 * The emulator gives a container `/gcs/<bucket>/…` paths (Cloud Storage FUSE,
 * as kfp-run.ts documents) and keeps
 * their files under a local directory; the probe runs with that mount point rewritten to the local
 * directory in every word, as a FUSE mount would make them readable. The BigQuery export the
 * pipeline stages a dataset with writes placeholder rows; the scenario's files of the dataset
 * replace what the export wrote (only where it wrote something), so that a dataset input holds the
 * dataset's files as on every target.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gcpAdapter } from '../../adapters/gcp';
import type { PipelineSpec } from '../../adapters/gcp/kfp-types';
import { dnsName } from '../../adapters/gcp/names';
import type { EnvironmentModel, PipelineModel, RegisterStepModel } from '../../lib/model/types';
import { settingsFor } from '../adapters/gcp/fixtures';
import { KfpRun, type PbValue } from '../adapters/gcp/support/kfp-run';
import { capture, containerSteps, installProbe, pipelineOf, readProbe, type RunObservation, type Scenario, type StepObservation } from './harness';

/** The KFP IR gcp synthesizes for `pipelinePath` of `model`. */
export function kfpSpec(model: EnvironmentModel, pipelinePath: string): PipelineSpec {
  const p = pipelineOf(model, pipelinePath);
  const { documents } = gcpAdapter.synth(model, settingsFor(model));
  const entry = Object.entries(documents).find(([k, v]) => k.startsWith('pipelines/') && k.endsWith(`-${dnsName(p.id)}.json`) && v);
  if (!entry) throw new Error(`no pipeline document for ${pipelinePath}`);
  return entry[1] as PipelineSpec;
}

/** A run parameter's text as the value a KFP run is submitted with. */
function pbValue(p: PipelineModel, name: string, text: string): PbValue {
  const type = p.parameters.find((x) => x.name === name)?.type;
  if (type === 'bool') return text === 'true';
  if (type === 'int' || type === 'float') return Number(text);
  return text;
}

/** The gate metric as the label the register helper reads it from (`encode` in python-components.ts). */
function metricLabel(value: number): string {
  const text = spawnSync('python3', ['-c', 'import sys; print(repr(float(sys.argv[1])))', String(value)], { encoding: 'utf8' }).stdout.trim();
  return text.replace('.', '_').replace('-', 'n').replace('+', 'p');
}

/**
 * Run `pipelinePath` of `model` under `scenario` on the KFP emulator; what every step received.
 * `tamper` may edit the synthesized IR before it runs (to check that the harness notices).
 */
export function observeGcp(model: EnvironmentModel, pipelinePath: string, scenario: Scenario, tamper?: (spec: PipelineSpec) => void, spec = kfpSpec(model, pipelinePath)): RunObservation {
  const p = pipelineOf(model, pipelinePath);
  const ir = structuredClone(spec);
  tamper?.(ir);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-contract-gcp-'));
  const bin = path.join(work, 'bin');
  const probe = path.join(work, 'probe');
  const gcs = path.join(work, 'gcs');
  installProbe(bin, probe, p, scenario);
  const byTask = new Map(p.steps.map((s) => [dnsName(s.name), s]));

  const container = (task: string, argv: readonly string[], env: Readonly<Record<string, string>>) => {
    const step = byTask.get(task);
    if (step?.kind !== 'container') throw new Error(`task ${task} is not a container step`);
    const mounted = (w: string) => w.split('/gcs/').join(`${gcs}/`);
    const words = argv.map(mounted);
    const vars = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, mounted(v)]));
    const templates = [...step.command, ...step.args];
    for (const input of step.inputs) {
      if (input.source.kind !== 'dataset') continue;
      const files = scenario.data[input.source.dataset] ?? {};
      const at = templates.findIndex((t) => t.includes(`{{inputs.${input.name}}}`));
      const dir = at >= 0 && words[at] !== undefined ? capture(templates[at]!, words[at]!)?.get(`inputs.${input.name}`) : undefined;
      if (!dir || !fs.existsSync(dir) || fs.readdirSync(dir).length === 0) continue;
      for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true });
      for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    }
    const program = path.join(bin, words[0] ?? '');
    const result = spawnSync(fs.existsSync(program) ? program : (words[0] ?? 'false'), words.slice(1), {
      env: { ...vars, PATH: process.env.PATH ?? '/usr/bin:/bin', MLPLANE_PROBE_DIR: probe }, encoding: 'utf8', timeout: 20_000,
    });
    if (result.status !== 0) throw new Error(`${step.path} failed: ${result.stderr}`);
  };

  const holder: Record<string, string> | null = scenario.reference === undefined ? null : {};
  if (holder) for (const s of p.steps.filter((x): x is RegisterStepModel => x.kind === 'register' && x.gate !== undefined)) holder[`mlplane-metric-${s.gate!.metric.toLowerCase()}`] = metricLabel(scenario.reference!);
  const run = new KfpRun(ir, gcs, container, holder);
  const params = Object.fromEntries(Object.entries(scenario.params ?? {}).map(([k, v]) => [k, pbValue(p, k, v)]));
  let succeeded = true;
  try {
    run.run(params);
  } catch {
    succeeded = false; // a failed task ends the run: what ran up to it is still reported
  }

  const gates: Record<string, 'promote' | 'keep' | 'error'> = {};
  for (const s of p.steps.filter((x): x is RegisterStepModel => x.kind === 'register')) {
    const call = run.python.find((c) => c.fn === 'register' && c.task.split('/').pop() === dnsName(s.name));
    if (call && (call.result as { error?: string } | null)?.error !== undefined) gates[s.name] = 'error';
    else if (call) gates[s.name] = call.calls.some((c) => (c as unknown[])[0] === 'alias') ? 'promote' : 'keep';
  }
  // Leaf tasks in the order they ran (the register helper among them), mapped back to their steps.
  const leaves = run.ran.map((t) => byTask.get(t.split('/').pop()!)?.name).filter((n): n is string => n !== undefined);
  const steps: Record<string, StepObservation> = {};
  for (const s of containerSteps(p)) {
    const seen = leaves.includes(s.name) ? readProbe(probe, s) : undefined;
    if (seen) steps[s.name] = seen;
  }
  fs.rmSync(work, { recursive: true, force: true });
  return { target: 'gcp', order: leaves, steps, gates, succeeded };
}
