/**
 * The environment model: the only contract between `lib/` and `adapters/`.
 *
 * Plain, readonly, JSON-serializable data with a `schemaVersion`. Adapters read this and nothing
 * else; they never see the construct tree. Every reference between resources is the referenced
 * resource's construct path (`Fraud/Transactions`), every duration is in seconds, every size in
 * GiB. Arrays are in a deterministic order (resources by path, everything else by declaration
 * order unless stated).
 */

/** Version of the model format. Bump the major version on any breaking change. */
export const MODEL_SCHEMA_VERSION = '1.2.0';

/** Deployment stage of an environment: `dev`, `staging`, `prod`, or a user-named stage (lowercase). Prod-only rules apply to `prod`. */
export type StageName = string;

/** Data-residency hint: every target must place the environment in a region of this geography. */
export type RegionHintName = 'any' | 'eu' | 'us' | 'apac';

/** The whole environment. */
export interface EnvironmentModel {
  readonly schemaVersion: string;
  readonly environment: EnvironmentInfo;
  /** Every resource of the environment, sorted by path. */
  readonly resources: readonly ResourceModel[];
  /** Permission edges, explicit (`grantRead`) and implied by wiring; sorted. */
  readonly grants: readonly GrantModel[];
}

export interface EnvironmentInfo {
  /** Construct id of the environment (`Fraud`); also its path. */
  readonly name: string;
  readonly path: string;
  readonly description?: string;
  readonly stage: StageName;
  /**
   * The stages the one definition is deployed to, when it declares them (`stages`); absent for a
   * single-stage environment. With it, adapters put the stage into the environment-wide names
   * (stack, workspace, …) so that two stages can share an account, resource group or project.
   */
  readonly stages?: readonly StageName[];
  readonly region: RegionHintName;
  /** User tags, applied to every resource that supports tags. */
  readonly tags: Readonly<Record<string, string>>;
  readonly network: NetworkModel;
  readonly encryption: EncryptionModel;
}

export interface NetworkModel {
  /** `private`: no public endpoints, private links, outbound restricted. `public`: reachable from the internet. */
  readonly mode: 'private' | 'public';
}

export type EncryptionModel =
  | { readonly kind: 'platform' }
  | {
      readonly kind: 'customer-managed';
      /** Name of the key to use; adapters create it when absent. */
      readonly keyName: string;
      /** Rotation period in days. */
      readonly rotationDays: number;
    };

/** Union of every resource kind. Switch over `kind` exhaustively. */
export type ResourceModel =
  | DatasetModel
  | FeatureTableModel
  | ComputePoolModel
  | PipelineModel
  | ModelRegistryModel
  | OnlineEndpointModel
  | BatchInferenceModel
  | DriftMonitorModel
  | SecretModel;

export type ResourceKind = ResourceModel['kind'];

interface ResourceBase {
  /** Construct path from the app root, e.g. `Fraud/Transactions`. Stable: renaming it replaces the resource. */
  readonly path: string;
  /** Construct id (last path segment). */
  readonly id: string;
  readonly description?: string;
}

// ---------------------------------------------------------------------------------------------
// Data

/** A scalar column type. */
export type ScalarTypeName = 'string' | 'int' | 'float' | 'bool' | 'timestamp' | 'date';

/** A column type: a scalar, an array of a type, or a struct of fields. */
export type FieldTypeModel =
  | { readonly type: ScalarTypeName }
  | { readonly type: 'array'; readonly items: FieldTypeModel }
  | { readonly type: 'struct'; readonly fields: readonly FieldModel[] };

export type FieldModel = FieldTypeModel & {
  readonly name: string;
  /** Whether the column may hold nulls. */
  readonly nullable: boolean;
  readonly description?: string;
};

