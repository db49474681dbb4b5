import { metricCapabilities, type Capabilities } from '../../lib/model/capabilities';
import type { MetricTable } from '../../lib/monitor-metrics';

/**
 * Drift metrics on the aws target: the drift task (`DRIFT_SCRIPT` in monitoring.ts) computes each
 * metric itself with the definitions of lib/monitor-metrics.ts (base-2 Jensen-Shannon distance,
 * natural-log PSI, Wasserstein over the reference's standard deviation, L-infinity of category shares).
 */
export const AWS_METRICS: MetricTable = {
  jensenShannonDistance: { numeric: { level: 'exact', as: 'jensenShannonDistance' }, categorical: { level: 'exact', as: 'jensenShannonDistance' } },
  populationStabilityIndex: { numeric: { level: 'exact', as: 'populationStabilityIndex' }, categorical: { level: 'exact', as: 'populationStabilityIndex' } },
  normalizedWassersteinDistance: { numeric: { level: 'exact', as: 'normalizedWassersteinDistance' } },
  lInfinity: { categorical: { level: 'exact', as: 'lInfinity' } },
};

/**
 * What the aws target honours, and how.
 *
 * `emulated` entries say which mechanism stands in; `unsupported` entries name the alternative
 * the user gets in the synth error.
 */
