import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { v1 } from '@google-cloud/aiplatform';
import { PassThroughClient } from 'google-auth-library';
import { startGcpSimulator, type GcpSimulator } from '../../../adapters/gcp/simulator';
import { resetSimulator, startSimulator } from './support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator({ operationPolls: 2 });
});
beforeEach(() => resetSimulator(sim));
afterAll(async () => {
  await sim.close();
});

const PARENT = 'projects/p1-test/locations/europe-west4';

async function post(path: string, body: unknown): Promise<{ status: number; body: { error?: { code: number; status: string; message: string; details?: { fieldViolations?: { field: string }[] }[]; errors?: { reason: string }[] } } }> {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as never };
}

describe('the Vertex AI + BigQuery simulator', () => {
  it('rejects a Vertex request body with an unknown field with a 400 in Google’s error shape', async () => {
    const res = await post(`/v1/${PARENT}/endpoints?endpointId=e1`, { displayName: 'e', labelz: { a: 'b' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(res.body.error?.message).toContain('Unknown name "labelz"');
    expect(res.body.error?.details?.[0]?.fieldViolations?.[0]?.field).toBe('labelz');
    expect(sim.state.resources.size).toBe(0);
  });

  it('rejects a query parameter the request message does not have', async () => {
    const res = await post(`/v1/${PARENT}/endpoints?endpointID=e1`, { displayName: 'e' });
    expect(res.status).toBe(400);
    expect(res.body.error?.message).toContain('Unknown name "endpointID"');
    const ok = await post(`/v1/${PARENT}/endpoints?endpointId=e1&$alt=json%3Benum-encoding%3Dint`, { displayName: 'e' });
    expect(ok.status).toBe(200);
  });

  it('answers with the fields a partial-response selector names (fields / X-Goog-FieldMask), whole otherwise', async () => {
    const created = await post(`/v1/${PARENT}/endpoints?endpointId=e1&fields=name`, { displayName: 'e', labels: { a: 'b', c: 'd' } });
    expect(created.status).toBe(200);
    expect(Object.keys(created.body)).toEqual(['name']);
    const get = (headers: Record<string, string>) => fetch(`${sim.url}/v1/${PARENT}/endpoints/e1`, { headers }).then((r) => r.json());
    expect(await get({ 'X-Goog-FieldMask': 'displayName,labels.a' })).toEqual({ displayName: 'e', labels: { a: 'b' } });
    expect(await get({})).toMatchObject({ name: `${PARENT}/endpoints/e1`, displayName: 'e', labels: { a: 'b', c: 'd' } });
    const list = await fetch(`${sim.url}/v1/${PARENT}/endpoints`, { headers: { 'X-Goog-FieldMask': 'endpoints.name' } }).then((r) => r.json());
    expect(list).toEqual({ endpoints: [{ name: `${PARENT}/endpoints/e1` }] });
  });

  it('rejects an output-only field and a missing required field', async () => {
    const out = await post(`/v1/${PARENT}/endpoints`, { displayName: 'e', createTime: '2026-01-01T00:00:00Z' });
    expect(out.status).toBe(400);
    expect(out.body.error?.message).toContain('createTime: field is output only');
    const missing = await post(`/v1/${PARENT}/endpoints`, { description: 'no display name' });
    expect(missing.status).toBe(400);
    expect(missing.body.error?.message).toContain('displayName: required field is missing');
  });

  it('rejects a nested unknown field and a wrong type deep in a body', async () => {
    const res = await post(`/v1/${PARENT}/schedules`, { displayName: 's', cron: '0 1 * * *', maxConcurrentRunCount: 'one', createPipelineJobRequest: { parent: PARENT, pipelineJob: { displayName: 'j', runtimeConfigg: {} } } });
    expect(res.status).toBe(400);
    expect(res.body.error?.message).toContain('maxConcurrentRunCount');
    expect(res.body.error?.message).toContain('Unknown name "runtimeConfigg"');
  });

  it('rejects a BigQuery body with an unknown or read-only field', async () => {
    const unknown = await post('/bigquery/v2/projects/p1-test/datasets', { datasetReference: { datasetId: 'd1' }, locationn: 'EU' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error?.errors?.[0]?.reason).toBe('invalid');
    const readOnly = await post('/bigquery/v2/projects/p1-test/datasets', { datasetReference: { datasetId: 'd1' }, creationTime: '1' });
    expect(readOnly.status).toBe(400);
    expect(readOnly.body.error?.message).toContain('creationTime is output only');
  });

  it('serves long-running operations on the /ui/ path the SDK polls, with @type responses', async () => {
    const client = new v1.EndpointServiceClient({ apiEndpoint: '127.0.0.1', port: sim.port, protocol: 'http', fallback: 'rest', authClient: new PassThroughClient() as never });
    const [op] = await client.createEndpoint({ parent: PARENT, endpointId: 'e2', endpoint: { displayName: 'e2', labels: { k: 'v' } } });
    const [endpoint] = await op.promise();
    expect(endpoint.name).toBe(`${PARENT}/endpoints/e2`);
    const polls = sim.requestLog.filter((r) => r.rpc === 'Operations.GetOperation');
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls.every((r) => r.path.startsWith('/ui/'))).toBe(true);
  });

  it('refuses a non-additive BigQuery schema change like BigQuery does', async () => {
    await post('/bigquery/v2/projects/p1-test/datasets', { datasetReference: { datasetId: 'd2' } });
    await post('/bigquery/v2/projects/p1-test/datasets/d2/tables', { tableReference: { projectId: 'p1-test', datasetId: 'd2', tableId: 't' }, schema: { fields: [{ name: 'a', type: 'STRING' }] } });
    const res = await fetch(`${sim.url}/bigquery/v2/projects/p1-test/datasets/d2/tables/t`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ schema: { fields: [{ name: 'b', type: 'STRING' }] } }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('Field a is missing in new schema');
  });

  it('injects 429 with Retry-After, then answers normally', async () => {
    sim.faults.add({ rpc: 'ListEndpoints', count: 1, fault: { kind: 'throttle', retryAfterSeconds: 4 } });
    const first = await fetch(`${sim.url}/v1/${PARENT}/endpoints`);
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('4');
    const second = await fetch(`${sim.url}/v1/${PARENT}/endpoints`);
    expect(second.status).toBe(200);
  });

  it('counts the TCP connections it accepts: keep-alive requests share one', async () => {
    const http = await import('node:http');
    const get = (agent: import('node:http').Agent) =>
      new Promise<number>((resolve, reject) => {
        http.get(`${sim.url}/v1/${PARENT}/endpoints`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
    const before = sim.connections;
    const kept = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect([await get(kept), await get(kept), await get(kept)]).toEqual([200, 200, 200]);
    expect(sim.connections - before).toBe(1);
    kept.destroy();
    const fresh = new http.Agent({ keepAlive: false });
    await get(fresh);
    await get(fresh);
    expect(sim.connections - before).toBe(3);
  });

  it('keeps the latest requests only when its log is limited (the command-line simulator keeps 1,000)', async () => {
    const limited = await startGcpSimulator({ requestLogLimit: 2 });
    try {
      for (const id of ['a', 'b', 'c']) {
        const res = await fetch(`${limited.url}/v1/${PARENT}/endpoints?endpointId=${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ displayName: id }) });
        expect(res.status).toBe(200);
      }
      expect(limited.requestLog.map((r) => (r.body as { displayName: string }).displayName)).toEqual(['b', 'c']);
      expect(limited.state.resources.size).toBeGreaterThanOrEqual(3);
    } finally {
      await limited.close();
    }
  });
});
