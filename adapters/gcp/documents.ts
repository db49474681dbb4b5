/**
 * Typed REST bodies the gcp target emits, in the exact proto3-JSON / REST shape of Vertex AI v1,
 * BigQuery v2 and IAM v1, plus the manifest that lists them for the deploy engine.
 *
 * Only the fields mlplane sets are typed; every one of them exists in the public API (the
 * conformance tests check every key against the protos and the discovery document).
 */
import type { JsonValue, PipelineSpec } from './kfp-types';

/** `google.cloud.aiplatform.v1.EncryptionSpec` / BigQuery `EncryptionConfiguration`. */
export interface KmsKeyRef {
  readonly kmsKeyName: string;
}

/** Resource labels (`mlplane-env`, `mlplane-path`, user tags). */
export type Labels = Readonly<Record<string, string>>;

// ---------------------------------------------------------------------------------------------
// BigQuery v2

/** BigQuery `TableFieldSchema`. */
export interface BqField {
  readonly name: string;
  readonly type: 'STRING' | 'INTEGER' | 'FLOAT' | 'BOOLEAN' | 'TIMESTAMP' | 'DATE' | 'RECORD';
  readonly mode: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  readonly description?: string;
  readonly fields?: readonly BqField[];
}

/** BigQuery `Dataset` (insert body). */
export interface BqDatasetBody {
  readonly datasetReference: { readonly projectId: string; readonly datasetId: string };
  readonly location: string;
  readonly friendlyName: string;
  readonly description?: string;
  readonly labels: Labels;
  readonly defaultEncryptionConfiguration?: KmsKeyRef;
  /** Dataset ACL; when given it replaces BigQuery's defaults, so they are listed too. */
  readonly access?: readonly ({ readonly role: 'OWNER' | 'WRITER' | 'READER' } & ({ readonly specialGroup: string } | { readonly userByEmail: string }))[];
}

/** BigQuery `Table` (insert body): a native table, an external table or a view. */
export interface BqTableBody {
  readonly tableReference: { readonly projectId: string; readonly datasetId: string; readonly tableId: string };
  readonly friendlyName: string;
  readonly description?: string;
  readonly labels: Labels;
  readonly schema?: { readonly fields: readonly BqField[] };
  readonly timePartitioning?: { readonly type: 'HOUR' | 'DAY' | 'MONTH' | 'YEAR'; readonly field?: string; readonly expirationMs?: string };
  readonly clustering?: { readonly fields: readonly string[] };
  readonly encryptionConfiguration?: KmsKeyRef;
  readonly externalDataConfiguration?: {
    readonly sourceUris: readonly string[];
    readonly sourceFormat: 'PARQUET' | 'CSV' | 'NEWLINE_DELIMITED_JSON';
    readonly autodetect: boolean;
  };
  readonly view?: { readonly query: string; readonly useLegacySql: boolean };
}

// ---------------------------------------------------------------------------------------------
// Vertex AI v1

/** `google.cloud.aiplatform.v1.Dataset` (tabular, over BigQuery). */
export interface VertexDatasetBody {
  readonly displayName: string;
  readonly description?: string;
  readonly metadataSchemaUri: string;
  readonly metadata: { readonly inputConfig: { readonly bigquerySource: { readonly uri: string } } };
  readonly labels: Labels;
  readonly encryptionSpec?: KmsKeyRef;
}

/** `google.cloud.aiplatform.v1.MetadataStore`. */
export interface MetadataStoreBody {
  readonly description: string;
  readonly encryptionSpec?: KmsKeyRef;
}

/** `google.cloud.aiplatform.v1.Tensorboard`. */
export interface TensorboardBody {
  readonly displayName: string;
  readonly description: string;
  readonly labels: Labels;
  readonly encryptionSpec?: KmsKeyRef;
}

/** `google.cloud.aiplatform.v1.FeatureOnlineStore` (optimized serving). */
export interface FeatureOnlineStoreBody {
  readonly optimized: Record<string, never>;
  readonly labels: Labels;
  readonly dedicatedServingEndpoint?: {
    readonly privateServiceConnectConfig: { readonly enablePrivateServiceConnect: boolean; readonly projectAllowlist: readonly string[] };
  };
  readonly encryptionSpec?: KmsKeyRef;
}

/** `google.cloud.aiplatform.v1.FeatureView` over a BigQuery source. */
export interface FeatureViewBody {
  readonly bigQuerySource: { readonly uri: string; readonly entityIdColumns: readonly string[] };
  readonly syncConfig?: { readonly cron: string };
  readonly labels: Labels;
}

/** `google.cloud.aiplatform.v1.ModelContainerSpec`. */
export interface ModelContainerSpecBody {
  readonly imageUri: string;
  readonly env?: readonly { readonly name: string; readonly value: string }[];
  readonly ports: readonly { readonly containerPort: number }[];
  readonly predictRoute: string;
  readonly healthRoute: string;
}

