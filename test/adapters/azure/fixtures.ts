import type { AzureSettings } from '../../../adapters/azure/settings';
import type {
  ContainerStepModel,
  StepConditionModel,
  DatasetModel,
  DriftMonitorModel,
  EnvironmentModel,
  OnlineEndpointModel,
  PipelineModel,
  RegisterStepModel,
  ResourceModel,
} from '../../../lib/model/types';
import { MODEL_SCHEMA_VERSION } from '../../../lib/model/types';

/** Settings used by every test. */
export const SETTINGS: AzureSettings = {
  subscriptionId: '00000000-1111-2222-3333-444444444444',
  resourceGroup: 'rg-mlplane-test',
  location: 'westeurope',
};

const transactions: DatasetModel = {
  kind: 'dataset',
  path: 'Fraud/Transactions',
  id: 'Transactions',
  description: 'Card transactions',
  schema: [
    { name: 'txId', type: 'string', nullable: false },
    { name: 'cardId', type: 'string', nullable: false },
    { name: 'amount', type: 'float', nullable: false },
    { name: 'merchantCategory', type: 'string', nullable: true },
    { name: 'ts', type: 'timestamp', nullable: false },
    { name: 'isFraud', type: 'bool', nullable: true },
    { name: 'tags', type: 'array', items: { type: 'string' }, nullable: true },
  ],
  source: { kind: 'managed' },
  format: 'parquet',
  version: '1',
  retentionDays: 365,
  partitionBy: { field: 'ts', granularity: 'day' },
  clusterBy: [],
  retain: true,
};

const validate: ContainerStepModel = {
  kind: 'container',
  name: 'Validate',
  path: 'Fraud/Train/Validate',
  dependsOn: [],
  orderOnly: [],
  conditions: [],
  retries: 0,
  caching: true,
  image: 'ghcr.io/acme/validate:1.4',
  command: ['python', '-m', 'validate'],
  args: ['--strict', '--in', '{{inputs.data}}', '--out={{outputs.clean}}'],
  env: {},
  inputs: [{ name: 'data', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'dataset', dataset: 'Fraud/Transactions' } }],
  outputs: [{ name: 'clean', type: { kind: 'artifact', type: 'dataset' } }],
  resources: { cpu: 2, memoryGiB: 8 },
};

const fit: ContainerStepModel = {
  kind: 'container',
  name: 'Fit',
  path: 'Fraud/Train/Fit',
  dependsOn: ['Validate'],
  orderOnly: [],
  conditions: [],
  retries: 2,
  timeoutSeconds: 7200,
  caching: false,
  image: 'ghcr.io/acme/train:2.0',
  command: ['python', 'train.py'],
  args: ['--data', '{{inputs.data}}', '--lr', '{{inputs.learning_rate}}', '--model', '{{outputs.model}}', '--metrics', '{{outputs.metrics}}'],
  env: { EPOCHS: '10' },
  inputs: [
    { name: 'data', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'step', step: 'Validate', output: 'clean' } },
    { name: 'learning_rate', type: { kind: 'parameter', type: 'float' }, source: { kind: 'parameter', parameter: 'learningRate' } },
  ],
  outputs: [
    { name: 'model', type: { kind: 'artifact', type: 'model' } },
    { name: 'metrics', type: { kind: 'artifact', type: 'metrics' } },
  ],
  resources: { cpu: 4, memoryGiB: 16, accelerator: { kind: 'known', name: 'nvidia-t4', count: 1 } },
  compute: 'Fraud/Gpu',
};

const register: RegisterStepModel = {
  kind: 'register',
  name: 'Register',
  path: 'Fraud/Train/Register',
  dependsOn: ['Fit'],
  orderOnly: [],
  conditions: [],
  retries: 0,
  caching: false,
  artifact: { step: 'Fit', output: 'model' },
  metrics: { step: 'Fit', output: 'metrics' },
  registry: 'Fraud/Registry',
  model: 'fraud',
  promoteTo: 'champion',
  gate: { metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.01 },
};

