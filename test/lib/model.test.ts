import { describe, expect, it } from 'vitest';
import {
  Accelerator, ComputePool, Dataset, Duration, Field, MODEL_SCHEMA_VERSION, Output, Pipeline, Schedule, Schema, Size, featuresUsed,
  renderEnvironment, stableStringify,
} from '../../lib';
import { fileURLToPath } from 'node:url';
import { exampleModels } from '../support/examples';
import { expectGoldenFolder } from '../support/golden';
import { newEnv, smallDataset, smallRegistry } from '../support/fixtures';

describe('construct → model', () => {
  it('renders the fraud example with its resources sorted by path', () => {
    const [fraud] = exampleModels();
    expect(fraud.schemaVersion).toBe(MODEL_SCHEMA_VERSION);
    expect(fraud.environment).toEqual({
      name: 'Fraud', path: 'Fraud', description: 'Real-time card fraud scoring', stage: 'prod', stages: ['dev', 'staging', 'prod'], region: 'eu',
      tags: { costCenter: 'cc-4711', team: 'risk-ml' }, network: { mode: 'private' },
      encryption: { kind: 'customer-managed', keyName: 'fraud-cmk', rotationDays: 90 },
    });
    expect(fraud.resources.map((r) => `${r.kind}:${r.path}`)).toEqual([
      'computePool:Fraud/Cpu', 'featureTable:Fraud/CustomerFeatures', 'driftMonitor:Fraud/Drift', 'computePool:Fraud/Gpu',
      'modelRegistry:Fraud/Registry', 'onlineEndpoint:Fraud/Scoring', 'pipeline:Fraud/Train', 'dataset:Fraud/Transactions',
    ]);
  });

  it('renders typed schemas, nested types and partitioning', () => {
    const [fraud] = exampleModels();
    const tx = fraud.resources.find((r) => r.path === 'Fraud/Transactions');
    expect(tx).toMatchObject({
      kind: 'dataset', format: 'parquet', version: '1', retentionDays: 730, retain: true,
      partitionBy: { field: 'ts', granularity: 'day' }, clusterBy: ['customerId', 'merchantId'], source: { kind: 'managed' },
    });
    const schema = tx?.kind === 'dataset' ? tx.schema : [];
    expect(schema.length).toBeGreaterThanOrEqual(12);
    expect(schema.find((f) => f.name === 'txId')).toEqual({ name: 'txId', type: 'string', nullable: false, description: 'Transaction id' });
    expect(schema.find((f) => f.name === 'deviceTags')).toMatchObject({ type: 'array', items: { type: 'string' }, nullable: true });
    expect(schema.find((f) => f.name === 'geo')).toMatchObject({ type: 'struct', fields: [{ name: 'lat', type: 'float' }, { name: 'lon', type: 'float' }] });
  });

  it('orders pipeline steps topologically and derives dependencies from wiring', () => {
    const [fraud] = exampleModels();
    const train = fraud.resources.find((r) => r.path === 'Fraud/Train');
    if (train?.kind !== 'pipeline') throw new Error('no pipeline');
    expect(train.steps.map((s) => [s.name, s.dependsOn])).toEqual([
      ['ValidateData', []], ['BuildFeatures', ['ValidateData']], ['TrainModel', ['BuildFeatures']],
      ['Evaluate', ['BuildFeatures', 'TrainModel']], ['Register', ['Evaluate', 'TrainModel']],
    ]);
    expect(train.steps[2]).toMatchObject({
      kind: 'container', retries: 2, timeoutSeconds: 14400, caching: true, compute: 'Fraud/Gpu',
      resources: { cpu: 8, memoryGiB: 32, accelerator: { kind: 'known', name: 'nvidia-t4', count: 1 } },
      inputs: [
        { name: 'features', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'step', step: 'BuildFeatures', output: 'features' } },
        { name: 'learning_rate', type: { kind: 'parameter', type: 'float' }, source: { kind: 'parameter', parameter: 'learningRate' } },
      ],
      outputs: [{ name: 'model', type: { kind: 'artifact', type: 'model' } }],
    });
    expect(train.steps[4]).toMatchObject({
      kind: 'register', caching: false, registry: 'Fraud/Registry', model: 'fraud', promoteTo: 'champion',
      artifact: { step: 'TrainModel', output: 'model' }, metrics: { step: 'Evaluate', output: 'metrics' },
      gate: { metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.002 },
    });
    expect(train.schedules).toEqual([{ kind: 'cron', expression: '0 2 * * *', timeZone: 'Europe/Amsterdam' }]);
    expect(train.parameters).toEqual([
      { name: 'trainingWindowDays', type: 'int', default: 90 },
      { name: 'learningRate', type: 'float', default: 0.05 },
    ]);
  });

  it('renders traffic, mirror and capture per deployment', () => {
    const [fraud] = exampleModels();
    const scoring = fraud.resources.find((r) => r.path === 'Fraud/Scoring');
    expect(scoring).toMatchObject({
      kind: 'onlineEndpoint', auth: 'token',
      deployments: [
        { name: 'blue', traffic: 90, mirror: 0, minReplicas: 2, maxReplicas: 6, model: { registry: 'Fraud/Registry', model: 'fraud', alias: 'champion' }, autoscaling: { metric: 'cpu', target: 70 } },
        { name: 'green', traffic: 10, mirror: 0, minReplicas: 1, maxReplicas: 2, model: { alias: 'challenger' } },
      ],
      capture: { requests: true, responses: true, samplingRate: 0.5 },
    });
  });

  it('renders the drift monitor with per-feature thresholds and the retrain loop', () => {
    const [fraud] = exampleModels();
    const drift = fraud.resources.find((r) => r.path === 'Fraud/Drift');
    expect(drift).toMatchObject({
      kind: 'driftMonitor', target: { kind: 'endpoint', endpoint: 'Fraud/Scoring' }, baseline: 'Fraud/Transactions',
      schedule: { kind: 'rate', seconds: 21600 }, lookbackDays: 1, alerts: [{ kind: 'email', address: 'ml-oncall@acme.example' }],
      onDrift: { action: 'retrain', pipeline: 'Fraud/Train', gateStep: 'Register', cooldownSeconds: 86400, parameters: {} },
    });
    if (drift?.kind !== 'driftMonitor') throw new Error('no monitor');
    expect(drift.signals).toHaveLength(1);
    expect(drift.signals[0].thresholds.map((t) => t.feature)).toEqual(['amount', 'amountZScore', 'channel', 'customerAgeDays', 'hourOfDay', 'merchantCategory']);
  });

  it('records explicit grants and grants implied by wiring', () => {
    const [fraud] = exampleModels();
    expect(fraud.grants).toEqual(expect.arrayContaining([
      { principal: { kind: 'deployment', endpoint: 'Fraud/Scoring', deployment: 'blue' }, resource: 'Fraud/CustomerFeatures', access: 'read', origin: 'explicit' },
      { principal: { kind: 'step', pipeline: 'Fraud/Train', step: 'ValidateData' }, resource: 'Fraud/Transactions', access: 'read', origin: 'wiring' },
      { principal: { kind: 'step', pipeline: 'Fraud/Train', step: 'Register' }, resource: 'Fraud/Registry', access: 'write', origin: 'wiring' },
      { principal: { kind: 'deployment', endpoint: 'Fraud/Scoring', deployment: 'green' }, resource: 'Fraud/Registry', access: 'read', origin: 'wiring' },
      { principal: { kind: 'driftMonitor', monitor: 'Fraud/Drift' }, resource: 'Fraud/Transactions', access: 'read', origin: 'wiring' },
    ]));
  });

  it('keeps an explicit grant over the same implied one', () => {
    const env = newEnv();
    const data = smallDataset(env);
    const p = new Pipeline(env, 'Train');
    const step = p.addStep('Fit', { image: 'ghcr.io/acme/a:1', inputs: { data } });
    data.grantRead(step);
    expect(renderEnvironment(env).grants).toEqual([{ principal: { kind: 'step', pipeline: 'Test/Train', step: 'Fit' }, resource: 'Test/Data', access: 'read', origin: 'explicit' }]);
  });

  it('renders the churn example: batch scoring and a skew monitor', () => {
    const [, churn] = exampleModels();
    expect(churn.environment).toMatchObject({ stage: 'staging', region: 'us', network: { mode: 'public' }, encryption: { kind: 'platform' } });
    expect(churn.resources.find((r) => r.kind === 'batchInference')).toMatchObject({
      path: 'Churn/WeeklyScoring', input: 'Churn/Customers', output: 'Churn/ChurnScores', instanceCount: 4, miniBatchSize: 500, compute: 'Churn/Cpu',
      model: { model: 'churn', alias: 'production' }, schedules: [{ kind: 'cron', expression: '30 3 * * MON', timeZone: 'America/New_York' }],
    });
    expect(churn.resources.find((r) => r.kind === 'driftMonitor')).toMatchObject({
      target: { kind: 'batch', batch: 'Churn/WeeklyScoring' }, signals: [{ kind: 'skew', metric: 'jensenShannonDistance' }],
      alerts: [{ kind: 'email', address: 'growth-analytics@acme.example' }],
    });
  });

  it('applies documented defaults', () => {
    const env = newEnv();
    new ComputePool(env, 'Pool');
    const data = new Dataset(env, 'Data', { schema: Schema.of({ id: Field.string() }) });
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', { image: 'ghcr.io/acme/a:1', inputs: { data, epochs: 10, rate: 0.5, name: 'x', flag: true } });
    const m = renderEnvironment(env);
    expect(m.environment).toMatchObject({ stage: 'dev', region: 'any', network: { mode: 'private' }, encryption: { kind: 'platform' }, tags: {} });
    expect(m.resources.find((r) => r.kind === 'computePool')).toMatchObject({ minNodes: 0, maxNodes: 4, spot: false, idleSeconds: 600, node: { cpu: 4, memoryGiB: 16 } });
    const step = m.resources.find((r) => r.kind === 'pipeline');
    expect(step).toMatchObject({ steps: [{ retries: 0, caching: true, resources: { cpu: 2, memoryGiB: 8 }, inputs: [
      { name: 'data', type: { kind: 'artifact', type: 'dataset' } },
      { name: 'epochs', type: { kind: 'parameter', type: 'int' }, source: { kind: 'value', value: 10 } },
      { name: 'rate', type: { kind: 'parameter', type: 'float' } },
      { name: 'name', type: { kind: 'parameter', type: 'string' } },
      { name: 'flag', type: { kind: 'parameter', type: 'bool' } },
    ] }] });
  });

  it('lets a step inherit the accelerator of its pool', () => {
    const env = newEnv();
    const gpu = new ComputePool(env, 'Gpu', { accelerator: Accelerator.NVIDIA_L4, cpu: 8, memory: Size.gibibytes(32) });
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', { image: 'ghcr.io/acme/a:1', compute: gpu, outputs: { model: Output.model() } });
    const m = renderEnvironment(env);
    expect(m.resources.find((r) => r.kind === 'pipeline')).toMatchObject({ steps: [{ resources: { cpu: 2, memoryGiB: 8, accelerator: { name: 'nvidia-l4', count: 1 } } }] });
  });

  it('builds cron expressions from fields', () => {
    expect(Schedule.cron({ hour: 2 })._render()).toEqual({ kind: 'cron', expression: '0 2 * * *', timeZone: 'UTC' });
    expect(Schedule.cron({ minute: '*/15' })._render()).toEqual({ kind: 'cron', expression: '*/15 * * * *', timeZone: 'UTC' });
    expect(Schedule.cron({ weekDay: 'MON-FRI', hour: 6, minute: 30, timeZone: 'Asia/Tokyo' })._render()).toEqual({ kind: 'cron', expression: '30 6 * * MON-FRI', timeZone: 'Asia/Tokyo' });
    expect(Schedule.rate(Duration.hours(6))._render()).toEqual({ kind: 'rate', seconds: 21600 });
  });

  it('is deterministic: two renders give byte-identical JSON', () => {
    const a = exampleModels().map((m) => stableStringify(m));
    const b = exampleModels().map((m) => stableStringify(m));
    expect(a).toEqual(b);
  });

  it('lists the features a model uses, with paths', () => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    void model;
    const uses = featuresUsed(renderEnvironment(env));
    expect(uses).toEqual([{ feature: 'environment.network.private', path: 'Test' }, { feature: 'registry.aliases', path: 'Test/Registry' }]);
  });

  it('matches the golden models of the examples', async () => {
    const files = Object.fromEntries(exampleModels().map((m) => [`${m.environment.name}.model.json`, stableStringify(m)]));
    await expectGoldenFolder(fileURLToPath(new URL('./__golden__/examples', import.meta.url)), files);
  });
});
