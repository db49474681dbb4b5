import { metricCapabilities, type Capabilities } from '../../lib/model/capabilities';
import type { MetricTable } from '../../lib/monitor-metrics';

const CATEGORICAL_ALTERNATIVE =
  "Azure ML data drift signals measure categorical features with JensenShannonDistance, PopulationStabilityIndex or PearsonsChiSquaredTest, not L-infinity; set categoricalMetric: DriftMetric.JENSEN_SHANNON or DriftMetric.PSI";

/**
 * Drift metrics on Azure ML data drift signals (`NumericalDataDriftMetric`, `CategoricalDataDriftMetric`:
 * https://learn.microsoft.com/javascript/api/@azure/arm-machinelearning/numericaldatadriftmetric,
 * https://learn.microsoft.com/javascript/api/@azure/arm-machinelearning/categoricaldatadriftmetric).
 * Azure's monitoring component computes the Jensen-Shannon distance with base-2 logarithms, PSI with
 * natural logarithms and the Wasserstein distance normalized by the reference's standard deviation
 * (azureml-assets model-monitoring data drift component) — the definitions of lib/monitor-metrics.ts.
 */
export const AZURE_METRICS: MetricTable = {
  jensenShannonDistance: { numeric: { level: 'exact', as: 'JensenShannonDistance' }, categorical: { level: 'exact', as: 'JensenShannonDistance' } },
  populationStabilityIndex: { numeric: { level: 'exact', as: 'PopulationStabilityIndex' }, categorical: { level: 'exact', as: 'PopulationStabilityIndex' } },
  normalizedWassersteinDistance: { numeric: { level: 'exact', as: 'NormalizedWassersteinDistance' } },
  lInfinity: { categorical: { level: 'refused', alternative: CATEGORICAL_ALTERNATIVE } },
};