export interface DatasetModel extends ResourceBase {
  readonly kind: 'dataset';
  readonly schema: readonly FieldModel[];
  /** Where the data lives: storage managed by the environment, or an external URI the user owns. */
  readonly source: { readonly kind: 'managed' } | { readonly kind: 'external'; readonly uri: string };
  readonly format: 'parquet' | 'csv' | 'jsonl' | 'delta';
  /** Version label of the current definition; a new version is registered when it changes. */
  readonly version: string;
  /** Days to keep data; absent = forever. */
  readonly retentionDays?: number;
  /** Column to partition by (a timestamp or date column). */
  readonly partitionBy?: { readonly field: string; readonly granularity: 'hour' | 'day' | 'month' | 'year' };
  /** Columns to cluster by, in order (at most 4). */
  readonly clusterBy: readonly string[];
  /** Retain the data when the environment is destroyed. */
  readonly retain: boolean;
}

export interface FeatureTableModel extends ResourceBase {
  readonly kind: 'featureTable';
  /** Entity the features describe, and its key columns in the source dataset. */
  readonly entity: { readonly name: string; readonly keys: readonly string[] };
  /** Path of the source dataset. */
  readonly source: string;
  /** Event-time column of the source, used for point-in-time lookups. */
  readonly timestampField?: string;
  /** Feature columns (name and type copied from the source schema). */
  readonly features: readonly FieldModel[];
  /** Serve features online (low-latency key lookup) in addition to offline. */
  readonly online: boolean;
  /** Seconds a feature value stays valid online; absent = no expiry. */
  readonly ttlSeconds?: number;
  /** How often the online store is refreshed from the offline source, in seconds. */
  readonly refreshSeconds?: number;
}

// ---------------------------------------------------------------------------------------------
// Compute

/** A known accelerator, or a provider-specific one. */
export type AcceleratorModel =
  | { readonly kind: 'known'; readonly name: KnownAcceleratorName; readonly count: number }
  | { readonly kind: 'custom'; readonly provider: string; readonly name: string; readonly count: number };

export type KnownAcceleratorName = 'nvidia-t4' | 'nvidia-l4' | 'nvidia-v100' | 'nvidia-a10g' | 'nvidia-a100' | 'nvidia-h100';

/** Resources of one node or one container. */
export interface ResourcesModel {
  /** vCPUs. */
  readonly cpu: number;
  /** Memory in GiB. */
  readonly memoryGiB: number;
  readonly accelerator?: AcceleratorModel;
}

export interface ComputePoolModel extends ResourceBase {
  readonly kind: 'computePool';
  /** Size of one node. */
  readonly node: ResourcesModel;
  readonly minNodes: number;
  readonly maxNodes: number;
  /** Use spot / low-priority capacity. */
  readonly spot: boolean;
  /** Seconds a node may stay idle before it is released. */
  readonly idleSeconds: number;
}

// ---------------------------------------------------------------------------------------------
// Pipelines

export type ParameterTypeName = 'string' | 'int' | 'float' | 'bool';
export type ArtifactTypeName = 'dataset' | 'model' | 'metrics' | 'artifact';

/** The type of a step input or output. */
export type IoTypeModel =
  | { readonly kind: 'parameter'; readonly type: ParameterTypeName }
  | { readonly kind: 'artifact'; readonly type: ArtifactTypeName };

export interface PipelineParameterModel {
  readonly name: string;
  readonly type: ParameterTypeName;
  readonly default?: string | number | boolean;
  readonly description?: string;
}

/** Where a step input comes from. */
export type InputSourceModel =
  | { readonly kind: 'step'; readonly step: string; readonly output: string }
  | { readonly kind: 'dataset'; readonly dataset: string }
  | { readonly kind: 'parameter'; readonly parameter: string }
  | { readonly kind: 'value'; readonly value: string | number | boolean };

export interface StepInputModel {
  readonly name: string;
  readonly type: IoTypeModel;
  readonly source: InputSourceModel;
}

export interface StepOutputModel {
  readonly name: string;
  readonly type: IoTypeModel;
}

