/**
 * The platform resources of an environment, applied with the same plan / ownership / journal /
 * lock rules as the Vertex AI and BigQuery ones: IAM service accounts (`@googleapis/iam`), the
 * Cloud Storage staging bucket and its IAM policy (`@google-cloud/storage`), Cloud KMS key rings,
 * keys and key IAM policies (`@google-cloud/kms`), the project IAM policy
 * (`@google-cloud/resource-manager` v3), and the IAM policies of the Secret Manager secrets the
 * environment reads (`@google-cloud/secret-manager`; the secrets themselves are the user's: never
 * created, changed or deleted, and their values never read).
 *
 * IAM policies are changed by read-modify-write on the policy's etag, retried from the read when
 * the service reports a concurrent change; only mlplane's own bindings are added or removed.
 *
 * @see ./README.md
 */
import { DeployError, type DestroyOptions, type PlanAction, type PropertyChange } from '../../deploy';
import type { ManifestEntry } from '../index';
import { cloudError, isNotFound } from './clients';
import { equal } from './diff';
import { ENV_LABEL } from './kinds';
import type { Json } from './proto-json';
import { item, lastSegment, quiet, type Run, type RunContext, type Step } from './run';
import { foreignError, serviceAgents, type Binding } from './steps';

/** Delete order of platform resources (lower first): our bindings go before the accounts they name; the bucket and keys last, before the environment dataset (the lock's home, rank 100). */
const RANK = { binding: 1, role: 94, serviceAccount: 95, bucket: 97, key: 99 } as const;

const METHOD = {
  serviceAccount: 'iam.projects.serviceAccounts.create',
  role: 'iam.projects.roles.create',
  bucket: 'storage.buckets.insert',
  bucketPolicy: 'storage.buckets.setIamPolicy',
  keyRing: 'cloudkms.projects.locations.keyRings.create',
  key: 'cloudkms.projects.locations.keyRings.cryptoKeys.create',
  keyPolicy: 'cloudkms.projects.locations.keyRings.cryptoKeys.setIamPolicy',
  projectPolicy: 'cloudresourcemanager.projects.setIamPolicy',
  secretPolicy: 'secretmanager.projects.secrets.setIamPolicy',
} as const;

/** Manifest methods this file applies. */
export const PLATFORM_METHODS: ReadonlySet<string> = new Set(Object.values(METHOD));

/** An IAM policy as read: bindings (possibly conditional), etag and version, passed back unchanged on write. */
interface Policy {
  readonly bindings?: readonly PolicyBinding[] | null;
  readonly etag?: unknown;
  readonly version?: number | null;
}

interface PolicyBinding {
  readonly role?: string | null;
  readonly members?: readonly string[] | null;
  readonly condition?: unknown;
}

/** A (role, member) pair. */
interface Grant {
  readonly role: string;
  readonly member: string;
}

/** The marker of ownership in a service account's description (service accounts have no labels). */
export function ownershipMarker(env: string): string {
  return `(${ENV_LABEL}=${env})`;
}

/**
 * Read the live platform resources and plan them. Same-named resources this environment does not
 * own are added to `foreign` (the plan then fails naming them).
 */
