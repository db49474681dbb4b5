/**
 * gcp synth: environment model → one REST body per resource (Vertex AI v1, BigQuery v2, IAM) plus
 * a manifest in dependency order and the KFP PipelineSpecs. Pure: no network, no SDK, no fs.
 */
import type { DocumentSynthResult } from '../../lib/adapter';
import { ValidationErrors } from '../../lib/core/errors';
import { unsupportedFeatures } from '../../lib/model/capabilities';
import type {
  BatchInferenceModel,
  ComputePoolModel,
  DatasetModel,
  DriftMonitorModel,
  EnvironmentModel,
  FeatureTableModel,
  FieldModel,
  FieldTypeModel,
  GrantModel,
  ModelRefModel,
  ModelRegistryModel,
  OnlineEndpointModel,
  PipelineModel,
  MonitorSignalModel,
  ResourceModel,
  ScheduleModel,
} from '../../lib/model/types';
import { jensenShannonDivergenceOf, metricSupport, resolveSignalFeatures } from '../../lib/monitor-metrics';
import { GCP_CAPABILITIES, GCP_METRICS } from './capabilities';
import { SynthContext } from './context';
import type {
  BqDatasetBody,
  BqField,
  BqTableBody,
  BucketBody,
  CryptoKeyBody,
  DeployedModelBody,
  EndpointBody,
  FeatureOnlineStoreBody,
  FeatureViewBody,
  DataDriftSpecBody,
  IamPolicyBody,
  Manifest,
  ManifestEntry,
  MetadataStoreBody,
  ModelBody,
  ModelMonitorBody,
  MonitoringInputBody,
  MonitoringJobBody,
  MonitoringNotificationBody,
  MonitoringOutputBody,
  MonitoringScheduleBody,
  ScheduleBody,
  ServiceAccountBody,
  CustomRoleBody,
  TensorboardBody,
  Thresholds,
  VertexDatasetBody,
} from './documents';
import { compileBatchPipeline, compileDriftGatePipeline, compilePipeline } from './kfp';
import type { PipelineSpec } from './kfp-types';
import { machineSpec, vertexAccelerator } from './machines';
import { bigQueryColumnProblem, bigQueryId, displayName, dnsName, endpointId, labelValue, numericId, snakeId } from './names';
import { allowedBigQueryLocations, kmsLocationForBigQuery, regionHintProblem, SETTINGS_KEY, type GcpSettings } from './settings';
import { rateToCron, scheduleInterval, vertexCron } from './schedules';

const AIPLATFORM = 'aiplatform.projects.locations';
const V1 = 'google.cloud.aiplatform.v1';
const V1BETA1 = 'google.cloud.aiplatform.v1beta1';
const TABULAR_SCHEMA = 'gs://google-cloud-aiplatform/schema/dataset/metadata/tabular_1.0.0.yaml';
const ALIAS = /^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$/;

/** Keys of the environment-wide entries. */
const KEYS = {
  bucket: 'storage.bucket',
  keyRing: 'kms.keyRing',
  key: (location: string) => `kms.cryptoKey/${location}`,
  keyPolicy: (location: string) => `iam.policy/kms.cryptoKey/${location}`,
  bucketPolicy: 'iam.policy/storage.bucket',
  bqDataset: 'bigquery.dataset',
  metadataStore: 'vertex.metadataStore',
  tensorboard: 'vertex.tensorboard',
  featureStore: 'vertex.featureOnlineStore',
  serviceAccount: (path: string) => `iam.serviceAccount/${path}`,
  customRole: (path: string) => `iam.role/${path}`,
  table: (path: string) => `bigquery.table/${path}`,
  vertexDataset: (path: string) => `vertex.dataset/${path}`,
  featureView: (path: string) => `vertex.featureView/${path}`,
  model: (path: string) => `vertex.model/${path}`,
  endpoint: (path: string) => `vertex.endpoint/${path}`,
  deployedModel: (path: string, name: string) => `vertex.deployedModel/${path}/${name}`,
  traffic: (path: string) => `vertex.endpointTraffic/${path}`,
  schedule: (path: string, i: number) => `vertex.schedule/${path}#${i}`,
  monitoringJob: (path: string) => `vertex.modelDeploymentMonitoringJob/${path}`,
  modelMonitor: (path: string) => `vertex.modelMonitor/${path}`,
  iam: (resource: string) => `iam.policy/${resource}`,
} as const;

/**
 * Synthesize an environment for the gcp target.
 *
 * @throws ValidationErrors with every problem found, each with its construct path.
 */
export function synthGcp(m: EnvironmentModel, settings: GcpSettings): DocumentSynthResult {
  if (!m.schemaVersion.startsWith('1.')) {
    throw new ValidationErrors([
      { path: m.environment.path, message: `model schemaVersion '${m.schemaVersion}' is not supported by the gcp adapter, which reads 1.x; use a matching mlplane version` },
    ]);
  }
  const ctx = new SynthContext(m, settings);
  const env = m.environment;
  const hint = regionHintProblem(env.region, settings.region);
  if (hint) ctx.problem(env.path, hint);
  if (!allowedBigQueryLocations(settings.region).includes(settings.bigqueryLocation)) {
    ctx.problem(env.path, `BigQuery location '${settings.bigqueryLocation}' is not compatible with Vertex region '${settings.region}'; set ${SETTINGS_KEY}.bigqueryLocation to ${allowedBigQueryLocations(settings.region).join(' or ')}`);
  }
  for (const p of unsupportedFeatures(m, 'gcp', GCP_CAPABILITIES)) ctx.problem(p.path, p.message);

  environmentResources(ctx);
  for (const r of m.resources) resource(ctx, r);
  grants(ctx);

  if (ctx.problems.length > 0) throw new ValidationErrors(ctx.problems, `gcp synth of '${env.path}' failed`);
  const entries = dependencyOrder(ctx.entries);
  const manifest: Manifest = {
    schemaVersion: '1',
    target: 'gcp',
    environment: env.path,
    project: settings.project,
    region: settings.region,
    bigqueryLocation: settings.bigqueryLocation,
    ownershipLabels: { 'mlplane-env': ctx.envLabel },
    entries,
  };
  return { documents: { ...ctx.documents, 'manifest.json': manifest }, warnings: ctx.warnings, names: ctx.sharedNames() };
}