/** Comparison operator of a step condition. */
export type ConditionOperatorName = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** What a step condition reads. */
export type ConditionOperandModel =
  /** A parameter output of an upstream step (the text the step wrote to `{{outputs.<name>}}`). */
  | { readonly kind: 'stepOutput'; readonly step: string; readonly output: string; readonly type: ParameterTypeName }
  /** One metric of an upstream step's metrics output (`<dir>/metrics.json`, flat name → number). */
  | { readonly kind: 'metric'; readonly step: string; readonly output: string; readonly metric: string }
  /** A pipeline (run) parameter. */
  | { readonly kind: 'parameter'; readonly parameter: string; readonly type: ParameterTypeName };

/**
 * A run-time condition on a step: the step runs only when `operand op value` holds.
 *
 * A step whose condition is false is *skipped*, and so is every step downstream of it (data or
 * order-only): skipping propagates. See docs/step-contract.md.
 */
export interface StepConditionModel {
  readonly operand: ConditionOperandModel;
  readonly op: ConditionOperatorName;
  /** The value compared with; numbers compare numerically, strings and booleans by equality only. */
  readonly value: string | number | boolean;
  /** Name of the step that declared the condition (this step, or an upstream step it inherits it from). */
  readonly declaredOn: string;
}

interface StepBase {
  /** Step name (its construct id), unique in the pipeline. */
  readonly name: string;
  readonly path: string;
  /** Upstream steps (explicit `dependsOn` plus those implied by input wiring), sorted. */
  readonly dependsOn: readonly string[];
  /**
   * Upstream steps with no data edge into this step (explicit `dependsOn` only; neither an input,
   * a register artifact/metrics source nor a condition operand), sorted. Targets must order them
   * explicitly, since no data reference implies the order.
   */
  readonly orderOnly: readonly string[];
  /**
   * Conditions that must all hold for the step to run: its own plus those inherited from every
   * upstream step (skipping propagates downstream), deduplicated, in a deterministic order. Empty =
   * always runs.
   */
  readonly conditions: readonly StepConditionModel[];
  readonly retries: number;
  readonly timeoutSeconds?: number;
  readonly caching: boolean;
}

export interface ContainerStepModel extends StepBase {
  readonly kind: 'container';
  readonly image: string;
  /**
   * Entrypoint and arguments. Both may contain the neutral placeholders `{{inputs.<name>}}`,
   * `{{outputs.<name>}}` and `{{params.<name>}}` (validated to name a declared input, output or
   * pipeline parameter); each adapter translates them to its own syntax (KFP
   * `{{$.inputs.artifacts['x'].path}}`, Azure ML `${{inputs.x}}`, ...) or resolves them itself, as
   * docs/step-contract.md defines. Nothing is appended implicitly: a step receives only what its
   * command and args name.
   */
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** Environment variables; values may contain the same placeholders as `args`. */
  readonly env: Readonly<Record<string, string>>;
  /** Environment variables resolved from secrets at run time: name → path of a `secret` resource; absent = none. */
  readonly secretEnv?: Readonly<Record<string, string>>;
  readonly inputs: readonly StepInputModel[];
  readonly outputs: readonly StepOutputModel[];
  readonly resources: ResourcesModel;
  /** Path of the compute pool the step runs on; absent = the target's default serverless compute. */
  readonly compute?: string;
}

/** A promotion gate: promote only when the candidate's metric beats the reference. */
export interface PromotionGateModel {
  readonly metric: string;
  readonly comparison: 'greaterThan' | 'lessThan';
  /** Compare with the metric of the model currently holding an alias, or with a fixed value. */
  readonly against: { readonly kind: 'alias'; readonly alias: string } | { readonly kind: 'value'; readonly value: number };
  /** Required margin by which the candidate must win. */
  readonly minDelta: number;
}

export interface RegisterStepModel extends StepBase {
  readonly kind: 'register';
  /** The model artifact to register (an output of type model). */
  readonly artifact: { readonly step: string; readonly output: string };
  /** Metrics artifact that holds the gate metric. */
  readonly metrics?: { readonly step: string; readonly output: string };
  /** Registry path and model name. */
  readonly registry: string;
  readonly model: string;
  /** Alias moved to the new version when the gate passes. */
  readonly promoteTo?: string;
  readonly gate?: PromotionGateModel;
}

