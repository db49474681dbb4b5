/**
 * gcp synth of the example environments: golden files, determinism and targeted assertions on
 * the mapping (schedules, traffic split, machines, monitoring, BigQuery, feature store, IAM).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../../adapters/gcp';
import type { Manifest } from '../../../adapters/gcp/documents';
import { stableStringify } from '../../../lib/model/stable-json';
import type { EnvironmentModel } from '../../../lib/model/types';
import { expectGoldenFolder } from '../../support/golden';
import { examples, LAB_SETTINGS, labModel, settingsFor } from './fixtures';

type Json = Record<string, unknown>;

function synth(model: EnvironmentModel, settings = settingsFor(model)) {
  const result = gcpAdapter.synth(model, settings);
  const doc = (path: string): Json => {
    const d = result.documents[path];
    if (d === undefined) throw new Error(`no document ${path}; have ${Object.keys(result.documents).join(', ')}`);
    return d as Json;
  };
  return { ...result, doc, manifest: result.documents['manifest.json'] as Manifest };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('golden files', () => {
  const { fraud, churn } = examples();
  for (const [name, model] of [
    ['fraud', fraud],
    ['churn', churn],
  ] as const) {
    it(`${name}: every document matches its golden file`, async () => {
      const { documents } = gcpAdapter.synth(model, settingsFor(model));
      const paths = Object.keys(documents).sort();
      const files = Object.fromEntries(paths.map((path) => [path, stableStringify(documents[path])]));
      await expectGoldenFolder(fileURLToPath(new URL(`./__golden__/${name}`, import.meta.url)), { ...files, '_documents.txt': `${paths.join('\n')}\n` });
    });
  }
});

describe('determinism and purity', () => {
  it('gives byte-identical documents for the same model, and does not touch the model', () => {
    const { fraud } = examples();
    const frozen = deepFreeze(structuredClone(fraud));
    const a = gcpAdapter.synth(frozen, settingsFor(fraud));
    const b = gcpAdapter.synth(structuredClone(fraud), settingsFor(fraud));
    expect(stableStringify(a.documents)).toBe(stableStringify(b.documents));
    expect(frozen).toEqual(fraud);
  });

  it('warns with stable ids and paths, never silently', () => {
    const { fraud, churn } = examples();
    expect(synth(fraud).warnings.map((w) => `${w.id} ${w.path}`)).toEqual([
      'mlplane:gcp:pipeline-network Fraud',
      'mlplane:gcp:feature-ttl Fraud/CustomerFeatures',
      'mlplane:gcp:js-distance-as-divergence Fraud/Drift',
      'mlplane:gcp:categorical-js-as-linf Fraud/Drift',
      'mlplane:gcp:task-names-respelled Fraud/Train',
    ]);
    expect(synth(churn).warnings.map((w) => `${w.id} ${w.path}`)).toEqual([
      'mlplane:gcp:js-distance-as-divergence Churn/Skew',
      'mlplane:gcp:task-names-respelled Churn/Train',
      'mlplane:gcp:batch-spot-on-demand Churn/WeeklyScoring',
      'mlplane:gcp:batch-timeout Churn/WeeklyScoring',
      'mlplane:gcp:batch-output-table Churn/WeeklyScoring',
      'mlplane:gcp:batch-retries-whole-job Churn/WeeklyScoring',
    ]);
  });
});

describe('fraud (private, CMEK, EU)', () => {
  const { fraud } = examples();
  const s = synth(fraud);

  it('schedules the training pipeline with a TZ= cron and the pipeline inline', () => {
    const schedule = s.doc('vertex/schedules/fraud-prod-train.json');
    expect(schedule).toMatchObject({
      cron: 'TZ=Europe/Amsterdam 0 2 * * *',
      displayName: 'fraud-prod-train',
      maxConcurrentRunCount: '1',
      createPipelineJobRequest: {
        parent: 'projects/acme-fraud-prod/locations/europe-west4',
        pipelineJob: {
          runtimeConfig: { gcsOutputDirectory: 'gs://acme-fraud-prod-fraud-prod/fraud-prod/pipeline-root/fraud-train-b96795' },
          serviceAccount: 'mlp-train-186cd1@acme-fraud-prod.iam.gserviceaccount.com',
        },
      },
    });
    expect(at(schedule, 'createPipelineJobRequest', 'pipelineJob', 'pipelineSpec')).toEqual(s.doc('pipelines/fraud-prod-train.json'));
    expect(s.doc('pipelines/fraud-prod-train.json').defaultPipelineRoot).toBe(at(schedule, 'createPipelineJobRequest', 'pipelineJob', 'runtimeConfig').gcsOutputDirectory);
  });

  it('deploys blue and green with a 90/10 traffic split, machine specs and CPU autoscaling', () => {
    const blue = s.doc('vertex/deployedModels/fraud-prod-scoring-blue.json');
    const green = s.doc('vertex/deployedModels/fraud-prod-scoring-green.json');
    expect(blue).toMatchObject({
      displayName: 'blue',
      model: 'projects/acme-fraud-prod/locations/europe-west4/models/fraud-prod-fraud@champion',
      serviceAccount: 'mlp-scoring-3ffd76@acme-fraud-prod.iam.gserviceaccount.com',
      dedicatedResources: {
        machineSpec: { machineType: 'n1-standard-2' },
        minReplicaCount: 2,
        maxReplicaCount: 6,
        autoscalingMetricSpecs: [{ metricName: 'aiplatform.googleapis.com/prediction/online/cpu/utilization', target: 70 }],
      },
    });
    expect(green.model).toBe('projects/acme-fraud-prod/locations/europe-west4/models/fraud-prod-fraud@challenger');
    expect(s.doc('vertex/endpoints/fraud-prod-scoring.traffic.json').trafficSplit).toEqual({ [String(blue.id)]: 90, [String(green.id)]: 10 });
    const traffic = s.manifest.entries.find((e) => e.document === 'vertex/endpoints/fraud-prod-scoring.traffic.json');
    expect(traffic).toMatchObject({ method: 'aiplatform.projects.locations.endpoints.patch', updateMask: ['trafficSplit'] });
  });

  it('logs requests and responses of the endpoint to BigQuery at the sampling rate', () => {
    expect(s.doc('vertex/endpoints/fraud-prod-scoring.json').predictRequestResponseLoggingConfig).toEqual({
      enabled: true,
      samplingRate: 0.5,
      bigqueryDestination: { outputUri: 'bq://acme-fraud-prod.Fraud_prod.Scoring_requests' },
    });
  });

  it('registers the model with its aliases and serving container', () => {
    expect(s.doc('vertex/models/fraud-prod-fraud.json')).toMatchObject({
      displayName: 'fraud',
      versionAliases: ['champion', 'challenger'],
      containerSpec: { imageUri: 'ghcr.io/acme/fraud-serve:2.0.3', ports: [{ containerPort: 8080 }], predictRoute: '/v1/score', healthRoute: '/healthz' },
    });
  });

  it('monitors drift per feature every 6 hours over a 1-day window with e-mail alerts', () => {
    const job = s.doc('vertex/modelDeploymentMonitoringJobs/fraud-prod-drift.json');
    expect(job).toMatchObject({
      endpoint: 'projects/acme-fraud-prod/locations/europe-west4/endpoints/fraud-prod-scoring',
      modelDeploymentMonitoringScheduleConfig: { monitorInterval: '21600s', monitorWindow: '86400s' },
      loggingSamplingStrategy: { randomSampleConfig: { sampleRate: 0.5 } },
      modelMonitoringAlertConfig: { emailAlertConfig: { userEmails: ['ml-oncall@acme.example'] }, enableLogging: true },
    });
    const objectives = job.modelDeploymentMonitoringObjectiveConfigs as Json[];
    expect(objectives).toHaveLength(2);
    expect(objectives[0]).toEqual({
      deployedModelId: s.doc('vertex/deployedModels/fraud-prod-scoring-blue.json').id,
      objectiveConfig: {
        trainingDataset: { bigquerySource: { inputUri: 'bq://acme-fraud-prod.Fraud_prod.Transactions' } },
        predictionDriftDetectionConfig: {
          // Numeric features: the Jensen-Shannon distance d as the divergence d²; categorical ones: L-infinity, unchanged (warned).
          driftThresholds: {
            amount: { value: 0.01 },
            amountZScore: { value: 0.0225 },
            channel: { value: 0.15 },
            customerAgeDays: { value: 0.04 },
            hourOfDay: { value: 0.04 },
            merchantCategory: { value: 0.15 },
          },
        },
      },
    });
  });

  it('retrains on drift with a drift-gated schedule at the monitor cadence, as the training service account', () => {
    const gate = s.doc('vertex/schedules/fraud-prod-drift-retrain.json');
    expect(gate).toMatchObject({
      cron: 'TZ=UTC 0 */6 * * *',
      createPipelineJobRequest: { pipelineJob: { serviceAccount: 'mlp-train-186cd1@acme-fraud-prod.iam.gserviceaccount.com' } },
    });
    const entry = s.manifest.entries.find((e) => e.document === 'vertex/schedules/fraud-prod-drift-retrain.json');
    expect(entry?.dependsOn).toContain('vertex.modelDeploymentMonitoringJob/Fraud/Drift');
  });

  it('creates the CMEK metadata store before any pipeline can run', () => {
    for (const e of s.manifest.entries.filter((x) => x.collection === 'projects.locations.schedules')) expect(e.dependsOn, e.key).toContain('vertex.metadataStore');
  });

  it('maps the schema with nested types, partitions by ts with retention as expiration, clusters, and encrypts', () => {
    const t = s.doc('bigquery/tables/Transactions.json');
    expect(t.timePartitioning).toEqual({ type: 'DAY', field: 'ts', expirationMs: String(730 * 86400000) });
    expect(t.clustering).toEqual({ fields: ['customerId', 'merchantId'] });
    const fields = at(t, 'schema').fields as Json[];
    expect(fields.find((f) => f.name === 'deviceTags')).toEqual({ name: 'deviceTags', type: 'STRING', mode: 'REPEATED' });
    expect(fields.find((f) => f.name === 'geo')).toEqual({
      name: 'geo',
      type: 'RECORD',
      mode: 'NULLABLE',
      fields: [
        { name: 'lat', type: 'FLOAT', mode: 'NULLABLE' },
        { name: 'lon', type: 'FLOAT', mode: 'NULLABLE' },
      ],
    });
    expect(fields.find((f) => f.name === 'txId')).toEqual({ name: 'txId', type: 'STRING', mode: 'REQUIRED', description: 'Transaction id' });
    expect(s.doc('bigquery/datasets/Fraud_prod.json')).toMatchObject({ location: 'EU', datasetReference: { projectId: 'acme-fraud-prod', datasetId: 'Fraud_prod' } });
    expect(s.doc('bigquery/datasets/Fraud_prod.json').access).toBeUndefined();
  });

  it('serves features online: a BigQuery view of keys, timestamp and features, and a feature view synced hourly', () => {
    expect(s.doc('bigquery/tables/CustomerFeatures.json').view).toEqual({
      query:
        'SELECT `customerId`, `ts`, `amount`, `amountZScore`, `merchantCategory`, `customerAgeDays`, `isInternational`, `ts` AS `feature_timestamp` FROM `acme-fraud-prod.Fraud_prod.Transactions`',
      useLegacySql: false,
    });
    expect(s.doc('vertex/featureViews/customer_features.json')).toMatchObject({
      bigQuerySource: { uri: 'bq://acme-fraud-prod.Fraud_prod.CustomerFeatures', entityIdColumns: ['customerId'] },
      syncConfig: { cron: 'TZ=UTC 0 * * * *' },
    });
    const fv = s.manifest.entries.find((e) => e.document === 'vertex/featureViews/customer_features.json');
    expect(fv).toMatchObject({ parent: 'projects/acme-fraud-prod/locations/europe-west4/featureOnlineStores/fraud_prod_features', id: 'customer_features' });
  });

  it('turns grants into IAM bindings: BigQuery table roles, feature view roles, project roles', () => {
    expect(s.doc('iam/policies/bigquery-Transactions.json')).toEqual({
      bindings: [
        {
          role: 'roles/bigquery.dataViewer',
          members: ['serviceAccount:mlp-train-186cd1@acme-fraud-prod.iam.gserviceaccount.com', 'serviceAgent:aiplatform.googleapis.com'],
        },
      ],
    });
    expect(s.doc('iam/policies/featureView-customer_features.json')).toEqual({
      bindings: [{ role: 'roles/aiplatform.featurestoreDataViewer', members: ['serviceAccount:mlp-scoring-3ffd76@acme-fraud-prod.iam.gserviceaccount.com'] }],
    });
    expect(s.doc('iam/policies/project.json').bindings).toEqual([
      { role: 'projects/acme-fraud-prod/roles/mlp_train_186cd1', members: ['serviceAccount:mlp-train-186cd1@acme-fraud-prod.iam.gserviceaccount.com'] },
      { role: 'roles/aiplatform.viewer', members: ['serviceAccount:mlp-scoring-3ffd76@acme-fraud-prod.iam.gserviceaccount.com'] },
      { role: 'roles/bigquery.jobUser', members: ['serviceAccount:mlp-train-186cd1@acme-fraud-prod.iam.gserviceaccount.com'] },
    ]);
    // Vertex AI writes go through a custom role holding only the permissions they need, never roles/aiplatform.user.
    expect(s.doc('iam/roles/mlp_train_186cd1.json')).toMatchObject({ roleId: 'mlp_train_186cd1', role: { stage: 'GA', includedPermissions: expect.arrayContaining(['aiplatform.models.upload', 'aiplatform.pipelineJobs.create']) } });
    expect(JSON.stringify(s.doc('iam/policies/project.json'))).not.toContain('roles/aiplatform.user');
  });

  it('creates the CMEK key in the Vertex region and in the BigQuery multi-region, rotating every 90 days', () => {
    expect(s.doc('kms/cryptoKeys/europe-west4-fraud-cmk.json')).toMatchObject({ purpose: 'ENCRYPT_DECRYPT', rotationPeriod: '7776000s' });
    expect(s.manifest.entries.find((e) => e.document === 'kms/cryptoKeys/europe-fraud-cmk.json')?.parent).toBe('projects/acme-fraud-prod/locations/europe/keyRings/mlplane-fraud-prod');
  });
});

