import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { awsAdapter } from '../../../adapters/aws';
import { intrinsicString, resolveWord, valueText, wordExpression } from '../../../adapters/aws/contract';
import { validateForAws } from '../../../adapters/aws/validate';
import { ValidationErrors, type Problem } from '../../../lib/core/errors';
import type { ContainerStepModel, EnvironmentModel, PipelineModel } from '../../../lib/model/types';
import { withContractPipeline } from './contract-fixture';
import { AWS_CONTEXT, examples, patchResource } from './support';

/** What the aws target refuses about the step contract, before anything is defined. */

const settings = { account: AWS_CONTEXT.account, region: 'eu-west-1' };
const problemsFor = (m: EnvironmentModel): Problem[] => validateForAws(m, settings);
const contract = (): EnvironmentModel => withContractPipeline(examples().fraud);

function patchStep(m: EnvironmentModel, step: string, patch: (s: { -readonly [K in keyof ContainerStepModel]: ContainerStepModel[K] }) => void): EnvironmentModel {
  return patchResource(m, 'Fraud/Contract', 'pipeline', (p) => {
    const s = p.steps.find((x) => x.name === step);
    if (!s || s.kind !== 'container') throw new Error(`no container step ${step}`);
    patch(s as never);
  });
}

describe('the step contract on aws: what synth refuses', () => {
  it('accepts the contract pipeline', () => {
    expect(problemsFor(contract())).toEqual([]);
  });

  it('fails if a placeholder names no input of the step', () => {
    const m = patchStep(contract(), 'Check', (s) => {
      s.args = [...s.args, '--extra', '{{inputs.nope}}'];
    });
    expect(problemsFor(m)).toEqual([
      { path: 'Fraud/Contract/Check', message: "args[9] '{{inputs.nope}}': placeholder '{{inputs.nope}}' names no input of this step (inputs: clean, rows); declare it or fix the name" },
    ]);
  });

  it('fails if a placeholder names no pipeline parameter, naming the parameters there are', () => {
    const m = patchStep(contract(), 'Prep', (s) => {
      s.env = { ...s.env, X: 'a-{{params.modes}}' };
    });
    expect(problemsFor(m)).toEqual([
      {
        path: 'Fraud/Contract/Prep',
        message: "env X 'a-{{params.modes}}': placeholder '{{params.modes}}' names no parameter of pipeline 'Fraud/Contract' (parameters: mode, learningRate); declare it with addParameter or fix the name",
      },
    ]);
  });

  it('fails if a placeholder is not one the contract knows, instead of passing it on literally', () => {
    const m = patchStep(contract(), 'Check', (s) => {
      s.args = ['--x={{input.clean}}'];
    });
    expect(problemsFor(m)).toEqual([
      { path: 'Fraud/Contract/Check', message: "args[0] '--x={{input.clean}}': placeholder '{{input.clean}}' is not understood; use {{inputs.<name>}}, {{outputs.<name>}} or {{params.<name>}}" },
    ]);
  });

  it('fails if the command of an ECS Fargate step holds a run-time value (the entrypoint cannot be overridden)', () => {
    const m = patchStep(contract(), 'Prep', (s) => {
      s.command = ['python', '-m', 'prep', '--mode={{params.mode}}'];
    });
    expect(problemsFor(m)).toEqual([
      {
        path: 'Fraud/Contract/Prep',
        message:
          "command[3] '--mode={{params.mode}}' holds a run-time value; without a compute pool the step runs on ECS Fargate, where the command is the container entrypoint and container overrides cannot change it; move the placeholder to args",
      },
    ]);
  });

  it('fails if a metric condition names a metric Step Functions cannot address', () => {
    const m = patchResource(contract(), 'Fraud/Contract', 'pipeline', (p) => {
      const publish = p.steps.find((s) => s.name === 'Publish');
      const c = publish?.conditions[1] as { operand: { metric: string } };
      c.operand.metric = 'roc-auc';
    });
    expect(problemsFor(m)).toEqual([
      {
        path: 'Fraud/Contract/Publish',
        message: "condition reads metric 'roc-auc'; on aws a metric condition needs a name of letters, digits and '_' (Step Functions reads it as a JSONPath field); rename the metric",
      },
    ]);
  });

  it('fails if a condition orders strings', () => {
    const m = patchResource(contract(), 'Fraud/Contract', 'pipeline', (p) => {
      const notify = p.steps.find((s) => s.name === 'Notify');
      (notify?.conditions[0] as { op: string }).op = '<';
    });
    expect(problemsFor(m)).toEqual([{ path: 'Fraud/Contract/Notify', message: `condition uses '<' on string value "full"; only numbers are ordered; use == or !=` }]);
  });

  it('fails if a condition reads an output that is not a parameter output', () => {
    const m = patchResource(contract(), 'Fraud/Contract', 'pipeline', (p) => {
      const train = p.steps.find((s) => s.name === 'Train');
      (train?.conditions[0] as { operand: { output: string } }).operand.output = 'clean';
    });
    const problems = problemsFor(m).filter((x) => x.path === 'Fraud/Contract/Train');
    expect(problems).toEqual([
      { path: 'Fraud/Contract/Train', message: "condition reads 'Check.clean', which is not a parameter output of a step of 'Fraud/Contract'; compare a parameter output (Output.float(), ...) or use Condition.metric" },
    ]);
  });

  it('fails if two step names would share their values in the Step Functions state', () => {
    const m = patchResource(contract(), 'Fraud/Contract', 'pipeline', (p) => {
      (p.steps.find((s) => s.name === 'Notify') as { name: string }).name = 'Step-A';
      (p.steps.find((s) => s.name === 'Publish') as { name: string }).name = 'Step_A';
    });
    expect(problemsFor(m)).toEqual([
      {
        path: 'Fraud/Contract/Publish',
        message: "step 'Step_A' and step 'Step-A' have the same name in the Step Functions state ('Step_A__'); rename one so they differ in letters, digits or '_'",
      },
    ]);
  });

  it('fails synth with every problem and its path, defining nothing', () => {
    const m = patchStep(contract(), 'Check', (s) => {
      s.args = ['{{outputs.nope}}'];
    });
    const app = new App();
    expect(() => awsAdapter.synth(app, m, settings)).toThrow(ValidationErrors);
    expect(() => awsAdapter.synth(new App(), m, settings)).toThrow(/\[Fraud\/Contract\/Check\] args\[0\] '\{\{outputs\.nope\}\}': placeholder '\{\{outputs\.nope\}\}' names no output of this step \(outputs: ok, score\)/);
    expect(app.node.children).toEqual([]);
  });

  it('warns that step caching is not honoured, per pipeline, naming the steps', () => {
    const m = patchStep(contract(), 'Check', (s) => {
      s.caching = true;
    });
    const { warnings } = awsAdapter.synth(new App({ builtinCloudFormationValidation: false }), m, settings);
    expect(warnings).toContainEqual({
      id: 'mlplane:aws:caching-not-supported',
      path: 'Fraud/Contract',
      message: 'Step Functions has no step cache, so steps with caching (Check) run on every run: same results, more compute; set caching: false to acknowledge',
    });
  });
});