const train: PipelineModel = {
  kind: 'pipeline',
  path: 'Fraud/Train',
  id: 'Train',
  parameters: [{ name: 'learningRate', type: 'float', default: 0.05 }],
  steps: [validate, fit, register],
  schedules: [{ kind: 'cron', expression: '0 2 * * *', timeZone: 'Europe/Amsterdam' }],
};

const scoring: OnlineEndpointModel = {
  kind: 'onlineEndpoint',
  path: 'Fraud/Scoring',
  id: 'Scoring',
  auth: 'token',
  deployments: [
    {
      name: 'blue',
      model: { registry: 'Fraud/Registry', model: 'fraud', alias: 'champion' },
      resources: { cpu: 2, memoryGiB: 4 },
      minReplicas: 2,
      maxReplicas: 6,
      autoscaling: { metric: 'requests', target: 50 },
      traffic: 100,
      mirror: 0,
    },
    {
      name: 'green',
      model: { registry: 'Fraud/Registry', model: 'fraud', alias: 'challenger' },
      resources: { cpu: 2, memoryGiB: 4 },
      minReplicas: 1,
      maxReplicas: 2,
      autoscaling: { metric: 'cpu', target: 70 },
      traffic: 0,
      mirror: 10,
    },
  ],
  capture: { requests: true, responses: true, samplingRate: 0.25 },
};

const drift: DriftMonitorModel = {
  kind: 'driftMonitor',
  path: 'Fraud/Drift',
  id: 'Drift',
  target: { kind: 'endpoint', endpoint: 'Fraud/Scoring', deployment: 'blue' },
  baseline: 'Fraud/Transactions',
  signals: [
    {
      kind: 'drift',
      metric: 'jensenShannonDistance',
      thresholds: [
        { feature: 'amount', threshold: 0.15 },
        { feature: 'merchantCategory', threshold: 0.2 },
      ],
    },
  ],
  schedule: { kind: 'rate', seconds: 21600 },
  lookbackDays: 7,
  alerts: [{ kind: 'email', address: 'ml-oncall@acme.example' }],
  onDrift: { action: 'retrain', pipeline: 'Fraud/Train', parameters: { learningRate: 0.03 }, gateStep: 'Register', cooldownSeconds: 86400 },
};

const fraudResources: ResourceModel[] = [
  drift,
  { kind: 'computePool', path: 'Fraud/Gpu', id: 'Gpu', node: { cpu: 4, memoryGiB: 16, accelerator: { kind: 'known', name: 'nvidia-t4', count: 1 } }, minNodes: 0, maxNodes: 4, spot: true, idleSeconds: 600 },
  {
    kind: 'featureTable',
    path: 'Fraud/CardFeatures',
    id: 'CardFeatures',
    entity: { name: 'card', keys: ['cardId'] },
    source: 'Fraud/Transactions',
    timestampField: 'ts',
    features: [
      { name: 'amount', type: 'float', nullable: false },
      { name: 'merchantCategory', type: 'string', nullable: true },
    ],
    online: true,
    refreshSeconds: 3600,
  },
  {
    kind: 'modelRegistry',
    path: 'Fraud/Registry',
    id: 'Registry',
    retain: true,
    models: [
      {
        name: 'fraud',
        path: 'Fraud/Registry/fraud',
        aliases: ['champion', 'challenger'],
        framework: 'xgboost',
        serving: { image: 'ghcr.io/acme/fraud-serve:1.0', port: 8080, predictRoute: '/predict', healthRoute: '/health', env: { LOG_LEVEL: 'info' } },
      },
    ],
  },
  scoring,
  train,
  transactions,
];

