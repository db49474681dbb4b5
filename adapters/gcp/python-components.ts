/**
 * Sources of the two lightweight Python components mlplane adds to Vertex pipelines. They are
 * embedded in the PipelineSpec the way the KFP SDK embeds `@dsl.component` functions, and run with
 * the Vertex AI SDK (`google-cloud-aiplatform`) under the pipeline's service account.
 */

/**
 * `register`: upload the trained model as a new version of the Vertex model and, when the
 * promotion gate passes, move the alias to it. Metrics are kept on each version as labels
 * `mlplane-metric-<name>` (value × 10^6 as an integer, `n` for a minus sign) so the next run can
 * compare with the alias holder.
 */
export const REGISTER_SOURCE = `def register(model: Input[Model], config: str, metrics: Input[Metrics] = None) -> str:
    """Upload a model version; move the alias when the promotion gate passes."""
    import json
    import re
    from google.cloud import aiplatform

    cfg = json.loads(config)
    aiplatform.init(project=cfg['project'], location=cfg['location'])
    parent = 'projects/{}/locations/{}/models/{}'.format(cfg['project'], cfg['location'], cfg['model_id'])
    values = dict(metrics.metadata) if metrics is not None else {}

    def encode(v):
        return str(int(round(float(v) * 1e6))).replace('-', 'n')

    def decode(s):
        return int(s.replace('n', '-')) / 1e6

    def key(name):
        return 'mlplane-metric-' + re.sub('[^a-z0-9_-]+', '-', name.lower())[:40]

    labels = dict(cfg['labels'])
    for name, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            labels[key(name)] = encode(value)

    passed = True
    gate = cfg.get('gate')
    if gate:
        if gate['metric'] not in values:
            raise ValueError('metric {} is not in the metrics artifact'.format(gate['metric']))
        candidate = float(values[gate['metric']])
        reference = gate['against_value']
        if gate['against_alias']:
            try:
                holder = aiplatform.Model('{}@{}'.format(parent, gate['against_alias']))
                stored = (holder.labels or {}).get(key(gate['metric']))
                reference = decode(stored) if stored is not None else None
            except Exception:
                reference = None
        if reference is not None:
            if gate['comparison'] == 'greaterThan':
                passed = candidate > reference + gate['min_delta']
            else:
                passed = candidate < reference - gate['min_delta']

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
    print('registered {} version {} (gate passed: {})'.format(parent, uploaded.version_id, passed))
    return uploaded.versioned_resource_name
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
