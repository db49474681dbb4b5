/**
 * What the gcp target honours, feature by feature (see `adapters/gcp/README.md`).
 */
import { metricCapabilities, type Capabilities } from '../../lib/model/capabilities';
import { jensenShannonDivergenceOf, type MetricTable } from '../../lib/monitor-metrics';

const VERTEX_METRICS_ONLY =
  'Vertex AI Model Monitoring computes Jensen-Shannon divergence on numeric features and L-infinity distance on categorical features only; use metric: DriftMetric.JENSEN_SHANNON and categoricalMetric: DriftMetric.L_INFINITY';

/**
 * Drift metrics on Vertex AI Model Monitoring v1 (endpoint monitors). Vertex runs TFDV: numeric
 * features are compared with the Jensen-Shannon divergence, categorical ones with the L-infinity
 * distance (https://cloud.google.com/vertex-ai/docs/model-monitoring/overview, "Calculating
 * training-serving skew and prediction drift"); the metric cannot be chosen, only the threshold
 * (`ThresholdConfig.value`, https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.modelDeploymentMonitoringJobs).
 * TFDV's divergence uses base-2 logarithms (tensorflow/data-validation anomalies/metrics.cc), so a
 * Jensen-Shannon distance threshold d is the divergence threshold d² — the same decision.
 */
export const GCP_METRICS: MetricTable = {
  jensenShannonDistance: {
    numeric: {
      level: 'converted',
      as: 'Jensen-Shannon divergence',
      warning: 'mlplane:gcp:js-distance-as-divergence',
      how: 'Vertex thresholds the Jensen-Shannon divergence (base 2); the distance threshold d is written as d² (same decision)',
      convert: jensenShannonDivergenceOf,
    },
    categorical: {
      level: 'converted',
      as: 'L-infinity distance',
      warning: 'mlplane:gcp:categorical-js-as-linf',
      how: 'Vertex v1 measures categorical features with the L-infinity distance only; the threshold is applied to it unchanged (a different metric: set categoricalMetric: DriftMetric.L_INFINITY to ask for exactly this)',
      convert: (t) => t,
    },
  },
  populationStabilityIndex: { numeric: { level: 'refused', alternative: VERTEX_METRICS_ONLY }, categorical: { level: 'refused', alternative: VERTEX_METRICS_ONLY } },
  normalizedWassersteinDistance: { numeric: { level: 'refused', alternative: VERTEX_METRICS_ONLY } },
  lInfinity: { categorical: { level: 'exact', as: 'L-infinity distance' } },
};

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
  'pipeline.caching.dataset': {
    level: 'emulated',
    how: "an uncached fingerprint-<dataset> task reads the table's lastModifiedTime, rows and bytes (the newest object for an external table) and passes it as input mlplane_data_<input> to the step and to its now-cached export, so the KFP cache key changes exactly when the data does",
  },
  'pipeline.condition': { level: 'native', note: 'condition-<n> sub-DAGs with triggerPolicy.condition, as the KFP compiler emits dsl.If (a metric operand is read by a read-metric task first)' },
  'pipeline.orderOnly': { level: 'native', note: 'task dependentTasks' },
  'pipeline.registerStep': { level: 'native', note: 'lightweight component uploading a Vertex Model Registry version' },
  'pipeline.promotionGate': { level: 'emulated', how: 'the register component compares the metric with the alias holder (kept in version labels) before moving the alias' },
  'schedule.cron': { level: 'native', note: 'Vertex Schedule with cron "TZ=Europe/Amsterdam 0 2 * * *" (time zone prefix)' },
  'schedule.rate': { level: 'emulated', how: 'converted to the equivalent cron (rates dividing an hour or a day, 1 day, 7 days)' },
  'registry.aliases': { level: 'native', note: 'Vertex model version aliases' },
  'endpoint.aliasRollout': {
    level: 'emulated',
    how: 'the register component rolls each deployment following the promoted alias (deployModel of the new version with the same traffic share, then undeployModel of the old); diff and deploy resolve the alias (one models.listVersions per model) and roll a deployment whose alias moved outside mlplane, shown as alias champion: v3 → v4',
  },
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
  batchInference: {
    level: 'emulated',
    how: "batch prediction job run by a one-task pipeline (GCPC launcher); each run writes a new table predictions_<timestamp> in the environment's BigQuery dataset, not the output table",
    warnings: ['mlplane:gcp:batch-output-table'],
  },
  'batchInference.schedule': { level: 'native', note: 'Vertex Schedule of that pipeline' },
  'batchInference.timeout': {
    level: 'emulated',
    how: 'not enforced: BatchPredictionJob has no timeout field; the pipeline run ends when the job does',
    warnings: ['mlplane:gcp:batch-timeout'],
  },
  'batchInference.retries': {
    level: 'emulated',
    how: 'BatchPredictionJob has no mini-batch retry setting; the KFP retryPolicy re-runs the whole batch prediction job',
    warnings: ['mlplane:gcp:batch-retries-whole-job'],
  },
  'monitor.drift': { level: 'native', note: 'ModelDeploymentMonitoringJob predictionDriftDetectionConfig (reference: recent production data), per-feature thresholds, hourly-multiple interval; batch targets: the input table one lookback earlier (timeOffset)' },
  'monitor.skew': { level: 'native', note: 'ModelDeploymentMonitoringJob trainingPredictionSkewDetectionConfig against the baseline table' },
  'monitor.allDeployments': { level: 'native', note: 'one objective config per deployed model of the endpoint' },
  ...metricCapabilities(GCP_METRICS),
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
