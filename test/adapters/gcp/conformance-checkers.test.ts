/**
 * The strict checkers themselves: they accept what the real KFP SDK produced (21 golden files) and
 * reject every kind of deviation the proto3-JSON parsers would let through.
 */
import type protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { checkDiscoveryJson } from './support/discovery-check';
import { fieldBehaviors } from './support/proto-check';
import { bigqueryDiscovery, checkBody, checkPipelineSpec, golden, goldenPipelines, protoRoot } from './support/specs';

const endpoint = { kind: 'proto', message: 'google.cloud.aiplatform.v1.Endpoint' } as const;

describe('KFP PipelineSpec checker', () => {
  it('accepts all 21 golden pipelines compiled by the KFP SDK', () => {
    const goldens = goldenPipelines();
    expect(goldens).toHaveLength(21);
    for (const g of goldens) expect(checkPipelineSpec(g.spec), g.file).toEqual([]);
  });

  it('fails if a key is not a field of its message, at any depth', () => {
    const spec = structuredClone(golden('container_io.yaml')) as { root: { dag: { tasks: Record<string, Record<string, unknown>> } } };
    const task = spec.root.dag.tasks['container-io'];
    if (!task) throw new Error('golden changed');
    task.retryPolicy = { maxRetryCount: 1, backoff: '1s' };
    expect(checkPipelineSpec(spec)).toEqual([
      { path: "$.root.dag.tasks.container-io.retryPolicy.backoff", message: expect.stringContaining("unknown field 'backoff' of ml_pipelines.PipelineTaskSpec.RetryPolicy") },
    ]);
  });

  it('fails if deploymentSpec (a Struct) does not match PipelineDeploymentConfig', () => {
    const spec = structuredClone(golden('container_io.yaml')) as { deploymentSpec: { executors: Record<string, { container: Record<string, unknown> }> } };
    const exec = spec.deploymentSpec.executors['exec-container-io'];
    if (!exec) throw new Error('golden changed');
    exec.container.resources = { cpuLimit: '1', gpu: 1 };
    const issues = checkPipelineSpec(spec);
    expect(issues.map((i) => i.path)).toEqual([
      '$.deploymentSpec.executors.exec-container-io.container.resources.cpuLimit',
      '$.deploymentSpec.executors.exec-container-io.container.resources.gpu',
    ]);
    expect(issues[0]?.message).toContain("expected a number for double field 'cpuLimit'");
  });

  it('fails if an enum value is not a name of the enum', () => {
    const spec = structuredClone(golden('container_io.yaml')) as { root: { inputDefinitions: { parameters: Record<string, { parameterType: string }> } } };
    const text = spec.root.inputDefinitions.parameters.text;
    if (!text) throw new Error('golden changed');
    text.parameterType = 'TEXT';
    expect(checkPipelineSpec(spec)[0]).toMatchObject({ path: '$.root.inputDefinitions.parameters.text.parameterType', message: expect.stringContaining('ParameterTypeEnum') });
  });

  it('fails if two members of a oneof are set', () => {
    const spec = structuredClone(golden('container_io.yaml')) as { components: Record<string, Record<string, unknown>> };
    const comp = spec.components['comp-container-io'];
    if (!comp) throw new Error('golden changed');
    comp.dag = { tasks: {} };
    expect(checkPipelineSpec(spec)).toEqual([{ path: '$.components.comp-container-io', message: expect.stringContaining("oneof 'implementation'") }]);
  });
});

