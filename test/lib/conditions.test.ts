import { describe, expect, it } from 'vitest';
import { Condition, Output, ParameterType, Pipeline, renderEnvironment, type ContainerStep, type PipelineModel } from '../../lib';
import { expectProblem, expectProblems, newEnv, problemsOf, smallRegistry } from '../support/fixtures';

/** A pipeline with a check step (`ok` bool, `count` int, `label` string, `score` float, `metrics`, `model`). */
function checkPipeline() {
  const env = newEnv();
  const p = new Pipeline(env, 'Train');
  const check = p.addStep('Check', {
    image: 'ghcr.io/acme/check:1',
    outputs: { ok: Output.bool(), count: Output.int(), label: Output.string(), score: Output.float(), metrics: Output.metrics(), model: Output.model() },
  });
  return { env, p, check };
}

function pipelineModel(env: ReturnType<typeof newEnv>): PipelineModel {
  const m = renderEnvironment(env).resources.find((r) => r.kind === 'pipeline');
  if (!m || m.kind !== 'pipeline') throw new Error('no pipeline');
  return m;
}

describe('step conditions → model', () => {
  it('renders each operand kind and operator', () => {
    const { env, p, check } = checkPipeline();
    const mode = p.addParameter('mode', ParameterType.STRING);
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.output(check.output('ok')).notEquals(false) });
    p.addStep('B', { image: 'ghcr.io/acme/b:1', condition: Condition.metric(check.output('metrics'), 'auc').lessThanOrEqual(0.5) });
    p.addStep('C', { image: 'ghcr.io/acme/c:1', condition: Condition.parameter(mode).equals('full') });
    p.addStep('D', { image: 'ghcr.io/acme/d:1', condition: Condition.output(check.output('count')).greaterThan(10) });
    p.addStep('E', { image: 'ghcr.io/acme/e:1', condition: Condition.output(check.output('score')).lessThan(1) });
    p.addStep('F', { image: 'ghcr.io/acme/f:1', condition: Condition.output(check.output('count')).greaterThanOrEqual(2) });
    const steps = Object.fromEntries(pipelineModel(env).steps.map((s) => [s.name, s]));
    expect(steps.A.conditions).toEqual([{ operand: { kind: 'stepOutput', step: 'Check', output: 'ok', type: 'bool' }, op: '!=', value: false, declaredOn: 'A' }]);
    expect(steps.B.conditions).toEqual([{ operand: { kind: 'metric', step: 'Check', output: 'metrics', metric: 'auc' }, op: '<=', value: 0.5, declaredOn: 'B' }]);
    expect(steps.C.conditions).toEqual([{ operand: { kind: 'parameter', parameter: 'mode', type: 'string' }, op: '==', value: 'full', declaredOn: 'C' }]);
    expect(steps.D.conditions.map((c) => c.op)).toEqual(['>']);
    expect(steps.E.conditions.map((c) => c.op)).toEqual(['<']);
    expect(steps.F.conditions.map((c) => c.op)).toEqual(['>=']);
  });

  it('makes the operand step a data upstream, not an order-only one', () => {
    const { env, p, check } = checkPipeline();
    p.addStep('A', { image: 'ghcr.io/acme/a:1', dependsOn: [check], condition: Condition.output(check.output('ok')).equals(true) });
    const a = pipelineModel(env).steps.find((s) => s.name === 'A')!;
    expect(a).toMatchObject({ dependsOn: ['Check'], orderOnly: [] });
  });

  it('inherits conditions through data and order-only edges, deduplicated', () => {
    const { env, p, check } = checkPipeline();
    const gated = p.addStep('Gated', { image: 'ghcr.io/acme/g:1', outputs: { x: Output.artifact() }, condition: Condition.output(check.output('ok')).equals(true) });
    const same = p.addStep('Same', { image: 'ghcr.io/acme/s:1', inputs: { x: gated.output('x') }, condition: Condition.output(check.output('ok')).equals(true) });
    p.addStep('After', { image: 'ghcr.io/acme/z:1', inputs: { x: gated.output('x') }, dependsOn: [same] });
    const after = pipelineModel(env).steps.find((s) => s.name === 'After')!;
    expect(after.conditions.map((c) => c.declaredOn)).toEqual(['Gated', 'Same']);
    expect(after.orderOnly).toEqual(['Same']);
  });

  it('is deterministic whatever the declaration order', () => {
    const build = (flip: boolean) => {
      const { env, p, check } = checkPipeline();
      const defs: Array<[string, Condition]> = [
        ['Y', Condition.output(check.output('ok')).equals(true)],
        ['X', Condition.metric(check.output('metrics'), 'auc').greaterThan(0.5)],
      ];
      const made = (flip ? defs.reverse() : defs).map(([id, condition]) => p.addStep(id, { image: 'ghcr.io/acme/a:1', condition }));
      p.addStep('Z', { image: 'ghcr.io/acme/z:1', dependsOn: made });
      return pipelineModel(env).steps.find((s) => s.name === 'Z')!.conditions;
    };
    expect(build(false).map((c) => c.declaredOn)).toEqual(['X', 'Y']);
    expect(build(true)).toEqual(build(false));
  });

  it('applies to register steps', () => {
    const { env, p, check } = checkPipeline();
    const { model } = smallRegistry(env);
    p.addRegisterStep('Register', { artifact: check.output('model'), model, condition: Condition.output(check.output('ok')).equals(true) });
    const reg = pipelineModel(env).steps.find((s) => s.name === 'Register')!;
    expect(reg.conditions).toEqual([{ operand: { kind: 'stepOutput', step: 'Check', output: 'ok', type: 'bool' }, op: '==', value: true, declaredOn: 'Register' }]);
  });
});

