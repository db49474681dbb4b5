/**
 * The executed step contract across targets (issue 11, item 2): the contract pipeline runs on each
 * target's emulator of its documented placeholder rules, the probe standing in for every step; each
 * observation must satisfy the contract (checkContract) and equal `mlplane run`'s on what the
 * contract fixes (contractFacts: argv and env with paths as roles, files per role, steps run,
 * dependencies honoured, gate decisions).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArmTemplate } from '../../adapters/azure/arm';
import type { EnvironmentModel } from '../../lib/model/types';
import { contractModel } from '../support/contract-pipeline';
import { exampleModels } from '../support/examples';
import { azureTemplate, observeAzure } from './azure';
import { contractFacts } from './compare';
import { checkContract, pipelineOf, type RunObservation, type Scenario } from './harness';
import { observeLocal } from './local';
import { kfpSpec, observeGcp } from './gcp';
import { awsTemplate, observeAws } from './aws';
import type { TemplateJson } from '../adapters/aws/emulate';
import type { PipelineSpec } from '../../adapters/gcp/kfp-types';
import { CONTRACT_SCENARIOS } from './scenarios';

const model = contractModel();
const PIPELINE = 'Contract/Train';
const p = pipelineOf(model, PIPELINE);
const local = new Map<string, Promise<RunObservation>>();
/** `mlplane run`'s observation of a scenario, once per file. */
const localRun = (name: string) => {
  if (!local.has(name)) local.set(name, observeLocal(model, PIPELINE, CONTRACT_SCENARIOS[name]!));
  return local.get(name)!;
};
const FIRST = 'every step runs and the first version is promoted';

describe('step contract, executed on azure (ARM template through the Azure ML emulator)', () => {
  let template: ArmTemplate;
  beforeAll(() => {
    template = azureTemplate(model, PIPELINE);
  });

  for (const [name, scenario] of Object.entries(CONTRACT_SCENARIOS)) {
    it(name, async () => {
      const run = observeAzure(model, PIPELINE, scenario, undefined, template);
      expect(checkContract(model, p, scenario, run)).toEqual([]);
      expect(contractFacts(p, run)).toEqual(contractFacts(p, await localRun(name)));
    });
  }

  it('fails if a target passes a literal placeholder (Fit gets {{inputs.data}} for ${{inputs.data}})', async () => {
    const scenario = CONTRACT_SCENARIOS[FIRST]!;
    const literal = (t: ArmTemplate) => {
      const fit = t.resources.find((r) => r.type.endsWith('/components/versions') && r.name.includes('/train_fit/'))!;
      const spec = (fit.properties as { componentSpec: { command: string } }).componentSpec;
      spec.command = spec.command.replace('${{inputs.data}}', '{{inputs.data}}');
    };
    const run = observeAzure(model, PIPELINE, scenario, literal, template);
    expect(checkContract(model, p, scenario, run)).toEqual([
      'azure Fit: argv[3] inputs.data: "{{inputs.data}}" is not an absolute local directory',
      'azure Fit: env DATA_DIR inputs.data: "{{inputs.data}}" is not an absolute local directory',
    ]);
    expect(contractFacts(p, run).steps.Fit!.argv[2]).toBe('{{inputs.data}}');
    expect(contractFacts(p, run)).not.toEqual(contractFacts(p, await localRun(FIRST)));
  });
});

describe('step contract, executed on gcp (KFP IR through the KFP emulator)', () => {
  let spec: PipelineSpec;
  beforeAll(() => {
    spec = kfpSpec(model, PIPELINE);
  });

  for (const [name, scenario] of Object.entries(CONTRACT_SCENARIOS)) {
    it(name, async () => {
      const run = observeGcp(model, PIPELINE, scenario, undefined, spec);
      expect(checkContract(model, p, scenario, run)).toEqual([]);
      expect(contractFacts(p, run)).toEqual(contractFacts(p, await localRun(name)));
    });
  }

  it("fails if a target passes a literal placeholder (Fit gets {{inputs.data}} for {{$.inputs.artifacts['data'].path}})", async () => {
    const scenario = CONTRACT_SCENARIOS[FIRST]!;
    const literal = (ir: PipelineSpec) => {
      const exec = ir.deploymentSpec.executors['exec-fit'] as unknown as { container: { command: string[]; args: string[] } };
      const words = (ws: string[]) => ws.map((w) => w.replace("{{$.inputs.artifacts['data'].path}}", '{{inputs.data}}'));
      exec.container.command = words(exec.container.command);
      exec.container.args = words(exec.container.args);
    };
    const run = observeGcp(model, PIPELINE, scenario, literal, spec);
    expect(checkContract(model, p, scenario, run)).toEqual([
      'gcp Fit: argv[3] inputs.data: "{{inputs.data}}" is not an absolute local directory',
      'gcp Fit: env DATA_DIR inputs.data: "{{inputs.data}}" is not an absolute local directory',
    ]);
    expect(contractFacts(p, run)).not.toEqual(contractFacts(p, await localRun(FIRST)));
  });
});

