import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { decideGate } from '../../../adapters/shared/gate';
import type { EnvironmentModel, PipelineModel, StepModel } from '../../../lib/model/types';
import { contractModel } from '../../support/contract-pipeline';
import { withContractPipeline } from './contract-fixture';
import { ContractRun, type Scenario } from './contract-run';
import { Emulator, RunFailed, machineDefinition, type Execution, type TemplateJson } from './emulate';
import { examples, synth } from './support';

/**
 * The step contract (docs/step-contract.md) on the aws target, checked by running the synthesized
 * Step Functions definitions and task/job definitions in an emulator (./emulate.ts): for every step
 * of both examples and of a pipeline using every part of the contract, what its container receives
 * (artifact directories with the upstream files, parameter values as text, metrics.json), the
 * order of the steps, the conditions that skip steps, and the register step's gate decision.
 */

let fraudModel: EnvironmentModel;
let churnModel: EnvironmentModel;
let fraudTemplate: TemplateJson;
let churnTemplate: TemplateJson;

beforeAll(() => {
  fraudModel = withContractPipeline(examples().fraud);
  churnModel = examples().churn;
  fraudTemplate = Template.fromStack(synth(fraudModel).stacks[0] as never).toJSON() as TemplateJson;
  churnTemplate = Template.fromStack(synth(churnModel).stacks[0] as never).toJSON() as TemplateJson;
});

function pipeline(model: EnvironmentModel, path: string): PipelineModel {
  const p = model.resources.find((r) => r.path === path);
  if (p?.kind !== 'pipeline') throw new Error(`no pipeline ${path}`);
  return p;
}

function bucketOf(t: TemplateJson): string {
  const id = Object.keys(t.Resources).find((k) => k.startsWith('PlatformArtifacts') && t.Resources[k]?.Type === 'AWS::S3::Bucket');
  if (!id) throw new Error('no artifact bucket');
  return `ref:${id}`;
}

/** Run pipeline `path` of `model` in the emulator with the stand-in containers of `scenario`. */
/** Datasets seeded into S3: dataset path → its S3 prefix and files (relative name → content). */
type Datasets = Readonly<Record<string, { readonly prefix: string; readonly files: Readonly<Record<string, string>> }>>;

function run(model: EnvironmentModel, t: TemplateJson, path: string, machine: string, scenario: Scenario, datasets: Datasets) {
  const p = pipeline(model, path);
  const contract = new ContractRun(p, scenario);
  const emulator = new Emulator(t, contract.process);
  contract.emulator = emulator;
  for (const d of Object.values(datasets)) {
    for (const [file, body] of Object.entries(d.files)) emulator.putObject(`s3://${bucketOf(t)}/${d.prefix}${file}`, body);
  }
  let execution: Execution | undefined;
  let failure: RunFailed | undefined;
  try {
    execution = emulator.run(machineDefinition(t, machine), scenario.input as never, 'run-1');
  } catch (e) {
    if (!(e instanceof RunFailed)) throw e;
    failure = e;
  }
  return { p, contract, emulator, execution, failure };
}

/** The text of a value as the contract spells it, for the values these tests use. */
function contractText(v: unknown): string {
  if (typeof v === 'number' && v === 0.00001) return '1e-05';
  return String(v);
}