describe('Vertex proto checker', () => {
  it('reads every field_behavior of a field that carries several (Dataset.name is OUTPUT_ONLY and IDENTIFIER)', () => {
    const field = protoRoot().lookupType('google.cloud.aiplatform.v1.Dataset').fields.name;
    if (!field) throw new Error('proto changed');
    expect(fieldBehaviors(field).sort()).toEqual(['IDENTIFIER', 'OUTPUT_ONLY']);
  });

  it('fails if an OUTPUT_ONLY field is sent', () => {
    expect(checkBody(endpoint, { displayName: 'e', deployedModels: [] })).toEqual([
      { path: '$.deployedModels', message: "field 'deployedModels' of google.cloud.aiplatform.v1.Endpoint is OUTPUT_ONLY and must not be sent" },
    ]);
  });

  it('fails if a REQUIRED field is missing or empty, also in nested messages', () => {
    expect(checkBody(endpoint, { encryptionSpec: { kmsKeyName: '' } })).toEqual([
      { path: '$.encryptionSpec.kmsKeyName', message: "REQUIRED field 'kmsKeyName' of google.cloud.aiplatform.v1.EncryptionSpec is empty" },
      { path: '$', message: "REQUIRED field 'displayName' of google.cloud.aiplatform.v1.Endpoint is missing" },
    ]);
  });

  it('fails if an int64 is a JSON number or an int32 map value is a string', () => {
    const schedule = { kind: 'proto', message: 'google.cloud.aiplatform.v1.Schedule' } as const;
    expect(checkBody(schedule, { displayName: 's', maxConcurrentRunCount: 1 })[0]).toMatchObject({ path: '$.maxConcurrentRunCount', message: expect.stringContaining('int64') });
    expect(checkBody(endpoint, { displayName: 'e', trafficSplit: { '1': '100' } })[0]).toMatchObject({ path: '$.trafficSplit.1', message: expect.stringContaining('int32') });
  });

  it('fails if a Duration is not in proto3 JSON form', () => {
    const job = { kind: 'proto', message: 'google.cloud.aiplatform.v1.ModelDeploymentMonitoringJob' } as const;
    const issues = checkBody(job, {
      displayName: 'm',
      endpoint: 'e',
      modelDeploymentMonitoringObjectiveConfigs: [{}],
      modelDeploymentMonitoringScheduleConfig: { monitorInterval: 3600 },
      loggingSamplingStrategy: {},
    });
    expect(issues).toEqual([{ path: '$.modelDeploymentMonitoringScheduleConfig.monitorInterval', message: 'expected a Duration like "3600s", got 3600' }]);
  });

  it('exempts path parameters from REQUIRED only at the top level', () => {
    const req = { kind: 'proto', message: 'google.cloud.aiplatform.v1.CreatePipelineJobRequest' } as const;
    expect(checkBody(req, { pipelineJob: {} }, { pathParams: ['parent'] })).toEqual([]);
    expect(checkBody(req, { pipelineJob: {} })).toHaveLength(1);
  });
});

describe('why a strict checker', () => {
  it('the official proto3 JSON parser accepts unknown keys and coerces bad map values; the strict checker does not', async () => {
    const { fromProto3JSON } = await import('proto3-json-serializer');
    const type = protoRoot().lookupType('google.cloud.aiplatform.v1.Endpoint');
    const body = { displayName: 'e', trafficSplit: { '1': 'x' }, trafficSplits: { '1': 100 } };
    expect(type.toObject(fromProto3JSON(type, body) as protobuf.Message, { defaults: false })).toEqual({ displayName: 'e', trafficSplit: { '1': 0 } });
    expect(checkBody(endpoint, body).map((i) => i.path)).toEqual(['$.trafficSplit.1', '$.trafficSplits']);
  });
});

describe('BigQuery discovery checker', () => {
  it('fails if a property is unknown, read-only, required and missing, or of the wrong format', () => {
    const issues = checkDiscoveryJson(bigqueryDiscovery(), 'Table', {
      tableReference: { projectId: 'p', datasetId: 'd' },
      numRows: '1',
      timePartitioning: { type: 'WEEK', expirationMs: 5 },
      schema: { fields: [{ name: 'a', type: 'STRING', nullable: true }] },
    });
    expect(issues.map((i) => `${i.path} ${i.message.split(';')[0]}`)).toEqual([
      "$.tableReference required property 'tableId' of TableReference is missing",
      "$.numRows property 'numRows' of Table is read-only and must not be sent",
      '$.timePartitioning.expirationMs expected a string (int64), got 5',
      "$.schema.fields[0].nullable unknown property 'nullable' of TableFieldSchema",
    ]);
  });
});