export async function observePlatform(run: Run, mode: 'deploy' | 'destroy', destroyOptions: DestroyOptions, foreign: string[]): Promise<Step[]> {
  const entries = run.manifest.entries.filter((e) => PLATFORM_METHODS.has(e.method));
  if (entries.length === 0) return [];
  const steps: Step[] = [];
  const env = run.ctx.envLabel;
  const project = run.manifest.project;
  const destroyData = mode === 'destroy' && destroyOptions.destroyData === true;
  const of = (m: string) => entries.filter((e) => e.method === m);
  const body = (e: ManifestEntry) => run.bodies.get(e.key) as Json;

  // Independent reads go out together (each is awaited where it is used).
  const once = new Map<string, Promise<unknown>>();
  const read = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    let p = once.get(key) as Promise<T> | undefined;
    if (!p) {
      p = quiet(fn());
      once.set(key, p);
    }
    return p;
  };
  const keyRingOf = (name: string) => read(name, () => readOrUndefined(run, name, async () => (await run.clients.kms.getKeyRing({ name }))[0]));
  const keyOf = (name: string) => read(name, () => readOrUndefined(run, name, async () => (await run.clients.kms.getCryptoKey({ name }))[0] as unknown as Json));
  const bucketOf = (bucketName: string) => read(`bucket ${bucketName}`, () => readOrUndefined(run, `bucket ${bucketName}`, async () => (await run.clients.storage.bucket(bucketName).getMetadata())[0] as unknown as Json));
  const accounts = read('accounts', () => listServiceAccounts(run));
  const customRoles = read('roles', () => listCustomRoles(run));
  for (const e of of(METHOD.keyRing)) void keyRingOf(`${e.parent}/keyRings/${e.id as string}`);
  for (const e of [...of(METHOD.key), ...of(METHOD.keyPolicy)]) void keyOf(`${e.parent}/cryptoKeys/${e.id as string}`);
  for (const e of [...of(METHOD.bucket), ...of(METHOD.bucketPolicy)]) void bucketOf(e.id as string);
  const projectPolicyOf = (resource: string) => read(`policy of ${resource}`, async () => (await run.calls.run('read', `policy of ${resource}`, () => run.clients.projects.getIamPolicy({ resource, options: { requestedPolicyVersion: 3 } })))[0] as unknown as Policy);
  for (const e of of(METHOD.projectPolicy)) void projectPolicyOf(`projects/${e.id as string}`);
  const secretPolicyOf = (resource: string) =>
    read(`secret ${resource}`, async () => {
      // A missing secret answers NOT_FOUND to both reads: undefined means "no such secret".
      const exists = await readOrUndefined(run, `secret ${resource}`, async () => (await run.clients.secrets.getSecret({ name: resource }))[0]);
      return exists ? await readSecretPolicy(run, resource) : undefined;
    });
  for (const e of of(METHOD.secretPolicy)) void secretPolicyOf(`${e.parent}/secrets/${e.id as string}`);

  // ---- Service accounts: the manifest's, and every one of this environment's (by the marker).
  // The list holds every account of the project: one not in it does not exist.
  const listed = await accounts;
  const owned = listed.filter((sa) => String(sa.description ?? '').includes(ownershipMarker(env)));
  const ours = new Set(owned.map((sa) => String(sa.email)));
  const claimed = new Set<string>();
  for (const e of of(METHOD.serviceAccount)) {
    const email = `${e.id as string}@${project}.iam.gserviceaccount.com`;
    ours.add(email);
    const desired = (body(e).serviceAccount as Json | undefined) ?? {};
    const live = listed.find((sa) => sa.email === email);
    if (live && !String(live.description ?? '').includes(ownershipMarker(env))) {
      foreign.push(`[${e.path}] IAM service account ${email} already exists and is not owned by this environment (its description has no '${ownershipMarker(env)}'); mlplane never adopts or overwrites it. To import it, add '${ownershipMarker(env)}' to its description (gcloud iam service-accounts update ${email} --description=…); otherwise rename the construct or delete the account`);
      ours.delete(email);
      continue;
    }
    claimed.add(email);
    const name = `projects/${project}/serviceAccounts/${email}`;
    if (mode === 'destroy') {
      if (live) steps.push(deleteServiceAccount(e.key, e.path, name));
      continue;
    }
    if (!live) {
      steps.push({
        item: item(e.key, 'Service account', e.path, 'create', [], [`create service account ${email}`]),
        deps: e.dependsOn,
        phase: 'apply',
        rank: RANK.serviceAccount,
        target: name,
        run: (rc) =>
          rc.calls.create(
            e.key,
            async () => {
              await rc.calls.run('write', e.key, () => rc.clients.iam.projects.serviceAccounts.create({ name: `projects/${project}`, requestBody: body(e) }));
            },
            async () => (await getServiceAccount(run, email, rc)) !== undefined,
          ),
      });
      continue;
    }
    const changes: PropertyChange[] = (['displayName', 'description'] as const).filter((f) => live[f] !== desired[f]).map((f) => ({ property: f, before: live[f], after: desired[f] }));
    steps.push({
      item: item(e.key, 'Service account', e.path, changes.length > 0 ? 'update' : 'noop', changes, changes.map((c) => `service account ${email} ${c.property} ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`)),
      deps: e.dependsOn,
      phase: 'apply',
      rank: RANK.serviceAccount,
      target: name,
      run: async (rc) => {
        await rc.calls.run('write', e.key, () => rc.clients.iam.projects.serviceAccounts.patch({ name, requestBody: { serviceAccount: desired, updateMask: changes.map((c) => c.property).join(',') } }), { retryAmbiguous: true });
      },
    });
  }
  // Accounts of this environment nothing defines any more.
  for (const sa of owned) {
    const email = String(sa.email);
    if (claimed.has(email)) continue;
    steps.push(deleteServiceAccount(`iam.serviceAccount/${email}`, email, String(sa.name)));
  }
  // ---- Project custom roles (the Vertex AI permissions of each identity), by the same marker.
  // Deleting a custom role only marks it deleted for 7 days (its id cannot be reused for 37): a
  // deleted role of ours is undeleted rather than created again.
  const roles = await customRoles;
  const claimedRoles = new Set<string>();
  for (const e of of(METHOD.role)) {
    const name = `${e.parent}/roles/${e.id as string}`;
    const desired = (body(e).role as Json | undefined) ?? {};
    const live = roles.find((r) => r.name === name);
    if (live && !String(live.description ?? '').includes(ownershipMarker(env))) {
      foreign.push(`[${e.path}] IAM custom role ${name} already exists and is not owned by this environment (its description has no '${ownershipMarker(env)}'); mlplane never adopts or overwrites it. To import it, add '${ownershipMarker(env)}' to its description (gcloud iam roles update ${e.id as string} --project=${project} --description=…); otherwise delete it`);
      continue;
    }
    claimedRoles.add(name);
    if (mode === 'destroy') {
      if (live && live.deleted !== true) steps.push(deleteRole(e.key, e.path, name));
      continue;
    }
    if (!live) {
      steps.push({
        item: item(e.key, 'IAM custom role', e.path, 'create', [], [`create custom role ${name} (${(desired.includedPermissions as string[] | undefined)?.length ?? 0} permissions)`]),
        deps: e.dependsOn,
        phase: 'apply',
        rank: RANK.role,
        target: name,
        run: (rc) =>
          rc.calls.create(
            e.key,
            async () => {
              await rc.calls.run('write', e.key, () => rc.clients.iam.projects.roles.create({ parent: e.parent, requestBody: body(e) }));
            },
            async () => (await readOrUndefined(run, name, async () => (await rc.clients.iam.projects.roles.get({ name })).data, rc)) !== undefined,
          ),
      });
      continue;
    }
    const changes: PropertyChange[] = (['title', 'description', 'includedPermissions', 'stage'] as const)
      .filter((f) => !equal(f === 'includedPermissions' ? [...((live[f] as string[] | undefined) ?? [])].sort() : live[f], desired[f]))
      .map((f) => ({ property: f, before: live[f], after: desired[f] }));
    const undelete = live.deleted === true;
    const summary = [
      ...(undelete ? [`undelete custom role ${name} (deleted by an earlier destroy)`] : []),
      ...changes.map((c) => (c.property === 'includedPermissions' ? permissionChange(name, c.before, c.after) : `custom role ${lastSegment(name)} ${c.property} ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`)),
    ];
    steps.push({
      item: item(e.key, 'IAM custom role', e.path, undelete || changes.length > 0 ? 'update' : 'noop', changes, summary),
      deps: e.dependsOn,
      phase: 'apply',
      rank: RANK.role,
      target: name,
      run: async (rc) => {
        if (undelete) await rc.calls.run('write', `${e.key}#undelete`, () => rc.clients.iam.projects.roles.undelete({ name, requestBody: { etag: live.etag as string } }), { retryAmbiguous: true });
        if (changes.length > 0) {
          await rc.calls.run('write', e.key, () => rc.clients.iam.projects.roles.patch({ name, updateMask: changes.map((c) => c.property).join(','), requestBody: desired }), { retryAmbiguous: true });
        }
      },
    });
  }
  // Roles of this environment nothing defines any more.
  for (const r of roles) {
    const name = String(r.name);
    if (claimedRoles.has(name) || r.deleted === true || !String(r.description ?? '').includes(ownershipMarker(env))) continue;
    steps.push(deleteRole(`iam.role/${name}`, name, name));
  }
  const isOurs = (member: string) => member.startsWith('serviceAccount:') && ours.has(member.slice('serviceAccount:'.length));
  const agents = serviceAgents(run);

  // ---- KMS key rings and keys (before the bucket and datasets that use them).
  for (const e of of(METHOD.keyRing)) {
    const name = `${e.parent}/keyRings/${e.id as string}`;
    const live = await keyRingOf(name);
    if (mode === 'destroy') {
      if (live) steps.push(kept(e, 'KMS key ring', name, `kept: Cloud KMS key ring ${lastSegment(name)} cannot be deleted (Cloud KMS has no delete for key rings; an empty ring costs nothing)`));
      continue;
    }
    steps.push({
      item: item(e.key, 'KMS key ring', e.path, live ? 'noop' : 'create', [], live ? [] : [`create KMS key ring ${name}`]),
      deps: e.dependsOn,
      phase: 'apply',
      rank: RANK.key,
      target: name,
      run: (rc) =>
        rc.calls.create(
          e.key,
          async () => {
            await rc.calls.run('write', e.key, () => rc.clients.kms.createKeyRing({ parent: e.parent, keyRingId: e.id as string, keyRing: {} }));
          },
          async () => (await readOrUndefined(run, name, async () => (await rc.clients.kms.getKeyRing({ name }))[0], rc)) !== undefined,
        ),
    });
  }
  for (const e of of(METHOD.key)) {
    const name = `${e.parent}/cryptoKeys/${e.id as string}`;
    const desired = body(e);
    const live = await keyOf(name);
    const liveEnv = ((live?.labels as Record<string, string> | undefined) ?? {})[ENV_LABEL];
    if (live && liveEnv !== env) {
      foreign.push(foreignError(e.path, 'KMS key', name, liveEnv, env, `gcloud kms keys update ${e.id as string} --keyring=… --location=… --update-labels=${ENV_LABEL}=${env}`));
      continue;
    }
    if (mode === 'destroy') {
      if (live) steps.push(await destroyKey(run, e, name, destroyData));
      continue;
    }
    if (!live) {
      steps.push({
        item: item(e.key, 'KMS key', e.path, 'create', [], [`create KMS key ${name} (${String(desired.purpose)}, rotation every ${rotationDays(desired.rotationPeriod)} days)`]),
        deps: e.dependsOn,
        phase: 'apply',
        rank: RANK.key,
        target: name,
        run: (rc) =>
          rc.calls.create(
            e.key,
            async () => {
              // Cloud KMS needs the first rotation time with a rotation period; it is a deploy-time value, not part of the document.
              const cryptoKey = clientKey({ ...desired, ...nextRotation(desired.rotationPeriod) });
              await rc.calls.run('write', e.key, () => rc.clients.kms.createCryptoKey({ parent: e.parent, cryptoKeyId: e.id as string, cryptoKey: cryptoKey as never }));
            },
            async () => (await readOrUndefined(run, name, async () => (await rc.clients.kms.getCryptoKey({ name }))[0], rc)) !== undefined,
          ),
      });
      continue;
    }
    if (String(live.purpose) !== String(desired.purpose)) {
      throw new DeployError(`the purpose of KMS key ${name} cannot change (${String(live.purpose)} → ${String(desired.purpose)}); Cloud KMS keys are immutable in purpose and cannot be deleted: name a new key (encryption keyName) instead`, e.path);
    }
    const changes: PropertyChange[] = [];
    if (!equal(live.labels ?? {}, desired.labels ?? {})) changes.push({ property: 'labels', before: live.labels, after: desired.labels });
    const liveRotation = durationText(live.rotationPeriod);
    if (liveRotation !== desired.rotationPeriod) changes.push({ property: 'rotationPeriod', before: liveRotation, after: desired.rotationPeriod });
    steps.push({
      item: item(e.key, 'KMS key', e.path, changes.length > 0 ? 'update' : 'noop', changes, changes.map((c) => (c.property === 'rotationPeriod' ? `key ${lastSegment(name)} rotation every ${rotationDays(c.before)} → ${rotationDays(c.after)} days` : `key ${lastSegment(name)} labels changed`))),
      deps: e.dependsOn,
      phase: 'apply',
      rank: RANK.key,
      target: name,
      run: async (rc) => {
        const rotation = changes.some((c) => c.property === 'rotationPeriod');
        const cryptoKey = clientKey({ name, labels: desired.labels, ...(rotation ? { rotationPeriod: desired.rotationPeriod, ...nextRotation(desired.rotationPeriod) } : {}) });
        const paths = [...changes.map((c) => (c.property === 'rotationPeriod' ? 'rotation_period' : c.property)), ...(rotation ? ['next_rotation_time'] : [])];
        await rc.calls.run('write', e.key, () => rc.clients.kms.updateCryptoKey({ cryptoKey: cryptoKey as never, updateMask: { paths } }), { retryAmbiguous: true });
      },
    });
  }
  for (const e of of(METHOD.keyPolicy)) {
    // Keys are kept by destroy, and so are the grants that let the services read what they encrypted.
    if (mode === 'destroy') continue;
    const resource = `${e.parent}/cryptoKeys/${e.id as string}`;
    const desired = await agents.resolve(body(e));
    const read = (rc: Pick<RunContext, 'calls' | 'clients'>) => rc.calls.run('read', `policy ${resource}`, () => rc.clients.kmsGetIamPolicy(resource)) as Promise<Policy>;
    const keyLive = await keyOf(resource);
    const live = keyLive ? await read(run) : undefined;
    steps.push(
      policyStep(e, 'KMS key IAM policy', `key ${lastSegment(resource)}`, resource, live, grantsOf(desired), [], async (rc, edit) => {
        await rewritePolicy(rc, e.key, () => read(rc), (policy) => rc.clients.kms.setIamPolicy({ resource, policy } as never), edit, live);
      }),
    );
  }

  // ---- The staging bucket and its IAM policy.
  /** The policy of each bucket this run creates, read right after the create (its policy step edits it). */
  const readAfterCreate = new Map<string, Promise<Policy>>();
  for (const e of of(METHOD.bucket)) {
    const bucketName = e.id as string;
    const desired = body(e);
    const live = await bucketOf(bucketName);
    const liveEnv = ((live?.labels as Record<string, string> | undefined) ?? {})[ENV_LABEL];
    if (live && liveEnv !== env) {
      foreign.push(foreignError(e.path, 'Cloud Storage bucket', `gs://${bucketName}`, liveEnv, env, `gcloud storage buckets update gs://${bucketName} --update-labels=${ENV_LABEL}=${env}`));
      continue;
    }
    if (mode === 'destroy') {
      if (!live) continue;
      if (!destroyData) {
        steps.push(kept(e, 'Cloud Storage bucket', `gs://${bucketName}`, `retained: Cloud Storage bucket ${bucketName} holds data (delete it with destroy --destroy-data)`, RANK.bucket));
        continue;
      }
      steps.push({
        item: item(e.key, 'Cloud Storage bucket', e.path, 'delete', [], [`delete Cloud Storage bucket ${bucketName} and every object in it`]),
        deps: [],
        phase: 'delete',
        rank: RANK.bucket,
        target: `gs://${bucketName}`,
        run: async (rc) => {
          const [files] = await rc.calls.run('read', `objects of ${bucketName}`, () => rc.clients.storage.bucket(bucketName).getFiles({ autoPaginate: true }));
          for (const f of files) await rc.calls.run('write', `${e.key}/${f.name}`, () => f.delete({ ignoreNotFound: true }), { retryAmbiguous: true });
          await rc.calls.run('write', e.key, () => rc.clients.storage.bucket(bucketName).delete({ ignoreNotFound: true }), { retryAmbiguous: true });
        },
      });
      continue;
    }
    if (!live) {
      steps.push({
        item: item(e.key, 'Cloud Storage bucket', e.path, 'create', [], [`create Cloud Storage bucket gs://${bucketName} (${String(desired.location)}, uniform bucket-level access${(desired.encryption as Json | undefined)?.defaultKmsKeyName ? ', customer-managed key' : ''})`]),
        deps: e.dependsOn,
        phase: 'apply',
        rank: RANK.bucket,
        target: `gs://${bucketName}`,
        run: (rc) =>
          rc.calls.create(
            e.key,
            async () => {
              const { name: _n, ...metadata } = desired;
              void _n;
              await rc.calls.run('write', e.key, () => rc.clients.storage.createBucket(bucketName, metadata as never));
              // Its policy is read now, while the grants' service accounts are still being created.
              readAfterCreate.set(bucketName, quiet(readBucketPolicy(rc, bucketName)));
            },
            async () => (await readOrUndefined(run, `bucket ${bucketName}`, async () => (await rc.clients.storage.bucket(bucketName).getMetadata())[0], rc)) !== undefined,
          ),
      });
      continue;
    }
    if (String(live.location).toUpperCase() !== String(desired.location).toUpperCase()) {
      throw new DeployError(`the location of Cloud Storage bucket ${bucketName} cannot change (${String(live.location)} → ${String(desired.location)}) and the bucket holds data; name another staging bucket and move the objects (gcloud storage cp)`, e.path);
    }
    const want: Json = { labels: desired.labels, iamConfiguration: { uniformBucketLevelAccess: { enabled: true } }, ...(desired.encryption ? { encryption: desired.encryption } : {}) };
    const have: Json = {
      labels: live.labels ?? {},
      iamConfiguration: { uniformBucketLevelAccess: { enabled: ((live.iamConfiguration as Json | undefined)?.uniformBucketLevelAccess as Json | undefined)?.enabled === true } },
      ...(desired.encryption ? { encryption: { defaultKmsKeyName: (live.encryption as Json | undefined)?.defaultKmsKeyName } } : {}),
    };
    const changes: PropertyChange[] = Object.keys(want).filter((k) => !equal(want[k], have[k])).map((k) => ({ property: k, before: have[k], after: want[k] }));
    steps.push({
      item: item(e.key, 'Cloud Storage bucket', e.path, changes.length > 0 ? 'update' : 'noop', changes, changes.map((c) => `bucket ${bucketName} ${c.property} ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`)),
      deps: e.dependsOn,
      phase: 'apply',
      rank: RANK.bucket,
      target: `gs://${bucketName}`,
      run: async (rc) => {
        const patch: Json = Object.fromEntries(changes.map((c) => [c.property, c.after]));
        // Labels are merged by a patch: a label mlplane no longer sets is removed with null.
        if (patch.labels) patch.labels = { ...Object.fromEntries(Object.keys((live.labels as Json | undefined) ?? {}).map((k) => [k, null])), ...(desired.labels as Json) };
        await rc.calls.run('write', e.key, () => rc.clients.storage.bucket(bucketName).setMetadata(patch as never), { retryAmbiguous: true });
      },
    });
  }
  for (const e of of(METHOD.bucketPolicy)) {
    const bucketName = e.id as string;
    const bucket = () => run.clients.storage.bucket(bucketName);
    const read = (rc: Pick<RunContext, 'calls' | 'clients'>) => readBucketPolicy(rc, bucketName);
    const exists = await bucketOf(bucketName);
    const live = exists ? await read(run) : undefined;
    if (mode === 'destroy' && !live) continue;
    const desired = mode === 'destroy' ? [] : grantsOf(await agents.resolve(body(e)));
    steps.push(
      policyStep(e, 'Bucket IAM policy', `bucket ${bucketName}`, `gs://${bucketName}`, live, desired, revocations(live, desired, isOurs), async (rc, edit) => {
        await rewritePolicy(rc, e.key, () => read(rc), (policy) => bucket().iam.setPolicy(policy as never), edit, live ?? readAfterCreate.get(bucketName));
      }, mode),
    );
  }

  // ---- The project IAM policy: mlplane's bindings only.
  for (const e of of(METHOD.projectPolicy)) {
    const resource = `projects/${e.id as string}`;
    const read = (rc: Pick<RunContext, 'calls' | 'clients'>) => rc.calls.run('read', `policy of ${resource}`, async () => (await rc.clients.projects.getIamPolicy({ resource, options: { requestedPolicyVersion: 3 } }))[0] as unknown as Policy);
    const live = await projectPolicyOf(resource);
    const desired = mode === 'destroy' ? [] : grantsOf(await agents.resolve(body(e)));
    steps.push(
      policyStep(e, 'Project IAM policy', `project ${e.id as string}`, resource, live, desired, revocations(live, desired, isOurs), async (rc, edit) => {
        await rewritePolicy(rc, e.key, () => read(rc), (policy) => rc.clients.projects.setIamPolicy({ resource, policy: policy as never }), edit, live);
      }, mode),
    );
  }

  // ---- Secret Manager secrets: the user's; only our accessor bindings on their policies are ours.
  const missing: string[] = [];
  for (const e of of(METHOD.secretPolicy)) {
    const resource = `${e.parent}/secrets/${e.id as string}`;
    const live = await secretPolicyOf(resource);
    if (!live) {
      if (mode === 'deploy') missing.push(missingSecret(e, resource));
      continue;
    }
    const desired = mode === 'destroy' ? [] : grantsOf(await agents.resolve(body(e)));
    steps.push(
      policyStep(e, 'Secret IAM policy', `secret ${e.id as string}`, resource, live, desired, revocations(live, desired, isOurs), async (rc, edit) => {
        await rewritePolicy(rc, e.key, () => readSecretPolicy(rc, resource), (policy) => rc.clients.secrets.setIamPolicy({ resource, policy: policy as never }), edit, live);
      }, mode),
    );
  }
  if (missing.length > 0) {
    throw new DeployError(`${missing.length === 1 ? 'a Secret Manager secret the environment reads does not exist' : `${missing.length} Secret Manager secrets the environment reads do not exist`}; nothing was changed:\n  ${missing.join('\n  ')}`, run.manifest.environment);
  }
  if (mode === 'destroy' && of(METHOD.keyRing).length > 0 && !run.said.has('kms-kept')) {
    run.said.add('kms-kept');
    run.input.progress.log(
      `Cloud KMS key rings and keys cannot be deleted: ${of(METHOD.key).map((e) => `${e.parent}/cryptoKeys/${e.id as string}`).join(', ')} ${destroyData ? 'stay, with every key version scheduled for destruction (Cloud KMS destroys them after the key\'s scheduled-destruction period, 30 days by default; until then `gcloud kms keys versions restore` undoes it)' : 'stay enabled so that retained data stays readable; to stop using them, destroy with --destroy-data (schedules destruction of their versions) or run `gcloud kms keys versions destroy`'}`,
    );
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------

/** The IAM policy of a secret (version 3, so conditional bindings read as they are). */
async function readSecretPolicy(rc: Pick<RunContext, 'calls' | 'clients'>, resource: string): Promise<Policy> {
  const [policy] = await rc.calls.run('read', `policy of ${resource}`, () => rc.clients.secrets.getIamPolicy({ resource, options: { requestedPolicyVersion: 3 } }));
  return policy as unknown as Policy;
}

/** The message for a secret that a Secret construct references and that does not exist. */
function missingSecret(e: ManifestEntry, resource: string): string {
  const [, project, , secret] = resource.split('/');
  return (
    `[${e.path}] Secret Manager secret ${resource} does not exist; mlplane references secrets and grants read on them, but never creates a secret or its value. ` +
    `Create it and add the value (gcloud secrets create ${secret as string} --project=${project as string} --replication-policy=automatic; printf %s "$VALUE" | gcloud secrets versions add ${secret as string} --project=${project as string} --data-file=-), ` +
    `or point the Secret at an existing one (gcp: { project, secretName })`
  );
}

function deleteRole(key: string, path: string, name: string): Step {
  return {
    item: item(key, 'IAM custom role', path, 'delete', [], [`delete custom role ${lastSegment(name)} (IAM keeps it deleted for 7 days, then purges it; a deploy in between undeletes it)`]),
    deps: [],
    phase: 'delete',
    rank: RANK.role,
    target: name,
    run: async (rc) => {
      await rc.calls.run('write', key, () => rc.clients.iam.projects.roles.delete({ name }), { retryAmbiguous: true }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    },
  };
}

/** A plan line for a change of a role's permissions: what is added and removed. */
function permissionChange(name: string, before: unknown, after: unknown): string {
  const b = new Set((before as string[] | undefined) ?? []);
  const a = new Set((after as string[] | undefined) ?? []);
  const added = [...a].filter((p) => !b.has(p));
  const removed = [...b].filter((p) => !a.has(p));
  return `custom role ${lastSegment(name)} permissions${added.length > 0 ? ` +${added.join(' +')}` : ''}${removed.length > 0 ? ` -${removed.join(' -')}` : ''}`;
}

/** Every custom role of the project, deleted ones too (`showDeleted`), with their permissions (`view: FULL`). */
async function listCustomRoles(run: Run): Promise<Json[]> {
  if (!run.manifest.entries.some((e) => e.method === METHOD.role || e.method === METHOD.serviceAccount)) return [];
  const out: Json[] = [];
  let pageToken: string | undefined;
  do {
    const res = await run.calls.run('read', `custom roles of ${run.manifest.project}`, () => run.clients.iam.projects.roles.list({ parent: `projects/${run.manifest.project}`, showDeleted: true, view: 'FULL', pageSize: 1000, ...(pageToken ? { pageToken } : {}) }));
    out.push(...((res.data.roles ?? []) as Json[]));
    pageToken = res.data.nextPageToken ?? undefined;
  } while (pageToken);
  return out;
}

function deleteServiceAccount(key: string, path: string, name: string): Step {
  return {
    item: item(key, 'Service account', path, 'delete', [], [`delete service account ${lastSegment(name)}`]),
    deps: [],
    phase: 'delete',
    rank: RANK.serviceAccount,
    target: name,
    run: async (rc) => {
      await rc.calls.run('write', key, () => rc.clients.iam.projects.serviceAccounts.delete({ name }), { retryAmbiguous: true }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    },
  };
}

/** A no-op with a line saying why a resource stays. */
function kept(e: ManifestEntry, type: string, target: string, line: string, rank: number = RANK.key): Step {
  return { item: item(e.key, type, e.path, 'noop', [], [line]), deps: [], phase: 'delete', rank, target };
}

/** Destroy of a key: it cannot be deleted; with --destroy-data its enabled versions are scheduled for destruction. */
async function destroyKey(run: Run, e: ManifestEntry, name: string, destroyData: boolean): Promise<Step> {
  if (!destroyData) {
    return kept(e, 'KMS key', name, `kept: Cloud KMS key ${lastSegment(name)} cannot be deleted; its versions stay enabled so retained data stays readable (destroy --destroy-data schedules their destruction)`);
  }
  const [versions] = await run.calls.run('read', `versions of ${name}`, () => run.clients.kms.listCryptoKeyVersions({ parent: name }, { autoPaginate: true }));
  const live = versions.filter((v) => ['ENABLED', 'DISABLED', 1, 2].includes(v.state as never)).map((v) => String(v.name));
  if (live.length === 0) return kept(e, 'KMS key', name, `kept: Cloud KMS key ${lastSegment(name)} cannot be deleted; its versions are already destroyed or scheduled for destruction`);
  return {
    item: item(e.key, 'KMS key', e.path, 'delete', [], [`schedule destruction of key ${lastSegment(name)} version(s) ${live.map(lastSegment).join(', ')} (Cloud KMS destroys them after 30 days; the key ring and key cannot be deleted and stay)`]),
    deps: [],
    phase: 'delete',
    rank: RANK.key,
    target: name,
    run: async (rc) => {
      for (const v of live) await rc.calls.run('write', `${e.key}@${lastSegment(v)}`, () => rc.clients.kms.destroyCryptoKeyVersion({ name: v }), { retryAmbiguous: true });
    },
  };
}

async function listServiceAccounts(run: Run): Promise<Json[]> {
  if (!run.manifest.entries.some((e) => e.method === METHOD.serviceAccount)) return [];
  const out: Json[] = [];
  let pageToken: string | undefined;
  do {
    const res = await run.calls.run('read', `service accounts of ${run.manifest.project}`, () => run.clients.iam.projects.serviceAccounts.list({ name: `projects/${run.manifest.project}`, pageSize: 100, ...(pageToken ? { pageToken } : {}) }));
    out.push(...((res.data.accounts ?? []) as Json[]));
    pageToken = res.data.nextPageToken ?? undefined;
  } while (pageToken);
  return out;
}

async function getServiceAccount(run: Run, email: string, rc: Pick<RunContext, 'calls' | 'clients'> = run): Promise<Json | undefined> {
  return readOrUndefined(run, email, async () => (await rc.clients.iam.projects.serviceAccounts.get({ name: `projects/${run.manifest.project}/serviceAccounts/${email}` })).data as Json, rc);
}

/** A read, `undefined` only on NOT_FOUND. */
async function readOrUndefined<T>(run: Run, what: string, fn: () => Promise<T>, rc: Pick<RunContext, 'calls'> = run): Promise<T | undefined> {
  try {
    return await rc.calls.run('read', what, fn);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

function grantsOf(body: Json): Grant[] {
  return ((body.bindings as Binding[] | undefined) ?? []).flatMap((b) => (b.members ?? []).map((member) => ({ role: b.role, member })));
}

/** Unconditional (role, member) pairs of a live policy. */
function liveGrants(policy: Policy | undefined): Grant[] {
  return (policy?.bindings ?? []).filter((b) => !b.condition).flatMap((b) => (b.members ?? []).map((member) => ({ role: String(b.role), member })));
}

const same = (a: Grant, b: Grant) => a.role === b.role && a.member === b.member;

/** Live grants of ours (members that are this environment's service accounts) that `desired` does not have. */
function revocations(live: Policy | undefined, desired: readonly Grant[], isOurs: (member: string) => boolean): Grant[] {
  return liveGrants(live).filter((g) => isOurs(g.member) && !desired.some((d) => same(d, g)));
}

/** `bindings` with `add` added and `remove` removed; every other binding (conditional ones too) is left as it is. */
export function editBindings(bindings: readonly PolicyBinding[], add: readonly Grant[], remove: readonly Grant[]): PolicyBinding[] {
  const out = bindings.map((b) => ({ ...b, members: [...(b.members ?? [])] }));
  for (const g of remove) {
    const b = out.find((x) => x.role === g.role && !x.condition && x.members.includes(g.member));
    if (b) b.members = b.members.filter((m) => m !== g.member);
  }
  for (const g of add) {
    if (out.some((x) => x.role === g.role && !x.condition && x.members.includes(g.member))) continue;
    const b = out.find((x) => x.role === g.role && !x.condition);
    if (b) b.members.push(g.member);
    else out.push({ role: g.role, members: [g.member] });
  }
  return out.filter((b) => b.members.length > 0 || b.condition);
}

type Edit = (bindings: readonly PolicyBinding[]) => PolicyBinding[];

/** A policy step: grant what is missing, revoke ours that nothing defines any more. */
function policyStep(e: ManifestEntry, type: string, on: string, target: string, live: Policy | undefined, desired: readonly Grant[], revoke: readonly Grant[], write: (rc: RunContext, edit: Edit) => Promise<void>, mode: 'deploy' | 'destroy' = 'deploy'): Step {
  const have = liveGrants(live);
  const grant = desired.filter((g) => !have.some((h) => same(h, g)));
  const changes: PropertyChange[] = [...grant.map((g) => ({ property: `bindings[${g.role}]`, after: g.member })), ...revoke.map((g) => ({ property: `bindings[${g.role}]`, before: g.member }))];
  const action: PlanAction = changes.length === 0 ? 'noop' : mode === 'destroy' ? 'delete' : grant.length > 0 && revoke.length === 0 && !have.some((h) => desired.some((d) => same(d, h))) && !live ? 'create' : 'update';
  return {
    item: item(e.key, type, e.path, action, changes, [...grant.map((g) => `grant ${g.role} on ${on} to ${g.member}`), ...revoke.map((g) => `revoke ${g.role} on ${on} from ${g.member}`)]),
    deps: mode === 'destroy' ? [] : e.dependsOn,
    phase: mode === 'destroy' ? 'delete' : 'apply',
    rank: RANK.binding,
    target,
    // Applied again on every write: read, edit, write with the etag read.
    run: (rc) => write(rc, (bindings) => editBindings(bindings, grant, revoke)),
  };
}

/** The IAM policy of a bucket (version 3, so conditional bindings read as they are). */
function readBucketPolicy(rc: Pick<RunContext, 'calls' | 'clients'>, bucketName: string): Promise<Policy> {
  return rc.calls.run('read', `policy of bucket ${bucketName}`, async () => (await rc.clients.storage.bucket(bucketName).iam.getPolicy({ requestedPolicyVersion: 3 }))[0] as unknown as Policy);
}

/** A concurrent change of a policy: Resource Manager and KMS answer 409 ABORTED, Cloud Storage 412. */
function isEtagConflict(error: unknown): boolean {
  const c = cloudError(error);
  return (c.status === 409 && (c.rpcStatus === 'ABORTED' || /concurrent/i.test(c.message))) || c.status === 412 || (error as { code?: unknown }).code === 10;
}

/**
 * Read-modify-write of a policy on its etag: edit the bindings, write with the etag read; a
 * concurrent change (the etag no longer matches) starts again from a read, up to 5 times.
 *
 * The first attempt edits `known` when it has an etag: the policy as read under the lock (or just
 * after this run created the resource), so the write is one round trip on the critical path, not
 * two. A change since that read is a concurrent change like any other: refused, read again.
 */
export async function rewritePolicy(rc: RunContext, what: string, read: () => Promise<Policy>, write: (policy: Policy) => Promise<unknown>, edit: Edit, known?: Policy | Promise<Policy | undefined>): Promise<void> {
  const first = await Promise.resolve(known).catch(() => undefined);
  for (let attempt = 1; ; attempt += 1) {
    const current = attempt === 1 && first?.etag ? first : await read();
    const bindings = edit(current.bindings ?? []);
    const conditional = bindings.some((b) => b.condition);
    const policy: Policy = { bindings, ...(current.etag !== undefined && current.etag !== null ? { etag: current.etag } : {}), version: conditional ? 3 : (current.version ?? 1) };
    try {
      await rc.calls.run('write', what, () => write(policy), { retryAmbiguous: true, noRetry: isEtagConflict });
      return;
    } catch (e) {
      if (!isEtagConflict(e) || attempt >= 5) throw e;
    }
  }
}

/** `{ nextRotationTime }` one rotation period from now, when the key rotates. */
function nextRotation(period: unknown): Json {
  const seconds = typeof period === 'string' ? Number(period.replace(/s$/, '')) : NaN;
  return Number.isFinite(seconds) ? { nextRotationTime: new Date(Date.now() + seconds * 1000).toISOString() } : {};
}

/** A CryptoKey document in the KMS client's object form (Duration and Timestamp as `{ seconds }`). */
function clientKey(key: Json): Json {
  const out: Json = { ...key };
  if (typeof key.rotationPeriod === 'string') out.rotationPeriod = { seconds: Number(key.rotationPeriod.replace(/s$/, '')) };
  if (typeof key.nextRotationTime === 'string') out.nextRotationTime = { seconds: Math.floor(Date.parse(key.nextRotationTime) / 1000) };
  return out;
}

/** A Duration as read (`"7776000s"`, or `{ seconds: "7776000" }` from the GAPIC client) as proto3 JSON text. */
function durationText(d: unknown): string | undefined {
  if (d === undefined || d === null) return undefined;
  if (typeof d === 'string') return d;
  const s = (d as { seconds?: unknown }).seconds;
  return s === undefined || s === null ? undefined : `${String(s)}s`;
}

function rotationDays(period: unknown): string {
  const s = Number(String(period ?? '').replace(/s$/, ''));
  return Number.isFinite(s) ? String(Math.round(s / 86400)) : String(period);
}