/** Which steps should run: a step runs when every condition holds (its own and inherited). */
function expectedToRun(p: PipelineModel, scenario: Scenario): Set<string> {
  const params: Record<string, unknown> = {};
  for (const x of p.parameters) params[x.name] = x.default;
  Object.assign(params, (scenario.input.parameters ?? {}) as Record<string, unknown>);
  const operand = (s: StepModel, i: number): unknown => {
    const c = s.conditions[i];
    const o = c?.operand;
    if (!o) return undefined;
    if (o.kind === 'parameter') return params[o.parameter];
    if (o.kind === 'metric') return (scenario.metrics?.[`${o.step}.${o.output}`] as Record<string, unknown> | undefined)?.[o.metric];
    const text = (scenario.paramOutputs?.[`${o.step}.${o.output}`] ?? '').replace(/\n$/, '');
    return o.type === 'string' ? text : JSON.parse(text);
  };
  const holds = (a: unknown, op: string, b: unknown): boolean =>
    op === '==' ? a === b : op === '!=' ? a !== b : op === '<' ? (a as number) < (b as number) : op === '<=' ? (a as number) <= (b as number) : op === '>' ? (a as number) > (b as number) : (a as number) >= (b as number);
  return new Set(p.steps.filter((s) => s.conditions.every((c, i) => holds(operand(s, i), c.op, c.value))).map((s) => s.name));
}

/**
 * Check every executed container step against the contract: each artifact input is a directory
 * holding exactly the files its producer wrote (or the dataset's files), each parameter input and
 * pipeline parameter is the value's text, each output is an absolute path.
 */
