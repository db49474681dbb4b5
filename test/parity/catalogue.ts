/**
 * The parity catalogue: for each ML-plane feature, a small app without it and the same app with
 * it, built through the constructs. test/parity/<target>.test.ts synthesizes both for a target and
 * fails on any behaviour the target's capability declaration does not announce: a new problem
 * where the feature is not declared unsupported, a new warning no newly used feature declares, or
 * an approximation whose warning never comes.
 */
import { App } from 'aws-cdk-lib';
import { awsAdapter } from '../../adapters/aws';
import { azureAdapter } from '../../adapters/azure';
import { gcpAdapter } from '../../adapters/gcp';
import {
  Alert, BatchInference, ComputePool, Condition, Metric, Output, Pipeline, Dataset, DataFormat, DriftMetric, DriftMonitor, Duration, Field, MlopsEnvironment, ModelRegistry, MonitorKind,
  OnlineEndpoint, Schedule, Schema, ServingContainer, ValidationErrors, featuresUsed, renderEnvironment, type Adapter, type DriftMonitorProps,
  type EnvironmentModel, type Feature, type BatchInferenceProps,
} from '../../lib';
import { TestRoot } from '../support/examples';

/** The pieces of the small app every entry starts from. */
export interface ParityApp {
  readonly env: MlopsEnvironment;
  readonly training: Dataset;
  readonly requests: Dataset;
  readonly predictions: Dataset;
  readonly endpoint: OnlineEndpoint;
  readonly pool: ComputePool;
  readonly model: ReturnType<ModelRegistry['addModel']>;
}

/**
 * An environment with training data (numeric `amount`, `count`; categorical `channel`), a
 * registry, a CPU pool and an 80/20 endpoint of two deployments that captures requests.
 */
export function parityApp(): ParityApp {
  const env = new MlopsEnvironment(new TestRoot(), 'Par');
  const schema = Schema.of({ amount: Field.float(), count: Field.int(), channel: Field.string(), ts: Field.timestamp() });
  const training = new Dataset(env, 'Training', { schema });
  const requests = new Dataset(env, 'Requests', { schema });
  const predictions = new Dataset(env, 'Predictions', { schema: Schema.of({ score: Field.float() }), format: DataFormat.CSV });
  const registry = new ModelRegistry(env, 'Registry');
  const model = registry.addModel('M', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0'), aliases: ['champion', 'challenger'] });
  const pool = new ComputePool(env, 'Cpu', { maxNodes: 4 });
  const endpoint = new OnlineEndpoint(env, 'Scoring', {
    deployments: [
      { name: 'model-v1', model: model.alias('champion') },
      { name: 'model-v2', model: model.alias('challenger') },
    ],
    traffic: { 'model-v1': 80, 'model-v2': 20 },
    capture: true,
  });
  return { env, training, requests, predictions, endpoint, pool, model };
}

function monitor(app: ParityApp, props: Partial<DriftMonitorProps> = {}): DriftMonitor {
  return new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: ['amount'], schedule: Schedule.rate(Duration.hours(6)), ...props });
}

function batch(app: ParityApp, props: Partial<BatchInferenceProps> = {}): BatchInference {
  return new BatchInference(app.env, 'Scores', { model: app.model.alias('champion'), input: app.requests, output: app.predictions, compute: app.pool, retries: 0, ...props });
}

/**
 * A nightly training pipeline on the app: Check (a boolean output) and Train (reads the training
 * data, writes a model and its metrics) and Register; `options` add what the entry exercises.
 */
function training(app: ParityApp, options: { trainCaches?: boolean; condition?: boolean; orderOnly?: boolean; promote?: boolean } = {}): void {
  const p = new Pipeline(app.env, 'Train');
  const check = p.addStep('Check', { image: 'ghcr.io/acme/check:1', command: ['check', '--ok', '{{outputs.ok}}'], outputs: { ok: Output.bool() }, caching: false });
  const train = p.addStep('Train', {
    image: 'ghcr.io/acme/train:1',
    command: ['train', '--data', '{{inputs.data}}', '--model', '{{outputs.model}}', '--metrics', '{{outputs.metrics}}'],
    inputs: { data: app.training },
    outputs: { model: Output.model(), metrics: Output.metrics() },
    caching: options.trainCaches ?? false,
    ...(options.condition ? { condition: Condition.output(check.output('ok')).equals(true) } : {}),
    ...(options.orderOnly ? { dependsOn: [check] } : {}),
  });
  const promotion = options.promote ? { promoteTo: 'champion', when: Metric.greaterThanAlias('auc', 'champion') } : {};
  p.addRegisterStep('Register', { artifact: train.output('model'), metrics: train.output('metrics'), model: app.model, ...promotion });
}

/** One feature, exercised by the difference between two apps. */
export interface ParityEntry {
  readonly feature: Feature;
  /** Define the app without the feature (`on` false) or with it (`on` true). */
  readonly build: (app: ParityApp, on: boolean) => void;
}

