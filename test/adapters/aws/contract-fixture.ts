import type {
  ContainerStepModel,
  EnvironmentModel,
  PipelineModel,
  RegisterStepModel,
  StepConditionModel,
} from '../../../lib/model/types';

/**
 * A pipeline that uses every part of the step contract, hand-built as a model (the construct API
 * for conditions lands separately): artifacts and parameters in and out, embedded placeholders,
 * env placeholders, a literal, pipeline parameters, a parameter-output condition, a metric
 * condition, a pipeline-parameter condition, an order-only dependency, steps on ECS Fargate, on a
 * Batch Fargate pool and on a Batch GPU pool, and a gated register step.
 *
 * Prep → Check → (Notify: after Check, order only, when mode == 'full')
 *             → Train (when Check.ok == true) → Publish (when auc > 0.8) and Register (gate auc > champion)
 */
export function contractPipeline(env: EnvironmentModel): PipelineModel {
  const base = `${env.environment.path}/Contract`;
  const common = { retries: 0, caching: false, resources: { cpu: 1, memoryGiB: 2 } };
  const okIsTrue: StepConditionModel = { operand: { kind: 'stepOutput', step: 'Check', output: 'ok', type: 'bool' }, op: '==', value: true, declaredOn: 'Train' };
  const aucHigh: StepConditionModel = { operand: { kind: 'metric', step: 'Train', output: 'metrics', metric: 'auc' }, op: '>', value: 0.8, declaredOn: 'Publish' };
  const fullMode: StepConditionModel = { operand: { kind: 'parameter', parameter: 'mode', type: 'string' }, op: '==', value: 'full', declaredOn: 'Notify' };
  const prep: ContainerStepModel = {
    ...common,
    kind: 'container',
    name: 'Prep',
    path: `${base}/Prep`,
    dependsOn: [],
    orderOnly: [],
    conditions: [],
    image: 'ghcr.io/acme/prep:1.0',
    command: ['python', '-m', 'prep'],
    args: ['--raw', '{{inputs.raw}}', '--mode={{params.mode}}', '--clean', '{{outputs.clean}}', '--rows', '{{outputs.rows}}'],
    // Braces, quotes and a backslash around a run-time value: reserved characters of intrinsic functions.
    env: { PREP_MODE: "{'mode': '{{params.mode}}'}\\", CLEAN_DIR: '{{outputs.clean}}', PLAIN: "x{y}'z" },
    inputs: [{ name: 'raw', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'dataset', dataset: `${env.environment.path}/Transactions` } }],
    outputs: [
      { name: 'clean', type: { kind: 'artifact', type: 'dataset' } },
      { name: 'rows', type: { kind: 'parameter', type: 'int' } },
    ],
  };
  const check: ContainerStepModel = {
    ...common,
    kind: 'container',
    name: 'Check',
    path: `${base}/Check`,
    dependsOn: ['Prep'],
    orderOnly: [],
    conditions: [],
    image: 'ghcr.io/acme/check:1.0',
    command: ['python', '-m', 'check'],
    args: ['--clean', '{{inputs.clean}}', '--rows', '{{inputs.rows}}', '--ok', '{{outputs.ok}}', '--score', '{{outputs.score}}'],
    env: {},
    inputs: [
      { name: 'clean', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'step', step: 'Prep', output: 'clean' } },
      { name: 'rows', type: { kind: 'parameter', type: 'int' }, source: { kind: 'step', step: 'Prep', output: 'rows' } },
    ],
    outputs: [
      { name: 'ok', type: { kind: 'parameter', type: 'bool' } },
      { name: 'score', type: { kind: 'parameter', type: 'float' } },
    ],
    compute: `${env.environment.path}/Cpu`,
  };
  const notify: ContainerStepModel = {
    ...common,
    kind: 'container',
    name: 'Notify',
    path: `${base}/Notify`,
    dependsOn: ['Check'],
    orderOnly: ['Check'],
    conditions: [fullMode],
    image: 'ghcr.io/acme/notify:1.0',
    command: ['notify'],
    args: ['--message', 'checked {{params.mode}} run'],
    env: {},
    inputs: [],
    outputs: [],
  };
  const train: ContainerStepModel = {
    ...common,
    kind: 'container',
    name: 'Train',
    path: `${base}/Train`,
    dependsOn: ['Check', 'Prep'],
    orderOnly: [],
    conditions: [okIsTrue],
    image: 'ghcr.io/acme/train:1.0',
    command: ['python', '-m', 'train', '--lr={{inputs.lr}}'],
    args: ['--data', '{{inputs.clean}}', '--threshold', '{{inputs.threshold}}', '--score', '{{inputs.score}}', '--model', '{{outputs.model}}', '--metrics', '{{outputs.metrics}}'],
    env: { TRAIN_SCORE: 'score={{inputs.score}}' },
    inputs: [
      { name: 'clean', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'step', step: 'Prep', output: 'clean' } },
      { name: 'lr', type: { kind: 'parameter', type: 'float' }, source: { kind: 'parameter', parameter: 'learningRate' } },
      { name: 'threshold', type: { kind: 'parameter', type: 'float' }, source: { kind: 'value', value: 0.00001 } },
      { name: 'score', type: { kind: 'parameter', type: 'float' }, source: { kind: 'step', step: 'Check', output: 'score' } },
    ],
    outputs: [
      { name: 'model', type: { kind: 'artifact', type: 'model' } },
      { name: 'metrics', type: { kind: 'artifact', type: 'metrics' } },
    ],
    resources: { cpu: 4, memoryGiB: 16, accelerator: { kind: 'known', name: 'nvidia-t4', count: 1 } },
    compute: `${env.environment.path}/Gpu`,
  };
  const publish: ContainerStepModel = {
    ...common,
    kind: 'container',
    name: 'Publish',
    path: `${base}/Publish`,
    dependsOn: ['Train'],
    orderOnly: [],
    conditions: [okIsTrue, aucHigh],
    image: 'ghcr.io/acme/publish:1.0',
    command: ['publish'],
    args: ['{{inputs.model}}'],
    env: {},
    inputs: [{ name: 'model', type: { kind: 'artifact', type: 'model' }, source: { kind: 'step', step: 'Train', output: 'model' } }],
    outputs: [],
    compute: `${env.environment.path}/Cpu`,
  };
  const register: RegisterStepModel = {
    kind: 'register',
    name: 'Register',
    path: `${base}/Register`,
    dependsOn: ['Train'],
    orderOnly: [],
    conditions: [okIsTrue],
    retries: 0,
    caching: false,
    artifact: { step: 'Train', output: 'model' },
    metrics: { step: 'Train', output: 'metrics' },
    registry: `${env.environment.path}/Registry`,
    model: 'fraud',
    promoteTo: 'champion',
    gate: { metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.01 },
  };
  return {
    kind: 'pipeline',
    path: base,
    id: 'Contract',
    parameters: [
      { name: 'mode', type: 'string', default: 'full' },
      { name: 'learningRate', type: 'float', default: 0.05 },
    ],
    steps: [prep, check, notify, train, publish, register],
    schedules: [],
  };
}

/** `model` with the contract pipeline added (resources stay sorted by path). */
export function withContractPipeline(model: EnvironmentModel): EnvironmentModel {
  const p = contractPipeline(model);
  const resources = [...model.resources, p].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const grants = [
    ...model.grants,
    { principal: { kind: 'step' as const, pipeline: p.path, step: 'Prep' }, resource: `${model.environment.path}/Transactions`, access: 'read' as const, origin: 'wiring' as const },
  ];
  return { ...model, resources, grants };
}
