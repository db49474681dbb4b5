/**
 * The public specifications the gcp documents are checked against, loaded once per test file:
 * the KFP IR proto, the Vertex AI v1 / v1beta1 protos from `@google-cloud/aiplatform`, the IAM
 * policy proto from `google-gax`, and the BigQuery v2 discovery document.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type protobuf from 'protobufjs';
import YAML from 'yaml';
import type { BodySchema } from '../../../../adapters/gcp/documents';
import { checkDiscoveryJson, loadDiscovery, type DiscoveryDoc } from './discovery-check';
import { CONFORMANCE, checkProtoJson, loadProtos, type ProtoCheckOptions, type ProtoIssue } from './proto-check';

const VERTEX_FILES = [
  'google/cloud/aiplatform/v1/dataset.proto',
  'google/cloud/aiplatform/v1/endpoint.proto',
  'google/cloud/aiplatform/v1/model.proto',
  'google/cloud/aiplatform/v1/schedule.proto',
  'google/cloud/aiplatform/v1/pipeline_job.proto',
  'google/cloud/aiplatform/v1/custom_job.proto',
  'google/cloud/aiplatform/v1/batch_prediction_job.proto',
  'google/cloud/aiplatform/v1/feature_online_store.proto',
  'google/cloud/aiplatform/v1/feature_view.proto',
  'google/cloud/aiplatform/v1/metadata_store.proto',
  'google/cloud/aiplatform/v1/tensorboard.proto',
  'google/cloud/aiplatform/v1/model_deployment_monitoring_job.proto',
  'google/cloud/aiplatform/v1/accelerator_type.proto',
  'google/cloud/aiplatform/v1beta1/model_monitor.proto',
  'google/cloud/aiplatform/v1beta1/schedule.proto',
  'google/cloud/aiplatform/v1beta1/schedule_service.proto',
  'google/cloud/aiplatform/v1beta1/model_monitoring_service.proto',
  'google/iam/v1/policy.proto',
  'pipeline_spec.proto',
];

let root: protobuf.Root | undefined;
let bigquery: DiscoveryDoc | undefined;

/** One Root with the Vertex AI, IAM and KFP protos. */
export function protoRoot(): protobuf.Root {
  root ??= loadProtos(VERTEX_FILES);
  return root;
}

/** The BigQuery v2 discovery document. */
export function bigqueryDiscovery(): DiscoveryDoc {
  bigquery ??= loadDiscovery('bigquery.v2');
  return bigquery;
}

const platform = new Map<string, DiscoveryDoc>();

/** The discovery document of a platform API (Cloud Storage, Cloud KMS, IAM, Resource Manager). */
export function platformDiscovery(api: 'storage.v1' | 'cloudkms.v1' | 'iam.v1' | 'cloudresourcemanager.v3'): DiscoveryDoc {
  let doc = platform.get(api);
  if (!doc) {
    doc = loadDiscovery(api);
    platform.set(api, doc);
  }
  return doc;
}

/** Struct fields checked as a KFP message. */
export const KFP_STRUCTS: Readonly<Record<string, string>> = {
  'ml_pipelines.PipelineSpec.deploymentSpec': 'ml_pipelines.PipelineDeploymentConfig',
  'google.cloud.aiplatform.v1.PipelineJob.pipelineSpec': 'ml_pipelines.PipelineSpec',
  'google.cloud.aiplatform.v1beta1.PipelineJob.pipelineSpec': 'ml_pipelines.PipelineSpec',
};

/** Check a PipelineSpec strictly against `pipeline_spec.proto`. */
export function checkPipelineSpec(spec: unknown): ProtoIssue[] {
  return checkProtoJson(protoRoot(), 'ml_pipelines.PipelineSpec', spec, { structAs: KFP_STRUCTS });
}

/** Check a document body against the schema its manifest entry names. */
export function checkBody(schema: BodySchema, body: unknown, options: ProtoCheckOptions = {}): ProtoIssue[] {
  switch (schema.kind) {
    case 'proto':
      return checkProtoJson(protoRoot(), schema.message, body, { structAs: KFP_STRUCTS, ...options });
    case 'discovery':
      return checkDiscoveryJson(schema.api === 'bigquery.v2' ? bigqueryDiscovery() : platformDiscovery(schema.api), schema.schema, body);
    case 'none':
      return [];
    default: {
      const never: never = schema;
      throw new Error(`unknown schema ${JSON.stringify(never)}`);
    }
  }
}

/** A golden compiled pipeline of the KFP SDK (first YAML document). */
export interface Golden {
  readonly file: string;
  readonly spec: Record<string, unknown>;
}

/** Every golden file in `../shared/conformance/kfp/golden`. */
export function goldenPipelines(): Golden[] {
  const dir = join(CONFORMANCE, 'kfp/golden');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, spec: YAML.parseAllDocuments(readFileSync(join(dir, file), 'utf8'))[0]?.toJSON() as Record<string, unknown> }));
}

/** A golden pipeline by file name. */
export function golden(file: string): Record<string, unknown> {
  const g = goldenPipelines().find((x) => x.file === file);
  if (!g) throw new Error(`no golden ${file}`);
  return g.spec;
}