describe('churn (public, batch, US)', () => {
  const { churn } = examples();
  const s = synth(churn);

  it('schedules the batch scoring pipeline weekly in New York time', () => {
    expect(s.doc('vertex/schedules/churn-staging-weekly-scoring.json')).toMatchObject({
      cron: 'TZ=America/New_York 30 3 * * MON',
      createPipelineJobRequest: { pipelineJob: { serviceAccount: 'mlp-weekly-scoring-da6752@acme-growth.iam.gserviceaccount.com' } },
    });
  });

  it('monitors skew of the batch input with Model Monitoring v2 on the monitor cron', () => {
    expect(s.doc('vertex-v1beta1/modelMonitors/churn-staging-skew.json')).toMatchObject({
      modelMonitoringTarget: { vertexModel: { model: 'projects/acme-growth/locations/us-central1/models/churn-staging-churn' } },
      tabularObjective: { featureDriftSpec: { numericMetricType: 'jensen_shannon_divergence', featureAlertConditions: { tenureMonths: { threshold: 0.04 } } } },
      notificationSpec: { emailConfig: { userEmails: ['growth-analytics@acme.example'] } },
    });
    expect(s.doc('vertex-v1beta1/schedules/churn-staging-skew.json')).toMatchObject({
      cron: 'TZ=America/New_York 0 9 * * MON',
      createModelMonitoringJobRequest: {
        parent: 'projects/acme-growth/locations/us-central1/modelMonitors/churn-staging-skew',
        modelMonitoringJob: { modelMonitoringSpec: { objectiveSpec: { targetDataset: { timeOffset: { window: '7d' } } } } },
      },
    });
  });

  it('lets the batch service account create prediction tables in the dataset, keeping the default ACL', () => {
    expect(s.doc('bigquery/datasets/Churn_staging.json').access).toEqual([
      { role: 'OWNER', specialGroup: 'projectOwners' },
      { role: 'WRITER', specialGroup: 'projectWriters' },
      { role: 'READER', specialGroup: 'projectReaders' },
      { role: 'WRITER', userByEmail: 'mlp-weekly-scoring-da6752@acme-growth.iam.gserviceaccount.com' },
    ]);
  });

  it('partitions monthly on a date column and keeps BigQuery in the Vertex region by default', () => {
    expect(s.doc('bigquery/tables/Customers.json').timePartitioning).toEqual({ type: 'MONTH', field: 'snapshotDate', expirationMs: String(1095 * 86400000) });
    expect(s.doc('bigquery/datasets/Churn_staging.json').location).toBe('us-central1');
  });
});

