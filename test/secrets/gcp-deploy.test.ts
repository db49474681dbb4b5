/**
 * The gcp engine applies the Secret Manager IAM policies synth emits (secretAccessor on each secret
 * for the service account that reads it), through `@google-cloud/secret-manager` against the
 * simulator: read-modify-write on the etag, only mlplane's own bindings added and removed, a second
 * deploy writes nothing, destroy removes only ours, and a referenced secret that does not exist
 * fails the plan naming the construct and the fix. Secrets and their values are never created.
 */
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { PassThroughClient } from 'google-auth-library';
import type { ClientOptions } from 'google-gax';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../adapters/gcp/simulator';
import { Dataset, Field, MlopsEnvironment, Output, Pipeline, renderEnvironment, Schema, Secret, type EnvironmentModel } from '../../lib';
import { engineFor, inputFor, Recorder, resetSimulator, startSimulator, writes } from '../adapters/gcp-deploy/support';
import { TestRoot } from '../support/examples';

let sim: GcpSimulator;
let client: SecretManagerServiceClient;
beforeAll(async () => {
  sim = await startSimulator();
  const auth = new PassThroughClient();
  client = new SecretManagerServiceClient({ apiEndpoint: '127.0.0.1', port: sim.port, protocol: 'http', fallback: 'rest', authClient: auth as unknown as ClientOptions['authClient'] });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => resetSimulator(sim));

const DB = 'projects/acme-ml/secrets/db-password';
const OPENAI = 'projects/shared-secrets/secrets/openai';
const ACCESSOR = 'roles/secretmanager.secretAccessor';

/** An environment whose training pipeline reads two secrets (one in another project); `withOpenAi: false` drops the second read. */
function secretModel(withOpenAi = true): EnvironmentModel {
  const env = new MlopsEnvironment(new TestRoot(), 'Sec');
  const db = new Secret(env, 'DbPassword');
  const openAi = new Secret(env, 'OpenAiKey', { gcp: { project: 'shared-secrets', secretName: 'openai' } });
  const data = new Dataset(env, 'Data', { schema: Schema.of({ id: Field.string(), x: Field.float() }) });
  const p = new Pipeline(env, 'Train');
  p.addStep('Prep', { image: 'ghcr.io/acme/prep:1.0', command: ['python', '-m', 'prep'], inputs: { data }, outputs: { clean: Output.dataset() }, env: { DB_PASSWORD: db, ...(withOpenAi ? { OPENAI_API_KEY: openAi } : {}) } });
  return renderEnvironment(env);
}

type Policy = { bindings?: { role: string; members: string[]; condition?: unknown }[]; etag?: string };
const policyOf = (name: string) => sim.state.policies.get(`secretmanager/${name}`) as Policy | undefined;
const accessors = (name: string) => policyOf(name)?.bindings?.find((b) => b.role === ACCESSOR && !b.condition)?.members ?? [];

async function createSecrets(...names: string[]): Promise<void> {
  for (const name of names) {
    const [, project, , id] = name.split('/');
    await client.createSecret({ parent: `projects/${project as string}`, secretId: id as string, secret: { replication: { automatic: {} } } });
  }
  sim.requestLog.length = 0;
}

describe('Secret Manager IAM', () => {
  it('deploy grants secretAccessor on each secret to the reading service account only, through the Secret Manager client', async () => {
    await createSecrets(DB, OPENAI);
    const model = secretModel();
    await engineFor(sim).deploy(inputFor(model));
    for (const name of [DB, OPENAI]) expect(accessors(name)).toEqual([expect.stringMatching(/^serviceAccount:mlp-train-[0-9a-f]+@acme-ml\.iam\.gserviceaccount\.com$/)]);
    const calls = sim.requestLog.filter((r) => r.rpc.startsWith('SecretManagerService.') && r.write);
    expect(calls.map((r) => `${r.rpc} ${r.path} ${r.status}`).sort()).toEqual([
      `SecretManagerService.SetIamPolicy /v1/${DB}:setIamPolicy 200`,
      `SecretManagerService.SetIamPolicy /v1/${OPENAI}:setIamPolicy 200`,
    ]);
    // Each write carried the etag it read (read-modify-write), and nothing about the secret's value was sent.
    for (const r of calls) expect((r.body as { policy: { etag?: string } }).policy.etag).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(sim.requestLog.filter((r) => /versions|:access|addVersion/.test(r.path))).toEqual([]);
  });

  it('a second deploy makes 0 writes', async () => {
    await createSecrets(DB, OPENAI);
    const model = secretModel();
    await engineFor(sim).deploy(inputFor(model));
    sim.requestLog.length = 0;
    const second = await engineFor(sim).deploy(inputFor(model));
    expect(writes(sim).map((w) => `${w.verb} ${w.path}`)).toEqual([]);
    expect(second.writes).toBe(0);
    const plan = await engineFor(sim).diff(inputFor(model));
    expect(plan.items.filter((i) => i.type === 'Secret IAM policy').map((i) => i.action)).toEqual(['noop', 'noop']);
  });

  it('plans the grant as the apply makes it', async () => {
    await createSecrets(DB, OPENAI);
    const plan = await engineFor(sim).diff(inputFor(secretModel()));
    const items = plan.items.filter((i) => i.type === 'Secret IAM policy');
    expect(items.map((i) => [i.path, i.action, i.summary.join(' ')])).toEqual([
      ['Sec/DbPassword', 'update', expect.stringMatching(/^grant roles\/secretmanager\.secretAccessor on secret db-password to serviceAccount:mlp-train-/)],
      ['Sec/OpenAiKey', 'update', expect.stringMatching(/^grant roles\/secretmanager\.secretAccessor on secret openai to serviceAccount:mlp-train-/)],
    ]);
    expect(writes(sim)).toEqual([]);
  });

  it('keeps foreign members and bindings (same role, other roles, conditional) on deploy and destroy, and removes only ours', async () => {
    await createSecrets(DB, OPENAI);
    const foreign = [
      { role: ACCESSOR, members: ['group:oncall@acme.example'] },
      { role: 'roles/secretmanager.secretVersionManager', members: ['user:alice@acme.example'] },
      { role: ACCESSOR, members: ['user:bob@acme.example'], condition: { title: 'until 2030', expression: 'request.time < timestamp("2030-01-01T00:00:00Z")' } },
    ];
    const p = policyOf(DB) as Policy;
    await client.setIamPolicy({ resource: DB, policy: { bindings: foreign, etag: Buffer.from(p.etag as string, 'base64'), version: 3 } });
    expect(policyOf(DB)?.bindings).toEqual(foreign);
    const engine = engineFor(sim);
    await engine.deploy(inputFor(secretModel()));
    expect(accessors(DB)).toEqual(['group:oncall@acme.example', expect.stringMatching(/^serviceAccount:mlp-train-/)]);
    expect(policyOf(DB)?.bindings).toEqual(expect.arrayContaining([foreign[1], foreign[2]]));
    await engine.destroy(inputFor(secretModel()), {});
    expect(policyOf(DB)?.bindings).toEqual(foreign);
    expect(policyOf(OPENAI)?.bindings ?? []).toEqual([]);
    // The secrets stay: they are the user's.
    expect(sim.state.namesOf('secretmanager#Secret').sort()).toEqual([`secretmanager/${DB}`, `secretmanager/${OPENAI}`].sort());
  });

  it('revokes our binding on a secret the pipeline no longer reads, leaving the secret and other members', async () => {
    await createSecrets(DB, OPENAI);
    const engine = engineFor(sim);
    await engine.deploy(inputFor(secretModel()));
    const p = policyOf(OPENAI) as Policy;
    p.bindings?.[0]?.members.push('group:oncall@acme.example');
    const plan = await engine.diff(inputFor(secretModel(false)));
    expect(plan.items.filter((i) => i.type === 'Secret IAM policy').map((i) => [i.path, i.action, i.summary.join(' ')])).toEqual([
      ['Sec/DbPassword', 'noop', ''],
      ['Sec/OpenAiKey', 'update', expect.stringMatching(/^revoke roles\/secretmanager\.secretAccessor on secret openai from serviceAccount:mlp-train-/)],
    ]);
    await engine.deploy(inputFor(secretModel(false)));
    expect(accessors(OPENAI)).toEqual(['group:oncall@acme.example']);
    expect(accessors(DB)).toEqual([expect.stringMatching(/^serviceAccount:mlp-train-/)]);
  });

  it('a concurrent change of the secret policy (409 ABORTED on the etag) is retried from the read, keeping the other change', async () => {
    await createSecrets(DB, OPENAI);
    let injected = false;
    sim.faults.add({
      rpc: 'SecretManagerService.SetIamPolicy',
      count: 1,
      fault: {
        kind: 'outside-change',
        change: () => {
          injected = true;
          const p = policyOf(DB) as Policy;
          p.bindings = [...(p.bindings ?? []), { role: ACCESSOR, members: ['user:carol@acme.example'] }];
          p.etag = Buffer.from('changed-by-carol').toString('base64');
        },
      },
    });
    await engineFor(sim).deploy(inputFor(secretModel()));
    expect(injected).toBe(true);
    expect(sim.requestLog.filter((r) => r.rpc === 'SecretManagerService.SetIamPolicy' && r.path.includes('db-password')).map((r) => r.status)).toEqual([409, 200]);
    expect(accessors(DB)).toEqual(['user:carol@acme.example', expect.stringMatching(/^serviceAccount:mlp-train-/)]);
  });

  it('fails if a referenced secret does not exist, naming the construct, the secret and the fix, before any write', async () => {
    await createSecrets(DB);
    const input = inputFor(secretModel());
    const engine = engineFor(sim);
    for (const call of [() => engine.diff(input), () => engine.deploy(input)]) {
      await expect(call()).rejects.toThrow(
        `a Secret Manager secret the environment reads does not exist; nothing was changed:\n  [Sec/OpenAiKey] Secret Manager secret ${OPENAI} does not exist; mlplane references secrets and grants read on them, but never creates a secret or its value. Create it and add the value (gcloud secrets create openai --project=shared-secrets --replication-policy=automatic; printf %s "$VALUE" | gcloud secrets versions add openai --project=shared-secrets --data-file=-), or point the Secret at an existing one (gcp: { project, secretName })`,
      );
    }
    expect(writes(sim)).toEqual([]);
  });

  it('destroy of an environment whose secret was deleted meanwhile skips that secret', async () => {
    await createSecrets(DB, OPENAI);
    const engine = engineFor(sim);
    await engine.deploy(inputFor(secretModel()));
    sim.state.remove(`secretmanager/${OPENAI}`);
    const progress = new Recorder();
    await engine.destroy(inputFor(secretModel(), progress), {});
    expect(accessors(DB)).toEqual([]);
  });
});
