/**
 * The gcp simulator enforces the rules Vertex AI and BigQuery state, each sent as a bad request
 * through the real SDK or raw HTTP, answered with Google's status and error shape.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { v1 } from '@google-cloud/aiplatform';
import { PassThroughClient } from 'google-auth-library';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { resetSimulator, startSimulator } from './support';

let sim: GcpSimulator;
let endpoints: v1.EndpointServiceClient;
beforeAll(async () => {
  sim = await startSimulator({ operationPolls: 0 });
  endpoints = new v1.EndpointServiceClient({ apiEndpoint: '127.0.0.1', port: sim.port, protocol: 'http', fallback: 'rest', authClient: new PassThroughClient() as never });
});
beforeEach(() => resetSimulator(sim));
afterAll(async () => {
  await sim.close();
});

const PARENT = 'projects/p1-test/locations/europe-west4';

interface GoogleError {
  code: number;
  status?: string;
  message: string;
  details?: { '@type': string; fieldViolations?: { field: string; description: string }[] }[];
  errors?: { reason: string; message: string }[];
}

async function call(method: string, path: string, body: unknown): Promise<{ status: number; error?: GoogleError }> {
  const res = await fetch(`${sim.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { error?: GoogleError };
  return { status: res.status, ...(json.error ? { error: json.error } : {}) };
}

/** A 400 INVALID_ARGUMENT with a BadRequest field violation on `field`. */
function expectViolation(res: { status: number; error?: GoogleError }, field: string, message: RegExp): void {
  expect(res.status).toBe(400);
  expect(res.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
  expect(res.error?.message).toMatch(message);
  const violations = res.error?.details?.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.BadRequest')?.fieldViolations ?? [];
  expect(violations.map((v) => v.field)).toContain(field);
}

const schedule = (extra: Record<string, unknown>) => ({ displayName: 's', cron: '0 1 * * *', maxConcurrentRunCount: '1', createPipelineJobRequest: { parent: PARENT, pipelineJob: { displayName: 'j', pipelineSpec: { pipelineInfo: { name: 'p' }, root: { dag: { tasks: {} } }, schemaVersion: '2.1.0' } } }, ...extra });

describe('Vertex AI rules stated in the protos’ comments', () => {
  // endpoint_service.proto, CreateEndpointRequest.endpoint_id: "valid characters are `[a-z0-9-]` … up to 63 characters"
  // https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints/create#query-parameters
  it('rejects an endpointId with an underscore, through the SDK', async () => {
    const err = await endpoints.createEndpoint({ parent: PARENT, endpointId: 'my_ep', endpoint: { displayName: 'e' } }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; message: string },
    );
    expect(err?.message).toMatch(/Invalid endpoint_id 'my_ep': it must have only the characters \[a-z0-9-\]/);
    expect(err?.code).toBe(400);
    expect(sim.state.resources.size).toBe(0);
  });

  it('rejects a 100-character endpointId, and accepts 63 characters and a 9-digit number', async () => {
    expectViolation(await call('POST', `/v1/${PARENT}/endpoints?endpointId=${'a'.repeat(100)}`, { displayName: 'e' }), 'endpoint_id', /at most 63 characters \(got 100\)/);
    expectViolation(await call('POST', `/v1/${PARENT}/endpoints?endpointId=0123`, { displayName: 'e' }), 'endpoint_id', /no leading zeros/);
    expect((await call('POST', `/v1/${PARENT}/endpoints?endpointId=${'a'.repeat(63)}`, { displayName: 'e' })).status).toBe(200);
    expect((await call('POST', `/v1/${PARENT}/endpoints?endpointId=123456789`, { displayName: 'e' })).status).toBe(200);
  });

  // model_service.proto, UploadModelRequest.model_id: "`[a-z0-9_-]`. The first character cannot be a number or hyphen."
  it('rejects a modelId starting with a hyphen', async () => {
    const res = await call('POST', `/v1/${PARENT}/models:upload`, { modelId: '-m', model: { displayName: 'm', containerSpec: { imageUri: 'gcr.io/x/y' } } });
    expectViolation(res, 'model_id', /first character that is not a number or hyphen/);
  });

  // endpoint.proto, Endpoint.display_name: "The name can be up to 128 characters long"
  it('rejects a 300-character displayName', async () => {
    expectViolation(await call('POST', `/v1/${PARENT}/endpoints?endpointId=e1`, { displayName: 'x'.repeat(300) }), 'endpoint.displayName', /up to 128 characters long \(got 300\)/);
  });

  // https://cloud.google.com/resource-manager/docs/labels-overview#requirements
  it('rejects a label key "Bad Key!" and an upper-case label value', async () => {
    expectViolation(await call('POST', `/v1/${PARENT}/endpoints?endpointId=e1`, { displayName: 'e', labels: { 'Bad Key!': 'v' } }), 'endpoint.labels', /Label key 'Bad Key!' is invalid/);
    expectViolation(await call('POST', `/v1/${PARENT}/endpoints?endpointId=e1`, { displayName: 'e', labels: { team: 'ML' } }), 'endpoint.labels', /Label value 'ML' of key 'team' is invalid/);
  });

  // schedule.proto, Schedule.cron: "Cron schedule (https://en.wikipedia.org/wiki/Cron) … "TZ=${IANA_TIME_ZONE}""
  it('rejects a Schedule with cron "every tuesday-ish", an hour of 25 and an unknown time zone', async () => {
    expectViolation(await call('POST', `/v1/${PARENT}/schedules`, schedule({ cron: 'every tuesday-ish' })), 'schedule.cron', /a cron tab has 5 fields/);
    expectViolation(await call('POST', `/v1/${PARENT}/schedules`, schedule({ cron: '0 25 * * *' })), 'schedule.cron', /hour field '25' must be within 0-23/);
    expectViolation(await call('POST', `/v1/${PARENT}/schedules`, schedule({ cron: 'TZ=Mars/Olympus 0 1 * * *' })), 'schedule.cron', /'Mars\/Olympus' is not an IANA time zone/);
    expect((await call('POST', `/v1/${PARENT}/schedules`, schedule({ cron: 'CRON_TZ=America/New_York */15 1-5 * JAN,DEC MON-FRI' }))).status).toBe(200);
  });

  // KFP api/v2alpha1/pipeline_spec.proto (spec-data/kfp/pipeline_spec.proto), message PipelineSpec
  it('rejects a pipelineSpec that is not a KFP PipelineSpec', async () => {
    const bad = schedule({});
    (bad.createPipelineJobRequest.pipelineJob as Record<string, unknown>).pipelineSpec = { totally: 'not a pipeline' };
    expectViolation(await call('POST', `/v1/${PARENT}/schedules`, bad), 'schedule.createPipelineJobRequest.pipelineJob.pipelineSpec.totally', /Unknown name "totally"/);
    const noRoot = schedule({});
    (noRoot.createPipelineJobRequest.pipelineJob as Record<string, unknown>).pipelineSpec = { pipelineInfo: { name: 'p' }, schemaVersion: '2.1.0', components: { 'comp-a': { executorLabel: 7 } } };
    const res = await call('POST', `/v1/${PARENT}/schedules`, noRoot);
    expect(res.status).toBe(400);
    expect(res.error?.message).toMatch(/executorLabel/);
  });

  // AIP-134 (https://google.aip.dev/134#request-message): a mask naming a field that does not exist, or an output-only field, is INVALID_ARGUMENT
  it('rejects PATCH ?updateMask=notAField and ?updateMask=createTime, keeping createTime', async () => {
    await call('POST', `/v1/${PARENT}/endpoints?endpointId=e1`, { displayName: 'e' });
    const created = sim.state.get(`${PARENT}/endpoints/e1`)?.body.createTime;
    expectViolation(await call('PATCH', `/v1/${PARENT}/endpoints/e1?updateMask=notAField`, { displayName: 'e2' }), 'update_mask', /Endpoint has no field 'notAField'/);
    expectViolation(await call('PATCH', `/v1/${PARENT}/endpoints/e1?updateMask=createTime`, { displayName: 'e2' }), 'update_mask', /createTime is output only/);
    expect(sim.state.get(`${PARENT}/endpoints/e1`)?.body.createTime).toBe(created);
    expect((await call('PATCH', `/v1/${PARENT}/endpoints/e1?updateMask=labels.team,display_name`, { displayName: 'e2', labels: { team: 'a' } })).status).toBe(200);
  });
});