describe('lab (edge cases)', () => {
  const s = synth(labModel(), LAB_SETTINGS);

  it('turns a 15-minute rate into a UTC cron, and numbers a second schedule', () => {
    expect(s.doc('vertex/schedules/lab-dev-score.json').cron).toBe('TZ=UTC */15 * * * *');
    expect(s.doc('vertex/schedules/lab-dev-score-2.json').cron).toBe('TZ=Asia/Singapore 0 6 * * 1-5');
  });

  it('expires an unpartitioned table through ingestion-time partitions', () => {
    expect(s.doc('bigquery/tables/Events.json').timePartitioning).toEqual({ type: 'DAY', expirationMs: String(30 * 86400000) });
  });

  it('maps an external gs:// dataset to an external table', () => {
    expect(s.doc('bigquery/tables/RawFiles.json').externalDataConfiguration).toEqual({ sourceUris: ['gs://acme-raw/events/*.parquet'], sourceFormat: 'PARQUET', autodetect: false });
  });

  it('deploys a model version by number with request-count autoscaling and a GPU', () => {
    expect(s.doc('vertex/deployedModels/lab-dev-api-v3.json')).toMatchObject({
      model: 'projects/acme-lab/locations/asia-southeast1/models/lab-dev-ranker@3',
      dedicatedResources: {
        machineSpec: { machineType: 'n1-standard-4', acceleratorType: 'NVIDIA_TESLA_T4', acceleratorCount: 1 },
        autoscalingMetricSpecs: [{ metricName: 'aiplatform.googleapis.com/prediction/online/request_count', target: 1200 }],
      },
    });
  });

  it('captures into the destination dataset and monitors only the chosen deployment, drift and skew, every 4 hours', () => {
    expect(s.doc('vertex/endpoints/lab-dev-api.json').predictRequestResponseLoggingConfig).toMatchObject({ bigqueryDestination: { outputUri: 'bq://acme-lab.Lab_dev.Requests' } });
    const job = s.doc('vertex/modelDeploymentMonitoringJobs/lab-dev-watch.json');
    expect(at(job, 'modelDeploymentMonitoringScheduleConfig')).toEqual({ monitorInterval: '14400s', monitorWindow: '172800s' });
    expect(job.modelDeploymentMonitoringObjectiveConfigs).toEqual([
      {
        deployedModelId: s.doc('vertex/deployedModels/lab-dev-api-v3.json').id,
        objectiveConfig: {
          trainingDataset: { bigquerySource: { inputUri: 'bq://acme-lab.Lab_dev.Events' } },
          trainingPredictionSkewDetectionConfig: { skewThresholds: { score: { value: 0.0025 } } },
          predictionDriftDetectionConfig: { driftThresholds: { eventId: { value: 0.3 } } },
        },
      },
    ]);
    expect(at(job, 'modelMonitoringAlertConfig', 'emailAlertConfig')).toEqual({ userEmails: ['a@acme.example', 'b@acme.example'] });
  });

  it('grants an offline feature table on its BigQuery view, and monitors without a gate as the Vertex service agent', () => {
    expect(s.doc('iam/policies/bigquery-UserStats.json')).toEqual({
      bindings: [{ role: 'roles/bigquery.dataViewer', members: ['serviceAccount:mlp-api-41c4e9@acme-lab.iam.gserviceaccount.com'] }],
    });
    expect(s.doc('iam/policies/bigquery-Events.json')).toEqual({
      bindings: [{ role: 'roles/bigquery.dataViewer', members: ['serviceAccount:mlp-score-b19fc3@acme-lab.iam.gserviceaccount.com', 'serviceAgent:aiplatform.googleapis.com'] }],
    });
    expect(Object.keys(s.documents).some((k) => k.startsWith('vertex/featureViews/'))).toBe(false);
  });

  it('labels user tags with valid keys and values, and paths with a hash where they had to change', () => {
    expect(s.doc('bigquery/tables/Events.json').labels).toEqual({
      'cost-center': 'r-d-42',
      'mlplane-env': 'lab-dev',
      'mlplane-path': 'lab-events-6e8b7e',
      'mlplane-version': 'v2',
    });
  });

  it('leaves an unscheduled batch inference as a pipeline spec only', () => {
    expect(s.documents['pipelines/lab-dev-nightly.json']).toBeDefined();
    expect(Object.keys(s.documents).filter((k) => k.startsWith('vertex/schedules/lab-dev-nightly'))).toEqual([]);
  });
});

function at(o: unknown, ...keys: string[]): Json {
  return keys.reduce<Json>((x, k) => (x[k] as Json) ?? {}, o as Json);
}