describe('step contract, executed on aws (CloudFormation through the Step Functions / ECS / S3 emulator)', () => {
  let template: TemplateJson;
  beforeAll(() => {
    template = awsTemplate(model);
  }, 60_000);

  for (const [name, scenario] of Object.entries(CONTRACT_SCENARIOS)) {
    it(name, async () => {
      const run = observeAws(model, PIPELINE, scenario, template);
      expect(checkContract(model, p, scenario, run)).toEqual([]);
      expect(contractFacts(p, run)).toEqual(contractFacts(p, await localRun(name)));
    });
  }

  it("fails if a target passes a literal placeholder (Fit's container override gets {{inputs.data}} for /mlplane/inputs/data)", async () => {
    const scenario = CONTRACT_SCENARIOS[FIRST]!;
    const literal = (t: TemplateJson) => {
      const [, machine] = Object.entries(t.Resources).find(([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith('TrainStateMachine'))!;
      const join = (machine.Properties!.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
      const at = join[1].findIndex((part) => typeof part === 'string' && part.includes("'--data', '/mlplane/inputs/data'"));
      expect(at).toBeGreaterThanOrEqual(0);
      // Braces are reserved in intrinsic functions: the literal comes escaped (\{), written inside JSON text (\\{).
      join[1][at] = (join[1][at] as string).replace("'--data', '/mlplane/inputs/data'", "'--data', '\\\\{\\\\{inputs.data\\\\}\\\\}'");
    };
    const run = observeAws(model, PIPELINE, scenario, template, literal);
    expect(checkContract(model, p, scenario, run)).toEqual(['aws Fit: argv[3] inputs.data: "{{inputs.data}}" is not an absolute local directory']);
    expect(contractFacts(p, run)).not.toEqual(contractFacts(p, await localRun(FIRST)));
  });
});

describe('step contract, executed on every target: the examples', () => {
  const [fraud, churn] = exampleModels() as [EnvironmentModel, EnvironmentModel];
  const cases: ReadonlyArray<[EnvironmentModel, string, Scenario, 'promote' | 'keep']> = [
    [fraud, 'Fraud/Train', { data: { 'Fraud/Transactions': { 'tx.csv': 'txId\nt1\n' } }, metrics: { 'Evaluate.metrics': { auc: 0.93 } }, reference: 0.9 }, 'promote'],
    [churn, 'Churn/Train', { data: { 'Churn/Customers': { 'c.csv': 'customerId\nc1\n' } }, metrics: { 'Evaluate.metrics': { f1: 0.5 } }, reference: 0.6 }, 'keep'],
  ];
  const aws = new Map<EnvironmentModel, TemplateJson>();
  beforeAll(() => {
    for (const [m] of cases) aws.set(m, awsTemplate(m));
  }, 60_000);

  for (const [m, pipelinePath, scenario, decision] of cases) {
    it(`${pipelinePath}: azure, gcp and aws give every step what mlplane run gives it`, async () => {
      const ep = pipelineOf(m, pipelinePath);
      const expected = contractFacts(ep, await observeLocal(m, pipelinePath, scenario));
      expect(expected.gates).toEqual({ Register: decision });
      for (const run of [observeAzure(m, pipelinePath, scenario), observeGcp(m, pipelinePath, scenario), observeAws(m, pipelinePath, scenario, aws.get(m)!)]) {
        expect(checkContract(m, ep, scenario, run)).toEqual([]);
        expect(contractFacts(ep, run), run.target).toEqual(expected);
      }
    });
  }
});

describe('step contract, executed: the comparison with mlplane run catches a target that departs from it', () => {
  /** The facts of `mlplane run` and of a copy of its observation changed by `change`, which must differ. */
  const differ = async (change: (run: RunObservation) => RunObservation) => {
    const run = await localRun(FIRST);
    return { expected: contractFacts(p, run), actual: contractFacts(p, change(structuredClone(run))) };
  };

  it('fails if a target hands a step another artifact than the one its placeholder names (Evaluate --model gets the test data)', async () => {
    const { expected, actual } = await differ((run) => {
      const argv = [...run.steps.Evaluate!.argv];
      argv[2] = argv[4]!;
      return { ...run, steps: { ...run.steps, Evaluate: { ...run.steps.Evaluate!, argv } } };
    });
    expect(actual.steps.Evaluate!.argv).toEqual(expected.steps.Evaluate!.argv);
    expect(actual.steps.Evaluate!.roles['inputs.model']).toEqual({ 'data.txt': 'Prep.clean\n' });
    expect(actual).not.toEqual(expected);
  });

  it('fails if a parameter reaches a step with another text (Fit --epochs 3.0)', async () => {
    const { expected, actual } = await differ((run) => ({ ...run, steps: { ...run.steps, Fit: { ...run.steps.Fit!, argv: run.steps.Fit!.argv.map((w) => (w === '3' ? '3.0' : w)) } } }));
    expect(actual.steps.Fit!.argv[4]).toBe('3.0');
    expect(actual).not.toEqual(expected);
  });

  it('fails if a target skips another step, runs one before its upstream, or decides the gate otherwise', async () => {
    const skipped = await differ((run) => ({ ...run, order: run.order.filter((s) => s !== 'Report'), steps: Object.fromEntries(Object.entries(run.steps).filter(([s]) => s !== 'Report')) }));
    expect(skipped.actual.ran).not.toContain('Report');
    expect(skipped.actual).not.toEqual(skipped.expected);
    const early = await differ((run) => ({ ...run, order: ['Prep', 'Fit', 'Evaluate', 'Publish', 'Register', 'Report'] }));
    expect(early.actual.honoured).toEqual({ ...early.expected.honoured, 'Publish after Register': false });
    const gate = await differ((run) => ({ ...run, gates: { Register: 'keep' } }));
    expect(gate.actual).not.toEqual(gate.expected);
  });
});
