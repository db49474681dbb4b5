import type { Construct } from 'constructs';
import {
  Alert, BatchInference, ComputePool, Dataset, DriftMetric, DriftMonitor, Duration, Encryption, Field, Input, Metric, MlopsEnvironment, ModelFramework,
  ModelPromotion, ModelRegistry, MonitorKind, Network, Output, PartitionGranularity, Pipeline, RegionHint, Schedule, Schema, ServingContainer, Size, Stage,
} from '../lib';

/**
 * Weekly churn batch scoring: a customer snapshot, a monthly training pipeline with a gated
 * register step, a weekly scheduled batch inference, and a skew monitor with an email alert.
 *
 * One definition, three stages (`--stage dev|staging|prod`, staging by default): dev scores on
 * demand with one node; prod is private with a customer-managed key and scores with eight nodes.
 */
export function defineChurnScoring(scope: Construct): MlopsEnvironment {
  const env = new MlopsEnvironment(scope, 'Churn', {
    description: 'Weekly churn propensity scoring',
    stage: Stage.STAGING,
    stages: {
      dev: {},
      staging: {},
      prod: { network: Network.PRIVATE, encryption: Encryption.customerManagedKey() },
    },
    region: RegionHint.US,
    network: Network.PUBLIC,
    tags: { team: 'growth-analytics' },
  });

  const customers = new Dataset(env, 'Customers', {
    description: 'Weekly customer snapshot with churn labels',
    schema: Schema.of({
      customerId: Field.string({ nullable: false }),
      snapshotDate: Field.date({ nullable: false }),
      tenureMonths: Field.int(),
      monthlyCharges: Field.float(),
      totalCharges: Field.float(),
      contractType: Field.string(),
      paymentMethod: Field.string(),
      supportTickets: Field.int(),
      lastLogin: Field.timestamp(),
      churned: Field.bool(),
    }),
    partitionBy: { field: 'snapshotDate', granularity: PartitionGranularity.MONTH },
    retention: Duration.days(1095),
  });
  const scores = new Dataset(env, 'ChurnScores', {
    description: 'Churn probability per customer and week',
    schema: Schema.of({
      customerId: Field.string({ nullable: false }),
      scoredAt: Field.timestamp({ nullable: false }),
      churnProbability: Field.float(),
      modelVersion: Field.string(),
    }),
    partitionBy: { field: 'scoredAt' },
    retention: Duration.days(365),
  });

  const cpu = new ComputePool(env, 'Cpu', { cpu: 4, memory: Size.gibibytes(16), maxNodes: env.byStage({ dev: 1, staging: 4, prod: 8 }), spot: true });
  const scheduled = env.byStage({ dev: false }, true);

  const registry = new ModelRegistry(env, 'Registry');
  const churn = registry.addModel('Churn', {
    framework: ModelFramework.SKLEARN,
    serving: ServingContainer.image('ghcr.io/acme/churn-serve:1.3.0'),
    aliases: ['production'],
  });

  const train = new Pipeline(env, 'Train', { description: 'Monthly churn model retraining' });
  const prepare = train.addStep('Prepare', {
    image: 'ghcr.io/acme/churn-prep:1.0.2',
    command: ['python3', 'examples/churn/prepare.py'],
    args: ['--snapshot', '{{inputs.customers}}', '--train', '{{outputs.train}}', '--test', '{{outputs.test}}'],
    inputs: { customers },
    outputs: { train: Output.dataset(), test: Output.dataset() },
    compute: cpu,
    retries: 1,
  });
  const fit = train.addStep('Fit', {
    image: 'ghcr.io/acme/churn-train:1.3.0',
    command: ['python3', 'examples/churn/train.py'],
    args: ['--train', '{{inputs.train}}', '--model', '{{outputs.model}}'],
    inputs: { train: prepare.output('train') },
    outputs: { model: Output.model() },
    compute: cpu,
    cpu: 4,
    memory: Size.gibibytes(16),
    retries: 1,
    timeout: Duration.hours(2),
  });
  const evaluate = train.addStep('Evaluate', {
    image: 'ghcr.io/acme/churn-eval:1.0.0',
    command: ['python3', 'examples/churn/evaluate.py'],
    args: ['--model', '{{inputs.model}}', '--test', '{{inputs.test}}', '--metrics', '{{outputs.metrics}}'],
    inputs: { model: Input.model(fit.output('model')), test: prepare.output('test') },
    outputs: { metrics: Output.metrics() },
    compute: cpu,
    caching: false,
    retries: 1,
  });
  train.addRegisterStep('Register', {
    artifact: fit.output('model'),
    metrics: evaluate.output('metrics'),
    model: churn,
    promoteTo: 'production',
    when: Metric.greaterThanAlias('f1', 'production'),
  });
  if (scheduled) train.addSchedule(Schedule.cron({ day: 1, hour: 4, minute: 0, timeZone: 'America/New_York' }));

  const scoring = new BatchInference(env, 'WeeklyScoring', {
    description: 'Score every active customer each Monday morning',
    model: churn.alias('production'),
    input: customers,
    output: scores,
    compute: cpu,
    instanceCount: env.byStage({ dev: 1, staging: 4, prod: 8 }),
    miniBatchSize: 500,
    timeout: Duration.hours(3),
    schedules: scheduled ? [Schedule.cron({ weekDay: 'MON', hour: 3, minute: 30, timeZone: 'America/New_York' })] : [],
  });

  new DriftMonitor(env, 'Skew', {
    description: 'Training-serving skew of the scored snapshot',
    batch: scoring,
    baseline: customers,
    kinds: [MonitorKind.SKEW],
    metric: DriftMetric.JENSEN_SHANNON,
    features: ['tenureMonths', 'monthlyCharges', 'contractType', 'paymentMethod', 'supportTickets'],
    threshold: 0.2,
    schedule: Schedule.cron({ weekDay: 'MON', hour: 9, timeZone: 'America/New_York' }),
    lookback: Duration.days(7),
    alerts: [Alert.email('growth-analytics@acme.example')],
  });

  new ModelPromotion(env, 'PromoteChurn', { model: churn, from: Stage.STAGING, to: Stage.PROD, alias: 'production', when: Metric.greaterThan('f1', 0.6) });

  return env;
}
