/**
 * What the gcp target honours, feature by feature (see `adapters/gcp/README.md`).
 */
import type { Capabilities } from '../../lib/model/capabilities';

/** Capability declaration of the gcp target. */
export const GCP_CAPABILITIES: Capabilities = {
  'environment.network.private': {
    level: 'native',
    note: 'Private Service Connect on endpoints and the feature online store; pipeline jobs peer with mlplane:gcp.network',
  },
  'environment.encryption.customerManaged': {
    level: 'native',
    note: 'Cloud KMS key (one key ring per environment) in the Vertex region and the BigQuery location; encryptionSpec on every Vertex resource that has it, defaultEncryptionConfiguration and encryptionConfiguration on BigQuery, bucket default key',
  },
  'dataset.managed': { level: 'native', note: 'BigQuery table (+ Vertex tabular dataset)' },
  'dataset.external': { level: 'native', note: 'BigQuery external table over gs:// files (parquet, csv, jsonl); other URIs and delta are errors' },
  'dataset.nestedTypes': { level: 'native', note: 'RECORD and REPEATED columns (arrays of arrays are errors)' },
  'dataset.partitioning': { level: 'native', note: 'BigQuery time partitioning (HOUR, DAY, MONTH, YEAR) on a timestamp or date column' },
  'dataset.clustering': { level: 'native', note: 'BigQuery clustering (at most 4 columns)' },
  'dataset.retention': { level: 'emulated', how: 'partition expiration (expirationMs); an unpartitioned table gets daily ingestion-time partitions' },
  'featureTable.offline': { level: 'native', note: 'BigQuery view with the keys, timestamp and features' },
  'featureTable.online': { level: 'native', note: 'Vertex Feature Online Store (optimized) + feature view over the BigQuery view' },
  'compute.cpu': { level: 'native', note: 'resourceCpuLimit / resourceMemoryLimit on pipeline tasks, machine types on custom jobs and deployments' },
  'compute.gpu': { level: 'native', note: 'accelerator resourceType / resourceCount on pipeline tasks, machine specs elsewhere' },
  'compute.spot': {
    level: 'emulated',
    how: 'pipeline steps on a spot pool run as Vertex custom jobs with scheduling.strategy SPOT; batch prediction jobs have no spot option and run on demand (warning mlplane:gcp:batch-spot-on-demand)',
  },
  'compute.customAccelerator': { level: 'native', note: "Accelerator.custom('gcp', name) with a Vertex AcceleratorType name such as NVIDIA_L4" },
  'pipeline.container': { level: 'native', note: 'KFP v2 container component' },
  'pipeline.retries': { level: 'native', note: 'KFP retryPolicy' },
  'pipeline.timeout': { level: 'emulated', how: 'the step runs as a Vertex custom job with scheduling.timeout (GCPC custom job launcher)' },
  'pipeline.caching': { level: 'native', note: 'KFP cachingOptions' },
  'pipeline.registerStep': { level: 'native', note: 'lightweight component uploading a Vertex Model Registry version' },
  'pipeline.promotionGate': { level: 'emulated', how: 'the register component compares the metric with the alias holder (kept in version labels) before moving the alias' },
  'schedule.cron': { level: 'native', note: 'Vertex Schedule with cron "TZ=Europe/Amsterdam 0 2 * * *" (time zone prefix)' },
  'schedule.rate': { level: 'emulated', how: 'converted to the equivalent cron (rates dividing an hour or a day, 1 day, 7 days)' },
  'registry.aliases': { level: 'native', note: 'Vertex model version aliases' },
  'endpoint.trafficSplit': { level: 'native', note: 'Endpoint.trafficSplit over deployed-model ids, patched after the deployments' },
  'endpoint.mirrorTraffic': {
    level: 'unsupported',
    alternative: 'Vertex AI endpoints cannot mirror traffic; set mirror to 0 and use a small traffic share or a separate endpoint fed by request logs',
  },
  'endpoint.autoscaling.cpu': { level: 'native', note: 'autoscalingMetricSpecs cpu/utilization (target in %)' },
  'endpoint.autoscaling.requests': { level: 'emulated', how: 'autoscalingMetricSpecs request_count with the target in requests per minute per replica' },
  'endpoint.auth.key': { level: 'unsupported', alternative: 'Vertex AI endpoints authenticate with IAM tokens only; use auth: token' },
  'endpoint.auth.token': { level: 'native', note: 'IAM (OAuth access tokens)' },
  'endpoint.capture': { level: 'native', note: 'predictRequestResponseLoggingConfig to BigQuery (Vertex logs requests and responses together)' },
  batchInference: { level: 'native', note: 'batch prediction job run by a one-task pipeline (GCPC launcher)' },
  'batchInference.schedule': { level: 'native', note: 'Vertex Schedule of that pipeline' },
  'monitor.drift': { level: 'native', note: 'ModelDeploymentMonitoringJob predictionDriftDetectionConfig, per-feature thresholds, hourly-multiple interval' },
  'monitor.skew': { level: 'native', note: 'ModelDeploymentMonitoringJob trainingPredictionSkewDetectionConfig against the baseline table' },
  'monitor.batchTarget': {
    level: 'emulated',
    how: 'Vertex Model Monitoring v2 (v1beta1 API): a ModelMonitor and a scheduled ModelMonitoringJob comparing the batch input table with the baseline',
  },
  'monitor.alert.email': { level: 'native', note: 'emailAlertConfig' },
  'monitor.alert.webhook': {
    level: 'unsupported',
    alternative: 'Vertex model monitoring alerts by e-mail or Cloud Monitoring notification channels; use Alert.email',
  },
  'monitor.onDrift.retrain': {
    level: 'emulated',
    how: 'a drift-gated scheduled pipeline: a check-drift task reads the monitoring anomalies, a condition runs the training DAG',
  },
  grants: { level: 'native', note: 'IAM bindings on BigQuery tables, feature views and the project' },
};
