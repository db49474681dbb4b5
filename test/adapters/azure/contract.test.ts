/**
 * The step contract (docs/step-contract.md) on the azure target: reads the synthesized ARM template,
 * runs its pipeline job through an emulator of Azure ML's documented placeholder rules (emulator.ts)
 * and checks what each container receives, the execution order, skipping and the gate decision
 * against the contract, computed independently from the model.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { azureAdapter } from '../../../adapters/azure';
import type { ArmTemplate } from '../../../adapters/azure/arm';
import { CUSTOM_ROLES } from '../../../adapters/azure/roles';
import { decideGate } from '../../../adapters/shared/gate';
import { ValidationErrors } from '../../../lib/core/errors';
import type {
  ContainerStepModel,
  DatasetModel,
  EnvironmentModel,
  ParameterTypeName,
  PipelineModel,
  RegisterStepModel,
  StepConditionModel,
  StepModel,
} from '../../../lib/model/types';
import { dependencies, pipelineJob, runPipeline, upstreamOf, type PipelineRun, type Registry } from './emulator';
import { contractModel as sharedContractModel } from '../../support/contract-pipeline';
import { contractModel, contractPipeline } from './fixtures';
import { examples, settingsFor, synth } from './models';

const ML = 'Microsoft.MachineLearningServices/workspaces';

// ---------------------------------------------------------------------------------------------
// The contract, computed from the model only.

const floatTexts = new Map<number, string>();
/** Value text of the contract; floats as Python's repr (asked of Python itself). */
function text(value: string | number | boolean, type: ParameterTypeName): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (type !== 'float') return String(value);
  if (!floatTexts.has(value)) floatTexts.set(value, execFileSync('python3', ['-c', 'import sys; print(repr(float(sys.argv[1])))', String(value)], { encoding: 'utf8' }).trim());
  return floatTexts.get(value) as string;
}

/** Node of each step: the job whose component is tagged with the step's path. */
function nodesOf(template: ArmTemplate, schedule: string): Map<string, string> {
  const { jobs } = pipelineJob(template, schedule);
  const out = new Map<string, string>();
  for (const [node, job] of Object.entries(jobs)) {
    if (job.type !== 'command') continue;
    const version = [...String(job.componentId).matchAll(/'([^']*)'/g)].map((m) => m[1]).slice(1).join('/');
    const component = template.resources.find((r) => r.type === `${ML}/components/versions` && r.name === version);
    const path = (component?.properties as { componentSpec: { tags: Record<string, string> } }).componentSpec.tags['mlplane-path'] as string;
    out.set(path, node);
  }
  return out;
}

/** What the contract says a step receives in its argv and env. */
function contractOf(
  model: EnvironmentModel,
  template: ArmTemplate,
  schedule: string,
  p: PipelineModel,
  step: ContainerStepModel,
  run: PipelineRun,
  written: Readonly<Record<string, string>>,
): { argv: string[]; env: Record<string, string> } {
  const nodes = nodesOf(template, schedule);
  const node = (name: string) => nodes.get((p.steps.find((s) => s.name === name) as StepModel).path) as string;
  const job = pipelineJob(template, schedule).jobs[node(step.name)] as { inputs: Record<string, { job_input_type: string; uri?: string }> };
  const resolve = (word: string) =>
    word.replace(/\{\{(inputs|outputs|params)\.([A-Za-z0-9_]+)\}\}/g, (_, scope: string, name: string) => {
      if (scope === 'params') {
        const param = p.parameters.find((q) => q.name === name);
        return text(param?.default as string | number | boolean, param?.type as ParameterTypeName);
      }
      if (scope === 'outputs') {
        const o = step.outputs.find((x) => x.name === name);
        return o?.type.kind === 'parameter' ? join(run.outputPath(node(step.name), name), 'value') : run.outputPath(node(step.name), name);
      }
      const i = step.inputs.find((x) => x.name === name);
      if (i === undefined) throw new Error(`no input ${name}`);
      const src = i.source;
      switch (src.kind) {
        case 'dataset': {
          const binding = job.inputs[name] as { job_input_type: string; uri: string };
          const dataset = model.resources.find((r) => r.path === src.dataset) as DatasetModel;
          expect(binding.job_input_type).toBe('uri_folder');
          expect(binding.uri).toMatch(/^azureml:[a-z0-9-]+:[A-Za-z0-9._-]+$/);
          expect(binding.uri.endsWith(`:${dataset.version}`)).toBe(true);
          return run.dataPath(binding.uri);
        }
        case 'parameter': {
          const param = p.parameters.find((q) => q.name === src.parameter);
          return text(param?.default as string | number | boolean, param?.type as ParameterTypeName);
        }
        case 'value':
          return text(src.value, (i.type as { type: ParameterTypeName }).type);
        case 'step':
          if (i.type.kind === 'parameter') return (written[`${src.step}.${src.output}`] as string).replace(/\n$/, '');
          return run.outputPath(node(src.step), src.output);
      }
    });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.env)) env[k] = resolve(v);
  return { argv: [...step.command.slice(1), ...step.args].map(resolve), env };
}

