/**
 * Sources of the lightweight Python components mlplane adds to Vertex pipelines. They are
 * embedded in the PipelineSpec the way the KFP SDK embeds `@dsl.component` functions, and run with
 * the Vertex AI SDK (`google-cloud-aiplatform`) or the BigQuery client under the pipeline's service
 * account.
 */
import { GATE_PYTHON } from '../shared/gate';

/** `text` with every line indented by `n` spaces. */
function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((line) => (line.length > 0 ? pad + line : line))
    .join('\n');
}

/**
 * Python run by the register component after it moved the alias: roll each target
 * (`rolloutTargets` of adapters/gcp/alias.ts) to the new version. Each deployment keeps its traffic share: the new version is deployed with it (the
 * `"0"` key of `traffic_split` names the model being deployed), then the old one is undeployed.
 *
 * @see https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints/deployModel
 * @see https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints/undeployModel
 */
export const ROLLOUT_PYTHON = `def roll_out(cfg, version_name, version_id):
    """Roll every deployment following the promoted alias to version_id, keeping its traffic share."""
    if not cfg.get('rollout'):
        return
    from google.cloud import aiplatform_v1
    client = aiplatform_v1.EndpointServiceClient(client_options={'api_endpoint': '{}-aiplatform.googleapis.com'.format(cfg['location'])})
    for target in cfg['rollout']:
        endpoint = client.get_endpoint(name=target['endpoint'])
        ids = (target['deployed_model_id'], target['twin_id'])
        live = [d for d in endpoint.deployed_models if d.id in ids]
        if not live:
            print('{}: not deployed yet; mlplane deploy deploys version {}'.format(target['deployment'], version_id))
            continue
        old = live[0]
        if old.model_version_id == version_id:
            continue
        new_id = ids[1] if old.id == ids[0] else ids[0]
        split = dict(endpoint.traffic_split)
        share = split.pop(old.id, 0)
        split[old.id] = 0
        split['0'] = share
        deployed = aiplatform_v1.DeployedModel(old)
        deployed.id = new_id
        deployed.model = version_name
        client.deploy_model(endpoint=target['endpoint'], deployed_model=deployed, traffic_split=split).result()
        split = dict(client.get_endpoint(name=target['endpoint']).traffic_split)
        split.pop(old.id, None)
        client.undeploy_model(endpoint=target['endpoint'], deployed_model_id=old.id, traffic_split=split).result()
        print('{}: rolled from version {} to {} ({}% of the traffic)'.format(target['deployment'], old.model_version_id, version_id, share))
`;

/**
 * `register`: upload the trained model as a new version of the Vertex model, record every metric
 * of the metrics output's `metrics.json` on it, and move the alias when the promotion gate passes.
 * The decision is `decide_gate` of `adapters/shared/gate.ts` (the same function on every target);
 * a missing or non-numeric gate metric fails the step before anything is uploaded. Metrics are
 * kept on each version as labels `mlplane-metric-<name>` holding the exact `repr` of the float
 * (`.` spelled `_`, `-` spelled `n`, `+` spelled `p`), so the next run compares with the same value.
 * After a promotion it rolls every endpoint deployment bound to the alias (`rollout` in its config).
 *
 * @see docs/step-contract.md "Register steps and promotion gates"
 */
