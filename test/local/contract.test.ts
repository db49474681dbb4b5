import { describe, expect, it } from 'vitest';
import { containerArgv, evaluateCondition, hostBindings, parseValueText, planRun, resolveStep, valueText, type StepIo } from '../../adapters/local';
import { artifactOut, dataset, envOf, fromParam, fromStep, paramOut, shStep } from './support';

describe('step contract: value text', () => {
  it('spells values one way: strings as themselves, ints in decimal, floats shortest round-trip, booleans true/false', () => {
    expect([valueText('a b'), valueText(42), valueText(-7), valueText(0.1), valueText(1e-7), valueText(2.5e-5), valueText(0.0001), valueText(1e16), valueText(123456.75), valueText(true), valueText(false)])
      .toEqual(['a b', '42', '-7', '0.1', '1e-07', '2.5e-05', '0.0001', '1e+16', '123456.75', 'true', 'false']);
  });

  it('parses text of each type and says what is allowed otherwise', () => {
    expect(parseValueText('42', 'int')).toEqual({ value: 42 });
    expect(parseValueText('4.2', 'int')).toEqual({ error: "'4.2' is not an int (decimal digits, e.g. 42)" });
    expect(parseValueText('1e-07', 'float')).toEqual({ value: 1e-7 });
    expect(parseValueText('', 'float')).toEqual({ error: "'' is not a finite float (e.g. 0.1, 1e-07)" });
    expect(parseValueText('True', 'bool')).toEqual({ error: "'True' is not a bool (true or false)" });
  });
});

describe('step contract: placeholders', () => {
  const io: StepIo = {
    inputs: { data: { kind: 'artifact', dir: '/runs/r/steps/A/outputs/data' }, lr: { kind: 'parameter', text: '0.05' } },
    outputs: { model: { kind: 'artifact', dir: '/runs/r/steps/B/outputs/model' }, ok: { kind: 'parameter', file: '/runs/r/steps/B/params/ok' } },
    params: { mode: 'full' },
    paramsDir: '/runs/r/steps/B/params',
  };
  const step = shStep('B', '', {
    command: ['python3', 'train.py'],
    args: ['--data={{inputs.data}}', '--lr', '{{inputs.lr}}', '--model', '{{outputs.model}}', '--ok', '{{outputs.ok}}', '--mode', '{{params.mode}}'],
    env: { OUT: '{{outputs.model}}/extra', MODE: 'm-{{params.mode}}' },
    inputs: [fromStep('data', 'A', 'data'), fromParam('lr', 'lr', 'float')],
    outputs: [artifactOut('model', 'model'), paramOut('ok', 'bool')],
  });

  it('resolves placeholders alone or embedded, in command, args and env values', () => {
    const r = resolveStep(step, hostBindings(io));
    expect(r.problems).toEqual([]);
    expect(r.args).toEqual(['--data=/runs/r/steps/A/outputs/data', '--lr', '0.05', '--model', '/runs/r/steps/B/outputs/model', '--ok', '/runs/r/steps/B/params/ok', '--mode', 'full']);
    expect(r.env).toEqual({ OUT: '/runs/r/steps/B/outputs/model/extra', MODE: 'm-full' });
  });

  it('fails if a placeholder names nothing or is not understood, naming the step and the placeholder', () => {
    const bad = shStep('Bad', '', { command: ['run', '{{inputs.nope}}'], args: ['{{outputs.x.y}}'], env: { P: '{{params.missing}}' }, inputs: [fromStep('data', 'A', 'data')] });
    const env = envOf([shStep('A', 'true', { outputs: [artifactOut('data')] }), bad]);
    expect(planRun({ environment: env, target: 'T/P', exists: () => true }).problems).toEqual([
      { path: 'T/P/Bad', message: "command: placeholder '{{inputs.nope}}' names no input (inputs: data); declare it or fix the name" },
      { path: 'T/P/Bad', message: "args: placeholder '{{outputs.x.y}}' is not understood; use {{inputs.<name>}}, {{outputs.<name>}} or {{params.<name>}}" },
      { path: 'T/P/Bad', message: "env P: placeholder '{{params.missing}}' names no pipeline parameter (params: none); declare it or fix the name" },
    ]);
  });

  it('the container executor mounts every artifact and gives the step the container paths (argv built without an engine)', () => {
    const { argv, problems } = containerArgv(step, io, { name: 'mlplane-r-b-1', user: '1000:1000' });
    expect(problems).toEqual([]);
    expect(argv).toEqual([
      'run', '--rm', '--name', 'mlplane-r-b-1', '--user', '1000:1000',
      '--mount', 'type=bind,source=/runs/r/steps/A/outputs/data,target=/mlplane/inputs/data,readonly',
      '--mount', 'type=bind,source=/runs/r/steps/B/outputs/model,target=/mlplane/outputs/model',
      '--mount', 'type=bind,source=/runs/r/steps/B/params,target=/mlplane/params',
      '--env', 'MODE=m-full', '--env', 'OUT=/mlplane/outputs/model/extra',
      '--entrypoint', 'python3', 'example.com/test:1', 'train.py',
      '--data=/mlplane/inputs/data', '--lr', '0.05', '--model', '/mlplane/outputs/model', '--ok', '/mlplane/params/ok', '--mode', 'full',
    ]);
  });

  it('a step without command keeps the image entrypoint in a container and receives args only', () => {
    const { argv } = containerArgv({ ...step, command: [], env: {} }, io, { name: 'n' });
    expect(argv.includes('--entrypoint')).toBe(false);
    expect(argv.slice(argv.indexOf('example.com/test:1'))).toEqual(['example.com/test:1', '--data=/mlplane/inputs/data', '--lr', '0.05', '--model', '/mlplane/outputs/model', '--ok', '/mlplane/params/ok', '--mode', 'full']);
  });
});