describe('step conditions: validation', () => {
  it('fails if the operand is a step of another pipeline', () => {
    const { env, check } = checkPipeline();
    const other = new Pipeline(env, 'Other');
    other.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.output(check.output('ok')).equals(true) });
    expectProblem(env, 'Test/Other/A', /^condition reads 'Test\/Train\/Check' of another pipeline; conditions read outputs of 'Test\/Other'$/);
  });

  it('fails if the operand is a parameter of another pipeline', () => {
    const { env } = checkPipeline();
    const other = new Pipeline(env, 'Other');
    const mode = other.addParameter('mode', ParameterType.STRING);
    other.addStep('X', { image: 'ghcr.io/acme/x:1' });
    const p = new Pipeline(env, 'Third');
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.parameter(mode).equals('x') });
    expectProblem(env, 'Test/Third/A', /^condition reads parameter 'mode' of pipeline 'Test\/Other'; use a parameter of 'Test\/Third'$/);
  });

  it('fails if a step reads its own output', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    const holder: { self?: ContainerStep } = {};
    const self = p.addStep('Self', {
      image: 'ghcr.io/acme/a:1',
      outputs: { ok: Output.bool() },
      get condition() {
        return holder.self ? Condition.output(holder.self.output('ok')).equals(true) : undefined;
      },
    });
    holder.self = self;
    expectProblem(env, 'Test/Train/Self', /^condition reads this step's own output 'ok'; a condition reads an upstream step's output$/);
  });

  it('fails if Condition.output names an undeclared output', () => {
    const { env, p, check } = checkPipeline();
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.output(check.output('okay')).equals(true) });
    expectProblem(env, 'Test/Train/A', /^condition reads 'Check\.okay', but step 'Check' has no output 'okay' \(outputs: ok, count, label, score, metrics, model\); declare it or fix the name$/);
  });

  it('fails if Condition.output reads an artifact output', () => {
    const { env, p, check } = checkPipeline();
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.output(check.output('metrics')).greaterThan(1) });
    expectProblem(env, 'Test/Train/A', /^condition reads 'Check\.metrics', which is artifact metrics; Condition\.output reads a parameter output .*for metrics use Condition\.metric\(Check\.output\('metrics'\), '<metric>'\)$/);
  });

  it('fails if Condition.metric reads an output that is not a metrics artifact', () => {
    const { env, p, check } = checkPipeline();
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.metric(check.output('score'), 'auc').greaterThan(0.5) });
    expectProblem(env, 'Test/Train/A', /^condition reads metric 'auc' of 'Check\.score', which is parameter float; Condition\.metric reads a metrics output \(Output\.metrics\(\)\)$/);
  });

  it('fails if a metric name is invalid', () => {
    const { env, p, check } = checkPipeline();
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.metric(check.output('metrics'), 'a u c').greaterThan(0.5) });
    expectProblem(env, 'Test/Train/A', /^condition metric 'a u c' must be a metric name of letters, digits, '_', '\.', '-'$/);
  });

  it('fails if a string or bool operand is ordered', () => {
    const { env, p, check } = checkPipeline();
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.output(check.output('label')).greaterThan(1) });
    p.addStep('B', { image: 'ghcr.io/acme/b:1', condition: Condition.output(check.output('ok')).lessThan(1) });
    expectProblems(env, [
      ['Test/Train/A', /^condition ''Check\.label' > 1' orders a string operand; strings compare with equals or notEquals only$/],
      ['Test/Train/B', /orders a bool operand; bools compare with equals or notEquals only$/],
    ]);
  });

  it('fails if the value does not match the operand type', () => {
    const { env, p, check } = checkPipeline();
    const flag = p.addParameter('flag', ParameterType.BOOL);
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.parameter(flag).equals('true') });
    p.addStep('B', { image: 'ghcr.io/acme/b:1', condition: Condition.output(check.output('count')).equals(1.5) });
    p.addStep('C', { image: 'ghcr.io/acme/c:1', condition: Condition.metric(check.output('metrics'), 'auc').equals('high') });
    p.addStep('D', { image: 'ghcr.io/acme/d:1', condition: Condition.output(check.output('label')).equals(3) });
    expectProblems(env, [
      ['Test/Train/A', /^condition compares parameter 'flag' with 'true' \(string\); it needs a bool$/],
      ['Test/Train/B', /^condition compares 'Check\.count' with 1\.5 \(number\); it needs a whole number \(int\)$/],
      ['Test/Train/C', /^condition compares metric 'auc' of 'Check\.metrics' with 'high' \(string\); it needs a number \(metric\)$/],
      ['Test/Train/D', /^condition compares 'Check\.label' with 3 \(number\); it needs a string$/],
    ]);
  });

  it('fails if the value is NaN or infinite', () => {
    const { env, p, check } = checkPipeline();
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.output(check.output('score')).greaterThan(Number.NaN) });
    p.addStep('B', { image: 'ghcr.io/acme/b:1', condition: Condition.metric(check.output('metrics'), 'auc').lessThan(Number.POSITIVE_INFINITY) });
    expectProblems(env, [
      ['Test/Train/A', /^condition value NaN must be a finite number$/],
      ['Test/Train/B', /^condition value Infinity must be a finite number$/],
    ]);
  });

  it('fails if condition is not a Condition', () => {
    const { env, p } = checkPipeline();
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: 'ok == true' as never });
    expectProblem(env, 'Test/Train/A', /^condition 'ok == true' is not a Condition; use Condition\.output\(\.\.\.\)\.equals\(\.\.\.\)/);
  });

  it('accepts an int value for a float operand and a whole number for an int operand', () => {
    const { env, p, check } = checkPipeline();
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.output(check.output('score')).greaterThan(1) });
    p.addStep('B', { image: 'ghcr.io/acme/b:1', condition: Condition.output(check.output('count')).lessThan(3) });
    expect(problemsOf(env)).toEqual([]);
  });
});