export const REGISTER_SOURCE = `def register(model: Input[Model], config: str, metrics: Input[Metrics] = None) -> str:
    """Upload a model version with its metrics; move the alias when the promotion gate passes."""
    import json
    import math
    import os
    import re
    from google.api_core import exceptions
    from google.cloud import aiplatform

${indent(GATE_PYTHON, 4)}

${indent(ROLLOUT_PYTHON, 4)}

    cfg = json.loads(config)
    values = {}
    if metrics is not None:
        path = os.path.join(metrics.path, 'metrics.json')
        if not os.path.isfile(path):
            raise ValueError('the metrics output has no metrics.json at {}; the step must write one flat JSON object of metric name to number'.format(path))
        with open(path) as f:
            values = json.load(f)

    def encode(v):
        return repr(float(v)).replace('.', '_').replace('-', 'n').replace('+', 'p')

    def decode(s):
        return float(s.replace('_', '.').replace('n', '-').replace('p', '+'))

    def key(name):
        return 'mlplane-metric-' + re.sub('[^a-z0-9_-]+', '-', name.lower())[:40]

    aiplatform.init(project=cfg['project'], location=cfg['location'])
    parent = 'projects/{}/locations/{}/models/{}'.format(cfg['project'], cfg['location'], cfg['model_id'])
    gate = cfg.get('gate')
    reference = None
    if gate and gate['against']['kind'] == 'alias':
        try:
            holder = aiplatform.Model('{}@{}'.format(parent, gate['against']['alias']))
            stored = (holder.labels or {}).get(key(gate['metric']))
            reference = decode(stored) if stored is not None else None
        except exceptions.NotFound:
            reference = None
    outcome, reason = decide_gate(gate, values, reference)
    if outcome == 'error':
        raise ValueError(reason)
    passed = outcome == 'promote'

    labels = dict(cfg['labels'])
    if isinstance(values, dict):
        for name in sorted(values):
            value = values[name]
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                labels[key(name)] = encode(value)

    serving = cfg['serving'] or {}
    uploaded = aiplatform.Model.upload(
        display_name=cfg['display_name'],
        parent_model=parent,
        artifact_uri=model.uri,
        serving_container_image_uri=serving.get('image'),
        serving_container_predict_route=serving.get('predict_route'),
        serving_container_health_route=serving.get('health_route'),
        serving_container_ports=[serving['port']] if serving.get('port') else None,
        serving_container_environment_variables=serving.get('env') or None,
        labels=labels,
        is_default_version=passed,
        encryption_spec_key_name=cfg['kms_key_name'] or None,
    )
    if passed and cfg['promote_to']:
        registry = aiplatform.models.ModelRegistry(parent)
        registry.add_version_aliases([cfg['promote_to']], version=uploaded.version_id)
        # Deployments following the alias serve the new version now (adapters/gcp/alias.ts).
        roll_out(cfg, uploaded.versioned_resource_name, uploaded.version_id)
    print('registered {} version {}: {} ({})'.format(parent, uploaded.version_id, outcome, reason))
    return uploaded.versioned_resource_name
`;

/**
 * `read_metric`: one metric of a metrics output's `metrics.json`, as a float output parameter, for
 * a condition on that metric (KFP conditions compare parameters only). A missing or non-numeric
 * metric fails the task, so the condition never reads a guess.
 */
export const READ_METRIC_SOURCE = `def read_metric(metrics: Input[Metrics], name: str) -> float:
    """One metric of metrics.json (step contract), for a condition."""
    import json
    import math
    import os

    path = os.path.join(metrics.path, 'metrics.json')
    with open(path) as f:
        values = json.load(f)
    value = values.get(name) if isinstance(values, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        found = ', '.join(sorted(values)) if isinstance(values, dict) else 'none'
        raise ValueError('metric {} is missing or not a finite number in {} (metrics: {})'.format(name, path, found or 'none'))
    return float(value)
`;

/**
 * `export_dataset`: export a BigQuery table as files in the dataset's format into the output
 * artifact's directory, so a step reading a dataset gets a directory of files (step contract,
 * "Datasets"). Uses the GoogleSQL `EXPORT DATA` statement (CSV with a header row, newline-delimited
 * JSON, Parquet). `mlplane_data_table` is the table's data fingerprint, unused: it is there for the
 * cache key (adapters/gcp/fingerprint.ts).
 *
 * @see https://cloud.google.com/bigquery/docs/reference/standard-sql/other-statements#export_data_statement
 */