/** Entries sorted so that every entry comes after its dependencies; ties keep emission order. */
function dependencyOrder(entries: readonly ManifestEntry[]): ManifestEntry[] {
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const out: ManifestEntry[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (e: ManifestEntry) => {
    const s = state.get(e.key);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`dependency cycle through ${e.key}`);
    state.set(e.key, 'visiting');
    for (const d of e.dependsOn) {
      const dep = byKey.get(d);
      if (!dep) throw new Error(`${e.key} depends on unknown entry ${d}`);
      visit(dep);
    }
    state.set(e.key, 'done');
    out.push(e);
  };
  for (const e of entries) visit(e);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Environment

/** Workloads that run as their own service account: pipelines, endpoints, batch inferences. */
function workloads(ctx: SynthContext): ResourceModel[] {
  return ctx.model.resources.filter((r) => r.kind === 'pipeline' || r.kind === 'onlineEndpoint' || r.kind === 'batchInference');
}

/** A resource encrypted with the environment's key needs the key and its service-agent grants first. */
function keyDeps(ctx: SynthContext, location: string): string[] {
  return ctx.model.environment.encryption.kind === 'customer-managed' ? [KEYS.key(location), KEYS.keyPolicy(location)] : [];
}

/**
 * Service agents that encrypt with the key of a location: Vertex AI and Cloud Storage use the
 * region's key, BigQuery (its encryption service account) the key of the BigQuery location.
 * Members written `serviceAgent:<api>`; the engine resolves them from the project number.
 */
function keyUsers(ctx: SynthContext, location: string): string[] {
  const out: string[] = [];
  if (location === ctx.settings.region) out.push(VERTEX_SERVICE_AGENT, STORAGE_SERVICE_AGENT);
  if (location === kmsLocationForBigQuery(ctx.settings.bigqueryLocation)) out.push(BIGQUERY_SERVICE_AGENT);
  return out.sort();
}

function environmentResources(ctx: SynthContext): void {
  const { settings, model } = ctx;
  const env = model.environment;
  const project = `projects/${settings.project}`;
  const enc = env.encryption;
  const vertexKey = ctx.vertexKey();
  const bqKey = ctx.bigQueryKey();
  if (enc.kind === 'customer-managed') {
    const locations = [...new Set([settings.region, kmsLocationForBigQuery(settings.bigqueryLocation)])];
    for (const location of locations) {
      const ring = `${project}/locations/${location}/keyRings/${ctx.keyRingId()}`;
      ctx.emit({
        key: `${KEYS.keyRing}/${location}`,
        path: env.path,
        method: 'cloudkms.projects.locations.keyRings.create',
        collection: 'projects.locations.keyRings',
        parent: `${project}/locations/${location}`,
        id: ctx.keyRingId(),
        document: `kms/keyRings/${location}.json`,
        body: {},
        schema: { kind: 'discovery', api: 'cloudkms.v1', schema: 'KeyRing' },
        dependsOn: [],
        retain: true,
      });
      const key: CryptoKeyBody = { purpose: 'ENCRYPT_DECRYPT', rotationPeriod: `${enc.rotationDays * 86400}s`, labels: ctx.labels(env.path) };
      ctx.emit({
        key: KEYS.key(location),
        path: env.path,
        method: 'cloudkms.projects.locations.keyRings.cryptoKeys.create',
        collection: 'projects.locations.keyRings.cryptoKeys',
        parent: ring,
        id: enc.keyName,
        document: `kms/cryptoKeys/${location}-${enc.keyName}.json`,
        body: key,
        schema: { kind: 'discovery', api: 'cloudkms.v1', schema: 'CryptoKey' },
        dependsOn: [`${KEYS.keyRing}/${location}`],
        retain: true,
      });
      // The services' agents may use this key and nothing else: a key-level binding, never a project-level one.
      const keyPolicy: IamPolicyBody = { bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: keyUsers(ctx, location) }] };
      ctx.emit({
        key: KEYS.keyPolicy(location),
        path: env.path,
        method: 'cloudkms.projects.locations.keyRings.cryptoKeys.setIamPolicy',
        collection: 'projects.locations.keyRings.cryptoKeys',
        parent: ring,
        id: enc.keyName,
        document: `iam/policies/kms-${location}-${enc.keyName}.json`,
        body: keyPolicy,
        schema: { kind: 'discovery', api: 'cloudkms.v1', schema: 'Policy' },
        requestField: 'policy',
        dependsOn: [KEYS.key(location)],
      });
    }
  }
  const bucket: BucketBody = {
    name: ctx.stagingBucket,
    location: settings.region.toUpperCase(),
    labels: ctx.labels(env.path),
    iamConfiguration: { uniformBucketLevelAccess: { enabled: true } },
    ...(vertexKey ? { encryption: { defaultKmsKeyName: vertexKey.kmsKeyName } } : {}),
  };
  ctx.emit({
    key: KEYS.bucket,
    path: env.path,
    method: 'storage.buckets.insert',
    collection: 'buckets',
    parent: project,
    id: ctx.stagingBucket,
    document: `storage/buckets/${ctx.stagingBucket}.json`,
    body: bucket,
    schema: { kind: 'discovery', api: 'storage.v1', schema: 'Bucket' },
    dependsOn: keyDeps(ctx, settings.region),
    retain: true,
  });
  for (const w of workloads(ctx)) {
    const id = ctx.serviceAccountId(w.path);
    const body: ServiceAccountBody = {
      accountId: id,
      // Service accounts have no labels: the description carries the ownership label.
      serviceAccount: { displayName: displayName(`mlplane ${w.path}`).slice(0, 100), description: `Runs ${w.kind} '${w.path}' of environment '${env.path}' (mlplane-env=${ctx.envLabel})` },
    };
    ctx.emit({
      key: KEYS.serviceAccount(w.path),
      path: w.path,
      method: 'iam.projects.serviceAccounts.create',
      collection: 'projects.serviceAccounts',
      parent: project,
      id,
      document: `iam/serviceAccounts/${id}.json`,
      body,
      schema: { kind: 'discovery', api: 'iam.v1', schema: 'CreateServiceAccountRequest' },
      dependsOn: [],
    });
  }
  // Batch prediction creates a new table per run in the dataset: its service account writes to
  // the dataset itself (WRITER = roles/bigquery.dataEditor). Listing ACL entries replaces
  // BigQuery's defaults, so the defaults are listed as well.
  const writers = model.resources.filter((r) => r.kind === 'batchInference').map((r) => ctx.serviceAccountEmail(r.path));
  const access: BqDatasetBody['access'] =
    writers.length > 0
      ? [
          { role: 'OWNER', specialGroup: 'projectOwners' },
          { role: 'WRITER', specialGroup: 'projectWriters' },
          { role: 'READER', specialGroup: 'projectReaders' },
          ...writers.map((email) => ({ role: 'WRITER' as const, userByEmail: email })),
        ]
      : undefined;
  const dataset: BqDatasetBody = {
    datasetReference: { projectId: settings.project, datasetId: ctx.bqDatasetId },
    ...(access ? { access } : {}),
    location: settings.bigqueryLocation,
    friendlyName: `${env.name} (${env.stage})`,
    ...(env.description ? { description: env.description } : {}),
    labels: ctx.labels(env.path),
    ...(bqKey ? { defaultEncryptionConfiguration: bqKey } : {}),
  };
  ctx.emit({
    key: KEYS.bqDataset,
    path: env.path,
    method: 'bigquery.datasets.insert',
    collection: 'datasets',
    parent: project,
    id: ctx.bqDatasetId,
    document: `bigquery/datasets/${ctx.bqDatasetId}.json`,
    body: dataset,
    schema: { kind: 'discovery', api: 'bigquery.v2', schema: 'Dataset' },
    dependsOn: [...keyDeps(ctx, kmsLocationForBigQuery(settings.bigqueryLocation)), ...workloads(ctx).filter((w) => w.kind === 'batchInference').map((w) => KEYS.serviceAccount(w.path))],
    retain: true,
  });
  const metadata: MetadataStoreBody = {
    description: `Vertex ML Metadata of pipeline runs (lineage of datasets, models and metrics); environment '${env.path}'`,
    ...(vertexKey ? { encryptionSpec: vertexKey } : {}),
  };
  ctx.emit({
    key: KEYS.metadataStore,
    path: env.path,
    method: `${AIPLATFORM}.metadataStores.create`,
    collection: 'projects.locations.metadataStores',
    parent: ctx.parent,
    id: 'default',
    document: 'vertex/metadataStores/default.json',
    body: metadata,
    schema: { kind: 'proto', message: `${V1}.MetadataStore` },
    dependsOn: keyDeps(ctx, settings.region),
    retain: true,
  });
  const tensorboard: TensorboardBody = {
    displayName: displayName(`${env.name} ${env.stage} experiments`),
    description: `Experiment tracking of environment '${env.path}'`,
    labels: ctx.labels(env.path),
    ...(vertexKey ? { encryptionSpec: vertexKey } : {}),
  };
  ctx.emit({
    key: KEYS.tensorboard,
    path: env.path,
    method: `${AIPLATFORM}.tensorboards.create`,
    collection: 'projects.locations.tensorboards',
    parent: ctx.parent,
    id: null,
    document: `vertex/tensorboards/${ctx.envLabel}.json`,
    body: tensorboard,
    schema: { kind: 'proto', message: `${V1}.Tensorboard` },
    dependsOn: keyDeps(ctx, settings.region),
    retain: true,
  });
  if (env.network.mode === 'private' && !settings.network) {
    ctx.warn(
      'pipeline-network',
      env.path,
      `the environment is private but ${SETTINGS_KEY}.network is not set: endpoints and the feature store get Private Service Connect, but pipeline jobs are not peered with a VPC; set ${SETTINGS_KEY}.network to 'projects/<number>/global/networks/<name>'`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Resources

/**
 * A declared compute pool: its accelerator must exist on Vertex even when nothing runs on it yet,
 * and a pool nothing uses defines nothing on gcp, which is said rather than silent.
 */
function computePool(ctx: SynthContext, r: ComputePoolModel): void {
  if (r.node.accelerator) {
    const acc = vertexAccelerator(r.node.accelerator);
    if ('problem' in acc) ctx.problem(r.path, acc.problem);
  }
  const used = ctx.model.resources.some((o) => (o.kind === 'pipeline' && o.steps.some((s) => s.kind === 'container' && s.compute === r.path)) || (o.kind === 'batchInference' && o.compute === r.path));
  if (!used) {
    ctx.warn('unused-compute-pool', r.path, 'no pipeline step or batch inference runs on this pool, so it defines nothing on gcp (Vertex has no standing pools: a pool becomes the machine spec of the tasks that use it); use it as a step\'s compute or remove it');
  }
}

function resource(ctx: SynthContext, r: ResourceModel): void {
  switch (r.kind) {
    case 'dataset':
      return dataset(ctx, r);
    case 'featureTable':
      return featureTable(ctx, r);
    case 'computePool':
      // Vertex has no standing compute pool: its node shape becomes machine specs of the tasks
      // that use it (see kfp.ts); nothing to create. A declared pool is still checked.
      return computePool(ctx, r);
    case 'pipeline':
      return pipeline(ctx, r);
    case 'modelRegistry':
      return registry(ctx, r);
    case 'onlineEndpoint':
      return endpoint(ctx, r);
    case 'batchInference':
      return batch(ctx, r);
    case 'driftMonitor':
      return monitor(ctx, r);
    case 'secret':
      return; // a reference: steps read it (kfp.ts), its accessor binding is a grant (below)
    default: {
      const never: never = r;
      throw new Error(`unhandled resource kind ${(never as ResourceModel).kind}`);
    }
  }
}

const SCALAR_TYPES = { string: 'STRING', int: 'INTEGER', float: 'FLOAT', bool: 'BOOLEAN', timestamp: 'TIMESTAMP', date: 'DATE' } as const;

/** BigQuery schema of a list of fields, reporting invalid or duplicate column names. */
function bqSchema(ctx: SynthContext, fields: readonly FieldModel[], path: string, prefix = ''): BqField[] {
  const seen = new Map<string, string>();
  const out: BqField[] = [];
  for (const f of fields) {
    const problem = bigQueryColumnProblem(f.name, `${prefix}${f.name}`);
    if (problem) ctx.problem(path, problem);
    const lower = f.name.toLowerCase();
    const clash = seen.get(lower);
    if (clash !== undefined) {
      ctx.problem(path, `columns '${prefix}${clash}' and '${prefix}${f.name}' differ only in case; BigQuery compares column names case-insensitively; rename one`);
    }
    seen.set(lower, f.name);
    const field = bqField(ctx, f, f, path, `${prefix}${f.name}.`);
    if (field) out.push(field);
  }
  return out;
}

function bqField(ctx: SynthContext, f: FieldModel, type: FieldTypeModel, path: string, prefix: string, repeated = false): BqField | undefined {
  const base = { name: f.name, ...(f.description ? { description: f.description } : {}) };
  const mode = repeated ? 'REPEATED' : f.nullable ? 'NULLABLE' : 'REQUIRED';
  switch (type.type) {
    case 'array':
      if (repeated) {
        ctx.problem(path, `column '${f.name}' is an array of arrays, which BigQuery cannot store; wrap the inner array in a struct`);
        return undefined;
      }
      return bqField(ctx, f, type.items, path, prefix, true);
    case 'struct':
      return { ...base, type: 'RECORD', mode, fields: bqSchema(ctx, type.fields, path, prefix) };
    default:
      return { ...base, type: SCALAR_TYPES[type.type], mode };
  }
}

const PARTITION = { hour: 'HOUR', day: 'DAY', month: 'MONTH', year: 'YEAR' } as const;
const SOURCE_FORMAT = { parquet: 'PARQUET', csv: 'CSV', jsonl: 'NEWLINE_DELIMITED_JSON' } as const;

function dataset(ctx: SynthContext, d: DatasetModel): void {
  const tableId = ctx.tableId(d);
  const schema = bqSchema(ctx, d.schema, d.path);
  const names = new Set(d.schema.map((f) => f.name));
  if (d.partitionBy) {
    const col = d.schema.find((f) => f.name === d.partitionBy?.field);
    if (!col || (col.type !== 'timestamp' && col.type !== 'date')) {
      ctx.problem(d.path, `partition column '${d.partitionBy.field}' must be a timestamp or date column of the schema; got ${col ? col.type : 'no such column'}`);
    } else if (col.type === 'date' && d.partitionBy.granularity === 'hour') {
      ctx.problem(d.path, `date column '${col.name}' cannot be partitioned by hour in BigQuery; use day, month or year`);
    }
  }
  if (d.clusterBy.length > 4) ctx.problem(d.path, `BigQuery clusters by at most 4 columns, got ${d.clusterBy.length} (${d.clusterBy.join(', ')}); drop some`);
  for (const c of d.clusterBy) if (!names.has(c)) ctx.problem(d.path, `cluster column '${c}' is not in the schema; use one of ${[...names].join(', ')}`);
  const expirationMs = d.retentionDays !== undefined ? `${d.retentionDays * 86400000}` : undefined;
  let body: BqTableBody;
  const common = {
    tableReference: { projectId: ctx.settings.project, datasetId: ctx.bqDatasetId, tableId },
    friendlyName: d.id,
    ...(d.description ? { description: d.description } : {}),
    labels: { ...ctx.labels(d.path), 'mlplane-version': labelValue(d.version.toLowerCase()) },
    schema: { fields: schema },
  };
  if (d.source.kind === 'external') {
    const uri = d.source.uri;
    if (!uri.startsWith('gs://')) {
      ctx.problem(d.path, `external dataset URI '${uri}' is not on Cloud Storage; on gcp an external dataset must be a gs:// URI (BigQuery external table); copy the data to Cloud Storage`);
    }
    if (d.format === 'delta') ctx.problem(d.path, `external format 'delta' is not readable by a BigQuery external table; use parquet, csv or jsonl`);
    if (d.partitionBy || d.clusterBy.length > 0 || d.retentionDays !== undefined) {
      ctx.problem(d.path, `an external dataset cannot be partitioned, clustered or expired by BigQuery (it reads files it does not own); remove partitionBy, clusterBy and retention`);
    }
    body = {
      ...common,
      externalDataConfiguration: {
        sourceUris: [uri],
        sourceFormat: d.format === 'delta' ? 'PARQUET' : SOURCE_FORMAT[d.format],
        autodetect: false,
      },
    };
  } else {
    const bqKey = ctx.bigQueryKey();
    body = {
      ...common,
      ...(d.partitionBy
        ? { timePartitioning: { type: PARTITION[d.partitionBy.granularity], field: d.partitionBy.field, ...(expirationMs ? { expirationMs } : {}) } }
        : expirationMs
          ? { timePartitioning: { type: 'DAY' as const, expirationMs } }
          : {}),
      ...(d.clusterBy.length > 0 ? { clustering: { fields: d.clusterBy } } : {}),
      ...(bqKey ? { encryptionConfiguration: bqKey } : {}),
    };
  }
  ctx.emit({
    key: KEYS.table(d.path),
    path: d.path,
    method: 'bigquery.tables.insert',
    collection: 'tables',
    parent: `projects/${ctx.settings.project}/datasets/${ctx.bqDatasetId}`,
    id: tableId,
    document: `bigquery/tables/${tableId}.json`,
    body,
    schema: { kind: 'discovery', api: 'bigquery.v2', schema: 'Table' },
    dependsOn: [KEYS.bqDataset],
    retain: d.retain,
  });
  const vertexKey = ctx.vertexKey();
  const vds: VertexDatasetBody = {
    displayName: displayName(`${ctx.envLabel}-${d.id}`),
    ...(d.description ? { description: d.description } : {}),
    metadataSchemaUri: TABULAR_SCHEMA,
    metadata: { inputConfig: { bigquerySource: { uri: ctx.tableUri(tableId) } } },
    labels: ctx.labels(d.path),
    ...(vertexKey ? { encryptionSpec: vertexKey } : {}),
  };
  ctx.emit({
    key: KEYS.vertexDataset(d.path),
    path: d.path,
    method: `${AIPLATFORM}.datasets.create`,
    collection: 'projects.locations.datasets',
    parent: ctx.parent,
    id: null,
    document: `vertex/datasets/${tableId}.json`,
    body: vds,
    schema: { kind: 'proto', message: `${V1}.Dataset` },
    dependsOn: [KEYS.table(d.path), ...keyDeps(ctx, ctx.settings.region)],
    retain: d.retain,
  });
}

/** The id of the environment's feature online store. */
function featureStoreId(ctx: SynthContext): string {
  return snakeId(`${ctx.envLabel}_features`);
}

function featureTable(ctx: SynthContext, f: FeatureTableModel): void {
  const source = ctx.resource(f.source, 'dataset', f.path);
  if (!source) return;
  const cols = new Set(source.schema.map((c) => c.name));
  const wanted = [...f.entity.keys, ...(f.timestampField ? [f.timestampField] : []), ...f.features.map((x) => x.name)];
  for (const c of wanted) if (!cols.has(c)) ctx.problem(f.path, `column '${c}' is not in source dataset '${f.source}'; use one of ${[...cols].join(', ')}`);
  const viewId = bigQueryId(`${f.id}`);
  if (viewId === ctx.tableId(source) || ctx.model.resources.some((r) => r.kind === 'dataset' && ctx.tableId(r) === viewId)) {
    ctx.problem(f.path, `feature table '${f.id}' would become BigQuery view '${viewId}', which a dataset already uses; rename the feature table`);
  }
  // Vertex feature views pick the latest row per entity by a `feature_timestamp` column.
  const ts = f.timestampField && f.timestampField !== 'feature_timestamp' ? [`\`${f.timestampField}\` AS \`feature_timestamp\``] : [];
  const columns = [...[...new Set(wanted)].map((c) => `\`${c}\``), ...ts].join(', ');
  const view: BqTableBody = {
    tableReference: { projectId: ctx.settings.project, datasetId: ctx.bqDatasetId, tableId: viewId },
    friendlyName: f.id,
    ...(f.description ? { description: f.description } : {}),
    labels: ctx.labels(f.path),
    view: { query: `SELECT ${columns} FROM \`${ctx.settings.project}.${ctx.bqDatasetId}.${ctx.tableId(source)}\``, useLegacySql: false },
  };
  ctx.emit({
    key: KEYS.table(f.path),
    path: f.path,
    method: 'bigquery.tables.insert',
    collection: 'tables',
    parent: `projects/${ctx.settings.project}/datasets/${ctx.bqDatasetId}`,
    id: viewId,
    document: `bigquery/tables/${viewId}.json`,
    body: view,
    schema: { kind: 'discovery', api: 'bigquery.v2', schema: 'Table' },
    dependsOn: [KEYS.table(source.path)],
  });
  if (!f.online) return;
  const storeId = featureStoreId(ctx);
  if (!ctx.entries.some((e) => e.key === KEYS.featureStore)) {
    const vertexKey = ctx.vertexKey();
    const store: FeatureOnlineStoreBody = {
      optimized: {},
      labels: ctx.labels(ctx.model.environment.path),
      ...(ctx.model.environment.network.mode === 'private'
        ? { dedicatedServingEndpoint: { privateServiceConnectConfig: { enablePrivateServiceConnect: true, projectAllowlist: [ctx.settings.project] } } }
        : {}),
      ...(vertexKey ? { encryptionSpec: vertexKey } : {}),
    };
    ctx.emit({
      key: KEYS.featureStore,
      path: ctx.model.environment.path,
      method: `${AIPLATFORM}.featureOnlineStores.create`,
      collection: 'projects.locations.featureOnlineStores',
      parent: ctx.parent,
      id: storeId,
      document: `vertex/featureOnlineStores/${storeId}.json`,
      body: store,
      schema: { kind: 'proto', message: `${V1}.FeatureOnlineStore` },
      dependsOn: keyDeps(ctx, ctx.settings.region),
    });
  }
  let syncConfig: FeatureViewBody['syncConfig'];
  if (f.refreshSeconds !== undefined) {
    const c = rateToCron(f.refreshSeconds);
    if ('problem' in c) ctx.problem(f.path, `refresh: ${c.problem}`);
    else syncConfig = { cron: `TZ=UTC ${c.cron}` };
  }
  if (f.ttlSeconds !== undefined) {
    ctx.warn(
      'feature-ttl',
      f.path,
      `ttl ${f.ttlSeconds}s is not enforced: a Vertex feature view serves the latest synced value per entity until the next sync${f.refreshSeconds !== undefined ? ` (every ${f.refreshSeconds}s)` : ''}`,
    );
  }
  const viewIdFv = snakeId(f.id);
  const fv: FeatureViewBody = {
    bigQuerySource: { uri: ctx.tableUri(viewId), entityIdColumns: f.entity.keys },
    ...(syncConfig ? { syncConfig } : {}),
    labels: ctx.labels(f.path),
  };
  ctx.emit({
    key: KEYS.featureView(f.path),
    path: f.path,
    method: `${AIPLATFORM}.featureOnlineStores.featureViews.create`,
    collection: 'projects.locations.featureOnlineStores.featureViews',
    parent: `${ctx.parent}/featureOnlineStores/${storeId}`,
    id: viewIdFv,
    document: `vertex/featureViews/${viewIdFv}.json`,
    body: fv,
    schema: { kind: 'proto', message: `${V1}.FeatureView` },
    dependsOn: [KEYS.featureStore, KEYS.table(f.path)],
  });
}

/** Manifest keys of everything a pipeline run needs to exist. */
function pipelineDeps(ctx: SynthContext, p: PipelineModel, runAs: string): string[] {
  // The metadata store comes first: Vertex creates `default` without CMEK on the first run otherwise.
  const deps = [KEYS.bucket, KEYS.metadataStore, KEYS.serviceAccount(runAs), ...keyDeps(ctx, ctx.settings.region)];
  for (const s of p.steps) {
    if (s.kind === 'container') {
      for (const i of s.inputs) {
        const src = i.source;
        if (src.kind === 'dataset' && ctx.model.resources.some((r) => r.kind === 'dataset' && r.path === src.dataset)) deps.push(KEYS.table(src.dataset));
      }
    } else {
      const reg = ctx.model.resources.find((r) => r.path === s.registry);
      const m = reg?.kind === 'modelRegistry' ? reg.models.find((x) => x.name === s.model) : undefined;
      if (m) deps.push(KEYS.model(m.path));
    }
  }
  return deps;
}

/** A Vertex Schedule running `spec`. */
function scheduleBody(ctx: SynthContext, path: string, runAs: string, spec: PipelineSpec, schedule: ScheduleModel, i: number, parameterValues?: Readonly<Record<string, string | number | boolean>>): ScheduleBody | undefined {
  const cron = vertexCron(schedule);
  if ('problem' in cron) {
    ctx.problem(path, `schedule ${i + 1}: ${cron.problem}`);
    return undefined;
  }
  const kms = ctx.vertexKey();
  return {
    displayName: displayName(`${spec.pipelineInfo.name}${i > 0 ? `-${i + 1}` : ''}`),
    cron: cron.cron,
    maxConcurrentRunCount: '1',
    createPipelineJobRequest: {
      parent: ctx.parent,
      pipelineJob: {
        displayName: displayName(spec.pipelineInfo.name),
        pipelineSpec: spec,
        runtimeConfig: {
          gcsOutputDirectory: ctx.pipelineRoot(path),
          ...(parameterValues && Object.keys(parameterValues).length > 0 ? { parameterValues } : {}),
        },
        serviceAccount: ctx.serviceAccountEmail(runAs),
        ...(ctx.settings.network ? { network: ctx.settings.network } : {}),
        ...(kms ? { encryptionSpec: kms } : {}),
        labels: ctx.labels(path),
      },
    },
  };
}

function emitSchedules(ctx: SynthContext, path: string, runAs: string, spec: PipelineSpec, schedules: readonly ScheduleModel[], deps: string[], parameterValues?: Readonly<Record<string, string | number | boolean>>): void {
  schedules.forEach((s, i) => {
    const body = scheduleBody(ctx, path, runAs, spec, s, i, parameterValues);
    if (!body) return;
    ctx.emit({
      key: KEYS.schedule(path, i),
      path,
      method: `${AIPLATFORM}.schedules.create`,
      collection: 'projects.locations.schedules',
      parent: ctx.parent,
      id: null,
      document: `vertex/schedules/${spec.pipelineInfo.name}${i > 0 ? `-${i + 1}` : ''}.json`,
      body,
      schema: { kind: 'proto', message: `${V1}.Schedule` },
      dependsOn: deps,
    });
  });
}

function pipeline(ctx: SynthContext, p: PipelineModel): void {
  const spec = compilePipeline(ctx, p);
  ctx.pipelineDocument(p.path, spec.pipelineInfo.name, spec);
  emitSchedules(ctx, p.path, p.path, spec, p.schedules, pipelineDeps(ctx, p, p.path));
}

/** Vertex model id of a registered model. */
export function vertexModelId(ctx: SynthContext, name: string): string {
  return dnsName(`${ctx.envLabel}-${name}`, 63);
}

function registry(ctx: SynthContext, r: ModelRegistryModel): void {
  const kms = ctx.vertexKey();
  for (const m of r.models) {
    const id = vertexModelId(ctx, m.name);
    for (const a of m.aliases) {
      if (!ALIAS.test(a) || a === 'default') {
        ctx.problem(m.path, `alias '${a}' is not a valid Vertex version alias (pattern [a-z][a-zA-Z0-9-]{0,126}[a-z0-9], not 'default'); rename it`);
      }
    }
    const env = Object.keys(m.serving.env)
      .sort()
      .map((name) => ({ name, value: m.serving.env[name] as string }));
    const body: ModelBody = {
      displayName: displayName(m.name),
      ...(m.description ? { description: m.description } : {}),
      versionAliases: m.aliases,
      versionDescription: 'mlplane bootstrap version: the serving container without trained artifacts; pipelines register trained versions',
      containerSpec: {
        imageUri: m.serving.image,
        ...(env.length > 0 ? { env } : {}),
        ports: [{ containerPort: m.serving.port }],
        predictRoute: m.serving.predictRoute,
        healthRoute: m.serving.healthRoute,
      },
      labels: { ...ctx.labels(m.path), 'mlplane-framework': m.framework },
      ...(kms ? { encryptionSpec: kms } : {}),
    };
    ctx.emit({
      key: KEYS.model(m.path),
      path: m.path,
      method: `${AIPLATFORM}.models.upload`,
      collection: 'projects.locations.models',
      parent: ctx.parent,
      id,
      document: `vertex/models/${id}.json`,
      body,
      schema: { kind: 'proto', message: `${V1}.Model` },
      requestField: 'model',
      dependsOn: keyDeps(ctx, ctx.settings.region),
      retain: r.retain,
    });
  }
}

/** Resource name of a model version reference, checking it against the registry. */
function modelRef(ctx: SynthContext, ref: ModelRefModel, from: string): { name: string; key: string } | undefined {
  const reg = ctx.resource(ref.registry, 'modelRegistry', from);
  if (!reg) return undefined;
  const m = reg.models.find((x) => x.name === ref.model);
  if (!m) {
    ctx.problem(from, `model '${ref.model}' is not in registry '${ref.registry}'; declared are ${reg.models.map((x) => `'${x.name}'`).join(', ') || 'none'}`);
    return undefined;
  }
  const base = ctx.modelName(vertexModelId(ctx, m.name));
  if ('alias' in ref) {
    if (!m.aliases.includes(ref.alias)) ctx.problem(from, `alias '${ref.alias}' is not declared on model '${m.name}'; declared are ${m.aliases.map((a) => `'${a}'`).join(', ') || 'none'}`);
    return { name: `${base}@${ref.alias}`, key: KEYS.model(m.path) };
  }
  return { name: `${base}@${ref.version}`, key: KEYS.model(m.path) };
}

/** DeployedModel id of a deployment (numeric, stable). */
export function deployedModelId(ctx: SynthContext, endpointPath: string, deployment: string): string {
  return numericId(`${ctx.envLabel}/${endpointPath}/${deployment}`);
}

function endpoint(ctx: SynthContext, e: OnlineEndpointModel): void {
  const id = endpointId(`${ctx.envLabel}-${e.id}`);
  const name = `${ctx.parent}/endpoints/${id}`;
  const kms = ctx.vertexKey();
  const deps = [...keyDeps(ctx, ctx.settings.region), KEYS.bqDataset];
  for (const d of e.deployments) {
    // A Vertex DeployedModel has no env: the container env is the Model's (ModelContainerSpec.env,
    // plain name/value pairs, no Secret Manager reference).
    // https://cloud.google.com/vertex-ai/docs/reference/rest/v1/ModelContainerSpec
    const secrets = Object.keys(d.secretEnv ?? {});
    if (secrets.length > 0) {
      ctx.problem(`${e.path}/${d.name}`, `deployment env ${secrets.sort().join(', ')} ${secrets.length === 1 ? 'is a Secret' : 'are Secrets'}, but Vertex AI serving containers (ModelContainerSpec.env) take plain values only and a deployed model has no env of its own; on gcp read the secret in the serving code with the Secret Manager client as the endpoint's service account, or serve this endpoint on azure or aws`);
    }
    const literals = Object.keys(d.env ?? {});
    if (literals.length > 0) {
      ctx.problem(`${e.path}/${d.name}`, `deployment env ${literals.sort().join(', ')} is set per deployment, but a Vertex AI deployed model has no env of its own (env is the model's ModelContainerSpec.env); move it to the model's ServingContainer env`);
    }
  }
  let logging: EndpointBody['predictRequestResponseLoggingConfig'];
  if (e.capture.requests || e.capture.responses) {
    if (e.capture.requests !== e.capture.responses) {
      ctx.warn('capture-both', e.path, `Vertex request-response logging always captures both requests and responses; captureRequests=${e.capture.requests}, captureResponses=${e.capture.responses} captures both`);
    }
    if (!(e.capture.samplingRate > 0 && e.capture.samplingRate <= 1)) {
      ctx.problem(e.path, `capture samplingRate must be in (0, 1] on gcp, got ${e.capture.samplingRate}`);
    }
    let table = bigQueryId(`${e.id}_requests`);
    if (e.capture.destination) {
      const dest = ctx.resource(e.capture.destination, 'dataset', e.path);
      if (dest) {
        table = ctx.tableId(dest);
        ctx.warn('capture-destination-schema', e.path, `Vertex writes request-response logs with its own schema; dataset '${dest.path}' must not declare a conflicting schema`);
      }
    }
    logging = { enabled: true, samplingRate: e.capture.samplingRate, bigqueryDestination: { outputUri: ctx.tableUri(table) } };
  }
  const body: EndpointBody = {
    displayName: displayName(`${ctx.envLabel}-${e.id}`),
    ...(e.description ? { description: e.description } : {}),
    labels: ctx.labels(e.path),
    ...(kms ? { encryptionSpec: kms } : {}),
    ...(ctx.model.environment.network.mode === 'private'
      ? { privateServiceConnectConfig: { enablePrivateServiceConnect: true, projectAllowlist: [ctx.settings.project] } }
      : {}),
    ...(logging ? { predictRequestResponseLoggingConfig: logging } : {}),
  };
  ctx.emit({
    key: KEYS.endpoint(e.path),
    path: e.path,
    method: `${AIPLATFORM}.endpoints.create`,
    collection: 'projects.locations.endpoints',
    parent: ctx.parent,
    id,
    document: `vertex/endpoints/${id}.json`,
    body,
    schema: { kind: 'proto', message: `${V1}.Endpoint` },
    dependsOn: deps,
  });
  const split: Record<string, number> = {};
  const deployed: string[] = [];
  for (const d of e.deployments) {
    const at = `${e.path}/${d.name}`;
    const ref = modelRef(ctx, d.model, at);
    const machine = machineSpec(d.resources);
    if ('problem' in machine) ctx.problem(at, machine.problem);
    if (d.minReplicas < 1) ctx.problem(at, `minReplicas ${d.minReplicas} is not allowed on Vertex AI endpoints (at least 1 replica serves); set minReplicas to 1 or more`);
    if (d.maxReplicas < d.minReplicas) ctx.problem(at, `maxReplicas ${d.maxReplicas} is below minReplicas ${d.minReplicas}; raise maxReplicas`);
    const did = deployedModelId(ctx, e.path, d.name);
    split[did] = d.traffic;
    const metricName =
      d.autoscaling.metric === 'cpu' ? 'aiplatform.googleapis.com/prediction/online/cpu/utilization' : 'aiplatform.googleapis.com/prediction/online/request_count';
    const target = d.autoscaling.metric === 'cpu' ? Math.round(d.autoscaling.target) : Math.round(d.autoscaling.target * 60);
    const dm: DeployedModelBody = {
      id: did,
      displayName: displayName(d.name),
      model: ref?.name ?? '',
      serviceAccount: ctx.serviceAccountEmail(e.path),
      dedicatedResources: {
        machineSpec: 'problem' in machine ? { machineType: 'n1-standard-2' } : machine,
        minReplicaCount: d.minReplicas,
        maxReplicaCount: d.maxReplicas,
        autoscalingMetricSpecs: [{ metricName, target }],
      },
    };
    const key = KEYS.deployedModel(e.path, d.name);
    deployed.push(key);
    ctx.emit({
      key,
      path: at,
      method: `${AIPLATFORM}.endpoints.deployModel`,
      collection: 'projects.locations.endpoints',
      parent: name,
      id: did,
      document: `vertex/deployedModels/${id}-${dnsName(d.name, 40)}.json`,
      body: dm,
      schema: { kind: 'proto', message: `${V1}.DeployedModel` },
      requestField: 'deployedModel',
      dependsOn: [KEYS.endpoint(e.path), KEYS.serviceAccount(e.path), ...(ref ? [ref.key] : [])],
    });
  }
  const traffic: EndpointBody = { displayName: body.displayName, labels: body.labels, trafficSplit: split };
  ctx.emit({
    key: KEYS.traffic(e.path),
    path: e.path,
    method: `${AIPLATFORM}.endpoints.patch`,
    collection: 'projects.locations.endpoints',
    parent: ctx.parent,
    id,
    document: `vertex/endpoints/${id}.traffic.json`,
    body: traffic,
    schema: { kind: 'proto', message: `${V1}.Endpoint` },
    dependsOn: deployed,
    updateMask: ['trafficSplit'],
  });
}

function batch(ctx: SynthContext, b: BatchInferenceModel): void {
  const ref = modelRef(ctx, b.model, b.path);
  const spec = compileBatchPipeline(ctx, b, ref?.name ?? '');
  ctx.pipelineDocument(b.path, spec.pipelineInfo.name, spec);
  const output = ctx.resource(b.output, 'dataset', b.path);
  if (output) {
    ctx.warn(
      'batch-output-table',
      b.path,
      `Vertex batch prediction writes each run to a new table 'predictions_<timestamp>' in BigQuery dataset '${ctx.bqDatasetId}', not into '${ctx.tableId(output)}' itself; query or copy from there`,
    );
  }
  if (b.retries > 0) {
    // BatchPredictionJob has no mini-batch retry setting (https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.batchPredictionJobs).
    ctx.warn('batch-retries-whole-job', b.path, `retries ${b.retries} cannot apply to mini-batches: Vertex batch prediction jobs have no mini-batch retry setting; the pipeline task's retryPolicy re-runs the whole batch prediction job up to ${b.retries} times`);
  }
  const deps = [KEYS.bucket, KEYS.metadataStore, KEYS.serviceAccount(b.path), KEYS.bqDataset, ...keyDeps(ctx, ctx.settings.region), ...(ref ? [ref.key] : [])];
  if (ctx.model.resources.some((r) => r.kind === 'dataset' && r.path === b.input)) deps.push(KEYS.table(b.input));
  emitSchedules(ctx, b.path, b.path, spec, b.schedules, deps);
}

/**
 * Per-feature thresholds of `signals` in Vertex v1 units (GCP_METRICS: a Jensen-Shannon distance d
 * becomes the divergence d² on numeric features; categorical features are measured with
 * L-infinity), warning once per conversion the monitor uses. Refused metrics are reported by the
 * capability check (`monitor.metric.*`).
 */
function thresholds(ctx: SynthContext, d: DriftMonitorModel, signals: readonly MonitorSignalModel[], baseline: DatasetModel | undefined, warned: Set<string>): Thresholds {
  const out: Record<string, { value: number }> = {};
  const undefinedOn = new Map<string, string[]>();
  for (const s of signals) {
    for (const f of resolveSignalFeatures(s, baseline?.schema ?? [])) {
      if (f.kind === undefined) {
        if (baseline && baseline.schema.some((c) => c.name === f.feature)) ctx.problem(d.path, `feature '${f.feature}' cannot be monitored: only numeric (int, float) and categorical (string, bool) features can; drop it or derive one`);
        continue;
      }
      const support = metricSupport(GCP_METRICS, f.metric, f.kind);
      if (support === undefined) {
        const key = `${f.metric}\0${f.kind}`;
        undefinedOn.set(key, [...(undefinedOn.get(key) ?? []), f.feature]);
        continue;
      }
      if (support.level === 'refused') continue;
      if (support.level === 'converted' && !warned.has(support.warning)) {
        warned.add(support.warning);
        const list = resolveSignalFeatures(s, baseline?.schema ?? []).filter((x) => x.kind === f.kind && x.metric === f.metric).map((x) => x.feature);
        ctx.warn(support.warning.replace(/^mlplane:gcp:/, ''), d.path, `${support.how} (features ${list.join(', ')})`);
      }
      out[f.feature] = { value: support.level === 'converted' ? support.convert(f.threshold) : f.threshold };
    }
  }
  for (const [key, features] of undefinedOn) {
    const [metric, kind] = key.split('\0');
    ctx.problem(d.path, `metric '${metric}' is not defined on ${kind} features (${[...new Set(features)].join(', ')}); use metric jensenShannonDistance for numeric features and categoricalMetric lInfinity for categorical ones`);
  }
  return out;
}

function monitor(ctx: SynthContext, d: DriftMonitorModel): void {
  const baseline = ctx.resource(d.baseline, 'dataset', d.path);
  if (baseline) {
    const cols = new Set(baseline.schema.map((c) => c.name));
    for (const s of d.signals) for (const t of s.thresholds) if (!cols.has(t.feature)) ctx.problem(d.path, `feature '${t.feature}' is not a column of baseline '${baseline.path}'; use one of ${[...cols].join(', ')}`);
  }
  const emails = d.alerts.flatMap((a) => (a.kind === 'email' ? [a.address] : []));
  if (d.target.kind === 'batch') return batchMonitor(ctx, d, d.target.batch, baseline, emails);
  const e = ctx.resource(d.target.endpoint, 'onlineEndpoint', d.path);
  if (!e) return;
  const targetName = d.target.deployment;
  const chosen = targetName ? e.deployments.filter((x) => x.name === targetName) : e.deployments;
  if (targetName && chosen.length === 0) ctx.problem(d.path, `deployment '${targetName}' is not on endpoint '${e.path}'; use one of ${e.deployments.map((x) => `'${x.name}'`).join(', ')}`);
  const interval = scheduleInterval(d.schedule);
  let monitorInterval = '3600s';
  if ('problem' in interval) ctx.problem(d.path, interval.problem);
  else if (interval.seconds < 3600 || interval.seconds % 3600 !== 0) {
    ctx.problem(d.path, `Vertex model monitoring runs every whole number of hours (at least 1); a schedule every ${interval.seconds}s cannot be honoured; use a multiple of 1 hour`);
  } else monitorInterval = `${interval.seconds}s`;
  const drift = d.signals.filter((s) => s.kind === 'drift');
  const skew = d.signals.filter((s) => s.kind === 'skew');
  const ids = chosen.map((x) => deployedModelId(ctx, e.path, x.name));
  const warned = new Set<string>();
  const skewThresholds = thresholds(ctx, d, skew, baseline, warned);
  const driftThresholds = thresholds(ctx, d, drift, baseline, warned);
  const kms = ctx.vertexKey();
  const body: MonitoringJobBody = {
    displayName: displayName(`${ctx.envLabel}-${d.id}`),
    endpoint: `${ctx.parent}/endpoints/${endpointId(`${ctx.envLabel}-${e.id}`)}`,
    modelDeploymentMonitoringObjectiveConfigs: ids.map((id) => ({
      deployedModelId: id,
      objectiveConfig: {
        trainingDataset: { bigquerySource: { inputUri: baseline ? ctx.tableUri(ctx.tableId(baseline)) : '' } },
        // Skew: production vs the training data; drift: production vs recent production (Vertex's drift baseline).
        ...(skew.length > 0 ? { trainingPredictionSkewDetectionConfig: { skewThresholds: skewThresholds } } : {}),
        ...(drift.length > 0 ? { predictionDriftDetectionConfig: { driftThresholds: driftThresholds } } : {}),
      },
    })),
    modelDeploymentMonitoringScheduleConfig: { monitorInterval, monitorWindow: `${d.lookbackDays * 86400}s` },
    loggingSamplingStrategy: { randomSampleConfig: { sampleRate: e.capture.requests || e.capture.responses ? e.capture.samplingRate : 1 } },
    modelMonitoringAlertConfig: { ...(emails.length > 0 ? { emailAlertConfig: { userEmails: emails } } : {}), enableLogging: true },
    enableMonitoringPipelineLogs: true,
    labels: ctx.labels(d.path),
    ...(kms ? { encryptionSpec: kms } : {}),
  };
  ctx.emit({
    key: KEYS.monitoringJob(d.path),
    path: d.path,
    method: `${AIPLATFORM}.modelDeploymentMonitoringJobs.create`,
    collection: 'projects.locations.modelDeploymentMonitoringJobs',
    parent: ctx.parent,
    id: null,
    document: `vertex/modelDeploymentMonitoringJobs/${dnsName(`${ctx.envLabel}-${d.id}`)}.json`,
    body,
    schema: { kind: 'proto', message: `${V1}.ModelDeploymentMonitoringJob` },
    dependsOn: [KEYS.traffic(e.path), ...(baseline ? [KEYS.table(baseline.path)] : []), ...keyDeps(ctx, ctx.settings.region)],
  });
  if (d.onDrift) retrainGate(ctx, d, ids, [KEYS.monitoringJob(d.path)]);
}

/** Drift-gated retraining: a scheduled pipeline that runs the training DAG only after drift. */
function retrainGate(ctx: SynthContext, d: DriftMonitorModel, deployedIds: readonly string[], deps: readonly string[]): void {
  const action = d.onDrift;
  if (!action) return;
  const training = ctx.resource(action.pipeline, 'pipeline', d.path);
  if (!training) return;
  const known = new Set(training.parameters.map((p) => p.name));
  for (const k of Object.keys(action.parameters)) if (!known.has(k)) ctx.problem(d.path, `retrain parameter '${k}' is not a parameter of '${training.path}'; use one of ${[...known].join(', ') || 'none'}`);
  if (action.gateStep && !training.steps.some((s) => s.kind === 'register' && s.name === action.gateStep)) {
    ctx.problem(d.path, `gate step '${action.gateStep}' is not a register step of '${training.path}'`);
  }
  const spec = compileDriftGatePipeline(ctx, d, training, deployedIds);
  ctx.pipelineDocument(d.path, spec.pipelineInfo.name, spec);
  const gatePath = `${d.path}/gate`;
  // The gate runs the training tasks, so it runs as the training pipeline's service account.
  const cron = vertexCron(d.schedule);
  if ('problem' in cron) {
    ctx.problem(d.path, cron.problem);
    return;
  }
  const body = scheduleBody(ctx, gatePath, training.path, spec, d.schedule, 0, action.parameters);
  if (!body) return;
  ctx.emit({
    key: KEYS.schedule(gatePath, 0),
    path: d.path,
    method: `${AIPLATFORM}.schedules.create`,
    collection: 'projects.locations.schedules',
    parent: ctx.parent,
    id: null,
    document: `vertex/schedules/${spec.pipelineInfo.name}.json`,
    body,
    schema: { kind: 'proto', message: `${V1}.Schedule` },
    dependsOn: [...deps, ...pipelineDeps(ctx, training, training.path)],
  });
}

/**
 * A monitor of a batch inference: Vertex Model Monitoring v2 (v1beta1 API; v1 monitors endpoints
 * only) — a ModelMonitor over the model, and a Schedule of ModelMonitoringJobs comparing the
 * scored input table with the baseline.
 */
function batchMonitor(ctx: SynthContext, d: DriftMonitorModel, batchPath: string, baseline: DatasetModel | undefined, emails: readonly string[]): void {
  const b = ctx.resource(batchPath, 'batchInference', d.path);
  if (!b) return;
  const ref = modelRef(ctx, b.model, d.path);
  const input = ctx.resource(b.input, 'dataset', d.path);
  const monitorId = dnsName(`${ctx.envLabel}-${d.id}`, 63);
  const name = `${ctx.parent}/modelMonitors/${monitorId}`;
  const kms = ctx.vertexKey();
  // Model Monitoring v2 thresholds the Jensen-Shannon divergence (numeric; categorical when asked)
  // or the L-infinity distance (categorical): a distance threshold d is the divergence d², exactly.
  // https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/ModelMonitoringObjectiveSpec
  const resolved = d.signals.flatMap((s) => resolveSignalFeatures(s, baseline?.schema ?? []));
  const conditions: Record<string, { threshold: number }> = {};
  let categorical: DataDriftSpecBody['categoricalMetricType'] = 'l_infinity';
  const converted: string[] = [];
  for (const f of resolved) {
    if (f.kind === undefined) continue;
    if (f.metric === 'populationStabilityIndex' || f.metric === 'normalizedWassersteinDistance') continue; // refused by the capability check
    const js = f.metric === 'jensenShannonDistance';
    if (f.kind === 'categorical' && js) categorical = 'jensen_shannon_divergence';
    if (js) converted.push(f.feature);
    conditions[f.feature] = { threshold: js ? jensenShannonDivergenceOf(f.threshold) : f.threshold };
  }
  if (converted.length > 0) {
    ctx.warn('js-distance-as-divergence', d.path, `Vertex thresholds the Jensen-Shannon divergence (base 2); the distance threshold d is written as d² (same decision) (features ${[...new Set(converted)].join(', ')})`);
  }
  const drift: DataDriftSpecBody = {
    features: [...new Set(resolved.map((t) => t.feature))],
    categoricalMetricType: categorical,
    numericMetricType: 'jensen_shannon_divergence',
    featureAlertConditions: conditions,
  };
  const tableInput = (ds: DatasetModel | undefined): MonitoringInputBody => ({ columnizedDataset: { bigquerySource: { tableUri: ds ? ctx.tableUri(ctx.tableId(ds)) : '' } } });
  const notification: MonitoringNotificationBody = { ...(emails.length > 0 ? { emailConfig: { userEmails: emails } } : {}), enableCloudLogging: true };
  const output: MonitoringOutputBody = { gcsBaseDirectory: { outputUriPrefix: `gs://${ctx.stagingBucket}/${ctx.envLabel}/model-monitoring/${monitorId}` } };
  const monitorBody: ModelMonitorBody = {
    displayName: displayName(`${ctx.envLabel}-${d.id}`),
    modelMonitoringTarget: { vertexModel: { model: ref ? ref.name.replace(/@.*$/, '') : '' } },
    trainingDataset: tableInput(baseline),
    tabularObjective: { featureDriftSpec: drift },
    notificationSpec: notification,
    outputSpec: output,
    ...(kms ? { encryptionSpec: kms } : {}),
  };
  ctx.emit({
    key: KEYS.modelMonitor(d.path),
    path: d.path,
    method: `${AIPLATFORM}.modelMonitors.create`,
    collection: 'projects.locations.modelMonitors',
    parent: ctx.parent,
    id: monitorId,
    document: `vertex-v1beta1/modelMonitors/${monitorId}.json`,
    body: monitorBody,
    schema: { kind: 'proto', message: `${V1BETA1}.ModelMonitor` },
    dependsOn: [...(ref ? [ref.key] : []), ...(baseline ? [KEYS.table(baseline.path)] : []), KEYS.bucket, ...keyDeps(ctx, ctx.settings.region)],
  });
  const cron = vertexCron(d.schedule);
  if ('problem' in cron) {
    ctx.problem(d.path, cron.problem);
    return;
  }
  // One scheduled job per signal kind: skew against the training data, drift against the input
  // table one lookback earlier (TimeOffset: offset from the cut-off time, then the window).
  const window = `${d.lookbackDays}d`;
  const kinds = [...new Set(d.signals.map((s) => s.kind))];
  kinds.forEach((kind, i) => {
    const baselineDataset: MonitoringInputBody = kind === 'skew' ? tableInput(baseline) : { ...tableInput(input), timeOffset: { offset: window, window } };
    const schedule: MonitoringScheduleBody = {
      displayName: displayName(`${ctx.envLabel}-${d.id}${kinds.length > 1 ? `-${kind}` : ''}`),
      cron: cron.cron,
      maxConcurrentRunCount: '1',
      createModelMonitoringJobRequest: {
        parent: name,
        modelMonitoringJob: {
          displayName: displayName(`${ctx.envLabel}-${d.id}${kinds.length > 1 ? `-${kind}` : ''}`),
          modelMonitoringSpec: {
            objectiveSpec: {
              tabularObjective: { featureDriftSpec: drift },
              baselineDataset,
              targetDataset: { ...tableInput(input), timeOffset: { offset: '0d', window } },
            },
            notificationSpec: notification,
            outputSpec: output,
          },
        },
      },
    };
    ctx.emit({
      key: KEYS.schedule(d.path, i),
      path: d.path,
      method: `${AIPLATFORM}.schedules.create`,
      collection: 'projects.locations.schedules',
      parent: ctx.parent,
      id: null,
      document: `vertex-v1beta1/schedules/${monitorId}${i > 0 ? `-${kind}` : ''}.json`,
      body: schedule,
      schema: { kind: 'proto', message: `${V1BETA1}.Schedule` },
      dependsOn: [KEYS.modelMonitor(d.path), ...(input ? [KEYS.table(input.path)] : [])],
    });
  });
  if (d.onDrift) retrainGate(ctx, d, [], kinds.map((_, i) => KEYS.schedule(d.path, i)));
}

// ---------------------------------------------------------------------------------------------
// Grants

/**
 * Stands for "the Vertex AI permissions below, in this identity's project custom role" where a
 * grant needs more than read at project level: `roles/aiplatform.user` holds every Vertex AI
 * permission, so mlplane never binds it.
 */
export const VERTEX_CUSTOM = 'custom:vertex';

/** IAM roles granted for an access level on a resource kind; `scope` says where the binding goes. */
export const GRANT_ROLES: Readonly<Record<ResourceModel['kind'], { readonly read: string; readonly write: string; readonly scope: 'resource' | 'project' }>> = {
  dataset: { read: 'roles/bigquery.dataViewer', write: 'roles/bigquery.dataEditor', scope: 'resource' },
  featureTable: { read: 'roles/aiplatform.featurestoreDataViewer', write: 'roles/aiplatform.featurestoreDataWriter', scope: 'resource' },
  modelRegistry: { read: 'roles/aiplatform.viewer', write: VERTEX_CUSTOM, scope: 'project' },
  computePool: { read: 'roles/aiplatform.viewer', write: VERTEX_CUSTOM, scope: 'project' },
  pipeline: { read: 'roles/aiplatform.viewer', write: VERTEX_CUSTOM, scope: 'project' },
  onlineEndpoint: { read: VERTEX_CUSTOM, write: VERTEX_CUSTOM, scope: 'project' },
  batchInference: { read: 'roles/aiplatform.viewer', write: VERTEX_CUSTOM, scope: 'project' },
  driftMonitor: { read: 'roles/aiplatform.viewer', write: VERTEX_CUSTOM, scope: 'project' },
  // Secrets are only ever read (env): accessor on that one secret.
  secret: { read: 'roles/secretmanager.secretAccessor', write: 'roles/secretmanager.secretAccessor', scope: 'resource' },
};

/**
 * The Vertex AI permissions of a grant bound at project level through a custom role (Vertex AI has
 * no resource-level IAM for these resources). Names from the IAM reference
 * (https://cloud.google.com/iam/docs/roles-permissions/aiplatform; every one is in
 * `roles/aiplatform.user`).
 */
export const VERTEX_PERMISSIONS: Readonly<Partial<Record<ResourceModel['kind'], { readonly read?: readonly string[]; readonly write: readonly string[] }>>> = {
  modelRegistry: { write: ['aiplatform.models.get', 'aiplatform.models.list', 'aiplatform.models.update', 'aiplatform.models.upload'] },
  computePool: { write: ['aiplatform.customJobs.cancel', 'aiplatform.customJobs.create', 'aiplatform.customJobs.get'] },
  pipeline: { write: ['aiplatform.pipelineJobs.cancel', 'aiplatform.pipelineJobs.create', 'aiplatform.pipelineJobs.get'] },
  onlineEndpoint: {
    read: ['aiplatform.endpoints.predict'],
    write: ['aiplatform.endpoints.deploy', 'aiplatform.endpoints.get', 'aiplatform.endpoints.predict', 'aiplatform.endpoints.undeploy', 'aiplatform.endpoints.update'],
  },
  batchInference: { write: ['aiplatform.batchPredictionJobs.cancel', 'aiplatform.batchPredictionJobs.create', 'aiplatform.batchPredictionJobs.get'] },
  driftMonitor: { write: ['aiplatform.modelMonitoringJobs.create', 'aiplatform.modelMonitoringJobs.get', 'aiplatform.modelMonitors.get', 'aiplatform.modelMonitors.update'] },
};

/**
 * What a workload that runs as a Vertex pipeline needs whatever its grants: run its pipeline job and
 * the custom jobs of its tasks, and record their ML Metadata (artifacts, executions, contexts and
 * their lineage in the project's metadata store), as the KFP launcher does.
 */
export const PIPELINE_RUNNER_PERMISSIONS: readonly string[] = [
  'aiplatform.artifacts.create',
  'aiplatform.artifacts.get',
  'aiplatform.artifacts.list',
  'aiplatform.artifacts.update',
  'aiplatform.contexts.addContextArtifactsAndExecutions',
  'aiplatform.contexts.addContextChildren',
  'aiplatform.contexts.create',
  'aiplatform.contexts.get',
  'aiplatform.contexts.list',
  'aiplatform.contexts.update',
  'aiplatform.customJobs.cancel',
  'aiplatform.customJobs.create',
  'aiplatform.customJobs.get',
  'aiplatform.executions.addExecutionEvents',
  'aiplatform.executions.create',
  'aiplatform.executions.get',
  'aiplatform.executions.list',
  'aiplatform.executions.update',
  'aiplatform.metadataStores.get',
  'aiplatform.pipelineJobs.create',
  'aiplatform.pipelineJobs.get',
];

/** Roles every pipeline / batch service account needs to run at all (with `PIPELINE_RUNNER_PERMISSIONS` in its custom role). */
export const BASELINE_ROLES = ['roles/bigquery.jobUser'] as const;

/** Member standing for the project's Vertex AI service agent; the engine resolves it to `service-<number>@gcp-sa-aiplatform.iam.gserviceaccount.com`. */
export const VERTEX_SERVICE_AGENT = 'serviceAgent:aiplatform.googleapis.com';
/** The project's Cloud Storage service agent (`service-<number>@gs-project-accounts.iam.gserviceaccount.com`). */
export const STORAGE_SERVICE_AGENT = 'serviceAgent:storage.googleapis.com';
/** BigQuery's encryption service account (`bq-<number>@bigquery-encryption.iam.gserviceaccount.com`). */
export const BIGQUERY_SERVICE_AGENT = 'serviceAgent:bigquery.googleapis.com';

/**
 * The role of a workload on the staging bucket, which is its pipeline root: pipelines and batch
 * inferences (which run as pipelines) write and read their artifacts there. `objectUser` reads,
 * writes and deletes objects but cannot change the bucket or its IAM (unlike `objectAdmin`).
 */
export const PIPELINE_ROOT_ROLE = 'roles/storage.objectUser';

/** The members a grant's principal acts as. */
function members(ctx: SynthContext, g: GrantModel): string[] {
  const p = g.principal;
  switch (p.kind) {
    case 'step':
      return [`serviceAccount:${ctx.serviceAccountEmail(p.pipeline)}`];
    case 'deployment':
      return [`serviceAccount:${ctx.serviceAccountEmail(p.endpoint)}`];
    case 'batchInference':
      return [`serviceAccount:${ctx.serviceAccountEmail(p.batch)}`];
    case 'driftMonitor': {
      // Model monitoring reads data as the project's Vertex AI service agent; a drift gate runs as
      // the training pipeline's service account.
      const m = ctx.model.resources.find((r) => r.path === p.monitor);
      const gate = m?.kind === 'driftMonitor' && m.onDrift ? [`serviceAccount:${ctx.serviceAccountEmail(m.onDrift.pipeline)}`] : [];
      return [VERTEX_SERVICE_AGENT, ...gate];
    }
    default: {
      const never: never = p;
      throw new Error(`unhandled principal ${JSON.stringify(never)}`);
    }
  }
}

function grants(ctx: SynthContext): void {
  const project: Map<string, Set<string>> = new Map();
  const perResource = new Map<string, { target: ResourceModel; roles: Map<string, Set<string>> }>();
  const add = (map: Map<string, Set<string>>, role: string, who: string) => {
    const set = map.get(role) ?? new Set<string>();
    set.add(who);
    map.set(role, set);
  };
  // Vertex AI permissions bound at project level, per member, through one custom role each.
  const custom = new Map<string, { path: string; permissions: Set<string> }>();
  const permit = (who: string, path: string, permissions: readonly string[]) => {
    const entry = custom.get(who) ?? { path, permissions: new Set<string>() };
    for (const p of permissions) entry.permissions.add(p);
    custom.set(who, entry);
  };
  const workloadOf = new Map(workloads(ctx).map((w) => [`serviceAccount:${ctx.serviceAccountEmail(w.path)}`, w.path]));
  for (const w of workloads(ctx)) {
    if (w.kind === 'onlineEndpoint') continue;
    const who = `serviceAccount:${ctx.serviceAccountEmail(w.path)}`;
    for (const role of BASELINE_ROLES) add(project, role, who);
    permit(who, w.path, PIPELINE_RUNNER_PERMISSIONS);
  }
  for (const g of ctx.model.grants) {
    const target = ctx.model.resources.find((r) => r.path === g.resource);
    if (!target) {
      ctx.problem(g.resource, `a grant targets '${g.resource}', which is not a resource of this environment`);
      continue;
    }
    const roles = GRANT_ROLES[target.kind];
    const role = g.access === 'read' ? roles.read : roles.write;
    for (const who of members(ctx, g)) grantOne(target, role, who, g.access);
  }
  function grantOne(target: ResourceModel, role: string, who: string, access: GrantModel['access']): void {
    const roles = GRANT_ROLES[target.kind];
    if (role === VERTEX_CUSTOM) {
      const perms = VERTEX_PERMISSIONS[target.kind];
      permit(who, workloadOf.get(who) ?? ctx.model.environment.path, (access === 'read' ? perms?.read : perms?.write) ?? []);
      return;
    }
    if (roles.scope === 'project') {
      add(project, role, who);
      return;
    }
    const keyed = (key: string) => {
      const entry = perResource.get(key) ?? { target, roles: new Map<string, Set<string>>() };
      perResource.set(key, entry);
      return entry.roles;
    };
    if (target.kind === 'featureTable') {
      // Offline reads go to the BigQuery view; online reads to the feature view.
      add(keyed(`${target.path}#view`), access === 'read' ? 'roles/bigquery.dataViewer' : 'roles/bigquery.dataEditor', who);
      if (target.online) add(keyed(target.path), role, who);
    } else {
      add(keyed(target.path), role, who);
    }
  }
  // A secret nobody reads any more still gets its (empty) policy document, so that the engine
  // revokes the accessor bindings it once granted on it.
  for (const r of ctx.model.resources) if (r.kind === 'secret' && !perResource.has(r.path)) perResource.set(r.path, { target: r, roles: new Map() });
  const policy = (roles: Map<string, Set<string>>): IamPolicyBody => ({
    bindings: [...roles.keys()].sort().map((role) => ({ role, members: [...(roles.get(role) ?? [])].sort() })),
  });
  for (const [key, { target, roles }] of [...perResource.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const isView = key.endsWith('#view');
    if (target.kind === 'dataset' || isView) {
      const tableId = isView ? bigQueryId(target.id) : ctx.tableId(target.path);
      ctx.emit({
        key: KEYS.iam(key),
        path: target.path,
        method: 'bigquery.tables.setIamPolicy',
        collection: 'tables',
        parent: `projects/${ctx.settings.project}/datasets/${ctx.bqDatasetId}`,
        id: tableId,
        document: `iam/policies/bigquery-${tableId}.json`,
        body: policy(roles),
        schema: { kind: 'discovery', api: 'bigquery.v2', schema: 'Policy' },
        requestField: 'policy',
        dependsOn: [KEYS.table(target.path), ...serviceAccountDeps(ctx, roles)],
      });
    } else if (target.kind === 'featureTable') {
      const storeId = featureStoreId(ctx);
      ctx.emit({
        key: KEYS.iam(key),
        path: target.path,
        method: `${AIPLATFORM}.featureOnlineStores.featureViews.setIamPolicy`,
        collection: 'projects.locations.featureOnlineStores.featureViews',
        parent: `${ctx.parent}/featureOnlineStores/${storeId}`,
        id: snakeId(target.id),
        document: `iam/policies/featureView-${snakeId(target.id)}.json`,
        body: policy(roles),
        schema: { kind: 'proto', message: 'google.iam.v1.Policy' },
        requestField: 'policy',
        dependsOn: [KEYS.featureView(target.path), ...serviceAccountDeps(ctx, roles)],
      });
    } else if (target.kind === 'secret') {
      // Secret-level IAM: the readers' service accounts get secretAccessor on that secret only.
      // https://cloud.google.com/secret-manager/docs/manage-access-to-secrets
      const project = target.gcp.project ?? ctx.settings.project;
      ctx.emit({
        key: KEYS.iam(key),
        path: target.path,
        method: 'secretmanager.projects.secrets.setIamPolicy',
        collection: 'projects.secrets',
        parent: `projects/${project}`,
        id: target.gcp.secretName,
        document: `iam/policies/secret-${target.gcp.secretName}.json`,
        body: policy(roles),
        schema: { kind: 'proto', message: 'google.iam.v1.Policy' },
        requestField: 'policy',
        dependsOn: serviceAccountDeps(ctx, roles),
      });
    }
  }
  // The pipeline root: a bucket-level binding for each workload that runs as a pipeline.
  const bucketRoles = new Map<string, Set<string>>();
  for (const w of workloads(ctx)) if (w.kind !== 'onlineEndpoint') add(bucketRoles, PIPELINE_ROOT_ROLE, `serviceAccount:${ctx.serviceAccountEmail(w.path)}`);
  if (bucketRoles.size > 0) {
    ctx.emit({
      key: KEYS.bucketPolicy,
      path: ctx.model.environment.path,
      method: 'storage.buckets.setIamPolicy',
      collection: 'buckets',
      parent: '',
      id: ctx.stagingBucket,
      document: 'iam/policies/staging-bucket.json',
      body: policy(bucketRoles),
      schema: { kind: 'discovery', api: 'storage.v1', schema: 'Policy' },
      dependsOn: [KEYS.bucket, ...serviceAccountDeps(ctx, bucketRoles)],
    });
  }
  const roleKeys: string[] = [];
  for (const [who, { path, permissions }] of [...custom.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (permissions.size === 0) continue;
    const roleId = customRoleId(ctx, who);
    const body: CustomRoleBody = {
      roleId,
      role: {
        title: displayName(`mlplane ${path} (Vertex AI)`).slice(0, 100),
        // Custom roles have no labels: the description carries the ownership label.
        description: `Vertex AI permissions of ${who.replace(/^serviceAccount:/, '')} implied by its grants in environment '${ctx.model.environment.path}' (mlplane-env=${ctx.envLabel})`.slice(0, 256),
        includedPermissions: [...permissions].sort(),
        stage: 'GA',
      },
    };
    const key = KEYS.customRole(workloadOf.has(who) ? path : who);
    ctx.emit({
      key,
      path,
      method: 'iam.projects.roles.create',
      collection: 'projects.roles',
      parent: `projects/${ctx.settings.project}`,
      id: roleId,
      document: `iam/roles/${roleId}.json`,
      body,
      schema: { kind: 'discovery', api: 'iam.v1', schema: 'CreateRoleRequest' },
      dependsOn: [],
    });
    roleKeys.push(key);
    add(project, `projects/${ctx.settings.project}/roles/${roleId}`, who);
  }
  ctx.emit({
    key: KEYS.iam(ctx.model.environment.path),
    path: ctx.model.environment.path,
    method: 'cloudresourcemanager.projects.setIamPolicy',
    collection: 'projects',
    parent: '',
    id: ctx.settings.project,
    document: 'iam/policies/project.json',
    body: policy(project),
    schema: { kind: 'discovery', api: 'cloudresourcemanager.v3', schema: 'Policy' },
    requestField: 'policy',
    dependsOn: [...roleKeys, ...serviceAccountDeps(ctx, project)],
  });
}

/**
 * The id of a member's custom role (`[a-zA-Z0-9_.]{3,64}`): the service account id with `_` for
 * `-` (already unique per environment), or for a service agent the environment label and the API.
 */
function customRoleId(ctx: SynthContext, member: string): string {
  const sa = /^serviceAccount:([^@]+)@/.exec(member);
  const base = sa ? (sa[1] as string) : `mlp-${ctx.envLabel}-${member.replace(/^serviceAgent:/, '').split('.')[0] as string}-agent`;
  return base.replace(/[^a-zA-Z0-9_.]/g, '_').slice(0, 64);
}

/** Manifest keys of the service accounts a policy's members need. */
function serviceAccountDeps(ctx: SynthContext, roles: Map<string, Set<string>>): string[] {
  const members = new Set([...roles.values()].flatMap((s) => [...s]));
  return workloads(ctx)
    .filter((w) => members.has(`serviceAccount:${ctx.serviceAccountEmail(w.path)}`))
    .map((w) => KEYS.serviceAccount(w.path));
}