/** `google.cloud.aiplatform.v1.Model` (upload body's `model`). */
export interface ModelBody {
  readonly displayName: string;
  readonly description?: string;
  readonly versionAliases: readonly string[];
  readonly versionDescription: string;
  readonly containerSpec: ModelContainerSpecBody;
  readonly labels: Labels;
  readonly encryptionSpec?: KmsKeyRef;
}

/** `google.cloud.aiplatform.v1.Endpoint`. */
export interface EndpointBody {
  readonly displayName: string;
  readonly description?: string;
  readonly labels: Labels;
  readonly encryptionSpec?: KmsKeyRef;
  readonly privateServiceConnectConfig?: { readonly enablePrivateServiceConnect: boolean; readonly projectAllowlist: readonly string[] };
  readonly predictRequestResponseLoggingConfig?: {
    readonly enabled: boolean;
    readonly samplingRate: number;
    readonly bigqueryDestination: { readonly outputUri: string };
  };
  readonly trafficSplit?: Readonly<Record<string, number>>;
}

/** `google.cloud.aiplatform.v1.MachineSpec`. */
export interface MachineSpecBody {
  readonly machineType: string;
  readonly acceleratorType?: string;
  readonly acceleratorCount?: number;
}

/** `google.cloud.aiplatform.v1.DeployedModel` with dedicated resources. */
export interface DeployedModelBody {
  readonly id: string;
  readonly displayName: string;
  readonly model: string;
  readonly serviceAccount: string;
  readonly dedicatedResources: {
    readonly machineSpec: MachineSpecBody;
    readonly minReplicaCount: number;
    readonly maxReplicaCount: number;
    readonly autoscalingMetricSpecs: readonly { readonly metricName: string; readonly target: number }[];
  };
}

/** `google.cloud.aiplatform.v1.PipelineJob` as a schedule's template. */
export interface PipelineJobBody {
  readonly displayName: string;
  readonly pipelineSpec: PipelineSpec;
  readonly runtimeConfig: { readonly gcsOutputDirectory: string; readonly parameterValues?: Readonly<Record<string, JsonValue>> };
  readonly serviceAccount: string;
  readonly network?: string;
  readonly encryptionSpec?: KmsKeyRef;
  readonly labels: Labels;
}

/** `google.cloud.aiplatform.v1.Schedule` running a pipeline. */
export interface ScheduleBody {
  readonly displayName: string;
  readonly cron: string;
  /** int64: a string in proto3 JSON. */
  readonly maxConcurrentRunCount: string;
  readonly createPipelineJobRequest: { readonly parent: string; readonly pipelineJob: PipelineJobBody };
}

/** `ThresholdConfig` per feature. */
export type Thresholds = Readonly<Record<string, { readonly value: number }>>;

/** `google.cloud.aiplatform.v1.ModelDeploymentMonitoringJob`. */
export interface MonitoringJobBody {
  readonly displayName: string;
  readonly endpoint: string;
  readonly modelDeploymentMonitoringObjectiveConfigs: readonly {
    readonly deployedModelId: string;
    readonly objectiveConfig: {
      readonly trainingDataset: { readonly bigquerySource: { readonly inputUri: string } };
      readonly trainingPredictionSkewDetectionConfig?: { readonly skewThresholds: Thresholds };
      readonly predictionDriftDetectionConfig?: { readonly driftThresholds: Thresholds };
    };
  }[];
  readonly modelDeploymentMonitoringScheduleConfig: { readonly monitorInterval: string; readonly monitorWindow: string };
  readonly loggingSamplingStrategy: { readonly randomSampleConfig: { readonly sampleRate: number } };
  readonly modelMonitoringAlertConfig: { readonly emailAlertConfig?: { readonly userEmails: readonly string[] }; readonly enableLogging: boolean };
  readonly enableMonitoringPipelineLogs: boolean;
  readonly labels: Labels;
  readonly encryptionSpec?: KmsKeyRef;
}

// ---------------------------------------------------------------------------------------------
// Vertex AI v1beta1: Model Monitoring v2 (monitors of batch inference)

/** `ModelMonitoringObjectiveSpec.DataDriftSpec`. */
export interface DataDriftSpecBody {
  readonly features: readonly string[];
  readonly categoricalMetricType: 'l_infinity' | 'jensen_shannon_divergence';
  readonly numericMetricType: 'jensen_shannon_divergence';
  readonly featureAlertConditions: Readonly<Record<string, { readonly threshold: number }>>;
}

/** `ModelMonitoringInput` over a BigQuery table. */
export interface MonitoringInputBody {
  readonly columnizedDataset: { readonly bigquerySource: { readonly tableUri: string } };
  readonly timeOffset?: { readonly offset?: string; readonly window: string };
}

/** `ModelMonitoringNotificationSpec`. */
export interface MonitoringNotificationBody {
  readonly emailConfig?: { readonly userEmails: readonly string[] };
  readonly enableCloudLogging: boolean;
}

/** `ModelMonitoringOutputSpec`. */
export interface MonitoringOutputBody {
  readonly gcsBaseDirectory: { readonly outputUriPrefix: string };
}

