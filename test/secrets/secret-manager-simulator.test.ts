/**
 * The simulator's Secret Manager API rejects what the public protos (shipped in
 * `@google-cloud/secret-manager`, copied to spec-data/gcp/secretmanager/) do not allow — one test
 * per rule, each naming the proto element — and answers the real client.
 */
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { PassThroughClient } from 'google-auth-library';
import type { ClientOptions } from 'google-gax';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../adapters/gcp/simulator';
import { resetSimulator, startSimulator } from '../adapters/gcp-deploy/support';

let sim: GcpSimulator;
let client: SecretManagerServiceClient;
beforeAll(async () => {
  sim = await startSimulator();
  client = new SecretManagerServiceClient({ apiEndpoint: '127.0.0.1', port: sim.port, protocol: 'http', fallback: 'rest', authClient: new PassThroughClient() as unknown as ClientOptions['authClient'] });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  resetSimulator(sim);
  await client.createSecret({ parent: 'projects/acme-ml', secretId: 'db', secret: { replication: { automatic: {} } } });
});

const SECRET = '/v1/projects/acme-ml/secrets/db';

async function raw(verb: string, path: string, body?: unknown): Promise<{ status: number; error: { message: string; status?: string } }> {
  const res = await fetch(`${sim.url}${path}`, { method: verb, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, error: ((await res.json()) as { error: { message: string; status?: string } }).error };
}

describe('routes (service.proto `google.api.http` bindings of SecretManagerService)', () => {
  it('fails if a path is called with a verb no binding has (a secret has GET, PATCH and DELETE, no PUT)', async () => {
    const res = await raw('PUT', SECRET, {});
    expect(res.status).toBe(404);
    expect(res.error.message).toBe(`No PUT method at ${SECRET} in google.cloud.secretmanager.v1.SecretManagerService (it has GET GetSecret, PATCH UpdateSecret, DELETE DeleteSecret)`);
  });

  it('fails if getIamPolicy is POSTed: its binding is GET /v1/{resource=projects/*/secrets/*}:getIamPolicy', async () => {
    const res = await raw('POST', `${SECRET}:getIamPolicy`, {});
    expect(res.status).toBe(404);
    expect(res.error.message).toMatch(/^No POST method at .*:getIamPolicy in .* \(it has GET GetIamPolicy\)$/);
  });

  it('answers 501 for a method of the protos the simulator does not serve (values are never read: AccessSecretVersion)', async () => {
    const res = await raw('GET', `${SECRET}/versions/latest:access`);
    expect(res.status).toBe(501);
    expect(res.error.message).toBe('google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion is in the Secret Manager protos but not implemented by the simulator');
  });
});

describe('bodies and query (request messages of service.proto / iam_policy.proto / policy.proto)', () => {
  it('fails if a body has a field google.iam.v1.Policy does not define', async () => {
    const res = await raw('POST', `${SECRET}:setIamPolicy`, { policy: { bindings: [{ role: 'roles/secretmanager.secretAccessor', member: ['user:a@b.c'] }] } });
    expect(res.status).toBe(400);
    expect(res.error.message).toBe(`Invalid request of google.cloud.secretmanager.v1.SecretManagerService.SetIamPolicy: policy.bindings[0].member: Invalid JSON payload received. Unknown name "member" at 'policy.bindings[0]': Cannot find field.`);
  });

  it('fails if a value has the wrong type (Binding.members is repeated string)', async () => {
    const res = await raw('POST', `${SECRET}:setIamPolicy`, { policy: { bindings: [{ role: 'roles/secretmanager.secretAccessor', members: 'user:a@b.c' }] } });
    expect(res.status).toBe(400);
    expect(res.error.message).toMatch(/SetIamPolicy: policy\.bindings\[0\]\.members: expected a list, got string/);
  });

  it('fails if a REQUIRED field is missing (SetIamPolicyRequest.policy)', async () => {
    const res = await raw('POST', `${SECRET}:setIamPolicy`, {});
    expect(res.status).toBe(400);
    expect(res.error.message).toBe('Invalid request of google.cloud.secretmanager.v1.SecretManagerService.SetIamPolicy: policy: required field is missing');
  });

  it('fails if an OUTPUT_ONLY field is set (Secret.create_time on CreateSecret)', async () => {
    const res = await raw('POST', '/v1/projects/acme-ml/secrets?secretId=other', { replication: { automatic: {} }, createTime: '2026-01-01T00:00:00Z' });
    expect(res.status).toBe(400);
    expect(res.error.message).toBe('Invalid request of google.cloud.secretmanager.v1.SecretManagerService.CreateSecret: secret.createTime: field is output only and must not be set');
  });

  it('fails if a query parameter is not a field of the request message (GetIamPolicyRequest has options.requestedPolicyVersion)', async () => {
    expect((await raw('GET', `${SECRET}:getIamPolicy?options.requestedPolicyVersion=3`)).status).toBe(200);
    const res = await raw('GET', `${SECRET}:getIamPolicy?options.policyVersion=3`);
    expect(res.status).toBe(400);
    expect(res.error.message).toMatch(/GetIamPolicy: options\.policyVersion: unknown query parameter options\.policyVersion: not a field of GetIamPolicyRequest$/);
  });
});

describe('behaviour', () => {
  it('fails if the etag of a policy write is stale (409 ABORTED), as Secret Manager does', async () => {
    const [p] = await client.getIamPolicy({ resource: 'projects/acme-ml/secrets/db' });
    await client.setIamPolicy({ resource: 'projects/acme-ml/secrets/db', policy: { bindings: [{ role: 'roles/secretmanager.secretAccessor', members: ['user:a@acme.example'] }], etag: p.etag } });
    await expect(client.setIamPolicy({ resource: 'projects/acme-ml/secrets/db', policy: { bindings: [], etag: p.etag } })).rejects.toMatchObject({ code: 409 });
  });

  it('fails if a member names a service account of a project that does not exist', async () => {
    await expect(client.setIamPolicy({ resource: 'projects/acme-ml/secrets/db', policy: { bindings: [{ role: 'roles/secretmanager.secretAccessor', members: ['serviceAccount:ghost@acme-ml.iam.gserviceaccount.com'] }] } })).rejects.toThrow(
      /Service account ghost@acme-ml\.iam\.gserviceaccount\.com does not exist/,
    );
  });

  it('answers NOT_FOUND for a secret that does not exist', async () => {
    await expect(client.getSecret({ name: 'projects/acme-ml/secrets/nope' })).rejects.toMatchObject({ code: 404 });
  });
});