/** The transitive order the template enforces must contain every dependency of the model (data and order-only). */
function expectOrderHonoured(template: ArmTemplate, schedule: string, p: PipelineModel): void {
  const nodes = nodesOf(template, schedule);
  const deps = dependencies(pipelineJob(template, schedule).jobs);
  for (const step of p.steps) {
    const upstream = upstreamOf(deps, nodes.get(step.path) as string);
    for (const d of step.dependsOn) expect(upstream, `${step.name} after ${d}`).toContain(nodes.get((p.steps.find((s) => s.name === d) as StepModel).path));
  }
}

function containerSteps(p: PipelineModel): ContainerStepModel[] {
  return p.steps.filter((s): s is ContainerStepModel => s.kind === 'container');
}

function programsOf(p: PipelineModel): string[] {
  return containerSteps(p).map((s) => s.command[0] as string);
}

function sh(s: string): string {
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

const SCHEDULE = '/contract_schedule_1';

function runContract(options: { ok: string; metrics: unknown; registry?: Registry; count?: string; model?: EnvironmentModel; trainWrites?: (out: (n: string, o: string) => string) => string }) {
  const model = options.model ?? contractModel();
  const template = synth(model).documents['template.json'] as ArmTemplate;
  const nodes = nodesOf(template, SCHEDULE);
  const node = (name: string) => nodes.get(`Fraud/Contract/${name}`) as string;
  const count = options.count ?? '7\n';
  const writes = (outputPath: (n: string, o: string) => string) => {
    const out = (n: string, o: string) => outputPath(node(n), o);
    return {
      [node('Check')]: `printf '%s' ${sh(options.ok)} > ${sh(join(out('Check', 'ok'), 'value'))}`,
      [node('Train')]: options.trainWrites?.(out) ?? `printf '%s' ${sh(count)} > ${sh(join(out('Train', 'count'), 'value'))} && echo weights > ${sh(join(out('Train', 'model'), 'weights'))}`,
      [node('Evaluate')]: `printf '%s' ${sh(JSON.stringify(options.metrics))} > ${sh(join(out('Evaluate', 'metrics'), 'metrics.json'))}`,
    };
  };
  const run = runPipeline(template, SCHEDULE, programsOf(contractPipeline), { writes, registry: options.registry });
  return { model, template, run, node, written: { 'Check.ok': options.ok, 'Train.count': count } };
}

const championAt = (auc: number): Registry => ({ fraud: [{ version: '1', tags: { 'mlplane-alias-champion': 'true', 'mlplane-metric-auc': String(auc) } }] });

describe('the step contract on Azure ML (emulated from the ARM template)', () => {
  describe('a pipeline with parameters, artifacts, parameter outputs, metrics, conditions and order-only dependencies', () => {
    const { model, template, run, node, written } = runContract({ ok: 'true\n', metrics: { auc: 0.93, loss: 0.2 }, registry: championAt(0.9) });

    it('runs every step', () => {
      const states = Object.fromEntries(contractPipeline.steps.map((s) => [s.name, run.nodes.get(node(s.name))?.state]));
      expect(states).toEqual({ Check: 'succeeded', Cleanup: 'succeeded', Train: 'succeeded', Evaluate: 'succeeded', Register: 'succeeded', Notify: 'succeeded' });
    });

    it.each(containerSteps(contractPipeline).map((s) => [s.name, s] as const))('gives %s exactly the argv and env of the contract', (_, s) => {
      const got = run.nodes.get(node(s.name));
      const want = contractOf(model, template, SCHEDULE, contractPipeline, s, run, written);
      expect(got?.argv).toEqual(want.argv);
      for (const [k, v] of Object.entries(want.env)) expect(got?.env?.[k], k).toBe(v);
    });

    it('passes parameter values as the contract spells them (int 42, float 1.0 and 1e-07, bool true, trailing newline dropped)', () => {
      expect(run.nodes.get(node('Check'))?.env?.SEED).toBe('seed=42');
      expect(run.nodes.get(node('Cleanup'))?.argv).toEqual(['-m', 'cleanup', '--rate', '1.0']);
      expect(run.nodes.get(node('Train'))?.argv).toContain('--lr=1e-07');
      expect(run.nodes.get(node('Train'))?.argv?.slice(6, 8)).toEqual(['--warm', 'true']);
      expect(run.nodes.get(node('Check'))?.argv).toContain(`--label=it's "A" $x \`y\``);
      expect(run.nodes.get(node('Evaluate'))?.argv?.slice(3, 5)).toEqual(['--count', '7']);
    });

    it('orders every step after each step it depends on, order-only edges included', () => {
      expectOrderHonoured(template, SCHEDULE, contractPipeline);
      const order = run.order;
      expect(order.indexOf(node('Cleanup'))).toBeGreaterThan(order.indexOf(node('Check')));
      expect(order.indexOf(node('Notify'))).toBeGreaterThan(order.indexOf(node('Register')));
    });

    it('promotes exactly as decideGate decides on the same metrics.json and registry', () => {
      expect(decideGate(contractPipeline.steps[4]?.kind === 'register' ? contractPipeline.steps[4].gate : undefined, { auc: 0.93, loss: 0.2 }, 0.9).outcome).toBe('promote');
      expect(run.registry.fraud).toEqual([
        { version: '1', tags: { 'mlplane-metric-auc': '0.9' } },
        { version: '2', path: expect.stringContaining('/jobs/train/outputs/model'), tags: { 'mlplane-alias-champion': 'true', 'mlplane-metric-auc': '0.93', 'mlplane-metric-loss': '0.2' } },
      ]);
    });
  });

  it('skips the steps whose condition is false and every step downstream of them; the run still succeeds', () => {
    const { run, node } = runContract({ ok: 'false', metrics: { auc: 0.93 }, registry: championAt(0.9) });
    const states = Object.fromEntries(contractPipeline.steps.map((s) => [s.name, run.nodes.get(node(s.name))?.state]));
    expect(states).toEqual({ Check: 'succeeded', Cleanup: 'succeeded', Train: 'skipped', Evaluate: 'skipped', Register: 'skipped', Notify: 'skipped' });
    expect(run.registry.fraud).toHaveLength(1);
  });

  it('skips a step on a false metric condition but runs the others; keeps the champion when the gate does not pass', () => {
    const { run, node } = runContract({ ok: 'true', metrics: { auc: 0.75 }, registry: championAt(0.9) });
    expect(run.nodes.get(node('Register'))?.state).toBe('succeeded');
    expect(run.nodes.get(node('Notify'))?.state).toBe('skipped');
    expect(decideGate({ metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.01 }, { auc: 0.75 }, 0.9).outcome).toBe('keep');
    expect(run.registry.fraud?.map((v) => v.tags['mlplane-alias-champion'])).toEqual(['true', undefined]);
  });

  it('skips a step whose pipeline-parameter condition is false', () => {
    const model = contractModel((p) => ({ ...p, parameters: p.parameters.map((q) => (q.name === 'mode' ? { ...q, default: 'quick' } : q)) }));
    const { run, node } = runContract({ ok: 'true', metrics: { auc: 0.95 }, model });
    expect(run.nodes.get(node('Register'))?.state).toBe('succeeded');
    expect(run.nodes.get(node('Notify'))?.state).toBe('skipped');
  });

  it('fails the register step, registering nothing, when the gate metric is missing from metrics.json', () => {
    const { run, node } = runContract({ ok: 'true', metrics: { loss: 0.1 }, registry: championAt(0.9) });
    const register = run.nodes.get(node('Register'));
    expect(register?.state).toBe('failed');
    expect(register?.stderr).toContain('metric auc is missing or not a finite number in metrics.json (metrics: loss)');
    expect(run.registry.fraud).toHaveLength(1);
  });

  it('fails a step that does not write its parameter output', () => {
    const template = synth(contractModel()).documents['template.json'] as ArmTemplate;
    const run = runPipeline(template, SCHEDULE, programsOf(contractPipeline), {});
    const check = run.nodes.get(nodesOf(template, SCHEDULE).get('Fraud/Contract/Check') as string);
    expect(check?.state).toBe('failed');
    expect(check?.stderr).toContain('mlplane: step Check did not write parameter output ok');
  });

  it('retries a failed attempt with empty outputs: nothing of the failed attempt leaks into the next one', () => {
    const { run, node } = runContract({
      ok: 'true',
      metrics: { auc: 0.95 },
      trainWrites: (out) =>
        [
          `if [ ! -f "$TMPDIR/failed-once" ]; then touch "$TMPDIR/failed-once"; echo junk > ${sh(join(out('Train', 'model'), 'junk'))}; exit 1; fi`,
          `printf 7 > ${sh(join(out('Train', 'count'), 'value'))} && echo weights > ${sh(join(out('Train', 'model'), 'weights'))}`,
        ].join('\n'),
    });
    const train = run.nodes.get(node('Train'));
    expect(train?.state).toBe('succeeded');
    expect(train?.stderr).toContain('mlplane: attempt 1 failed, retrying with empty outputs');
    expect(readdirSync(run.outputPath(node('Train'), 'model'))).toEqual(['weights']);
  });

  it('fails the run after the last failed attempt, and no step downstream runs', () => {
    const model = contractModel();
    const template = synth(model).documents['template.json'] as ArmTemplate;
    const nodes = nodesOf(template, SCHEDULE);
    const run = runPipeline(template, SCHEDULE, programsOf(contractPipeline), { exitCodes: { [nodes.get('Fraud/Contract/Check') as string]: 3 } });
    expect(run.nodes.get(nodes.get('Fraud/Contract/Check') as string)?.state).toBe('failed');
    expect(run.nodes.has(nodes.get('Fraud/Contract/Train') as string)).toBe(false);
  });

  it('fails the run, naming the metric, when a metric condition reads a metrics.json without that metric', () => {
    const model = contractModel((p) => ({ ...p, steps: p.steps.map((s) => (s.kind === 'register' ? { ...s, gate: undefined, promoteTo: undefined } : s)) }));
    const { run } = runContract({ ok: 'true', metrics: { loss: 0.1 }, model });
    const evaluator = run.nodes.get('mlplane_when_2');
    expect(evaluator?.state).toBe('failed');
    expect(evaluator?.stderr).toContain('metric auc is missing or not a finite number in metrics.json of step Evaluate (metrics: loss)');
    expect(run.nodes.has('notify')).toBe(false);
  });

  describe('the shared contract pipeline (test/support/contract-pipeline.ts)', () => {
    const base = sharedContractModel();
    const model: EnvironmentModel = {
      ...base,
      resources: base.resources.map((r) => (r.kind === 'pipeline' ? { ...r, schedules: [{ kind: 'cron', expression: '0 1 * * *', timeZone: 'UTC' }] } : r)),
    };
    const p = model.resources.find((r): r is PipelineModel => r.kind === 'pipeline') as PipelineModel;
    const template = synth(model).documents['template.json'] as ArmTemplate;
    const schedule = '/train_schedule_1';
    const nodes = nodesOf(template, schedule);
    const node = (name: string) => nodes.get(`${p.path}/${name}`) as string;
    const run = (ok: string, metrics: unknown) =>
      runPipeline(template, schedule, programsOf(p), {
        writes: (out) => ({
          [node('Prep')]: [
            `printf '%s' ${sh(ok)} > ${sh(join(out(node('Prep'), 'ok'), 'value'))}`,
            `printf '12\\n' > ${sh(join(out(node('Prep'), 'rows'), 'value'))}`,
          ].join(' && '),
          [node('Evaluate')]: `printf '%s' ${sh(JSON.stringify(metrics))} > ${sh(join(out(node('Evaluate'), 'metrics'), 'metrics.json'))}`,
        }),
      });
    const passing = run('true', { auc: 0.9 });

    it('runs every step in an order that honours every dependency, order-only edges included', () => {
      expect(p.steps.map((s) => passing.nodes.get(node(s.name))?.state)).toEqual(p.steps.map(() => 'succeeded'));
      expectOrderHonoured(template, schedule, p);
    });

    it('gives every container step exactly the argv and env of the contract', () => {
      for (const s of containerSteps(p)) {
        const want = contractOf(model, template, schedule, p, s, passing, { 'Prep.ok': 'true', 'Prep.rows': '12\n' });
        const got = passing.nodes.get(node(s.name));
        expect(got?.argv, s.name).toEqual(want.argv);
        for (const [k, v] of Object.entries(want.env)) expect(got?.env?.[k], `${s.name} ${k}`).toBe(v);
      }
    });

    it('promotes the first version as decideGate decides', () => {
      const register = p.steps.find((s): s is RegisterStepModel => s.kind === 'register') as RegisterStepModel;
      expect(decideGate(register.gate, { auc: 0.9 }, undefined).outcome).toBe('promote');
      expect(passing.registry.contract?.map((v) => v.tags)).toEqual([{ 'mlplane-alias-champion': 'true', 'mlplane-metric-auc': '0.9' }]);
    });

    it('skips every step downstream of a false condition and still succeeds', () => {
      const skipped = run('false', { auc: 0.9 });
      expect(Object.fromEntries(p.steps.map((s) => [s.name, skipped.nodes.get(node(s.name))?.state]))).toEqual({
        Prep: 'succeeded',
        Fit: 'skipped',
        Evaluate: 'skipped',
        Register: 'skipped',
        Publish: 'skipped',
        Report: 'skipped',
      });
    });

    it('skips the metric-conditioned step and what follows it when the metric is below the threshold', () => {
      const low = run('true', { auc: 0.5 });
      expect(Object.fromEntries(p.steps.map((s) => [s.name, low.nodes.get(node(s.name))?.state]))).toEqual({
        Prep: 'succeeded',
        Fit: 'succeeded',
        Evaluate: 'succeeded',
        Register: 'succeeded',
        Publish: 'skipped',
        Report: 'skipped',
      });
    });
  });

  describe.each([
    { label: 'fraud example', index: 0, schedule: '/train_schedule_1', metric: 'auc' },
    { label: 'churn example', index: 1, schedule: '/train_schedule_1', metric: 'f1' },
  ])('$label', ({ index, schedule, metric }) => {
    const model = examples()[index] as EnvironmentModel;
    const p = model.resources.find((r): r is PipelineModel => r.kind === 'pipeline') as PipelineModel;
    const template = synth(model).documents['template.json'] as ArmTemplate;
    const nodes = nodesOf(template, schedule);
    const evaluate = nodes.get(`${p.path}/Evaluate`) as string;
    const run = runPipeline(template, schedule, programsOf(p), {
      writes: (out) => ({ [evaluate]: `printf '%s' ${sh(JSON.stringify({ [metric]: 0.91 }))} > ${sh(join(out(evaluate, 'metrics'), 'metrics.json'))}` }),
    });

    it('runs every step in an order that honours every dependency', () => {
      expect(p.steps.map((s) => run.nodes.get(nodes.get(s.path) as string)?.state)).toEqual(p.steps.map(() => 'succeeded'));
      expectOrderHonoured(template, schedule, p);
    });

    it('gives every container step exactly the argv and env of the contract', () => {
      for (const s of containerSteps(p)) {
        const want = contractOf(model, template, schedule, p, s, run, {});
        const got = run.nodes.get(nodes.get(s.path) as string);
        expect(got?.argv, s.name).toEqual(want.argv);
        for (const [k, v] of Object.entries(want.env)) expect(got?.env?.[k], `${s.name} ${k}`).toBe(v);
      }
    });

    it('registers the first version and makes it the alias holder (no reference yet: the gate passes)', () => {
      const register = p.steps.find((s): s is RegisterStepModel => s.kind === 'register') as RegisterStepModel;
      expect(decideGate(register.gate, { [metric]: 0.91 }, undefined).outcome).toBe('promote');
      expect(run.registry[register.model]).toEqual([{ version: '1', path: expect.any(String), tags: { [`mlplane-alias-${register.promoteTo}`]: 'true', [`mlplane-metric-${metric}`]: '0.91' } }]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Refusals.

function problemsOf(model: EnvironmentModel): { path: string; message: string }[] {
  try {
    azureAdapter.synth(model, settingsFor(model));
  } catch (e) {
    if (ValidationErrors.isValidationErrors(e)) return [...e.problems];
    throw e;
  }
  throw new Error('synth did not fail');
}

function changeStep(name: string, change: (s: ContainerStepModel) => ContainerStepModel): EnvironmentModel {
  return contractModel((p) => ({ ...p, steps: p.steps.map((s) => (s.name === name && s.kind === 'container' ? change(s) : s)) }));
}

describe('refusals of the azure step contract', () => {
  it('fails if a placeholder names no input of the step, naming the step and the inputs', () => {
    const model = changeStep('Evaluate', (s) => ({ ...s, args: [...s.args, '{{inputs.modle}}'] }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Contract/Evaluate', message: '{{inputs.modle}} names no input of the step; inputs: model, n' }]);
  });

  it('fails if a word holds a {{…}} that is no placeholder of the contract', () => {
    const model = changeStep('Cleanup', (s) => ({ ...s, args: ['--x={{input.rate}}'] }));
    expect(problemsOf(model)).toEqual([{
      path: 'Fraud/Contract/Cleanup',
      message: "{{input.rate}} in '--x={{input.rate}}' is not a placeholder of the step contract; use {{inputs.<name>}}, {{outputs.<name>}} or {{params.<name>}}",
    }]);
  });

  it('fails if a placeholder names no output of the step', () => {
    const model = changeStep('Check', (s) => ({ ...s, env: { ...s.env, OUT: '{{outputs.nope}}' } }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Contract/Check', message: '{{outputs.nope}} names no output of the step; outputs: ok, report' }]);
  });

  it('fails if {{params.x}} names no pipeline parameter', () => {
    const model = changeStep('Cleanup', (s) => ({ ...s, args: ['{{params.rat}}'] }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Contract/Cleanup', message: '{{params.rat}} names no parameter of pipeline Fraud/Contract; parameters: mode, seed, epochs, rate, label' }]);
  });

  it('fails if an env variable with a placeholder is not a shell variable name (it is exported by the command)', () => {
    const model = changeStep('Check', (s) => ({ ...s, env: { ...s.env, 'REPORT-DIR': '{{outputs.report}}' } }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Contract/Check', message: expect.stringContaining("env 'REPORT-DIR' holds a placeholder but is not a shell variable name") }]);
  });

  it('fails if an input takes the name reserved for a {{params.x}} input', () => {
    const model = changeStep('Cleanup', (s) => ({
      ...s,
      inputs: [{ name: 'mlplane_params_rate', type: { kind: 'parameter', type: 'float' }, source: { kind: 'value', value: 2 } }],
    }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Contract/Cleanup', message: "input 'mlplane_params_rate' is reserved for {{params.rate}}; rename the input" }]);
  });

  it('fails if a condition reads an output that is not a metrics output, naming the step and the outputs', () => {
    const bad: StepConditionModel = { operand: { kind: 'metric', step: 'Train', output: 'model', metric: 'auc' }, op: '>', value: 1, declaredOn: 'Notify' };
    const model = changeStep('Notify', (s) => ({ ...s, conditions: [...s.conditions, bad] }));
    expect(problemsOf(model)).toEqual([{
      path: 'Fraud/Contract/Notify',
      message: "condition reads output 'model' of step 'Train', which is not a metrics output of that step; outputs: model, count; wire the condition to a metrics output",
    }]);
  });

  it('fails if a condition reads a pipeline parameter that does not exist', () => {
    const bad: StepConditionModel = { operand: { kind: 'parameter', parameter: 'mood', type: 'string' }, op: '==', value: 'x', declaredOn: 'Notify' };
    const model = changeStep('Notify', (s) => ({ ...s, conditions: [bad] }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Contract/Notify', message: 'condition reads pipeline parameter \'mood\', which pipeline Fraud/Contract does not declare; declared: mode, seed, epochs, rate, label' }]);
  });
});

describe('the template of the contract pipeline', () => {
  const result = synth(contractModel());
  const template = result.documents['template.json'] as ArmTemplate;
  const { jobs } = pipelineJob(template, SCHEDULE);

  it('gates conditional steps with if_else nodes on boolean control outputs of evaluator steps', () => {
    const ifs = Object.entries(jobs).filter(([, j]) => j.type === 'if_else');
    expect(ifs.map(([n, j]) => [n, j.condition, j.true_block])).toEqual([
      ['mlplane_if_1', '${{parent.jobs.mlplane_when_1.outputs.result}}', ['${{parent.jobs.train}}', '${{parent.jobs.evaluate}}', '${{parent.jobs.register}}', '${{parent.jobs.mlplane_when_2}}']],
      ['mlplane_if_2', '${{parent.jobs.mlplane_when_2.outputs.result}}', '${{parent.jobs.notify}}'],
    ]);
    const evaluator = template.resources.find((r) => r.type === `${ML}/components/versions` && r.name.includes('/contract_when_1/'));
    expect((evaluator?.properties as { componentSpec: { outputs: unknown } }).componentSpec.outputs).toEqual({ result: { type: 'boolean', is_control: true } });
  });

  it('lets the pipeline identity write the run property of the control outputs (a custom role with run read/write only, on the workspace)', () => {
    const assignments = template.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments' && String(r.properties?.description).includes('condition evaluators of Fraud/Contract'));
    expect(assignments).toHaveLength(1);
    const roleId = String(assignments[0]?.properties?.roleDefinitionId).match(/'([0-9a-f-]{36})'/)?.[1];
    const definition = template.resources.find((r) => r.type === 'Microsoft.Authorization/roleDefinitions' && r.name === roleId);
    expect((definition?.properties as { permissions: unknown }).permissions).toEqual([{ actions: [...CUSTOM_ROLES.runPublisher.actions], notActions: [] }]);
    expect(String(assignments[0]?.properties?.description)).toMatch(/^mlplane Run Publisher — /);
    expect(assignments[0]?.scope).toBe("[resourceId('Microsoft.MachineLearningServices/workspaces', 'fraud')]");
  });

  it('warns that conditions use the control-flow preview and that retries are a loop', () => {
    expect(result.warnings.map((w) => [w.id, w.path])).toEqual(
      expect.arrayContaining([
        ['mlplane:azure:control-flow-preview', 'Fraud/Contract'],
        ['mlplane:azure:retry-loop', 'Fraud/Contract/Train'],
      ]),
    );
  });

  it('keeps plain env values in environment_variables; values with placeholders are exported by the command', () => {
    expect((jobs.check as { environment_variables: Record<string, unknown> }).environment_variables).toEqual({ PLAIN: 'x y', MLPLANE_CLIENT_ID: expect.any(String) });
  });
});
