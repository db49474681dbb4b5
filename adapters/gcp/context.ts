/**
 * Shared state of one gcp synth: settings, lookups, derived names, collected problems and
 * warnings, and the documents emitted so far.
 */
import type { NameClaim, SynthWarning } from '../../lib/adapter';
import type { Problem } from '../../lib/core/errors';
import type { DatasetModel, EnvironmentModel, ResourceModel } from '../../lib/model/types';
import type { BodySchema, KmsKeyRef, Labels, ManifestEntry } from './documents';
import { bigQueryId, dnsName, labelValue, serviceAccountId, shortHash, tagValue, uniqueLabelKeys } from './names';
import { kmsLocationForBigQuery, type GcpSettings } from './settings';

/** Label keys mlplane puts on every resource it owns. */
export const ENV_LABEL = 'mlplane-env';
/** Label key holding the construct path (hashed when needed). */
export const PATH_LABEL = 'mlplane-path';

/** Options of `SynthContext.emit`. */
export interface EmitOptions {
  readonly key: string;
  readonly path: string;
  readonly method: string;
  readonly collection: string;
  readonly parent: string;
  readonly id: string | null;
  readonly document: string;
  readonly body: unknown;
  readonly schema: BodySchema;
  readonly dependsOn: readonly string[];
  readonly retain?: boolean;
  readonly updateMask?: readonly string[];
  readonly requestField?: string;
}

/** The state of one synth run. */
export class SynthContext {
  public readonly problems: Problem[] = [];
  public readonly warnings: SynthWarning[] = [];
  public readonly entries: ManifestEntry[] = [];
  public readonly documents: Record<string, unknown> = {};
  /** `projects/<p>/locations/<region>`. */
  public readonly parent: string;
  /** BigQuery dataset id of the environment. */
  public readonly bqDatasetId: string;
  /** Value of the `mlplane-env` label. */
  public readonly envLabel: string;
  private readonly byPath: ReadonlyMap<string, ResourceModel>;

  constructor(
    public readonly model: EnvironmentModel,
    public readonly settings: GcpSettings,
  ) {
    this.parent = `projects/${settings.project}/locations/${settings.region}`;
    const env = model.environment;
    this.bqDatasetId = bigQueryId(`${env.name}_${env.stage}`);
    this.envLabel = labelValue(dnsName(`${env.name}-${env.stage}`, 63));
    this.byPath = new Map(model.resources.map((r) => [r.path, r]));
  }

  /** Record a problem; synth throws all of them at the end. */
  public problem(path: string, message: string): void {
    if (this.problems.some((p) => p.path === path && p.message === message)) return;
    this.problems.push({ path, message });
  }

  /** Record a warning with a stable id. */
  public warn(id: string, path: string, message: string): void {
    this.warnings.push({ id: `mlplane:gcp:${id}`, path, message });
  }

  /** The resource at `path`, or `undefined` (and a problem) when absent or of another kind. */
  public resource<K extends ResourceModel['kind']>(path: string, kind: K, from: string): Extract<ResourceModel, { kind: K }> | undefined {
    const r = this.byPath.get(path);
    if (!r || r.kind !== kind) {
      this.problem(from, `references ${kind} '${path}', which is not a ${kind} of this environment; reference a ${kind} defined in '${this.model.environment.path}'`);
      return undefined;
    }
    return r as Extract<ResourceModel, { kind: K }>;
  }

  /**
   * Names this environment uses in the project that another environment could derive too: the
   * ownership label (the engine's destroy deletes whatever carries it), the BigQuery dataset, and
   * every resource id it derives. Names it does not derive are shared by design: the project and
   * staging bucket of the settings, and Vertex's one `default` metadata store per region. The
   * build checks the claims across environments (`nameCollisions`).
   */
  public sharedNames(): NameClaim[] {
    const env = this.model.environment;
    const project = `project ${this.settings.project}`;
    const notDerived = new Set([this.settings.project, ...(this.settings.stagingBucket ? [this.settings.stagingBucket] : []), 'default']);
    return [
      { scope: project, what: `ownership label ${ENV_LABEL}`, name: this.envLabel, path: env.path },
      ...this.entries.filter((e) => e.id !== null && !notDerived.has(e.id)).map((e) => ({ scope: e.parent || project, what: e.collection, name: e.id as string, path: e.path })),
    ];
  }

  /** Labels of the resource at `path`: user tags plus ownership labels. */
  public labels(path: string): Labels {
    const out: Record<string, string> = {};
    const tags = this.model.environment.tags;
    const keys = uniqueLabelKeys(Object.keys(tags).sort());
    for (const [k, key] of keys) {
      const value = tagValue(tags[k] ?? '');
      out[key] = value;
      this.lossyTag(k, key, tags[k] ?? '', value);
    }
    out[ENV_LABEL] = this.envLabel;
    out[PATH_LABEL] = labelValue(path);
    return out;
  }

  private readonly lossyTags = new Set<string>();