function expectContract(r: ReturnType<typeof run>, scenario: Scenario, datasets: Datasets): void {
  const { p, contract } = r;
  const params: Record<string, unknown> = {};
  for (const x of p.parameters) params[x.name] = x.default;
  Object.assign(params, (scenario.input.parameters ?? {}) as Record<string, unknown>);
  for (const s of p.steps) {
    if (s.kind !== 'container') continue;
    const got = contract.received.get(s.name);
    if (!got) continue; // skipped; checked by the order/skip tests
    for (const [name, value] of got) {
      const [kind, io] = name.split('.') as ['inputs' | 'outputs' | 'params', string];
      if (kind === 'params') {
        expect(value.text, `${s.name} ${name}`).toBe(contractText(params[io]));
        continue;
      }
      if (kind === 'outputs') {
        expect(value.text, `${s.name} ${name}`).toMatch(/^\//);
        continue;
      }
      const input = s.inputs.find((i) => i.name === io);
      const src = input?.source;
      if (!input || !src) throw new Error(`${s.name} has no input ${io}`);
      if (input.type.kind === 'parameter') {
        const expected =
          src.kind === 'value'
            ? contractText(src.value)
            : src.kind === 'parameter'
              ? contractText(params[src.parameter])
              : src.kind === 'step'
                ? (scenario.paramOutputs?.[`${src.step}.${src.output}`] ?? '').replace(/\n$/, '')
                : '?';
        expect(value.text, `${s.name} ${name}`).toBe(expected);
        continue;
      }
      expect(value.text, `${s.name} ${name} is an absolute path`).toMatch(/^\//);
      let files: Record<string, string>;
      if (src.kind === 'dataset') {
        files = { ...datasets[src.dataset]?.files };
      } else if (src.kind === 'step') {
        const producer = p.steps.find((x) => x.name === src.step);
        const out = producer?.kind === 'container' ? producer.outputs.find((o) => o.name === src.output) : undefined;
        files = out?.type.kind === 'artifact' && out.type.type === 'metrics'
          ? { 'metrics.json': JSON.stringify(scenario.metrics?.[`${src.step}.${src.output}`] ?? {}) }
          : { 'part-0.txt': `${src.step}.${src.output}` };
      } else {
        throw new Error(`artifact input ${io} from ${src.kind}`);
      }
      expect(value.files, `${s.name} ${name}: the files of ${JSON.stringify(src)}`).toEqual(files);
    }
  }
}

/** Every step that ran did so after every step it depends on (data and order-only edges). */
function expectOrder(p: PipelineModel, steps: readonly string[]): void {
  for (const [i, name] of steps.entries()) {
    const s = p.steps.find((x) => x.name === name);
    for (const d of s?.dependsOn ?? []) {
      const at = steps.indexOf(d);
      expect(at, `${name} runs after ${d}`).toBeGreaterThanOrEqual(0);
      expect(at, `${name} runs after ${d}`).toBeLessThan(i);
    }
  }
}

const CONTRACT_DATA: Datasets = { 'Fraud/Transactions': { prefix: 'datasets/transactions/', files: { 'part-0.parquet': 'tx-rows', 'day=2/part-1.parquet': 'more' } } };

const CONTRACT_OK: Scenario = {
  input: { parameters: { mode: 'full' } },
  paramOutputs: { 'Prep.rows': '1200\n', 'Check.ok': 'true\n', 'Check.score': '0.875' },
  metrics: { 'Train.metrics': { auc: 0.95, logloss: 0.2 } },
  registry: { fraud: { versions: [{ tags: { 'metric.auc': '0.9' } }], aliases: { champion: 1 } } },
};

describe('the contract pipeline on aws (emulated)', () => {
  it('gives every step its artifacts as directories and its parameters as values, in dependency order', () => {
    const r = run(fraudModel, fraudTemplate, 'Fraud/Contract', 'ContractStateMachine', CONTRACT_OK, CONTRACT_DATA);
    expect(r.failure).toBeUndefined();
    expect(r.execution?.steps).toEqual(['Prep', 'Check', 'Notify', 'Train', 'Publish', 'Register']);
    expectContract(r, CONTRACT_OK, CONTRACT_DATA);
    expectOrder(r.p, r.execution?.steps ?? []);
  });

  it('resolves embedded placeholders, literals and env values to the exact text', () => {
    const r = run(fraudModel, fraudTemplate, 'Fraud/Contract', 'ContractStateMachine', CONTRACT_OK, CONTRACT_DATA);
    const prep = r.execution?.received.get('Prep');
    expect(prep?.argv[5]).toBe('--mode=full');
    expect(prep?.env.PREP_MODE).toBe("{'mode': 'full'}\\");
    expect(prep?.env.PLAIN).toBe("x{y}'z");
    expect(prep?.env.CLEAN_DIR).toBe(prep?.argv[7]);
    const train = r.execution?.received.get('Train');
    expect(train?.argv.slice(0, 4)).toEqual(['python', '-m', 'train', '--lr=0.05']);
    expect(r.contract.received.get('Train')?.get('inputs.threshold')?.text).toBe('1e-05');
    expect(train?.env.TRAIN_SCORE).toBe('score=0.875');
    expect(r.contract.received.get('Check')?.get('inputs.rows')?.text).toBe('1200');
    expect(r.execution?.received.get('Notify')?.argv).toEqual(['notify', '--message', 'checked full run']);
    for (const c of r.execution?.received.values() ?? []) expect(JSON.stringify(c.argv) + JSON.stringify(c.env)).not.toMatch(/\{\{/);
  });

  it('takes pipeline parameters from the execution input over the defaults', () => {
    const scenario: Scenario = { ...CONTRACT_OK, input: { parameters: { learningRate: 0.2 } } };
    const r = run(fraudModel, fraudTemplate, 'Fraud/Contract', 'ContractStateMachine', scenario, CONTRACT_DATA);
    expect(r.execution?.received.get('Train')?.argv[3]).toBe('--lr=0.2');
    expect(r.execution?.received.get('Prep')?.argv[5]).toBe('--mode=full');
  });

  it('uploads outputs to the run prefix of S3 and parameter outputs without their trailing newline', () => {
    const r = run(fraudModel, fraudTemplate, 'Fraud/Contract', 'ContractStateMachine', CONTRACT_OK, CONTRACT_DATA);
    const base = `s3://${bucketOf(fraudTemplate)}/runs/contract/run-1`;
    expect(r.emulator.getObject(`${base}/prep/rows/value`)).toBe('1200');
    expect(r.emulator.getObject(`${base}/prep/clean/part-0.txt`)).toBe('Prep.clean');
    expect(JSON.parse(r.emulator.getObject(`${base}/train/metrics/metrics.json`) ?? '{}')).toEqual({ auc: 0.95, logloss: 0.2 });
  });

  it('skips a step whose parameter-output condition is false, and every step downstream of it', () => {
    const scenario: Scenario = { ...CONTRACT_OK, paramOutputs: { ...CONTRACT_OK.paramOutputs, 'Check.ok': 'false' } };
    const r = run(fraudModel, fraudTemplate, 'Fraud/Contract', 'ContractStateMachine', scenario, CONTRACT_DATA);
    expect(r.failure).toBeUndefined();
    expect(new Set(r.execution?.steps)).toEqual(expectedToRun(r.p, scenario));
    expect(r.execution?.steps).toEqual(['Prep', 'Check', 'Notify']);
    expect(r.contract.registry().fraud?.versions).toHaveLength(1);
  });

  it('skips a step whose metric condition is false (metrics.json read back into the state)', () => {
    const scenario: Scenario = { ...CONTRACT_OK, metrics: { 'Train.metrics': { auc: 0.75 } } };
    const r = run(fraudModel, fraudTemplate, 'Fraud/Contract', 'ContractStateMachine', scenario, CONTRACT_DATA);
    expect(r.execution?.steps).toEqual(['Prep', 'Check', 'Notify', 'Train', 'Register']);
    expect(new Set(r.execution?.steps)).toEqual(expectedToRun(r.p, scenario));
  });

  it('skips a step whose pipeline-parameter condition is false; the order-only edge still orders it', () => {
    const scenario: Scenario = { ...CONTRACT_OK, input: { parameters: { mode: 'quick' } } };
    const r = run(fraudModel, fraudTemplate, 'Fraud/Contract', 'ContractStateMachine', scenario, CONTRACT_DATA);
    expect(r.execution?.steps).toEqual(['Prep', 'Check', 'Train', 'Publish', 'Register']);
    expect(new Set(r.execution?.steps)).toEqual(expectedToRun(r.p, scenario));
    expect(r.execution?.received.get('Prep')?.argv[5]).toBe('--mode=quick');
    const notify = machineDefinition(fraudTemplate, 'ContractStateMachine');
    const states = notify.States as Record<string, { Type: string; Branches?: { StartAt: string }[]; Next?: string }>;
    // Notify has no data edge from Check: it starts in a later state than Check, in the Parallel after it.
    const parallel = Object.values(states).find((s) => s.Type === 'Parallel' && s.Branches?.some((b) => b.StartAt.includes('Notify')));
    expect(parallel?.Branches?.map((b) => b.StartAt)).toEqual(['mlplane.If Notify', 'mlplane.If Train']);
  });

  it('fails the run when the metric of a metric condition is not in metrics.json', () => {
    const scenario: Scenario = { ...CONTRACT_OK, metrics: { 'Train.metrics': { logloss: 0.2 } } };
    const r = run(fraudModel, fraudTemplate, 'Fraud/Contract', 'ContractStateMachine', scenario, CONTRACT_DATA);
    expect(r.failure?.error).toBe('mlplane.MetricMissing');
    expect(r.failure?.reason).toContain("metric 'auc'");
  });

  it('fails the step when it does not write a parameter output, and runs nothing downstream', () => {
    const stand = new ContractRun(pipeline(fraudModel, 'Fraud/Contract'), CONTRACT_OK);
    // Prep exits 0 without writing its outputs.
    const emulator = new Emulator(fraudTemplate, (state, c) => (state === 'Prep' ? 0 : stand.process(state, c)));
    stand.emulator = emulator;
    for (const [file, body] of Object.entries(CONTRACT_DATA['Fraud/Transactions']?.files ?? {})) emulator.putObject(`s3://${bucketOf(fraudTemplate)}/datasets/transactions/${file}`, body);
    const steps: string[] = [];
    const attempt = () => {
      try {
        emulator.run(machineDefinition(fraudTemplate, 'ContractStateMachine'), CONTRACT_OK.input as never, 'run-2');
      } finally {
        steps.push(...stand.received.keys());
      }
    };
    expect(attempt).toThrow(/^Prep: States\.TaskFailed: stage-out exited 1$/);
    expect(steps).toEqual([]);
  });

  it('decides the gate exactly as adapters/shared/gate.ts does, from metrics.json and the alias holder', () => {
    const gate = pipeline(fraudModel, 'Fraud/Contract').steps.find((s) => s.kind === 'register');
    if (gate?.kind !== 'register' || !gate.gate) throw new Error('fixture changed');
    for (const [auc, holder] of [
      [0.95, 0.9],
      [0.905, 0.9],
      [0.5, undefined],
    ] as const) {
      const scenario: Scenario = {
        ...CONTRACT_OK,
        metrics: { 'Train.metrics': { auc } },
        registry: holder === undefined ? undefined : { fraud: { versions: [{ tags: { 'metric.auc': String(holder) } }], aliases: { champion: 1 } } },
      };
      const r = run(fraudModel, fraudTemplate, 'Fraud/Contract', 'ContractStateMachine', scenario, CONTRACT_DATA);
      expect(r.failure, r.contract.registers.get('Register')?.stderr).toBeUndefined();
      const decision = decideGate(gate.gate, { auc }, holder);
      const fraud = r.contract.registry().fraud;
      const newest = fraud?.versions.length ?? 0;
      expect(fraud?.versions[newest - 1]?.tags).toEqual({ 'mlplane.run': 'run-1', 'metric.auc': String(auc) });
      // The version is a copy of the run's model output under the model's prefix, the one its servers read.
      const version = `s3://${bucketOf(fraudTemplate)}/models/registry/fraud/contract/register/run-1/`;
      expect(fraud?.versions[newest - 1]?.source).toBe(version);
      expect(r.emulator.getObject(`${version}part-0.txt`)).toBe('Train.model');
      expect(r.emulator.getObject(`s3://${bucketOf(fraudTemplate)}/runs/contract/run-1/train/model/part-0.txt`)).toBe('Train.model');
      expect(fraud?.aliases.champion === newest ? 'promote' : 'keep', `auc ${auc} vs ${holder}`).toBe(decision.outcome);
    }
  });
});

describe.each([
  ['fraud', 'Fraud/Train', 'TrainStateMachine', { 'Fraud/Transactions': { prefix: 'datasets/transactions/', files: { 'ts_day=2026-01-01/part-0.parquet': 'tx' } } }, { 'Evaluate.metrics': { auc: 0.93, logloss: 0.2 } }],
  ['churn', 'Churn/Train', 'TrainStateMachine', { 'Churn/Customers': { prefix: 'datasets/customers/', files: { 'part-0.parquet': 'customers' } } }, { 'Evaluate.metrics': { f1: 0.81 } }],
] as const satisfies readonly (readonly [string, string, string, Datasets, Record<string, unknown>])[])('the %s example on aws (emulated)', (name, path, machine, data, metrics) => {
  const model = () => (name === 'fraud' ? fraudModel : churnModel);
  const template = () => (name === 'fraud' ? fraudTemplate : churnTemplate);

  it('gives every step the contract and runs the steps in dependency order', () => {
    const scenario: Scenario = { input: {}, metrics };
    const r = run(model(), template(), path, machine, scenario, data);
    expect(r.failure, r.failure?.message).toBeUndefined();
    expect(r.execution?.steps).toEqual(pipeline(model(), path).steps.map((s) => s.name));
    expectContract(r, scenario, data);
    expectOrder(r.p, r.execution?.steps ?? []);
    const register = r.p.steps.find((s) => s.kind === 'register');
    if (register?.kind !== 'register' || !register.gate || !register.promoteTo) throw new Error('example changed');
    const reg = r.contract.registry()[register.model];
    expect(reg?.aliases[register.promoteTo]).toBe(1); // no holder yet: the first model is promoted
  });

  it('fails the register step, registering nothing, when metrics.json lacks the gate metric', () => {
    const scenario: Scenario = { input: {}, metrics: { 'Evaluate.metrics': { other: 1 } } };
    const r = run(model(), template(), path, machine, scenario, data);
    expect(r.failure?.state).toBe('Register');
    expect(r.contract.registers.get('Register')?.stderr).toMatch(/metric (auc|f1) is missing or not a finite number in metrics.json \(metrics: other\)/);
    expect(r.contract.registry()).toEqual({});
  });
});

describe('templates', () => {
  it('contain no literal {{…}} placeholder (both examples and the contract pipeline)', () => {
    for (const t of [fraudTemplate, churnTemplate]) expect(JSON.stringify(t).match(/\{\{[^}]*\}\}/g)).toBeNull();
  });
});

describe('the generated contract pipeline (test/support/contract-pipeline.ts) on aws (emulated)', () => {
  let model: EnvironmentModel;
  let template: TemplateJson;
  const data: Datasets = { 'Contract/Raw': { prefix: 'datasets/raw/', files: { 'part-0.parquet': 'raw-rows' } } };
  const ok: Scenario = {
    input: {},
    paramOutputs: { 'Prep.rows': '42\n', 'Prep.ok': 'true\n' },
    metrics: { 'Evaluate.metrics': { auc: 0.91 } },
    registry: { contract: { versions: [{ tags: { 'metric.auc': '0.85' } }], aliases: { champion: 1 } } },
  };

  beforeAll(() => {
    model = contractModel();
    template = Template.fromStack(synth(model).stacks[0] as never).toJSON() as TemplateJson;
  });

  it.each([
    ['every condition holds', ok, ['Prep', 'Fit', 'Evaluate', 'Register', 'Publish', 'Report']],
    ['Prep.ok is false', { ...ok, paramOutputs: { 'Prep.rows': '42', 'Prep.ok': 'false' } }, ['Prep']],
    ['auc is below 0.8', { ...ok, metrics: { 'Evaluate.metrics': { auc: 0.7 } } }, ['Prep', 'Fit', 'Evaluate', 'Register']],
    ['publish is false', { ...ok, input: { parameters: { publish: false } } }, ['Prep', 'Fit', 'Evaluate', 'Register', 'Publish']],
  ] as const)('gives every step the contract, in order, when %s', (_case, scenario: Scenario, steps) => {
    const r = run(model, template, 'Contract/Train', 'TrainStateMachine', scenario, data);
    expect(r.failure, r.failure?.message).toBeUndefined();
    expect(r.execution?.steps).toEqual(steps);
    expect(new Set(r.execution?.steps)).toEqual(expectedToRun(r.p, scenario));
    expectContract(r, scenario, data);
    expectOrder(r.p, r.execution?.steps ?? []);
  });

  it('promotes exactly when adapters/shared/gate.ts says so', () => {
    const r = run(model, template, 'Contract/Train', 'TrainStateMachine', ok, data);
    const register = r.p.steps.find((s) => s.kind === 'register');
    if (register?.kind !== 'register' || !register.gate) throw new Error('fixture changed');
    expect(decideGate(register.gate, { auc: 0.91 }, 0.85).outcome).toBe('promote');
    expect(r.contract.registry().contract?.aliases.champion).toBe(2);
  });

  it('fails the run at the register step, which runs before the metric condition, when metrics.json lacks auc', () => {
    const missing = run(model, template, 'Contract/Train', 'TrainStateMachine', { ...ok, metrics: { 'Evaluate.metrics': { f1: 0.5 } } }, data);
    expect(missing.failure?.state).toBe('Register');
    expect(missing.contract.registers.get('Register')?.stderr).toContain('metric auc is missing or not a finite number in metrics.json (metrics: f1)');
    expect(missing.execution).toBeUndefined();
  });

  it('contains no literal {{…}} placeholder', () => {
    expect(JSON.stringify(template).match(/\{\{[^}]*\}\}/g)).toBeNull();
  });
});