/** What the azure target honours, and how (see README for the mechanisms). */
export const AZURE_CAPABILITIES: Capabilities = {
  'environment.network.private': { level: 'native', note: 'publicNetworkAccess Disabled + workspace managed network (AllowOnlyApprovedOutbound) with FQDN rules for image registries and external data' },
  'environment.encryption.customerManaged': { level: 'native', note: 'Key Vault key with rotation policy; workspace, storage and registry encrypted with it through the environment identity' },
  'dataset.managed': { level: 'native', note: 'blob container + identity-based datastore + data asset version' },
  'dataset.external': { level: 'native', note: 'data asset version on the https/abfss/wasbs/azureml URI' },
  'dataset.nestedTypes': { level: 'native', note: 'schema recorded on the data asset; parquet/jsonl/delta hold nested columns' },
  'dataset.partitioning': { level: 'emulated', how: 'hive-style partition folders (field=value/) under the asset path; the partition column is recorded in the asset properties' },
  'dataset.clustering': { level: 'emulated', how: 'Azure storage has no engine-side clustering: the columns are recorded on the data asset (mlplane.clusterBy) as the sort order writers apply; warning mlplane:azure:clustering-hint' },
  'dataset.retention': { level: 'native', note: 'storage lifecycle management rule on the dataset container (managed datasets)' },
  'featureTable.offline': { level: 'native', note: 'feature store workspace, entity and feature set versions, ADLS Gen2 offline store' },
  'featureTable.online': { level: 'native', note: 'Azure Cache for Redis online store with Entra ID auth; materialization recurrence from refresh' },
  'compute.cpu': { level: 'native', note: 'AmlCompute cluster' },
  'compute.gpu': { level: 'native', note: 'AmlCompute cluster on an N-series VM size' },
  'compute.spot': { level: 'native', note: 'vmPriority LowPriority' },
  'compute.customAccelerator': { level: 'native', note: "Accelerator.custom('azure', '<VM size>')" },
  'pipeline.container': { level: 'native', note: 'command component version per step, pipeline job' },
  'pipeline.retries': { level: 'emulated', how: 'Azure ML command jobs have no retry setting; the component command runs in a bounded shell retry loop (retries + 1 attempts) that empties the outputs between attempts', warnings: ['mlplane:azure:retry-loop'] },
  'pipeline.timeout': { level: 'native', note: 'command node limits.timeout' },
  'pipeline.caching': { level: 'native', note: 'component is_deterministic (output reuse)' },
  'pipeline.caching.dataset': {
    level: 'emulated',
    how: 'Azure ML keys reuse on the data asset version, which stays the same when the rows change, and literal inputs are fixed at submission: a caching step reading a dataset runs on every run (is_deterministic false), and so do the steps it feeds — never stale, not reused',
    warnings: ['mlplane:azure:dataset-input-not-cached'],
  },
  'pipeline.condition': {
    level: 'emulated',
    how: 'an evaluator step writes the comparison, and an if_else control-flow node runs the branch (Azure ML control flow is a preview feature)',
    warnings: ['mlplane:azure:control-flow-preview'],
  },
  'pipeline.orderOnly': { level: 'emulated', how: "the predecessor's mlplane_done marker output bound to an input of the dependent step" },
  'pipeline.registerStep': { level: 'emulated', how: 'a command step in the Azure CLI image running az ml model create under the pipeline identity' },
  'pipeline.promotionGate': { level: 'emulated', how: 'the register step runs decide_gate (adapters/shared/gate.ts) on metrics.json against the mlplane-metric-<name> tag of the version holding the alias before moving the alias tag' },
  'schedule.cron': { level: 'native', note: 'schedule Cron trigger with the IANA zone mapped to its Windows name' },
  'schedule.rate': { level: 'native', note: 'schedule Recurrence trigger (whole minutes)' },
  'registry.aliases': { level: 'emulated', how: 'workspace models have no aliases; the version holding an alias carries the tag mlplane-alias-<alias>=true, resolved at deploy time into a template parameter' },
  'endpoint.aliasRollout': {
    level: 'emulated',
    how: "the register step updates each deployment following the promoted alias (az ml online-deployment update --set model=azureml:<model>:<version>, a rolling update); diff and deploy resolve the alias tag into the deployment's model version, so an alias moved outside mlplane shows as alias champion: v3 → v4 and the next deploy rolls it",
  },
  'endpoint.trafficSplit': { level: 'native', note: 'onlineEndpoints traffic' },
  'endpoint.mirrorTraffic': { level: 'native', note: 'onlineEndpoints mirrorTraffic (≤ 50%, to a deployment with no live traffic)' },
  'endpoint.autoscaling.cpu': { level: 'native', note: 'Azure Monitor autoscale on CpuUtilizationPercentage of the deployment' },
  'endpoint.autoscaling.requests': { level: 'native', note: 'Azure Monitor autoscale on the endpoint RequestsPerMinute of the deployment, per instance' },
  'endpoint.auth.key': { level: 'native', note: 'authMode Key' },
  'endpoint.auth.token': { level: 'native', note: 'authMode AADToken (Microsoft Entra)' },
  'endpoint.capture': { level: 'native', note: 'deployment data collector, request/response payload collections with sampling' },
  batchInference: {
    level: 'native',
    note: "batch endpoint + no-code (MLflow) model deployment on the compute pool; predictions (predictions.csv) are written to the output dataset's folder",
    warnings: ['mlplane:azure:batch-mlflow-model', 'mlplane:azure:batch-output-csv'],
  },
  'batchInference.schedule': { level: 'emulated', how: 'batch endpoints have no schedule; a workspace schedule runs a one-step pipeline that calls az ml batch-endpoint invoke under the batch identity' },
  'batchInference.timeout': {
    level: 'emulated',
    how: 'batch deployments have no job timeout (retrySettings.timeout bounds one mini-batch invocation); the scheduled invocation waits for the job and cancels it when the timeout elapses, so on-demand invocations are not bounded',
    warnings: ['mlplane:azure:batch-timeout-scheduled-only'],
  },
  'batchInference.retries': { level: 'native', note: 'batch deployment retrySettings.maxRetries (per mini-batch)' },
  'monitor.drift': {
    level: 'native',
    note: 'DataDrift signal whose reference is the rolling production window one lookback earlier (windowOffset = windowSize = lookback)',
    warnings: ['mlplane:azure:monitor-needs-collector'],
  },
  'monitor.skew': {
    level: 'native',
    note: 'a DataDrift signal (Azure ML names no separate skew signal) comparing the production window with the training baseline (Fixed reference)',
    warnings: ['mlplane:azure:monitor-needs-collector'],
  },
  'monitor.allDeployments': { level: 'native', note: "one set of signals per deployment, each reading that deployment's collected model inputs" },
  ...metricCapabilities(AZURE_METRICS),
  'monitor.batchTarget': { level: 'native', note: 'the batch output dataset as production data' },
  'monitor.alert.email': { level: 'native', note: 'monitor email notifications' },
  'monitor.alert.webhook': { level: 'emulated', how: 'Event Grid subscription on the workspace (RunStatusChanged with the threshold-breached run tag) delivering to the webhook' },
  'monitor.onDrift.retrain': { level: 'emulated', how: 'Event Grid subscription → Logic App that submits the pipeline job with the monitor identity, one job per cooldown window' },
  grants: { level: 'native', note: 'role assignments of built-in roles scoped to the granted resource' },
};