describe('placeholders', () => {
  it('fails if {{params.x}} names no pipeline parameter, and lists the parameters', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    p.addParameter('mode', ParameterType.STRING);
    p.addParameter('epochs', ParameterType.INT);
    p.addStep('A', { image: 'ghcr.io/acme/a:1', args: ['--mode={{params.mdoe}}'] });
    expectProblem(env, 'Test/Train/A', /^placeholder '\{\{params\.mdoe\}\}' names no parameter of pipeline 'Test\/Train' \(parameters: mode, epochs\); define it with addParameter\(\.\.\.\) or fix the name$/);
  });

  it('fails if an env value holds an unknown placeholder', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    p.addStep('A', { image: 'ghcr.io/acme/a:1', outputs: { out: Output.artifact() }, env: { OUT: '{{outputs.ouy}}', BAD: '{{secrets.key}}' } });
    expectProblems(env, [
      ['Test/Train/A', /^placeholder '\{\{outputs\.ouy\}\}' in env 'OUT' names no output of this step \(outputs: out\); declare it or fix the name$/],
      ['Test/Train/A', /^placeholder '\{\{secrets\.key\}\}' in env 'BAD' is not understood; use \{\{inputs\.<name>\}\}, \{\{outputs\.<name>\}\} or \{\{params\.<name>\}\}$/],
    ]);
  });

  it('accepts {{params.x}}, {{inputs.x}} and {{outputs.x}} in command, args and env', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    const mode = p.addParameter('mode', ParameterType.STRING);
    p.addStep('A', {
      image: 'ghcr.io/acme/a:1',
      command: ['run', '--mode={{params.mode}}'],
      args: ['{{inputs.m}}', '{{outputs.out}}'],
      env: { MODE: '{{params.mode}}', OUT: 'dir={{outputs.out}}' },
      inputs: { m: mode },
      outputs: { out: Output.artifact() },
    });
    expect(problemsOf(env)).toEqual([]);
  });
});

describe('placeholders in the model', () => {
  it('removes spaces inside the braces, so adapters see one spelling', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    const mode = p.addParameter('mode', ParameterType.STRING);
    p.addStep('A', { image: 'ghcr.io/acme/a:1', command: ['run', '--m={{ inputs.m }}'], args: ['{{params.mode }}'], env: { OUT: '{{  outputs.out}}/x' }, inputs: { m: mode }, outputs: { out: Output.artifact() } });
    const a = pipelineModel(env).steps[0];
    expect(a).toMatchObject({ command: ['run', '--m={{inputs.m}}'], args: ['{{params.mode}}'], env: { OUT: '{{outputs.out}}/x' } });
  });
});

describe('step conditions and the DAG', () => {
  it('fails if a condition reads a step downstream of the conditional step', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    const holder: { late?: ContainerStep } = {};
    const early = p.addStep('Early', {
      image: 'ghcr.io/acme/a:1',
      outputs: { x: Output.artifact() },
      get condition() {
        return holder.late ? Condition.output(holder.late.output('ok')).equals(true) : undefined;
      },
    });
    holder.late = p.addStep('Late', { image: 'ghcr.io/acme/b:1', inputs: { x: early.output('x') }, outputs: { ok: Output.bool() } });
    expectProblem(env, 'Test/Train', /^steps form a cycle: (Early → Late → Early|Late → Early → Late); remove one of these dependencies$/);
  });
});

describe('step conditions from JavaScript', () => {
  it('fails if Condition.output is given something that is not a step output', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    p.addStep('A', { image: 'ghcr.io/acme/a:1', condition: Condition.output('Check.ok' as never).equals(true) });
    expectProblem(env, 'Test/Train/A', /^condition operand 'Check\.ok' is not a step output; pass one such as check\.output\('ok'\)$/);
  });
});
