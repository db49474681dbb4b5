/**
 * `mlplane run` as a target of the executed contract harness: runs a pipeline model with the real
 * scheduler and process executor, the probe standing in for every step's program (first on PATH),
 * and reports what each step received.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalRegistry, planRun, processExecutor, runPipeline, type StepEvent } from '../../adapters/local';
import type { EnvironmentModel, RegisterStepModel } from '../../lib/model/types';
import { containerSteps, installProbe, pipelineOf, readProbe, type RunObservation, type Scenario, type StepObservation } from './harness';

/** Run `pipelinePath` of `model` under `scenario` with `mlplane run`; what every step received. */
export async function observeLocal(model: EnvironmentModel, pipelinePath: string, scenario: Scenario): Promise<RunObservation> {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-contract-local-'));
  const p = pipelineOf(model, pipelinePath);
  const bin = path.join(app, 'bin');
  const probe = path.join(app, 'probe');
  installProbe(bin, probe, p, scenario);

  const data: Record<string, string> = {};
  for (const [dataset, files] of Object.entries(scenario.data)) {
    const dir = path.join(app, 'data', dataset.replace(/\//g, '_'));
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    data[dataset] = dir;
  }
  if (scenario.reference !== undefined) {
    // The alias holder before the run: a version recorded with the gate metric, holding the alias.
    const registry = new LocalRegistry(path.join(app, '.mlplane', 'registry'));
    const modelDir = path.join(app, 'previous-model');
    fs.mkdirSync(modelDir, { recursive: true });
    for (const s of p.steps.filter((x): x is RegisterStepModel => x.kind === 'register' && x.gate?.against.kind === 'alias')) {
      const alias = (s.gate!.against as { alias: string }).alias;
      registry.register({ ...s, gate: undefined, promoteTo: alias }, { modelDir, digest: 'previous', metrics: { [s.gate!.metric]: scenario.reference }, runId: 'previous' });
    }
  }

  const { plan, problems } = planRun({ environment: model, target: pipelinePath, parameters: scenario.params, data, exists: (x) => fs.existsSync(x) });
  if (!plan) throw new Error(problems.map((x) => `[${x.path}] ${x.message}`).join('\n'));
  const order: string[] = [];
  const onEvent = (e: StepEvent) => {
    if (e.state === 'running' && !order.includes(e.step)) order.push(e.step);
  };
  const saved = { PATH: process.env.PATH, MLPLANE_PROBE_DIR: process.env.MLPLANE_PROBE_DIR };
  process.env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
  process.env.MLPLANE_PROBE_DIR = probe;
  let record;
  try {
    record = await runPipeline({ environment: model, plan, appDir: app, executor: processExecutor(), cache: false, onEvent });
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.MLPLANE_PROBE_DIR === undefined) delete process.env.MLPLANE_PROBE_DIR;
    else process.env.MLPLANE_PROBE_DIR = saved.MLPLANE_PROBE_DIR;
  }
  const steps: Record<string, StepObservation> = {};
  for (const s of containerSteps(p)) {
    const seen = record.steps.find((r) => r.name === s.name)?.state === 'done' ? readProbe(probe, s) : undefined;
    if (seen) steps[s.name] = seen;
  }
  const gates: Record<string, 'promote' | 'keep' | 'error'> = {};
  for (const r of record.steps) {
    if (r.kind !== 'register') continue;
    if (r.registration) gates[r.name] = r.registration.gate.outcome;
    else if (r.state === 'failed' && r.reason?.startsWith('promotion gate')) gates[r.name] = 'error';
  }
  fs.rmSync(app, { recursive: true, force: true });
  return { target: 'local', order, steps, gates, succeeded: record.status === 'succeeded' };
}