/** A fraud-detection-like environment: private network, CMK, every online feature. */
export function fraudModel(): EnvironmentModel {
  return {
    schemaVersion: MODEL_SCHEMA_VERSION,
    environment: {
      name: 'Fraud',
      path: 'Fraud',
      description: 'Real-time fraud detection',
      stage: 'prod',
      region: 'eu',
      tags: { team: 'risk' },
      network: { mode: 'private' },
      encryption: { kind: 'customer-managed', keyName: 'mlplane-cmk', rotationDays: 90 },
    },
    resources: [...fraudResources].sort((a, b) => a.path.localeCompare(b.path)),
    grants: [
      { principal: { kind: 'step', pipeline: 'Fraud/Train', step: 'Fraud/Train/Validate' }, resource: 'Fraud/Transactions', access: 'read', origin: 'wiring' },
      { principal: { kind: 'step', pipeline: 'Fraud/Train', step: 'Fraud/Train/Register' }, resource: 'Fraud/Registry', access: 'write', origin: 'wiring' },
      { principal: { kind: 'deployment', endpoint: 'Fraud/Scoring', deployment: 'blue' }, resource: 'Fraud/CardFeatures', access: 'read', origin: 'explicit' },
      { principal: { kind: 'driftMonitor', monitor: 'Fraud/Drift' }, resource: 'Fraud/Train', access: 'write', origin: 'wiring' },
    ],
  };
}

/** A churn-batch-like environment: public network, platform keys, weekly batch scoring. */
export function churnModel(): EnvironmentModel {
  const customers: DatasetModel = {
    kind: 'dataset',
    path: 'Churn/Customers',
    id: 'Customers',
    schema: [
      { name: 'customerId', type: 'string', nullable: false },
      { name: 'tenureMonths', type: 'int', nullable: false },
      { name: 'plan', type: 'string', nullable: false },
    ],
    source: { kind: 'external', uri: 'https://acmedata.blob.core.windows.net/crm/customers' },
    format: 'csv',
    version: '2026-11',
    clusterBy: [],
    retain: true,
  };
  const scores: DatasetModel = {
    kind: 'dataset',
    path: 'Churn/Scores',
    id: 'Scores',
    schema: [
      { name: 'customerId', type: 'string', nullable: false },
      { name: 'churnProbability', type: 'float', nullable: false },
    ],
    source: { kind: 'managed' },
    format: 'parquet',
    version: '1',
    retentionDays: 90,
    clusterBy: [],
    retain: false,
  };
  return {
    schemaVersion: MODEL_SCHEMA_VERSION,
    environment: {
      name: 'Churn',
      path: 'Churn',
      stage: 'dev',
      region: 'us',
      tags: {},
      network: { mode: 'public' },
      encryption: { kind: 'platform' },
    },
    resources: [
      {
        kind: 'batchInference',
        path: 'Churn/Batch',
        id: 'Batch',
        model: { registry: 'Churn/Registry', model: 'churn', version: '3' },
        input: 'Churn/Customers',
        output: 'Churn/Scores',
        compute: 'Churn/Cpu',
        resources: { cpu: 4, memoryGiB: 16 },
        instanceCount: 2,
        miniBatchSize: 10,
        schedules: [{ kind: 'cron', expression: '0 6 * * 1', timeZone: 'America/New_York' }],
        timeoutSeconds: 600,
        retries: 3,
      },
      { kind: 'computePool', path: 'Churn/Cpu', id: 'Cpu', node: { cpu: 4, memoryGiB: 16 }, minNodes: 0, maxNodes: 2, spot: false, idleSeconds: 120 },
      customers,
      {
        kind: 'driftMonitor',
        path: 'Churn/Drift',
        id: 'Drift',
        target: { kind: 'batch', batch: 'Churn/Batch' },
        baseline: 'Churn/Customers',
        signals: [{ kind: 'skew', metric: 'populationStabilityIndex', thresholds: [{ feature: 'tenureMonths', threshold: 0.1 }, { feature: 'plan', threshold: 0.1 }] }],
        schedule: { kind: 'cron', expression: '0 8 * * 1', timeZone: 'America/New_York' },
        lookbackDays: 7,
        alerts: [{ kind: 'webhook', url: 'https://hooks.acme.example/ml-alerts' }],
      },
      {
        kind: 'modelRegistry',
        path: 'Churn/Registry',
        id: 'Registry',
        retain: true,
        models: [
          {
            name: 'churn',
            path: 'Churn/Registry/churn',
            aliases: [],
            framework: 'sklearn',
            serving: { image: 'acmecr.azurecr.io/churn-serve:3', port: 5001, predictRoute: '/score', healthRoute: '/ready', env: {} },
          },
        ],
      },
      scores,
    ].sort((a, b) => a.path.localeCompare(b.path)) as ResourceModel[],
    grants: [
      { principal: { kind: 'batchInference', batch: 'Churn/Batch' }, resource: 'Churn/Scores', access: 'write', origin: 'wiring' },
      { principal: { kind: 'batchInference', batch: 'Churn/Batch' }, resource: 'Churn/Customers', access: 'read', origin: 'wiring' },
    ],
  };
}