export const AWS_CAPABILITIES: Capabilities = {
  'environment.network.private': { level: 'native', note: 'private subnets, internal ALBs, VPC endpoints for S3, ECR and CloudWatch Logs' },
  'environment.encryption.customerManaged': { level: 'native', note: 'KMS key with rotation, used by S3, RDS, DynamoDB, SNS, CloudWatch Logs' },
  'dataset.managed': { level: 'native', note: 'S3 prefix in the artifact bucket + Glue table' },
  'dataset.external': { level: 'native', note: 's3:// URIs only' },
  'dataset.nestedTypes': { level: 'native', note: 'Glue array<> and struct<> columns' },
  'dataset.partitioning': { level: 'emulated', how: 'Glue partition key `<field>_<granularity>` (string, Hive-style key=value prefixes written by the producer)' },
  'dataset.clustering': { level: 'emulated', how: 'Glue SortColumns on the table (catalog metadata; writers sort the files)' },
  'dataset.retention': { level: 'native', note: 'S3 lifecycle expiration on the dataset prefix (managed datasets)' },
  'featureTable.offline': { level: 'native', note: 'Glue table over the source dataset' },
  'featureTable.online': { level: 'native', note: 'DynamoDB table keyed by the entity, with TTL' },
  'compute.cpu': { level: 'native', note: 'AWS Batch Fargate compute environment + job queue' },
  'compute.gpu': { level: 'native', note: 'AWS Batch EC2 compute environment (ECS GPU AMI) + job queue' },
  'compute.spot': { level: 'native', note: 'Batch Fargate Spot / EC2 Spot' },
  'compute.customAccelerator': { level: 'native', note: "Accelerator.custom('aws', '<instance type>') picks the EC2 instance type" },
  'pipeline.container': { level: 'native', note: 'Step Functions task: ECS Fargate RunTask, or Batch SubmitJob on a compute pool' },
  'pipeline.retries': { level: 'native', note: 'Step Functions Retry on States.TaskFailed' },
  'pipeline.timeout': { level: 'native', note: 'Step Functions TimeoutSeconds' },
  'pipeline.caching': {
    level: 'emulated',
    how: 'no cache: Step Functions runs every step on every run (same results, more compute)',
    warnings: ['mlplane:aws:caching-not-supported'],
  },
  'pipeline.caching.dataset': {
    level: 'emulated',
    how: 'no cache: every step runs on every run, so a step reading a dataset always sees the current data',
    warnings: ['mlplane:aws:caching-not-supported'],
  },
  'pipeline.condition': { level: 'native', note: 'Choice states on values read back into the state' },
  'pipeline.orderOnly': { level: 'emulated', how: "the state machine's level order (every step of a level runs after every step of the level before)" },
  'pipeline.registerStep': { level: 'emulated', how: 'ECS task running the MLflow client (public MLflow image) that registers the model version' },
  'pipeline.promotionGate': { level: 'emulated', how: 'the register task compares the metric with the alias holder before moving the alias' },
  'schedule.cron': { level: 'native', note: 'EventBridge Scheduler cron with time zone' },
  'schedule.rate': { level: 'native', note: 'EventBridge Scheduler rate (whole minutes)' },
  'registry.aliases': { level: 'native', note: 'MLflow registered-model aliases' },
  'endpoint.aliasRollout': {
    level: 'emulated',
    how: 'the register task forces a new ECS deployment of each service serving the promoted alias (models:/<model>@<alias>); the new tasks load the new version. CloudFormation does not see MLflow aliases, so cdk diff cannot report an alias moved outside mlplane: it reaches serving when the tasks restart',
    warnings: ['mlplane:aws:alias-drift-invisible'],
  },
  'endpoint.trafficSplit': { level: 'native', note: 'ALB listener forwarding to weighted target groups' },
  'endpoint.mirrorTraffic': {
    level: 'unsupported',
    alternative: 'an ALB cannot mirror requests; set mirror to 0 and give the shadow deployment a small traffic share instead',
  },
  'endpoint.autoscaling.cpu': { level: 'native', note: 'ECS service target tracking on CPU' },
  'endpoint.autoscaling.requests': { level: 'native', note: 'ECS service target tracking on ALBRequestCountPerTarget' },
  'endpoint.auth.key': {
    level: 'emulated',
    how: 'a generated API key in Secrets Manager is injected as MLPLANE_API_KEY; the serving container checks the x-api-key header',
  },
  'endpoint.auth.token': {
    level: 'emulated',
    how: 'a generated bearer token in Secrets Manager is injected as MLPLANE_AUTH_TOKEN; callers read it with IAM (secretsmanager:GetSecretValue) and send Authorization: Bearer; the serving container checks it',
  },
  'endpoint.capture': {
    level: 'emulated',
    how: 'the serving container writes sampled payloads to the S3 URI in MLPLANE_CAPTURE_URI (write-only grant on that prefix)',
  },
  batchInference: {
    level: 'emulated',
    how: "state machine running the model's serving image with MLPLANE_MODE=batch: a Map of Fargate tasks, or a Batch array job on a compute pool",
  },
  'batchInference.schedule': { level: 'native', note: 'EventBridge Scheduler' },
  'batchInference.timeout': { level: 'native', note: 'state machine TimeoutSeconds (the whole run)' },
  'batchInference.retries': {
    level: 'emulated',
    how: 'Step Functions Retry re-runs a failed shard (1/instanceCount of the input) — or the whole array job on a compute pool — not a mini-batch',
    warnings: ['mlplane:aws:batch-retries-per-shard'],
  },
  'monitor.drift': { level: 'emulated', how: 'scheduled ECS task compares the production window with the window before it, per feature, and publishes CloudWatch metrics; one alarm per threshold' },
  'monitor.skew': { level: 'emulated', how: 'same drift task, comparing the production window with the training data' },
  'monitor.batchTarget': { level: 'native', note: 'the drift task reads the batch input prefix (the features scored)' },
  'monitor.allDeployments': { level: 'native', note: "the drift task compares each deployment's captured inputs on its own (Deployment metric dimension, one alarm per deployment)" },
  ...metricCapabilities(AWS_METRICS),
  'monitor.alert.email': { level: 'native', note: 'SNS email subscription' },
  'monitor.alert.webhook': { level: 'native', note: 'SNS HTTPS subscription (the endpoint confirms the subscription)' },
  'monitor.onDrift.retrain': { level: 'native', note: 'alarm → EventBridge rule → cooldown state machine → StartExecution of the pipeline' },
  grants: { level: 'native', note: 'one IAM role per step, deployment, batch job and monitor, with policies from the grants' },
};
