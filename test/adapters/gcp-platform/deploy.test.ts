/**
 * The gcp engine applies every document the gcp synth emits: service accounts, the staging bucket
 * and its IAM policy, KMS key rings / keys / key policies and the project IAM policy, against the
 * simulator through the official clients; a second deploy writes nothing; destroy removes only
 * mlplane's own bindings and says that KMS key rings and keys stay.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { engineFor, example, inputFor, Recorder, resetSimulator, startSimulator, writes } from '../gcp-deploy/support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});

type Policy = { bindings: { role: string; members: string[] }[] };
const projectPolicy = () => sim.state.policies.get('crm/projects/acme-ml') as Policy | undefined;
const membersOf = (p: Policy | undefined, role: string) => p?.bindings.find((b) => b.role === role)?.members ?? [];

describe.each(['Fraud', 'Churn'])('%s', (name) => {
  beforeAll(() => resetSimulator(sim));

  it('deploy creates every manifest entry', async () => {
    const model = example(name);
    const first = await engineFor(sim).deploy(inputFor(model));
    const manifest = inputFor(model).documents['manifest.json'] as { entries: { key: string; method: string; id: string | null; parent: string }[] };
    for (const e of manifest.entries) {
      if (e.method === 'iam.projects.serviceAccounts.create') expect(sim.state.get(`iam/serviceAccounts/${e.id}@acme-ml.iam.gserviceaccount.com`), e.key).toBeDefined();
      if (e.method === 'storage.buckets.insert') expect(sim.state.get(`storage/b/${e.id}`), e.key).toBeDefined();
      if (e.method === 'cloudkms.projects.locations.keyRings.create') expect(sim.state.get(`${e.parent}/keyRings/${e.id}`), e.key).toBeDefined();
      if (e.method === 'cloudkms.projects.locations.keyRings.cryptoKeys.create') expect(sim.state.get(`${e.parent}/cryptoKeys/${e.id}`), e.key).toBeDefined();
      if (e.method === 'iam.projects.roles.create') expect(sim.state.get(`iam/${e.parent}/roles/${e.id}`), e.key).toBeDefined();
    }
    expect(manifest.entries.filter((e) => e.method === 'iam.projects.roles.create').length).toBeGreaterThan(0);
    expect(first.created).toBeGreaterThan(5);
    // The project policy carries mlplane's grants next to the owner's.
    expect(membersOf(projectPolicy(), 'roles/owner')).toEqual(['user:owner@acme-ml.example']);
    expect(membersOf(projectPolicy(), 'roles/bigquery.jobUser').length).toBeGreaterThan(0);
  });

  it('a second deploy makes 0 writes', async () => {
    sim.requestLog.length = 0;
    const second = await engineFor(sim).deploy(inputFor(example(name)));
    expect(writes(sim).map((w) => `${w.verb} ${w.path}`)).toEqual([]);
    expect(second.writes).toBe(0);
    expect(second.created + second.updated + second.deleted + second.replaced).toBe(0);
  });
});

describe('KMS', () => {
  beforeEach(() => resetSimulator(sim));

  it('grants the service agents cryptoKeyEncrypterDecrypter on the key only', async () => {
    const model = example('Fraud');
    await engineFor(sim).deploy(inputFor(model));
    const keys = sim.state.namesOf('cloudkms#CryptoKey');
    expect(keys.length).toBeGreaterThan(0);
    const agents = keys.flatMap((k) => membersOf(sim.state.policies.get(k) as Policy, 'roles/cloudkms.cryptoKeyEncrypterDecrypter'));
    expect(agents).toEqual(expect.arrayContaining([
      expect.stringMatching(/^serviceAccount:service-\d+@gcp-sa-aiplatform\.iam\.gserviceaccount\.com$/),
      expect.stringMatching(/^serviceAccount:service-\d+@gs-project-accounts\.iam\.gserviceaccount\.com$/),
      expect.stringMatching(/^serviceAccount:bq-\d+@bigquery-encryption\.iam\.gserviceaccount\.com$/),
    ]));
    // Nothing about KMS at project level.
    expect(projectPolicy()?.bindings.filter((b) => b.role.startsWith('roles/cloudkms.'))).toEqual([]);
  });

  it('sends the environment dataset its customer-managed key only after the key and its grants exist', async () => {
    await engineFor(sim).deploy(inputFor(example('Fraud')));
    const log = sim.requestLog.filter((r) => r.status < 300);
    const withKey = log.findIndex((r) => r.rpc.startsWith('bigquery.datasets.') && JSON.stringify(r.body ?? {}).includes('defaultEncryptionConfiguration'));
    const grants = log.flatMap((r, i) => (r.rpc === 'cloudkms.projects.locations.keyRings.cryptoKeys.setIamPolicy' ? [i] : []));
    expect(grants.length).toBeGreaterThan(0);
    expect(withKey).toBeGreaterThan(Math.max(...grants));
    // The dataset was created (before the lock) without it.
    const insert = log.find((r) => r.rpc === 'bigquery.datasets.insert');
    expect(JSON.stringify(insert?.body)).not.toContain('defaultEncryptionConfiguration');
    expect(sim.state.get('bigquery/projects/acme-ml/datasets/Fraud_prod')?.body.defaultEncryptionConfiguration).toMatchObject({ kmsKeyName: expect.stringMatching(/cryptoKeys\//) });
  });

  it('destroy keeps key rings and keys and says so; --destroy-data schedules destruction of the key versions', async () => {
    const model = example('Fraud');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model));
    const progress = new Recorder();
    const plan = await engine.planDestroy(inputFor(model, progress), {});
    const ring = plan.items.find((i) => i.type === 'KMS key ring');
    expect(ring?.action).toBe('noop');
    expect(ring?.summary.join(' ')).toMatch(/^kept: Cloud KMS key ring \S+ cannot be deleted \(Cloud KMS has no delete for key rings/);
    await engine.destroy(inputFor(model, progress), {});
    expect(progress.lines.join('\n')).toMatch(/Cloud KMS key rings and keys cannot be deleted: projects\/acme-ml\/locations\/[^ ]+\/cryptoKeys\/\S+ .*stay enabled so that retained data stays readable/);
    expect(sim.state.namesOf('cloudkms#KeyRing').length).toBeGreaterThan(0);
    const data = new Recorder();
    await engine.destroy(inputFor(model, data), { destroyData: true });
    expect(data.lines.join('\n')).toMatch(/cannot be deleted: .* stay, with every key version scheduled for destruction/);
    const versions = [...sim.state.resources.values()].filter((r) => r.type === 'cloudkms#CryptoKeyVersion');
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.map((v) => v.body.state)).toEqual(versions.map(() => 'DESTROY_SCHEDULED'));
  });
});

describe('project IAM policy', () => {
  beforeEach(() => resetSimulator(sim));

  it('destroy removes mlplane\'s bindings and leaves a foreign binding on the same policy (and role) untouched', async () => {
    const model = example('Fraud');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model));
    // Someone else grants on the same project, one of them in a role mlplane also uses.
    const p = projectPolicy() as Policy & { etag: string };
    p.bindings.push({ role: 'roles/viewer', members: ['user:alice@acme.example'] });
    p.bindings.find((b) => b.role === 'roles/bigquery.jobUser')?.members.push('group:ml-team@acme.example');
    await engine.destroy(inputFor(model), {});
    const after = projectPolicy() as Policy;
    expect(after.bindings).toEqual(expect.arrayContaining([
      { role: 'roles/owner', members: ['user:owner@acme-ml.example'] },
      { role: 'roles/viewer', members: ['user:alice@acme.example'] },
      { role: 'roles/bigquery.jobUser', members: ['group:ml-team@acme.example'] },
    ]));
    expect(after.bindings.flatMap((b) => b.members).filter((m) => m.includes('.iam.gserviceaccount.com') && m.includes('@acme-ml.'))).toEqual([]);
    expect(sim.state.namesOf('iam#ServiceAccount')).toEqual([]);
  });

  it('a concurrent change of the policy (409 ABORTED on the etag) is retried from the read, keeping the other change', async () => {
    const model = example('Churn');
    const engine = engineFor(sim);
    let injected = false;
    sim.faults.add({
      rpc: 'cloudresourcemanager.projects.setIamPolicy',
      count: 1,
      fault: {
        kind: 'outside-change',
        change: () => {
          injected = true;
          const p = projectPolicy() as Policy & { etag: string };
          p.bindings.push({ role: 'roles/viewer', members: ['user:bob@acme.example'] });
          p.etag = Buffer.from('changed-by-bob').toString('base64');
        },
      },
    });
    await engine.deploy(inputFor(model));
    expect(injected).toBe(true);
    const conflicts = sim.requestLog.filter((r) => r.rpc === 'cloudresourcemanager.projects.setIamPolicy');
    expect(conflicts.map((r) => r.status)).toEqual([409, 200]);
    expect(membersOf(projectPolicy(), 'roles/viewer')).toEqual(['user:bob@acme.example']);
    expect(membersOf(projectPolicy(), 'roles/bigquery.jobUser').length).toBeGreaterThan(0);
  });
});

describe('policy writes', () => {
  beforeEach(() => resetSimulator(sim));

  it('edit the policy as read under the lock (the project\'s) or right after the create (a new bucket\'s): one write, no read of their own', async () => {
    const input = inputFor(example('Fraud'));
    await engineFor(sim).deploy(input);
    const count = (rpc: string) => sim.requestLog.filter((r) => r.rpc === rpc).length;
    // The project policy is read by each read of the live state (before the lock, under it), and not again before its write.
    expect(count('cloudresourcemanager.projects.getIamPolicy')).toBe(2);
    expect(count('cloudresourcemanager.projects.setIamPolicy')).toBe(1);
    // The bucket did not exist when the live state was read: its policy is read once, after its create.
    const created = sim.requestLog.findIndex((r) => r.rpc === 'storage.buckets.insert');
    const reads = sim.requestLog.map((r, i) => [r, i] as const).filter(([r]) => r.rpc === 'storage.buckets.getIamPolicy');
    expect(reads).toHaveLength(1);
    expect(reads[0]![1]).toBeGreaterThan(created);
    expect(count('storage.buckets.setIamPolicy')).toBe(1);
  });
});

describe('project custom roles', () => {
  beforeEach(() => resetSimulator(sim));

  type RoleEntry = { key: string; method: string; id: string | null; parent: string; path: string; document: string };
  const roleEntries = (input: ReturnType<typeof inputFor>) => (input.documents['manifest.json'] as { entries: RoleEntry[] }).entries.filter((e) => e.method === 'iam.projects.roles.create');
  const role = (e: RoleEntry) => sim.state.get(`iam/${e.parent}/roles/${e.id as string}`)?.body as { includedPermissions: string[]; deleted?: boolean; stage: string } | undefined;

  it('creates each role before the project policy binds it, with exactly the permissions of its document', async () => {
    const input = inputFor(example('Fraud'));
    await engineFor(sim).deploy(input);
    const log = sim.requestLog.filter((r) => r.status < 300);
    const creates = log.flatMap((r, i) => (r.rpc === 'iam.projects.roles.create' ? [i] : []));
    const policy = log.findIndex((r) => r.rpc === 'cloudresourcemanager.projects.setIamPolicy');
    expect(creates.length).toBeGreaterThan(0);
    expect(policy).toBeGreaterThan(Math.max(...creates));
    for (const e of roleEntries(input)) {
      const doc = input.documents[e.document] as { role: { includedPermissions: string[] } };
      expect(role(e)?.includedPermissions).toEqual(doc.role.includedPermissions);
      expect(role(e)?.stage).toBe('GA');
    }
  });

  it('patches a role whose permissions changed (updateMask includedPermissions) and plans the change', async () => {
    const input = inputFor(example('Fraud'));
    const engine = engineFor(sim);
    await engine.deploy(input);
    const e = roleEntries(input)[0] as RoleEntry;
    const live = role(e) as { includedPermissions: string[] };
    live.includedPermissions = [...live.includedPermissions, 'aiplatform.endpoints.delete'];
    const plan = await engine.diff(inputFor(example('Fraud')));
    const item = plan.items.find((i) => i.id === e.key);
    expect(item?.action).toBe('update');
    expect(item?.summary).toEqual([expect.stringMatching(/^custom role \S+ permissions -aiplatform\.endpoints\.delete$/)]);
    sim.requestLog.length = 0;
    await engine.deploy(inputFor(example('Fraud')));
    // Besides the deploy lock (a BigQuery table), the one write is the patch.
    expect(writes(sim).filter((w) => !w.rpc.startsWith('bigquery.tables.')).map((w) => `${w.rpc} ${w.status}`)).toEqual(['iam.projects.roles.patch 200']);
    expect(role(e)?.includedPermissions).not.toContain('aiplatform.endpoints.delete');
  });

  it('destroy deletes the roles after the bindings that use them; a later deploy undeletes them (a deleted role id cannot be created again)', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Churn'));
    await engine.deploy(input);
    sim.requestLog.length = 0;
    await engine.destroy(inputFor(example('Churn')), {});
    const log = writes(sim).filter((r) => r.status < 300);
    const deletes = log.flatMap((r, i) => (r.rpc === 'iam.projects.roles.delete' ? [i] : []));
    const unbind = log.findIndex((r) => r.rpc === 'cloudresourcemanager.projects.setIamPolicy');
    expect(deletes.length).toBe(roleEntries(input).length);
    expect(unbind).toBeLessThan(Math.min(...deletes));
    for (const e of roleEntries(input)) expect(role(e)?.deleted).toBe(true);
    sim.requestLog.length = 0;
    await engine.deploy(inputFor(example('Churn')));
    expect(writes(sim).filter((r) => r.rpc.startsWith('iam.projects.roles.')).map((r) => `${r.rpc} ${r.status}`)).toEqual(roleEntries(input).map(() => 'iam.projects.roles.undelete 200'));
    for (const e of roleEntries(input)) expect(role(e)?.deleted).toBeUndefined();
    sim.requestLog.length = 0;
    await engine.deploy(inputFor(example('Churn')));
    expect(writes(sim)).toEqual([]);
  });

  it('fails if a custom role of the same id exists without the ownership marker, before any write', async () => {
    const input = inputFor(example('Churn'));
    const e = roleEntries(input)[0] as RoleEntry;
    const name = `${e.parent}/roles/${e.id as string}`;
    sim.state.put(`iam/${name}`, 'iam#Role', { name, title: 'by hand', description: 'made by hand', includedPermissions: ['aiplatform.models.get'], stage: 'GA', etag: 'BwY=' });
    await expect(engineFor(sim).deploy(input)).rejects.toThrow(`[${e.path}] IAM custom role ${name} already exists and is not owned by this environment`);
    expect(writes(sim)).toEqual([]);
  });
});

describe('ownership', () => {
  beforeEach(() => resetSimulator(sim));

  it('fails if a service account of the same name exists without the ownership marker, before any write', async () => {
    const input = inputFor(example('Churn'));
    const manifest = input.documents['manifest.json'] as { entries: { method: string; id: string | null; path: string }[] };
    const sa = manifest.entries.find((e) => e.method === 'iam.projects.serviceAccounts.create');
    const email = `${sa?.id as string}@acme-ml.iam.gserviceaccount.com`;
    sim.state.put(`iam/serviceAccounts/${email}`, 'iam#ServiceAccount', { name: `projects/acme-ml/serviceAccounts/${email}`, email, projectId: 'acme-ml', description: 'made by hand' });
    await expect(engineFor(sim).deploy(input)).rejects.toThrow(`[${sa?.path as string}] IAM service account ${email} already exists and is not owned by this environment (its description has no '(mlplane-env=churn-staging)')`);
    expect(writes(sim)).toEqual([]);
  });
});