  /** Warn once per tag whose key or value GCP's label rules change (lowercase, characters, length). */
  private lossyTag(key: string, labelKey: string, value: string, labelValue: string): void {
    if (this.lossyTags.has(key)) return;
    this.lossyTags.add(key);
    const path = this.model.environment.path;
    // camelCase → kebab-case is the documented spelling of keys; anything beyond that loses information.
    if (labelKey !== key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()) {
      this.warn('label-key-changed', path, `tag key '${key}' becomes GCP label key '${labelKey}' (label keys are lowercase letters, digits, '_' and '-', at most 63); filter by '${labelKey}' in GCP, or use that spelling as the tag key`);
    }
    if (labelValue !== value) {
      this.warn('label-value-changed', path, `tag '${key}' value '${value}' becomes GCP label value '${labelValue}' (label values are lowercase letters, digits, '_' and '-', at most 63); filter by '${labelValue}' in GCP, or use that spelling as the tag value`);
    }
  }

  /** BigQuery table id of a dataset construct. */
  public tableId(dataset: DatasetModel | string): string {
    const id = typeof dataset === 'string' ? (this.byPath.get(dataset)?.id ?? dataset.split('/').pop() ?? dataset) : dataset.id;
    return bigQueryId(id);
  }

  /** `bq://project.dataset.table` of a dataset construct (or of any table id of the environment). */
  public tableUri(tableId: string): string {
    return `bq://${this.settings.project}.${this.bqDatasetId}.${tableId}`;
  }

  /**
   * The URI pipeline steps receive for a dataset: its BigQuery table (`bq://…`), or for an
   * external dataset the files it points at.
   */
  public datasetUri(dataset: DatasetModel): string {
    return dataset.source.kind === 'external' ? dataset.source.uri : this.tableUri(this.tableId(dataset));
  }

  /** BigQuery REST resource name of a table. */
  public tableResource(tableId: string): string {
    return `projects/${this.settings.project}/datasets/${this.bqDatasetId}/tables/${tableId}`;
  }

  /** The Cloud KMS key Vertex resources use, when the environment is customer-managed. */
  public vertexKey(): KmsKeyRef | undefined {
    return this.kmsKey(this.settings.region);
  }

  /** The Cloud KMS key BigQuery uses (same location as the BigQuery data). */
  public bigQueryKey(): KmsKeyRef | undefined {
    return this.kmsKey(kmsLocationForBigQuery(this.settings.bigqueryLocation));
  }

  /** Key ring id of the environment. */
  /** The staging bucket: the setting, else `<project>-<environment label>` (at most 63 characters). */
  public get stagingBucket(): string {
    if (this.settings.stagingBucket) return this.settings.stagingBucket;
    const name = `${this.settings.project}-${this.envLabel}`.replace(/_/g, '-');
    return name.length <= 63 ? name : `${name.slice(0, 54).replace(/-+$/, '')}-${shortHash(name, 8)}`;
  }

  public keyRingId(): string {
    return `mlplane-${this.envLabel}`;
  }

  private kmsKey(location: string): KmsKeyRef | undefined {
    const enc = this.model.environment.encryption;
    if (enc.kind !== 'customer-managed') return undefined;
    return { kmsKeyName: `projects/${this.settings.project}/locations/${location}/keyRings/${this.keyRingId()}/cryptoKeys/${enc.keyName}` };
  }

  /** Service account id for a workload (a pipeline, an endpoint, a batch job, a monitor). */
  public serviceAccountId(workloadPath: string): string {
    return serviceAccountId(workloadPath.split('/').slice(1).join('-') || workloadPath, `${this.envLabel}/${workloadPath}`);
  }

  /** Service account e-mail for a workload. */
  public serviceAccountEmail(workloadPath: string): string {
    return `${this.serviceAccountId(workloadPath)}@${this.settings.project}.iam.gserviceaccount.com`;
  }

  /** `gs://` root of the pipeline runs of a pipeline. */
  public pipelineRoot(pipelinePath: string): string {
    return `gs://${this.stagingBucket}/${this.envLabel}/pipeline-root/${labelValue(pipelinePath)}`;
  }

  /** Vertex model resource name. */
  public modelName(modelId: string): string {
    return `${this.parent}/models/${modelId}`;
  }

  /** A short tag for a manifest key. */
  public hash(text: string): string {
    return shortHash(text);
  }

  /** Add a pipeline spec document (`pipelines/<name>.json`) of the construct at `path`. */
  public pipelineDocument(path: string, name: string, spec: unknown): void {
    const doc = `pipelines/${name}.json`;
    const owner = this.pipelineOwners.get(doc);
    if (owner !== undefined) {
      this.problem(path, `becomes the same KFP pipeline '${name}' as '${owner}'; rename one of the two constructs`);
      return;
    }
    this.pipelineOwners.set(doc, path);
    this.documents[doc] = spec;
  }

  private readonly pipelineOwners = new Map<string, string>();

  /** Emit a document and its manifest entry. */
  public emit(options: EmitOptions): void {
    const clash = this.entries.find((e) => e.document === options.document || e.key === options.key);
    if (clash) {
      this.problem(
        options.path,
        `becomes the same GCP resource as '${clash.path}' (${options.collection} '${options.id ?? options.document}'); GCP names are lowercase and shortened, so rename one of the two constructs`,
      );
      return;
    }
    this.documents[options.document] = options.body;
    this.entries.push({
      key: options.key,
      path: options.path,
      method: options.method,
      collection: options.collection,
      parent: options.parent,
      id: options.id,
      document: options.document,
      schema: options.schema,
      dependsOn: [...new Set(options.dependsOn)].sort(),
      retain: options.retain ?? false,
      ...(options.updateMask ? { updateMask: options.updateMask } : {}),
      ...(options.requestField ? { requestField: options.requestField } : {}),
    });
  }
}