/** A copy of `model` with `change` applied to the resource at `path`. */
export function withResource<T extends ResourceModel>(model: EnvironmentModel, path: string, change: (r: T) => T): EnvironmentModel {
  return { ...model, resources: model.resources.map((r) => (r.path === path ? change(r as T) : r)) };
}

// ---------------------------------------------------------------------------------------------
// A pipeline with every feature of the step contract (parameters of every type, artifacts, parameter
// outputs, metrics, conditions on a parameter output / a metric / a pipeline parameter, order-only edges).

export const okTrue: StepConditionModel = { operand: { kind: 'stepOutput', step: 'Check', output: 'ok', type: 'bool' }, op: '==', value: true, declaredOn: 'Train' };
export const aucHigh: StepConditionModel = { operand: { kind: 'metric', step: 'Evaluate', output: 'metrics', metric: 'auc' }, op: '>', value: 0.8, declaredOn: 'Notify' };
export const modeFull: StepConditionModel = { operand: { kind: 'parameter', parameter: 'mode', type: 'string' }, op: '==', value: 'full', declaredOn: 'Notify' };

/** A container step of the contract pipeline with defaults. */
function step(s: Partial<ContainerStepModel> & Pick<ContainerStepModel, 'name' | 'command'>): ContainerStepModel {
  return {
    kind: 'container',
    path: `Fraud/Contract/${s.name}`,
    dependsOn: [],
    orderOnly: [],
    conditions: [],
    retries: 0,
    caching: false,
    image: 'ghcr.io/acme/contract:1',
    args: [],
    env: {},
    inputs: [],
    outputs: [],
    resources: { cpu: 2, memoryGiB: 4 },
    ...s,
  };
}