export type StepModel = ContainerStepModel | RegisterStepModel;

export type ScheduleModel =
  | {
      readonly kind: 'cron';
      /** Five-field cron: minute hour day-of-month month day-of-week. */
      readonly expression: string;
      /** IANA time zone, e.g. `Europe/Amsterdam`. */
      readonly timeZone: string;
    }
  | { readonly kind: 'rate'; readonly seconds: number };

export interface PipelineModel extends ResourceBase {
  readonly kind: 'pipeline';
  readonly parameters: readonly PipelineParameterModel[];
  /** Steps in a topological order (ties broken by declaration order). */
  readonly steps: readonly StepModel[];
  readonly schedules: readonly ScheduleModel[];
}

// ---------------------------------------------------------------------------------------------
// Models and serving

export interface ServingContainerModel {
  readonly image: string;
  readonly port: number;
  readonly predictRoute: string;
  readonly healthRoute: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface RegisteredModelModel {
  /** Model name in the registry (`fraud`). */
  readonly name: string;
  readonly path: string;
  readonly description?: string;
  /** Aliases this environment uses (`champion`, `challenger`). */
  readonly aliases: readonly string[];
  readonly framework: 'custom' | 'sklearn' | 'xgboost' | 'pytorch' | 'tensorflow' | 'onnx';
  readonly serving: ServingContainerModel;
}

export interface ModelRegistryModel extends ResourceBase {
  readonly kind: 'modelRegistry';
  /** Models, sorted by name. */
  readonly models: readonly RegisteredModelModel[];
  readonly retain: boolean;
}

/** A reference to a model version: by alias or by version number. */
export type ModelRefModel =
  | { readonly registry: string; readonly model: string; readonly alias: string }
  | { readonly registry: string; readonly model: string; readonly version: string };

export interface AutoscalingModel {
  readonly metric: 'cpu' | 'requests';
  /** Target CPU utilisation in % (cpu) or requests per second per replica (requests). */
  readonly target: number;
}

export interface DeploymentModel {
  readonly name: string;
  readonly model: ModelRefModel;
  readonly resources: ResourcesModel;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly autoscaling: AutoscalingModel;
  /** Share of live traffic, 0–100; all deployments sum to 100. */
  readonly traffic: number;
  /** Share of live traffic copied (shadowed) to this deployment, 0–50. */
  readonly mirror: number;
  /** Environment variables of this deployment, added to (and overriding) the serving container's; absent = none. */
  readonly env?: Readonly<Record<string, string>>;
  /** Environment variables resolved from secrets at run time: name → path of a `secret` resource; absent = none. */
  readonly secretEnv?: Readonly<Record<string, string>>;
}

export interface OnlineEndpointModel extends ResourceBase {
  readonly kind: 'onlineEndpoint';
  readonly auth: 'key' | 'token';
  readonly deployments: readonly DeploymentModel[];
  readonly capture: {
    readonly requests: boolean;
    readonly responses: boolean;
    /** Fraction of requests captured, 0–1. */
    readonly samplingRate: number;
    /** Path of a dataset that receives captured payloads; absent = the environment's default store. */
    readonly destination?: string;
  };
}

export interface BatchInferenceModel extends ResourceBase {
  readonly kind: 'batchInference';
  readonly model: ModelRefModel;
  readonly input: string;
  readonly output: string;
  readonly compute?: string;
  readonly resources: ResourcesModel;
  readonly instanceCount: number;
  readonly miniBatchSize: number;
  readonly schedules: readonly ScheduleModel[];
  /** Longest time one run may take, end to end; absent = the target's maximum. */
  readonly timeoutSeconds?: number;
  /** Retries of a failed mini-batch (`miniBatchSize` rows); targets without mini-batch retries say what they retry. */
  readonly retries: number;
}

// ---------------------------------------------------------------------------------------------
// Monitoring

export type DriftMetricName = 'jensenShannonDistance' | 'populationStabilityIndex' | 'normalizedWassersteinDistance' | 'lInfinity';

/**
 * One signal of a monitor. Each signal compares the production window (the last `lookbackDays`
 * of the monitored inputs, per monitored deployment) with a reference:
 * - `skew`: the reference is the monitor's baseline dataset (the training data);
 * - `drift`: the reference is the production window of the same length just before it.
 * Metrics, feature kinds and threshold units: lib/monitor-metrics.ts.
 */
export interface MonitorSignalModel {
  /** `drift`: production now vs production one window earlier; `skew`: production vs the training data. */
  readonly kind: 'drift' | 'skew';
  /** Metric of every feature (of numeric features when `categoricalMetric` is set). */
  readonly metric: DriftMetricName;
  /** Metric of categorical (string, bool) features; absent = `metric`. */
  readonly categoricalMetric?: DriftMetricName;
  /** Feature name → threshold in the unit of the feature's metric, sorted by name. */
  readonly thresholds: readonly { readonly feature: string; readonly threshold: number }[];
}

export type AlertModel = { readonly kind: 'email'; readonly address: string } | { readonly kind: 'webhook'; readonly url: string };

export interface DriftMonitorModel extends ResourceBase {
  readonly kind: 'driftMonitor';
  readonly target:
    /** Every deployment of the endpoint, each compared on its own, unless `deployment` narrows it to one. */
    | { readonly kind: 'endpoint'; readonly endpoint: string; readonly deployment?: string }
    /** The inputs the batch inference scores. */
    | { readonly kind: 'batch'; readonly batch: string };
  readonly baseline: string;
  readonly signals: readonly MonitorSignalModel[];
  readonly schedule: ScheduleModel;
  /** Days of production data each run looks back over. */
  readonly lookbackDays: number;
  readonly alerts: readonly AlertModel[];
  readonly onDrift?: RetrainActionModel;
}

export interface RetrainActionModel {
  readonly action: 'retrain';
  /** Path of the pipeline to run. */
  readonly pipeline: string;
  /** Pipeline parameter values for the retraining run. */
  readonly parameters: Readonly<Record<string, string | number | boolean>>;
  /** Name of the register step whose gate decides promotion; absent only when explicitly allowed. */
  readonly gateStep?: string;
  /** Minimum seconds between two retraining runs. */
  readonly cooldownSeconds: number;
}

// ---------------------------------------------------------------------------------------------
// Secrets

/**
 * A reference to a secret in each platform's secret store. The model never holds a value: each
 * target resolves the reference when the reader starts and grants read on that one secret to the
 * identity of each reader (the grants on this resource's path).
 */
export interface SecretModel extends ResourceBase {
  readonly kind: 'secret';
  /** Neutral name (`db-password`). */
  readonly secretName: string;
  /** Key Vault secret; `vaultName` absent = the environment's Key Vault. */
  readonly azure: { readonly vaultName?: string; readonly secretName: string };
  /** Secret Manager secret version; `project` absent = the environment's project. */
  readonly gcp: { readonly project?: string; readonly secretName: string; readonly version: string };
  /** Secrets Manager secret: by full ARN, or by name in the stack's account and region. */
  readonly aws: { readonly secretArn?: string; readonly secretName?: string };
}

// ---------------------------------------------------------------------------------------------
// Grants

/** Who is granted access. */
export type PrincipalModel =
  | { readonly kind: 'step'; readonly pipeline: string; readonly step: string }
  | { readonly kind: 'deployment'; readonly endpoint: string; readonly deployment: string }
  | { readonly kind: 'batchInference'; readonly batch: string }
  | { readonly kind: 'driftMonitor'; readonly monitor: string };

export interface GrantModel {
  readonly principal: PrincipalModel;
  /** Path of the resource access is granted on. */
  readonly resource: string;
  readonly access: 'read' | 'write' | 'readWrite';
  /** `explicit`: from a grant call; `wiring`: implied by an input, output or reference. */
  readonly origin: 'explicit' | 'wiring';
}