const metric = (feature: Feature, props: Partial<DriftMonitorProps>): ParityEntry => ({
  feature,
  build: (app, on) => {
    monitor(app, on ? props : {});
  },
});

/** Every ML-plane feature of the parity table, with an app pair that exercises it. */
export const CATALOGUE: readonly ParityEntry[] = [
  { feature: 'monitor.drift', build: (app, on) => (on ? void monitor(app, { kinds: [MonitorKind.DRIFT] }) : undefined) },
  { feature: 'monitor.skew', build: (app, on) => (on ? void monitor(app, { kinds: [MonitorKind.SKEW] }) : undefined) },
  { feature: 'monitor.allDeployments', build: (app, on) => void monitor(app, on ? {} : { deployment: 'model-v1' }) },
  { feature: 'monitor.metric.jensenShannonDistance.numeric', build: (app, on) => (on ? void monitor(app, { features: ['amount', 'count'] }) : undefined) },
  metric('monitor.metric.jensenShannonDistance.categorical', { features: ['amount', 'channel'] }),
  metric('monitor.metric.populationStabilityIndex.numeric', { metric: DriftMetric.PSI, features: { amount: 0.25 } }),
  metric('monitor.metric.populationStabilityIndex.categorical', { features: { amount: 0.1, channel: 0.25 }, categoricalMetric: DriftMetric.PSI }),
  metric('monitor.metric.normalizedWassersteinDistance.numeric', { metric: DriftMetric.WASSERSTEIN, features: { amount: 0.3 } }),
  metric('monitor.metric.lInfinity.categorical', { features: ['amount', 'channel'], categoricalMetric: DriftMetric.L_INFINITY }),
  metric('monitor.alert.email', { alerts: [Alert.email('ml-oncall@acme.example')] }),
  metric('monitor.alert.webhook', { alerts: [Alert.webhook('https://hooks.acme.example/drift')] }),
  {
    feature: 'monitor.batchTarget',
    build: (app, on) => {
      const b = batch(app);
      if (on) new DriftMonitor(app.env, 'BatchDrift', { batch: b, baseline: app.training, features: ['amount'], schedule: Schedule.cron({ hour: 6, minute: 0, timeZone: 'Europe/Amsterdam' }) });
    },
  },
  { feature: 'pipeline.caching.dataset', build: (app, on) => training(app, { trainCaches: on }) },
  { feature: 'pipeline.condition', build: (app, on) => training(app, { condition: on }) },
  { feature: 'pipeline.orderOnly', build: (app, on) => training(app, { orderOnly: on }) },
  { feature: 'endpoint.aliasRollout', build: (app, on) => training(app, { promote: on }) },
  { feature: 'batchInference', build: (app, on) => (on ? void batch(app) : undefined) },
  {
    feature: 'batchInference.schedule',
    build: (app, on) => void batch(app, on ? { schedules: [Schedule.cron({ weekDay: 'MON', hour: 3, minute: 0, timeZone: 'Europe/Amsterdam' })] } : {}),
  },
  { feature: 'batchInference.timeout', build: (app, on) => void batch(app, on ? { timeout: Duration.hours(2) } : {}) },
  { feature: 'batchInference.retries', build: (app, on) => void batch(app, on ? { retries: 2 } : {}) },
];

/** What a target's synth did with one app. */
export interface Outcome {
  readonly model: EnvironmentModel;
  readonly problems: readonly { path: string; message: string }[];
  readonly warnings: readonly { id: string; path: string }[];
}

/** The model of `entry`'s app with or without the feature. */
export function modelOf(entry: ParityEntry, on: boolean): EnvironmentModel {
  const app = parityApp();
  entry.build(app, on);
  return renderEnvironment(app.env);
}

/** Synthesize `model` for `adapter`, collecting problems instead of throwing. */
export function synthesize(adapter: Adapter, model: EnvironmentModel): Outcome {
  try {
    if (adapter.kind === 'documents') {
      const settings =
        adapter.target === 'gcp'
          ? gcpAdapter.parseSettings({ project: 'acme-parity', region: 'europe-west4' })
          : azureAdapter.parseSettings({ subscriptionId: '00000000-1111-2222-3333-444444444444', resourceGroup: 'rg-parity', location: 'westeurope' });
      return { model, problems: [], warnings: adapter.synth(model, settings as never).warnings };
    }
    const settings = awsAdapter.parseSettings({ account: '123456789012', region: 'eu-west-1' });
    return { model, problems: [], warnings: adapter.synth(new App(), model, settings as never).warnings };
  } catch (e) {
    if (!ValidationErrors.isValidationErrors(e)) throw e;
    return { model, problems: e.problems, warnings: [] };
  }
}

/** Feature ids `model` uses. */
export function used(model: EnvironmentModel): Set<Feature> {
  return new Set(featuresUsed(model).map((u) => u.feature));
}
