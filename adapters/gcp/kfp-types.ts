/**
 * Types of the KFP v2 pipeline IR (`ml_pipelines.PipelineSpec`, schemaVersion 2.1.0) in its proto3
 * JSON form, limited to the messages mlplane emits.
 *
 * @see ../shared/conformance/kfp/pipeline_spec.proto
 */

/** `ParameterType.ParameterTypeEnum` names mlplane uses. */
export type KfpParameterType = 'STRING' | 'NUMBER_INTEGER' | 'NUMBER_DOUBLE' | 'BOOLEAN' | 'LIST' | 'STRUCT';

/** `ArtifactTypeSchema` with a `schema_title`. */
export interface KfpArtifactType {
  readonly schemaTitle: string;
  readonly schemaVersion: string;
}

/** A JSON value as carried by `google.protobuf.Value`. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** `ComponentInputsSpec.ParameterSpec`. */
export interface KfpInputParameterSpec {
  readonly parameterType: KfpParameterType;
  readonly defaultValue?: JsonValue;
  readonly isOptional?: boolean;
  readonly description?: string;
}

/** `ComponentInputsSpec.ArtifactSpec`. */
export interface KfpInputArtifactSpec {
  readonly artifactType: KfpArtifactType;
  readonly isOptional?: boolean;
  readonly description?: string;
}

/** `ComponentInputsSpec`. */
export interface KfpInputsSpec {
  readonly parameters?: Readonly<Record<string, KfpInputParameterSpec>>;
  readonly artifacts?: Readonly<Record<string, KfpInputArtifactSpec>>;
}

/** `ComponentOutputsSpec`. */
export interface KfpOutputsSpec {
  readonly parameters?: Readonly<Record<string, { readonly parameterType: KfpParameterType; readonly description?: string }>>;
  readonly artifacts?: Readonly<Record<string, { readonly artifactType: KfpArtifactType; readonly description?: string }>>;
}

/** `TaskInputsSpec.InputParameterSpec` (one of its `kind`s). */
export type KfpTaskParameterInput =
  | { readonly componentInputParameter: string }
  | { readonly taskOutputParameter: { readonly producerTask: string; readonly outputParameterKey: string } }
  | { readonly runtimeValue: { readonly constant: JsonValue } };

/** `TaskInputsSpec.InputArtifactSpec` (one of its `kind`s). */
export type KfpTaskArtifactInput =
  | { readonly componentInputArtifact: string }
  | { readonly taskOutputArtifact: { readonly producerTask: string; readonly outputArtifactKey: string } };

/** `PipelineTaskSpec.RetryPolicy`; durations in proto3 JSON (`"0s"`). */
export interface KfpRetryPolicy {
  readonly maxRetryCount: number;
  readonly backoffDuration: string;
  readonly backoffFactor: number;
  readonly backoffMaxDuration: string;
}

/** `PipelineTaskSpec`. */
export interface KfpTaskSpec {
  readonly taskInfo: { readonly name: string };
  readonly componentRef: { readonly name: string };
  readonly inputs?: {
    readonly parameters?: Readonly<Record<string, KfpTaskParameterInput>>;
    readonly artifacts?: Readonly<Record<string, KfpTaskArtifactInput>>;
  };
  readonly dependentTasks?: readonly string[];
  /** `{}` when caching is off, exactly as the KFP compiler writes it. Absent on DAG tasks. */
  readonly cachingOptions?: { readonly enableCache?: boolean };
  readonly retryPolicy?: KfpRetryPolicy;
  readonly triggerPolicy?: { readonly condition: string };
}

/** `DagSpec`. */
export interface KfpDagSpec {
  readonly tasks: Readonly<Record<string, KfpTaskSpec>>;
}

/** `ComponentSpec`: an executor (container, importer) or a DAG. */
export type KfpComponentSpec = {
  readonly inputDefinitions?: KfpInputsSpec;
  readonly outputDefinitions?: KfpOutputsSpec;
} & ({ readonly executorLabel: string } | { readonly dag: KfpDagSpec });

/** `PipelineContainerSpec.ResourceSpec` as the KFP 2.x compiler writes constant resources. */
export interface KfpResourceSpec {
  /** Deprecated numeric CPU limit, still written by the compiler next to `resourceCpuLimit`. */
  readonly cpuLimit: number;
  /** Deprecated memory limit in GB (10^9 bytes), still written next to `resourceMemoryLimit`. */
  readonly memoryLimit: number;
  readonly resourceCpuLimit: string;
  readonly resourceMemoryLimit: string;
  readonly accelerator?: {
    /** Deprecated `int64` count (a string in proto3 JSON). */
    readonly count: string;
    readonly resourceCount: string;
    /** Deprecated, same as `resourceType`. */
    readonly type: string;
    readonly resourceType: string;
  };
}

/** `PipelineContainerSpec`. */
export interface KfpContainerSpec {
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly { readonly name: string; readonly value: string }[];
  readonly resources?: KfpResourceSpec;
}

/** `ImporterSpec`. */
export interface KfpImporterSpec {
  readonly artifactUri: { readonly constant: string } | { readonly runtimeParameter: string };
  readonly typeSchema: KfpArtifactType;
  readonly reimport?: boolean;
  readonly metadata?: Readonly<Record<string, JsonValue>>;
}

/** `PipelineDeploymentConfig.ExecutorSpec`. */
export type KfpExecutorSpec = { readonly container: KfpContainerSpec } | { readonly importer: KfpImporterSpec };

/** `PipelineSpec`, the document Vertex AI Pipelines runs. */
export interface PipelineSpec {
  readonly pipelineInfo: { readonly name: string; readonly description?: string; readonly displayName?: string };
  readonly components: Readonly<Record<string, KfpComponentSpec>>;
  readonly deploymentSpec: { readonly executors: Readonly<Record<string, KfpExecutorSpec>> };
  readonly root: KfpComponentSpec & { readonly dag: KfpDagSpec };
  readonly schemaVersion: '2.1.0';
  readonly sdkVersion: string;
  readonly defaultPipelineRoot?: string;
}