describe('warnings', () => {
  it('warns that Batch cannot replace an image ENTRYPOINT, naming the steps on compute pools', () => {
    const { warnings } = awsAdapter.synth(new App({ builtinCloudFormationValidation: false }), contract(), settings);
    expect(warnings).toContainEqual({
      id: 'mlplane:aws:batch-entrypoint',
      path: 'Fraud/Contract',
      message:
        "AWS Batch job definitions cannot replace an image's ENTRYPOINT, so on a compute pool (Check, Train, Publish) command and args run as arguments of the image's ENTRYPOINT if it declares one; use images without ENTRYPOINT there",
    });
  });
});

describe('value text and intrinsic strings', () => {
  it('spells values as the contract says', () => {
    expect([valueText('a b'), valueText(42), valueText(0.1), valueText(1e-7), valueText(0.00001), valueText(1e16 + 2), valueText(2.5e20), valueText(true), valueText(false)]).toEqual([
      'a b',
      '42',
      '0.1',
      '1e-07',
      '1e-05',
      '1.0000000000000002e+16',
      '2.5e+20',
      'true',
      'false',
    ]);
  });

  it("escapes the reserved characters ' { } \\ of intrinsic function strings", () => {
    expect(intrinsicString("a'{b}\\c")).toBe("'a\\'\\{b\\}\\\\c'");
    const p = withContractPipeline(examples().fraud).resources.find((r) => r.path === 'Fraud/Contract') as PipelineModel;
    const prep = p.steps[0] as ContainerStepModel;
    const r = resolveWord(p, prep, "{x}'{{params.mode}}'");
    expect(r.ok && wordExpression(r.word)).toBe("States.Format('\\{x\\}\\'{}\\'', $.parameters.mode)");
  });
});