export const EXPORT_DATASET_SOURCE = `def export_dataset(project: str, location: str, table: str, file_format: str, dataset: Output[Dataset], mlplane_data_table: str = ''):
    """Export a BigQuery table to files in the dataset's format under the output directory."""
    import os
    from google.cloud import bigquery

    options = {'parquet': "format='PARQUET'", 'csv': "format='CSV', header=true", 'jsonl': "format='JSON'"}[file_format]
    uri = '{}/part-*.{}'.format(dataset.uri.rstrip('/'), file_format)
    os.makedirs(dataset.path, exist_ok=True)
    sql = "EXPORT DATA OPTIONS(uri='{}', {}, overwrite=true) AS SELECT * FROM \`{}\`".format(uri, options, table)
    bigquery.Client(project=project, location=location).query(sql).result()
    print('exported {} to {}'.format(table, uri))
`;

/**
 * `check_drift`: answer `'true'` when the monitoring job of this monitor found a feature drift or
 * skew anomaly within the look-back window AND no retraining ran within the cooldown.
 */
export const CHECK_DRIFT_SOURCE = `def check_drift(config: str) -> str:
    """Whether the monitored endpoint drifted and the retraining cooldown has passed."""
    import datetime
    import json
    from google.cloud import aiplatform_v1

    cfg = json.loads(config)
    api = {'api_endpoint': '{}-aiplatform.googleapis.com'.format(cfg['location'])}
    parent = 'projects/{}/locations/{}'.format(cfg['project'], cfg['location'])
    now = datetime.datetime.now(datetime.timezone.utc)

    pipelines = aiplatform_v1.PipelineServiceClient(client_options=api)
    since = (now - datetime.timedelta(seconds=cfg['cooldown_seconds'])).strftime('%Y-%m-%dT%H:%M:%SZ')
    recent = pipelines.list_pipeline_jobs(request={
        'parent': parent,
        'filter': 'labels.mlplane-path="{}" AND create_time>"{}"'.format(cfg['gate_label'], since),
    })
    for listed in recent:
        job = pipelines.get_pipeline_job(name=listed.name)
        for task in job.job_detail.task_details:
            if task.task_name == 'condition-1' and task.state.name in ('RUNNING', 'SUCCEEDED'):
                print('retrained at {}; cooldown not over'.format(task.start_time))
                return 'false'

    jobs = aiplatform_v1.JobServiceClient(client_options=api)
    monitors = list(jobs.list_model_deployment_monitoring_jobs(request={
        'parent': parent,
        'filter': 'labels.mlplane-path="{}" AND labels.mlplane-env="{}"'.format(cfg['monitor_label'], cfg['env_label']),
    }))
    start = now - datetime.timedelta(seconds=cfg['lookback_seconds'])
    Objective = aiplatform_v1.SearchModelDeploymentMonitoringStatsAnomaliesRequest.StatsAnomaliesObjective
    kinds = [aiplatform_v1.ModelDeploymentMonitoringObjectiveType.RAW_FEATURE_DRIFT,
             aiplatform_v1.ModelDeploymentMonitoringObjectiveType.RAW_FEATURE_SKEW]
    for monitor in monitors:
        for deployed in cfg['deployed_model_ids']:
            pages = jobs.search_model_deployment_monitoring_stats_anomalies(request={
                'model_deployment_monitoring_job': monitor.name,
                'deployed_model_id': deployed,
                'objectives': [Objective(type_=k) for k in kinds],
                'start_time': start,
                'end_time': now,
            })
            for stats in pages:
                for feature in stats.feature_stats:
                    for anomaly in feature.prediction_stats:
                        threshold = anomaly.anomaly_detection_threshold
                        if anomaly.distribution_deviation > threshold > 0:
                            print('feature {} drifted: {} > {}'.format(feature.feature_display_name, anomaly.distribution_deviation, threshold))
                            return 'true'
    return 'false'
`;