/** `google.cloud.aiplatform.v1beta1.ModelMonitor`. */
export interface ModelMonitorBody {
  readonly displayName: string;
  readonly modelMonitoringTarget: { readonly vertexModel: { readonly model: string } };
  readonly trainingDataset: MonitoringInputBody;
  readonly tabularObjective: { readonly featureDriftSpec: DataDriftSpecBody };
  readonly notificationSpec: MonitoringNotificationBody;
  readonly outputSpec: MonitoringOutputBody;
  readonly encryptionSpec?: KmsKeyRef;
}

/** `google.cloud.aiplatform.v1beta1.Schedule` creating ModelMonitoringJobs. */
export interface MonitoringScheduleBody {
  readonly displayName: string;
  readonly cron: string;
  readonly maxConcurrentRunCount: string;
  readonly createModelMonitoringJobRequest: {
    readonly parent: string;
    readonly modelMonitoringJob: {
      readonly displayName: string;
      readonly modelMonitoringSpec: {
        readonly objectiveSpec: {
          readonly tabularObjective: { readonly featureDriftSpec: DataDriftSpecBody };
          readonly baselineDataset: MonitoringInputBody;
          readonly targetDataset: MonitoringInputBody;
        };
        readonly notificationSpec: MonitoringNotificationBody;
        readonly outputSpec: MonitoringOutputBody;
      };
    };
  };
}

// ---------------------------------------------------------------------------------------------
// IAM, KMS, Cloud Storage

/** `google.iam.v1.Policy` restricted to bindings (merged into the live policy by the engine). */
export interface IamPolicyBody {
  readonly bindings: readonly { readonly role: string; readonly members: readonly string[] }[];
}

/** IAM `projects.serviceAccounts.create` body. */
export interface ServiceAccountBody {
  readonly accountId: string;
  readonly serviceAccount: { readonly displayName: string; readonly description: string };
}

/** IAM `projects.roles.create` body: a project custom role. */
export interface CustomRoleBody {
  readonly roleId: string;
  readonly role: { readonly title: string; readonly description: string; readonly includedPermissions: readonly string[]; readonly stage: 'GA' };
}

/** Cloud KMS `CryptoKey` create body. */
export interface CryptoKeyBody {
  readonly purpose: 'ENCRYPT_DECRYPT';
  readonly rotationPeriod: string;
  readonly labels: Labels;
}

/** Cloud Storage bucket insert body. */
export interface BucketBody {
  readonly name: string;
  readonly location: string;
  readonly labels: Labels;
  readonly iamConfiguration: { readonly uniformBucketLevelAccess: { readonly enabled: boolean } };
  readonly encryption?: { readonly defaultKmsKeyName: string };
}

// ---------------------------------------------------------------------------------------------
// Manifest

/**
 * What a document body is checked against: a proto message (Vertex AI, IAM), a discovery schema
 * (BigQuery) or nothing mlplane has a public spec for (KMS, Cloud Storage, IAM admin).
 */
export type BodySchema =
  | { readonly kind: 'proto'; readonly message: string }
  | { readonly kind: 'discovery'; readonly api: 'bigquery.v2' | 'storage.v1' | 'cloudkms.v1' | 'iam.v1' | 'cloudresourcemanager.v3'; readonly schema: string }
  | { readonly kind: 'none'; readonly reason: string };

/** One resource the deploy engine applies. */
export interface ManifestEntry {
  /** Stable key of the entry within the environment (`bigquery.table/Fraud/Transactions`). */
  readonly key: string;
  /** Construct path of the resource the entry realizes. */
  readonly path: string;
  /** REST method id from the API's discovery document (`aiplatform.projects.locations.endpoints.create`). */
  readonly method: string;
  /** API collection (`projects.locations.endpoints`). */
  readonly collection: string;
  /** Parent resource name the method is called on. */
  readonly parent: string;
  /**
   * The id the resource gets, when the API lets the caller choose it; `null` when the service
   * assigns it (the engine then finds the resource by its `mlplane-path` label).
   */
  readonly id: string | null;
  /** Relative path of the body document. */
  readonly document: string;
  readonly schema: BodySchema;
  /** Keys of the entries that must be applied first. */
  readonly dependsOn: readonly string[];
  /**
   * When the method's request wraps the resource (`models.upload` → `model`, `endpoints.deployModel`
   * → `deployedModel`, `setIamPolicy` → `policy`), the request field the document is the value of.
   */
  readonly requestField?: string;
  /** Fields a `patch` method sets (its `updateMask`); absent for other methods. */
  readonly updateMask?: readonly string[];
  /** Whether the resource holds data and is kept on destroy. */
  readonly retain: boolean;
}

/** The manifest of one environment: entries in dependency order. */
export interface Manifest {
  readonly schemaVersion: '1';
  readonly target: 'gcp';
  readonly environment: string;
  readonly project: string;
  readonly region: string;
  readonly bigqueryLocation: string;
  /** Labels every owned resource carries; the engine finds owned resources by `mlplane-env`. */
  readonly ownershipLabels: Labels;
  readonly entries: readonly ManifestEntry[];
}