export const contractPipeline: PipelineModel = {
  kind: 'pipeline',
  path: 'Fraud/Contract',
  id: 'Contract',
  parameters: [
    { name: 'mode', type: 'string', default: 'full' },
    { name: 'seed', type: 'int', default: 42 },
    { name: 'epochs', type: 'int', default: 3 },
    { name: 'rate', type: 'float', default: 1 },
    { name: 'label', type: 'string', default: 'it\'s "A" $x `y`' },
  ],
  schedules: [{ kind: 'cron', expression: '0 3 * * *', timeZone: 'UTC' }],
  steps: [
    step({
      name: 'Check',
      command: ['python', '-m', 'check'],
      args: ['--mode={{params.mode}}', '--label={{params.label}}', '--data', '{{inputs.data}}', '--ok', '{{outputs.ok}}', '--note', `it's a "test" $HOME \`x\` \\n`],
      env: { REPORT: '{{outputs.report}}/summary.txt', PLAIN: 'x y', SEED: 'seed={{params.seed}}' },
      inputs: [{ name: 'data', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'dataset', dataset: 'Fraud/Transactions' } }],
      outputs: [
        { name: 'ok', type: { kind: 'parameter', type: 'bool' } },
        { name: 'report', type: { kind: 'artifact', type: 'artifact' } },
      ],
    }),
    step({
      name: 'Cleanup',
      command: ['python', '-m', 'cleanup'],
      args: ['--rate', '{{params.rate}}'],
      dependsOn: ['Check'],
      orderOnly: ['Check'],
    }),
    step({
      name: 'Train',
      command: ['python', 'train.py'],
      args: ['--data', '{{inputs.data}}', '--epochs', '{{inputs.epochs}}', '--lr={{inputs.lr}}', '--warm', '{{inputs.warm}}', '--model', '{{outputs.model}}', '--count', '{{outputs.count}}'],
      dependsOn: ['Check'],
      conditions: [okTrue],
      retries: 1,
      timeoutSeconds: 600,
      inputs: [
        { name: 'data', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'dataset', dataset: 'Fraud/Transactions' } },
        { name: 'epochs', type: { kind: 'parameter', type: 'int' }, source: { kind: 'parameter', parameter: 'epochs' } },
        { name: 'lr', type: { kind: 'parameter', type: 'float' }, source: { kind: 'value', value: 1e-7 } },
        { name: 'warm', type: { kind: 'parameter', type: 'bool' }, source: { kind: 'step', step: 'Check', output: 'ok' } },
      ],
      outputs: [
        { name: 'model', type: { kind: 'artifact', type: 'model' } },
        { name: 'count', type: { kind: 'parameter', type: 'int' } },
      ],
    }),
    step({
      name: 'Evaluate',
      command: ['python', 'eval.py'],
      args: ['--model', '{{inputs.model}}', '--count', '{{inputs.n}}', '--metrics', '{{outputs.metrics}}'],
      dependsOn: ['Train'],
      conditions: [okTrue],
      inputs: [
        { name: 'model', type: { kind: 'artifact', type: 'model' }, source: { kind: 'step', step: 'Train', output: 'model' } },
        { name: 'n', type: { kind: 'parameter', type: 'int' }, source: { kind: 'step', step: 'Train', output: 'count' } },
      ],
      outputs: [{ name: 'metrics', type: { kind: 'artifact', type: 'metrics' } }],
    }),
    {
      kind: 'register',
      name: 'Register',
      path: 'Fraud/Contract/Register',
      dependsOn: ['Evaluate', 'Train'],
      orderOnly: [],
      conditions: [okTrue],
      retries: 0,
      caching: false,
      artifact: { step: 'Train', output: 'model' },
      metrics: { step: 'Evaluate', output: 'metrics' },
      registry: 'Fraud/Registry',
      model: 'fraud',
      promoteTo: 'champion',
      gate: { metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.01 },
    } satisfies RegisterStepModel,
    step({
      name: 'Notify',
      command: ['python', 'notify.py'],
      args: ['{{params.mode}}'],
      env: { METRICS: '{{inputs.metrics}}' },
      dependsOn: ['Evaluate', 'Register'],
      orderOnly: ['Register'],
      conditions: [okTrue, aucHigh, modeFull],
      inputs: [{ name: 'metrics', type: { kind: 'artifact', type: 'metrics' }, source: { kind: 'step', step: 'Evaluate', output: 'metrics' } }],
    }),
  ],
};

/** The fraud fixture with its training pipeline replaced by the contract pipeline. */
export function contractModel(change: (p: PipelineModel) => PipelineModel = (p) => p): EnvironmentModel {
  const base = fraudModel();
  const resources = [...base.resources.filter((r) => r.path !== 'Fraud/Train' && r.kind !== 'driftMonitor'), change(contractPipeline)];
  return { ...base, resources: resources.sort((a, b) => a.path.localeCompare(b.path)), grants: [] };
}