describe('BigQuery rules stated in the discovery document (TableFieldSchema)', () => {
  it('rejects a field named "a b" and a field of type FOO', async () => {
    await call('POST', '/bigquery/v2/projects/p1-test/datasets', { datasetReference: { datasetId: 'd1' } });
    const table = (fields: unknown) => ({ tableReference: { projectId: 'p1-test', datasetId: 'd1', tableId: 't' }, schema: { fields } });
    const name = await call('POST', '/bigquery/v2/projects/p1-test/datasets/d1/tables', table([{ name: 'a b', type: 'STRING' }]));
    expect(name.status).toBe(400);
    expect(name.error?.errors?.[0]?.reason).toBe('invalid');
    expect(name.error?.message).toBe('Invalid field name "a b". Fields must contain only letters, numbers, and underscores, start with a letter or underscore, and be at most 300 characters long.');
    const type = await call('POST', '/bigquery/v2/projects/p1-test/datasets/d1/tables', table([{ name: 'a', type: 'FOO' }]));
    expect(type.status).toBe(400);
    expect(type.error?.message).toMatch(/FOO is not a valid value/);
    expect((await call('POST', '/bigquery/v2/projects/p1-test/datasets/d1/tables', table([{ name: '_a1', type: 'RECORD', fields: [{ name: 'b', type: 'INT64' }] }]))).status).toBe(200);
  });
});
