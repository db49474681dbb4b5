/**
 * The simulator's platform APIs (Cloud Storage v1, Cloud KMS v1, IAM v1, Resource Manager v3)
 * reject what their discovery documents in ../shared/conformance/gcp/ do not allow — one test per
 * rule, each citing the document — and take faults like the Vertex and BigQuery routes.
 */
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { ProjectsClient } from '@google-cloud/resource-manager';
import { Storage } from '@google-cloud/storage';
import { iam_v1 } from '@googleapis/iam';
import { PassThroughClient } from 'google-auth-library';
import type { ClientOptions } from 'google-gax';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { resetSimulator, startSimulator } from '../gcp-deploy/support';

let sim: GcpSimulator;
let kms: KeyManagementServiceClient;
let crm: ProjectsClient;
let storage: Storage;
let iam: iam_v1.Iam;
beforeAll(async () => {
  sim = await startSimulator();
  const auth = new PassThroughClient();
  const opts: ClientOptions = { apiEndpoint: '127.0.0.1', port: sim.port, protocol: 'http', fallback: 'rest', authClient: auth as unknown as ClientOptions['authClient'] };
  kms = new KeyManagementServiceClient(opts);
  crm = new ProjectsClient(opts);
  storage = new Storage({ apiEndpoint: sim.url, projectId: 'acme-ml', authClient: auth as never, retryOptions: { autoRetry: false, maxRetries: 0 } });
  iam = new iam_v1.Iam({ rootUrl: `${sim.url}/`, auth: auth as never });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => resetSimulator(sim));

/** POST/PUT a raw body to the simulator (bodies the official clients would never send). */
async function raw(verb: string, path: string, body: unknown): Promise<{ status: number; body: { error: { message: string; status?: string; errors?: unknown[] } } }> {
  const res = await fetch(`${sim.url}${path}`, { method: verb, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as never };
}

describe('routes and methods (discovery `resources.*.methods`: httpMethod + flatPath/path)', () => {
  it('fails if a method is called with a verb its document does not list: cryptoKeys.getIamPolicy is GET in cloudkms.v1 (the KMS client POSTs it, googleapis/gax-nodejs#1462)', async () => {
    await kms.createKeyRing({ parent: 'projects/acme-ml/locations/europe-west4', keyRingId: 'ring', keyRing: {} });
    await kms.createCryptoKey({ parent: 'projects/acme-ml/locations/europe-west4/keyRings/ring', cryptoKeyId: 'key', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    await expect(kms.getIamPolicy({ resource: 'projects/acme-ml/locations/europe-west4/keyRings/ring/cryptoKeys/key' } as never)).rejects.toThrow(
      /No POST method at \/v1\/projects\/acme-ml\/locations\/europe-west4\/keyRings\/ring\/cryptoKeys\/key:getIamPolicy in cloudkms\.v1\.discovery\.json \(it has GET cloudkms\.projects\.locations\.keyRings\.cryptoKeys\.getIamPolicy\)/,
    );
  });

  it('fails if a key ring is deleted: cloudkms.v1 has no delete method for key rings or keys', async () => {
    await kms.createKeyRing({ parent: 'projects/acme-ml/locations/europe-west4', keyRingId: 'ring', keyRing: {} });
    const res = await raw('DELETE', '/v1/projects/acme-ml/locations/europe-west4/keyRings/ring', undefined);
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/^No DELETE method at .*keyRings\/ring in cloudkms\.v1\.discovery\.json \(it has GET cloudkms\.projects\.locations\.keyRings\.get\)$/);
  });
});

describe('bodies (discovery `schemas`)', () => {
  it('fails if a body has a field its schema does not define (storage.v1 Bucket)', async () => {
    const res = await raw('POST', '/storage/v1/b?project=acme-ml', { name: 'acme-b', lables: { a: 'b' } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('Invalid request of storage.buckets.insert: lables: Invalid field selection lables: no such field in Bucket');
  });

  it('fails if a body sets an output-only field (iam.v1 ServiceAccount.email is readOnly)', async () => {
    await expect(iam.projects.serviceAccounts.create({ name: 'projects/acme-ml', requestBody: { accountId: 'trainer', serviceAccount: { email: 'x@y', displayName: 'T' } } })).rejects.toThrow(
      'Invalid request of iam.projects.serviceAccounts.create: serviceAccount.email: email is output only and cannot be set',
    );
  });

  it('fails if a value has the wrong type (cloudresourcemanager.v3 Binding.members is an array of strings)', async () => {
    const res = await raw('POST', '/v3/projects/acme-ml:setIamPolicy', { policy: { bindings: [{ role: 'roles/viewer', members: 'user:a@b' }] } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ status: 'INVALID_ARGUMENT', message: 'Invalid request of cloudresourcemanager.projects.setIamPolicy: policy.bindings[0].members: expected an array' });
  });

  it('fails if a field the document marks required for the method is missing (storage.v1 Bucket.name: annotations.required storage.buckets.insert)', async () => {
    const res = await raw('POST', '/storage/v1/b?project=acme-ml', { location: 'EU' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('Invalid request of storage.buckets.insert: name: name is required by storage.buckets.insert');
  });

  it('fails if a method that takes no body gets one (storage.v1 buckets.delete has no request)', async () => {
    await storage.createBucket('acme-b', { location: 'EU' } as never);
    const res = await raw('DELETE', '/storage/v1/b/acme-b', { force: true });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('Invalid request of storage.buckets.delete: (body): storage.buckets.delete takes no request body');
  });
});

describe('parameters (discovery `parameters`: required, location query)', () => {
  it('fails if a required query parameter is missing (storage.v1 buckets.insert needs project)', async () => {
    const res = await raw('POST', '/storage/v1/b', { name: 'acme-b' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('Invalid request of storage.buckets.insert: project: required query parameter project of storage.buckets.insert is missing');
  });

  it('fails if a query parameter is not one of the method\'s (cloudkms.v1 keyRings.create takes keyRingId, not keyringId)', async () => {
    const res = await raw('POST', '/v1/projects/acme-ml/locations/europe-west4/keyRings?keyringId=ring', {});
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('Invalid request of cloudkms.projects.locations.keyRings.create: keyringId: unknown query parameter keyringId of cloudkms.projects.locations.keyRings.create');
  });
});

describe('behaviour the engine depends on', () => {
  it('fails if a policy is written with a stale etag: 409 ABORTED (cloudresourcemanager.v3 setIamPolicy)', async () => {
    const [policy] = await crm.getIamPolicy({ resource: 'projects/acme-ml' });
    await crm.setIamPolicy({ resource: 'projects/acme-ml', policy: { bindings: [...(policy.bindings ?? []), { role: 'roles/viewer', members: ['user:a@acme.example'] }], etag: policy.etag } });
    await expect(crm.setIamPolicy({ resource: 'projects/acme-ml', policy: { bindings: policy.bindings, etag: policy.etag } })).rejects.toThrow(/There were concurrent policy changes/);
  });

  it('fails if a binding names a service account that does not exist', async () => {
    const [policy] = await crm.getIamPolicy({ resource: 'projects/acme-ml' });
    await expect(crm.setIamPolicy({ resource: 'projects/acme-ml', policy: { bindings: [{ role: 'roles/viewer', members: ['serviceAccount:ghost-sa@acme-ml.iam.gserviceaccount.com'] }], etag: policy.etag } })).rejects.toThrow(
      'Service account ghost-sa@acme-ml.iam.gserviceaccount.com does not exist.',
    );
  });

  it('fails if a bucket\'s default key is not usable by the Cloud Storage service agent', async () => {
    await kms.createKeyRing({ parent: 'projects/acme-ml/locations/europe-west4', keyRingId: 'ring', keyRing: {} });
    await kms.createCryptoKey({ parent: 'projects/acme-ml/locations/europe-west4/keyRings/ring', cryptoKeyId: 'key', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    await expect(storage.createBucket('acme-b', { location: 'EU', encryption: { defaultKmsKeyName: 'projects/acme-ml/locations/europe-west4/keyRings/ring/cryptoKeys/key' } } as never)).rejects.toThrow(
      /the service agent service-\d+@gs-project-accounts\.iam\.gserviceaccount\.com needs roles\/cloudkms\.cryptoKeyEncrypterDecrypter on it/,
    );
  });

  it('fails if a key has a rotation period without a next rotation time', async () => {
    await kms.createKeyRing({ parent: 'projects/acme-ml/locations/europe-west4', keyRingId: 'ring', keyRing: {} });
    await expect(kms.createCryptoKey({ parent: 'projects/acme-ml/locations/europe-west4/keyRings/ring', cryptoKeyId: 'key', cryptoKey: { purpose: 'ENCRYPT_DECRYPT', rotationPeriod: { seconds: 86400 } } })).rejects.toThrow(
      'CryptoKey.next_rotation_time must be set when CryptoKey.rotation_period is set',
    );
  });

  it('fails if a custom role body has a field iam.v1 Role does not define (CreateRoleRequest.role)', async () => {
    await expect(iam.projects.roles.create({ parent: 'projects/acme-ml', requestBody: { roleId: 'mlp_x', role: { title: 'x', includedPermission: ['aiplatform.models.get'] } as never } })).rejects.toThrow(
      /^Invalid request of iam\.projects\.roles\.create: role\.includedPermission: /,
    );
  });

  it('fails if a project binding names a custom role that does not exist, or was deleted', async () => {
    const [policy] = await crm.getIamPolicy({ resource: 'projects/acme-ml' });
    const bind = (etag: unknown) => crm.setIamPolicy({ resource: 'projects/acme-ml', policy: { bindings: [{ role: 'projects/acme-ml/roles/mlp_x', members: ['user:a@acme.example'] }], etag: etag as never } });
    await expect(bind(policy.etag)).rejects.toThrow("Role (projects/acme-ml/roles/mlp_x) does not exist in the resource's hierarchy.");
    await iam.projects.roles.create({ parent: 'projects/acme-ml', requestBody: { roleId: 'mlp_x', role: { title: 'x', includedPermissions: ['aiplatform.models.get'], stage: 'GA' } } });
    await iam.projects.roles.delete({ name: 'projects/acme-ml/roles/mlp_x' });
    await expect(bind(policy.etag)).rejects.toThrow("Role (projects/acme-ml/roles/mlp_x) does not exist in the resource's hierarchy.");
    // A deleted role's id cannot be created again; it is undeleted.
    await expect(iam.projects.roles.create({ parent: 'projects/acme-ml', requestBody: { roleId: 'mlp_x', role: { title: 'x', includedPermissions: ['aiplatform.models.get'] } } })).rejects.toThrow(/was deleted recently/);
    await iam.projects.roles.undelete({ name: 'projects/acme-ml/roles/mlp_x', requestBody: {} });
    await bind(policy.etag);
    expect((await crm.getIamPolicy({ resource: 'projects/acme-ml' }))[0].bindings?.map((b) => b.role)).toEqual(['projects/acme-ml/roles/mlp_x']);
  });

  it('lists deleted roles only with showDeleted, and permissions only with view FULL', async () => {
    await iam.projects.roles.create({ parent: 'projects/acme-ml', requestBody: { roleId: 'mlp_a', role: { title: 'a', includedPermissions: ['aiplatform.models.get'], stage: 'GA' } } });
    await iam.projects.roles.create({ parent: 'projects/acme-ml', requestBody: { roleId: 'mlp_b', role: { title: 'b', includedPermissions: ['aiplatform.models.get'], stage: 'GA' } } });
    await iam.projects.roles.delete({ name: 'projects/acme-ml/roles/mlp_b' });
    const basic = (await iam.projects.roles.list({ parent: 'projects/acme-ml' })).data.roles ?? [];
    expect(basic.map((r) => [r.name, r.includedPermissions])).toEqual([['projects/acme-ml/roles/mlp_a', undefined]]);
    const all = (await iam.projects.roles.list({ parent: 'projects/acme-ml', showDeleted: true, view: 'FULL' })).data.roles ?? [];
    expect(all.map((r) => [r.name, r.deleted ?? false, r.includedPermissions])).toEqual([
      ['projects/acme-ml/roles/mlp_a', false, ['aiplatform.models.get']],
      ['projects/acme-ml/roles/mlp_b', true, ['aiplatform.models.get']],
    ]);
  });

  it('injects faults on the platform routes like on the others (429 with Retry-After)', async () => {
    sim.faults.add({ rpc: 'iam.projects.serviceAccounts.get', count: 1, fault: { kind: 'throttle', retryAfterSeconds: 2 } });
    const res = await fetch(`${sim.url}/v1/projects/acme-ml/serviceAccounts/x-sa@acme-ml.iam.gserviceaccount.com`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect((await fetch(`${sim.url}/v1/projects/acme-ml/serviceAccounts/x-sa@acme-ml.iam.gserviceaccount.com`)).status).toBe(404);
  });
});
