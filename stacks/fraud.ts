import type { Construct } from 'constructs';
import {
  Accelerator, Alert, Autoscaling, ComputePool, Dataset, DriftMetric, DriftMonitor, Duration, Encryption, FeatureTable, Field,
  Input, Metric, MlopsEnvironment, ModelFramework, ModelPromotion, PromotionApproval, ModelRegistry, Network, OnlineEndpoint, Output, ParameterType, Pipeline,
  RegionHint, Schedule, Schema, ServingContainer, Size, Stage, retrain,
} from '../lib';

/**
 * Real-time fraud detection: transactions land in a partitioned table, a nightly GPU pipeline
 * retrains and promotes only a better model, an endpoint serves champion and challenger 90/10,
 * and drift on six features retrains the model.
 *
 * One definition, three stages (`--stage dev|staging|prod`, prod by default): dev is public with
 * platform keys, one small GPU node, single replicas and no nightly schedule; staging and prod are
 * private with a customer-managed key; prod alone has redundant replicas. The champion is promoted
 * from staging to prod by `mlplane promote Fraud fraud@champion --from staging --to prod` when its
 * AUC is at least 0.9.
 */
export function defineFraudDetection(scope: Construct): MlopsEnvironment {
  const env = new MlopsEnvironment(scope, 'Fraud', {
    description: 'Real-time card fraud scoring',
    stage: Stage.PROD,
    stages: {
      dev: { network: Network.PUBLIC, encryption: Encryption.platformKey() },
      staging: {},
      prod: {},
    },
    region: RegionHint.EU,
    network: Network.PRIVATE,
    encryption: Encryption.customerManagedKey({ rotation: Duration.days(90) }),
    tags: { team: 'risk-ml', costCenter: 'cc-4711' },
  });

  const transactions = new Dataset(env, 'Transactions', {
    description: 'Card transactions with fraud labels',
    schema: Schema.of({
      txId: Field.string({ nullable: false, description: 'Transaction id' }),
      customerId: Field.string({ nullable: false }),
      merchantId: Field.string({ nullable: false }),
      merchantCategory: Field.string(),
      amount: Field.float({ nullable: false }),
      currency: Field.string(),
      channel: Field.string({ description: 'pos, ecom or atm' }),
      country: Field.string(),
      hourOfDay: Field.int(),
      isInternational: Field.bool(),
      customerAgeDays: Field.int(),
      amountZScore: Field.float({ description: 'Amount vs the customer 90-day mean, in standard deviations' }),
      ts: Field.timestamp({ nullable: false }),
      txDate: Field.date(),
      deviceTags: Field.array(Field.string()),
      geo: Field.struct({ lat: Field.float(), lon: Field.float() }),
      isFraud: Field.bool({ description: 'Label, known after chargeback' }),
    }),
    partitionBy: { field: 'ts' },
    clusterBy: ['customerId', 'merchantId'],
    retention: Duration.days(730),
  });

  const customerFeatures = new FeatureTable(env, 'CustomerFeatures', {
    description: 'Per-customer spending features for training and online scoring',
    source: transactions,
    entity: 'customer',
    keys: ['customerId'],
    features: ['amount', 'amountZScore', 'merchantCategory', 'customerAgeDays', 'isInternational'],
    timestampField: 'ts',
    online: true,
    ttl: Duration.days(7),
    refreshEvery: Duration.hours(1),
  });

  const gpu = new ComputePool(env, 'Gpu', {
    description: 'Training nodes',
    accelerator: Accelerator.NVIDIA_T4,
    cpu: 8,
    memory: Size.gibibytes(32),
    maxNodes: env.byStage({ dev: 1, staging: 2, prod: 4 }),
    spot: true,
    idleTimeout: Duration.minutes(15),
  });
  const cpu = new ComputePool(env, 'Cpu', { cpu: 4, memory: Size.gibibytes(16), maxNodes: 8 });

  const registry = new ModelRegistry(env, 'Registry');
  const fraud = registry.addModel('Fraud', {
    modelName: 'fraud',
    description: 'Gradient-boosted fraud classifier',
    framework: ModelFramework.XGBOOST,
    serving: ServingContainer.image('ghcr.io/acme/fraud-serve:2.0.3', { port: 8080, predictRoute: '/v1/score', healthRoute: '/healthz' }),
    aliases: ['champion', 'challenger'],
  });

  const train = new Pipeline(env, 'Train', { description: 'Nightly retraining with gated promotion' });
  const windowDays = train.addParameter('trainingWindowDays', ParameterType.INT, { default: 90 });
  const learningRate = train.addParameter('learningRate', ParameterType.FLOAT, { default: 0.05 });

  const validate = train.addStep('ValidateData', {
    image: 'ghcr.io/acme/fraud-validate:1.4.0',
    command: ['python3', 'examples/fraud/validate.py'],
    args: ['--data', '{{inputs.transactions}}', '--window-days', '{{inputs.window_days}}', '--out', '{{outputs.clean}}', '--report', '{{outputs.report}}'],
    inputs: { transactions, window_days: windowDays },
    outputs: { clean: Output.dataset(), report: Output.artifact() },
    compute: cpu,
    timeout: Duration.minutes(30),
  });
  const features = train.addStep('BuildFeatures', {
    image: 'ghcr.io/acme/fraud-features:1.2.0',
    command: ['python3', 'examples/fraud/features.py'],
    args: ['--in', '{{inputs.clean}}', '--out', '{{outputs.features}}'],
    inputs: { clean: Input.dataset(validate.output('clean')) },
    outputs: { features: Output.dataset() },
    compute: cpu,
    cpu: 4,
    memory: Size.gibibytes(16),
  });
  const fit = train.addStep('TrainModel', {
    image: 'ghcr.io/acme/fraud-train:2.0.1',
    command: ['python3', 'examples/fraud/train.py'],
    args: ['--features', '{{inputs.features}}', '--lr', '{{inputs.learning_rate}}', '--model', '{{outputs.model}}'],
    inputs: { features: features.output('features'), learning_rate: learningRate },
    outputs: { model: Output.model() },
    compute: gpu,
    cpu: 8,
    memory: Size.gibibytes(32),
    accelerator: Accelerator.NVIDIA_T4,
    retries: 2,
    timeout: Duration.hours(4),
    env: { XGB_TREE_METHOD: 'gpu_hist' },
  });
  const evaluate = train.addStep('Evaluate', {
    image: 'ghcr.io/acme/fraud-eval:1.1.0',
    command: ['python3', 'examples/fraud/evaluate.py'],
    args: ['--model', '{{inputs.model}}', '--holdout', '{{inputs.features}}', '--metrics', '{{outputs.metrics}}'],
    inputs: { model: Input.model(fit.output('model')), features: features.output('features') },
    outputs: { metrics: Output.metrics() },
    compute: cpu,
    caching: false,
  });
  train.addRegisterStep('Register', {
    artifact: fit.output('model'),
    metrics: evaluate.output('metrics'),
    model: fraud,
    promoteTo: 'champion',
    when: Metric.greaterThanAlias('auc', 'champion', { minDelta: 0.002 }),
  });
  // Nightly retraining in staging and prod; dev trains on demand.
  if (env.byStage({ dev: false }, true)) train.addSchedule(Schedule.cron({ hour: 2, minute: 0, timeZone: 'Europe/Amsterdam' }));

  const endpoint = new OnlineEndpoint(env, 'Scoring', {
    description: 'Card authorisation scoring',
    deployments: [
      { name: 'blue', model: fraud.alias('champion'), cpu: 2, memory: Size.gibibytes(4), minReplicas: env.byStage({ prod: 2 }, 1), maxReplicas: env.byStage({ dev: 1, staging: 2, prod: 6 }), autoscaling: Autoscaling.cpu(70) },
      { name: 'green', model: fraud.alias('challenger'), cpu: 2, memory: Size.gibibytes(4), minReplicas: 1, maxReplicas: 2, autoscaling: Autoscaling.cpu(70) },
    ],
    traffic: { blue: 90, green: 10 },
    capture: { requests: true, responses: true, samplingRate: 0.5 },
  });
  customerFeatures.grantRead(endpoint);

  new DriftMonitor(env, 'Drift', {
    description: 'Feature drift of scored traffic vs the training data',
    endpoint,
    baseline: transactions,
    features: { amount: 0.1, amountZScore: 0.15, merchantCategory: 0.15, hourOfDay: 0.2, customerAgeDays: 0.2, channel: 0.15 },
    metric: DriftMetric.JENSEN_SHANNON,
    schedule: Schedule.rate(Duration.hours(6)),
    lookback: Duration.days(1),
    alerts: [Alert.email('ml-oncall@acme.example')],
    onDrift: retrain(train, { cooldown: Duration.hours(24) }),
  });

  new ModelPromotion(env, 'PromoteFraud', {
    model: fraud,
    from: Stage.STAGING,
    to: Stage.PROD,
    alias: 'champion',
    when: Metric.greaterThan('auc', 0.9),
    approval: PromotionApproval.REQUIRED,
  });

  return env;
}