describe('step contract: conditions', () => {
  const values = { stepOutput: () => '3', metrics: () => ({ auc: 0.91 }), parameter: () => 'full' };

  it('compares numbers numerically and strings by equality', () => {
    expect(evaluateCondition({ operand: { kind: 'stepOutput', step: 'A', output: 'n', type: 'int' }, op: '>=', value: 3, declaredOn: 'B' }, values)).toMatchObject({ holds: true });
    expect(evaluateCondition({ operand: { kind: 'metric', step: 'E', output: 'metrics', metric: 'auc' }, op: '<', value: 0.9, declaredOn: 'B' }, values)).toMatchObject({ holds: false });
    expect(evaluateCondition({ operand: { kind: 'parameter', parameter: 'mode', type: 'string' }, op: '!=', value: 'full', declaredOn: 'B' }, values)).toMatchObject({ holds: false });
  });

  it('fails if a metric operand is missing, naming the metrics found', () => {
    expect(evaluateCondition({ operand: { kind: 'metric', step: 'E', output: 'metrics', metric: 'f1' }, op: '>', value: 0.5, declaredOn: 'B' }, values))
      .toEqual({ error: "condition operand E.metrics[f1]: metric 'f1' is missing or not a finite number in metrics.json (metrics: auc)" });
  });
});

describe('mlplane run: before a run starts', () => {
  const reader = shStep('Read', 'cat {{inputs.raw}}/*', { inputs: [{ name: 'raw', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'dataset', dataset: 'T/Raw' } }] });

  it('fails if a dataset has no local data, naming the dataset and the flag', () => {
    expect(planRun({ environment: envOf([reader], [], [dataset('Raw')]), target: 'T/P', exists: () => true }).problems).toEqual([{
      path: 'T/Raw',
      message: 'dataset \'Raw\' (read by step \'Read\') has no local data; pass --data Raw=<file or directory> (csv files), or set it in cdk.json context "mlplane:run": { "data": { "T/Raw": "<path>" } }',
    }]);
  });

  it('fails if the local data does not exist, or --data names no dataset', () => {
    const { problems } = planRun({ environment: envOf([reader], [], [dataset('Raw')]), target: 'T/P', data: { Raw: 'nope.csv', Other: 'x' }, exists: () => false });
    expect(problems.map((p) => p.message)).toEqual([
      "--data Other: no dataset 'Other' in environment 'T' (datasets: Raw); use a dataset id or path",
      "local data 'nope.csv' for dataset 'Raw' does not exist; pass --data Raw=<an existing file or directory>",
    ]);
  });

  it('fails if a parameter is unknown, of the wrong type, or has no value', () => {
    const env = envOf([shStep('A', 'true')], [{ name: 'n', type: 'int' }, { name: 'lr', type: 'float', default: 0.1 }]);
    expect(planRun({ environment: env, target: 'T/P', parameters: { lr: 'fast', epochs: '3' }, exists: () => true }).problems.map((p) => p.message)).toEqual([
      '--param epochs: the pipeline has no parameter \'epochs\' (parameters: n, lr); fix the name',
      "parameter 'n' (int) has no default; pass --param n=<value>",
      "--param lr: 'fast' is not a finite float (e.g. 0.1, 1e-07); pass a value of type float",
    ]);
  });

  it('normalizes parameter values to their one spelling', () => {
    const env = envOf([shStep('A', 'true')], [{ name: 'lr', type: 'float', default: 0.1 }, { name: 'n', type: 'int', default: 3 }]);
    expect(planRun({ environment: env, target: 'T/P', parameters: { lr: '0.0000001' }, exists: () => true }).plan?.parameters).toEqual({ lr: '1e-07', n: '3' });
  });

  it('fails if the target is not a pipeline of the environment, listing the pipelines', () => {
    expect(planRun({ environment: envOf([shStep('A', 'true')]), target: 'T/Nope', exists: () => true }).problems).toEqual([
      { path: 'T/Nope', message: "is not a pipeline of environment 'T' (pipelines: T/P); run one of them" },
    ]);
  });
});
