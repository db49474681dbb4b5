/**
 * The platform APIs of the simulator: Cloud Storage buckets (and object list/delete), Cloud KMS
 * key rings, keys, key versions and key IAM policies, IAM service accounts and project custom roles, and Cloud Resource
 * Manager v3 projects and project IAM policies. Routes and request bodies come from the discovery
 * documents (`platform-discovery.ts`); the behaviour the engine depends on is the services':
 * 409 on existing names, etag-conditional policy writes (409 ABORTED on KMS and Resource Manager,
 * 412 on Cloud Storage), members that name a service account must name an existing one, a bucket's
 * default key must exist and the Cloud Storage service agent must be able to use it, a key's
 * `rotationPeriod` needs `nextRotationTime`, key versions are destroyed on a schedule, and key
 * rings and keys have no delete method at all. Secret Manager (secret reads and secret IAM
 * policies) is routed first, by its protos (`secret-manager.ts`).
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import protobuf from 'protobufjs';
import { projectNumber } from './bigquery';
import { ApiError } from './errors';
import type { PlatformDiscovery, PlatformMatch } from './platform-discovery';
import { matchSecretManager } from './secret-manager';
import type { Json, SimulatorState } from './state';
import type { SimRequest, SimResponse } from './vertex';

/** A request routed to a platform API. Cloud Storage errors take the JSON API envelope (`errors[].reason`, like BigQuery's), the others `google.rpc.Status`. */
export interface PlatformRoute {
  readonly rpc: string;
  readonly write: boolean;
  run(): SimResponse;
}

/**
 * Route a request to a platform API, if its path is one of theirs.
 *
 * @throws ApiError 404 when the path is theirs but the verb is not
 */
export function matchPlatform(discovery: PlatformDiscovery, state: SimulatorState, req: SimRequest): PlatformRoute | undefined {
  const secrets = matchSecretManager(state, req);
  if (secrets) return secrets;
  const match: PlatformMatch | undefined = discovery.match(req.verb, req.path);
  if (!match) return undefined;
  return {
    rpc: match.rpc,
    write: !/\.(get|list|getIamPolicy)$/.test(match.rpc),
    run: () => {
      const body = match.check(req.query, numericEnumsToNames(match.rpc, req.query, req.body));
      return handle(state, match, req, body as Json | undefined);
    },
  };
}

// ---------------------------------------------------------------------------------------------

const DAY_S = 86_400;

function policyEtag(state: SimulatorState): string {
  return Buffer.from(state.etag()).toString('base64');
}

function handle(state: SimulatorState, m: PlatformMatch, req: SimRequest, body: Json | undefined): SimResponse {
  const p = m.params;
  const ok = (b: Json, status = 200): SimResponse => ({ status, body: b });
  switch (m.rpc) {
    // ---- Cloud Storage
    case 'storage.buckets.insert': {
      const b = body as Json;
      const name = String(b.name);
      if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(name)) throw new ApiError(400, `Invalid bucket name: '${name}'`);
      if (state.get(bucketName(name))) throw new ApiError(409, 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.');
      const project = String(req.query.get('project'));
      const kmsKey = (b.encryption as Json | undefined)?.defaultKmsKeyName;
      if (kmsKey !== undefined) checkKeyUsable(state, String(kmsKey), `service-${projectNumber(project)}@gs-project-accounts.iam.gserviceaccount.com`);
      const now = state.now();
      const stored: Json = {
        kind: 'storage#bucket',
        id: name,
        selfLink: `https://www.googleapis.com/storage/v1/b/${name}`,
        projectNumber: projectNumber(project),
        storageClass: 'STANDARD',
        ...b,
        location: String(b.location ?? 'US').toUpperCase(),
        metageneration: '1',
        etag: state.etag(),
        timeCreated: now,
        updated: now,
      };
      state.put(bucketName(name), 'storage#bucket', stored);
      state.policies.set(bucketName(name), {
        kind: 'storage#policy',
        resourceId: `projects/_/buckets/${name}`,
        version: 1,
        etag: policyEtag(state),
        bindings: [
          { role: 'roles/storage.legacyBucketOwner', members: [`projectEditor:${project}`, `projectOwner:${project}`] },
          { role: 'roles/storage.legacyBucketReader', members: [`projectViewer:${project}`] },
        ],
      });
      return ok(stored);
    }
    case 'storage.buckets.get':
      return ok(needBucket(state, String(p.bucket)).body);
    case 'storage.buckets.patch': {
      const r = needBucket(state, String(p.bucket));
      const kmsKey = ((body as Json).encryption as Json | undefined)?.defaultKmsKeyName;
      if (kmsKey) checkKeyUsable(state, String(kmsKey), `service-${String(r.body.projectNumber)}@gs-project-accounts.iam.gserviceaccount.com`);
      r.body = { ...mergePatch(r.body, body as Json), metageneration: String(Number(r.body.metageneration) + 1), etag: state.etag(), updated: state.now() };
      return ok(r.body);
    }
    case 'storage.buckets.delete': {
      const name = String(p.bucket);
      needBucket(state, name);
      if (state.children(bucketName(name), 'o').length > 0) throw new ApiError(409, 'The bucket you tried to delete is not empty.');
      state.remove(bucketName(name));
      return { status: 204, body: {} };
    }
    case 'storage.buckets.getIamPolicy':
      needBucket(state, String(p.bucket));
      return ok(state.policies.get(bucketName(String(p.bucket))) as Json);
    case 'storage.buckets.setIamPolicy': {
      const name = String(p.bucket);
      needBucket(state, name);
      const current = state.policies.get(bucketName(name)) as Json;
      const policy = body as Json;
      if (policy.etag !== undefined && policy.etag !== current.etag) throw new ApiError(412, 'Precondition Failed: the policy etag does not match the current policy (a concurrent change); read the policy again and retry', 'FAILED_PRECONDITION');
      checkMembers(state, policy);
      const next: Json = { kind: 'storage#policy', resourceId: `projects/_/buckets/${name}`, version: policy.version ?? 1, bindings: policy.bindings ?? [], etag: policyEtag(state) };
      state.policies.set(bucketName(name), next);
      return ok(next);
    }
    case 'storage.objects.list': {
      needBucket(state, String(p.bucket));
      return ok({ kind: 'storage#objects', items: state.children(bucketName(String(p.bucket)), 'o').map(([, r]) => r.body) });
    }
    case 'storage.objects.delete': {
      const name = `${bucketName(String(p.bucket))}/o/${String(p.object)}`;
      if (!state.get(name)) throw new ApiError(404, `No such object: ${String(p.bucket)}/${String(p.object)}`);
      state.remove(name);
      return { status: 204, body: {} };
    }

    // ---- Cloud KMS
    case 'cloudkms.projects.locations.keyRings.create': {
      const id = req.query.get('keyRingId');
      if (!id || !/^[a-zA-Z0-9_-]{1,63}$/.test(id)) throw new ApiError(400, `keyRingId must match [a-zA-Z0-9_-]{1,63}, got '${id ?? ''}'`);
      const name = `projects/${String(p.projectsId)}/locations/${String(p.locationsId)}/keyRings/${id}`;
      if (state.get(name)) throw new ApiError(409, `KeyRing ${name} already exists.`);
      return ok(state.put(name, 'cloudkms#KeyRing', { name, createTime: state.now() }));
    }
    case 'cloudkms.projects.locations.keyRings.get':
      return ok(need(state, keyRingPath(p), 'KeyRing').body);
    case 'cloudkms.projects.locations.keyRings.cryptoKeys.create': {
      const ring = need(state, keyRingPath(p), 'KeyRing');
      const id = req.query.get('cryptoKeyId');
      if (!id || !/^[a-zA-Z0-9_-]{1,63}$/.test(id)) throw new ApiError(400, `cryptoKeyId must match [a-zA-Z0-9_-]{1,63}, got '${id ?? ''}'`);
      const name = `${String(ring.body.name)}/cryptoKeys/${id}`;
      if (state.get(name)) throw new ApiError(409, `CryptoKey ${name} already exists.`);
      const b = body as Json;
      if (b.purpose === undefined) throw new ApiError(400, 'CryptoKey.purpose is required', 'INVALID_ARGUMENT');
      checkRotation(b);
      const now = state.now();
      const version: Json = { name: `${name}/cryptoKeyVersions/1`, state: 'ENABLED', protectionLevel: 'SOFTWARE', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', createTime: now, generateTime: now };
      state.put(String(version.name), 'cloudkms#CryptoKeyVersion', version);
      state.policies.set(name, { version: 1, etag: policyEtag(state), bindings: [] });
      return ok(state.put(name, 'cloudkms#CryptoKey', { ...b, name, primary: version, createTime: now, versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: 'SOFTWARE' }, destroyScheduledDuration: `${30 * DAY_S}s` }));
    }
    case 'cloudkms.projects.locations.keyRings.cryptoKeys.get':
      return ok(need(state, cryptoKeyPath(p), 'CryptoKey').body);
    case 'cloudkms.projects.locations.keyRings.cryptoKeys.patch': {
      const r = need(state, cryptoKeyPath(p), 'CryptoKey');
      const mask = (req.query.get('updateMask') ?? '').split(',').filter((x) => x !== '');
      if (mask.length === 0) throw new ApiError(400, 'updateMask is required', 'INVALID_ARGUMENT');
      const allowed = ['labels', 'rotationPeriod', 'nextRotationTime', 'rotation_period', 'next_rotation_time', 'versionTemplate.algorithm', 'version_template.algorithm', 'destroyScheduledDuration'];
      const bad = mask.filter((f) => !allowed.includes(f));
      if (bad.length > 0) throw new ApiError(400, `updateMask names fields that cannot be updated: ${bad.join(', ')}`, 'INVALID_ARGUMENT');
      const next = { ...r.body };
      for (const f of mask) {
        const key = f.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
        if ((body as Json)[key] === undefined) delete next[key];
        else next[key] = (body as Json)[key];
      }
      checkRotation(next);
      r.body = next;
      return ok(next);
    }
    case 'cloudkms.projects.locations.keyRings.cryptoKeys.getIamPolicy':
      need(state, cryptoKeyPath(p), 'CryptoKey');
      return ok(state.policies.get(cryptoKeyPath(p)) as Json);
    case 'cloudkms.projects.locations.keyRings.cryptoKeys.setIamPolicy': {
      need(state, cryptoKeyPath(p), 'CryptoKey');
      return ok(setPolicy(state, cryptoKeyPath(p), body as Json));
    }
    case 'cloudkms.projects.locations.keyRings.cryptoKeys.cryptoKeyVersions.list': {
      need(state, cryptoKeyPath(p), 'CryptoKey');
      const versions = state.children(cryptoKeyPath(p), 'cryptoKeyVersions').map(([, r]) => r.body);
      return ok({ cryptoKeyVersions: versions, totalSize: versions.length });
    }
    case 'cloudkms.projects.locations.keyRings.cryptoKeys.cryptoKeyVersions.destroy': {
      const name = `${cryptoKeyPath(p)}/cryptoKeyVersions/${String(p.cryptoKeyVersionsId)}`;
      const r = need(state, name, 'CryptoKeyVersion');
      if (r.body.state !== 'ENABLED' && r.body.state !== 'DISABLED') throw new ApiError(400, `CryptoKeyVersion ${name} is not in state ENABLED or DISABLED (it is ${String(r.body.state)})`, 'FAILED_PRECONDITION');
      r.body = { ...r.body, state: 'DESTROY_SCHEDULED', destroyTime: new Date(Date.parse(state.now()) + 30 * DAY_S * 1000).toISOString() };
      return ok(r.body);
    }

    // ---- IAM service accounts
    case 'iam.projects.serviceAccounts.create': {
      const project = String(p.projectsId);
      const b = body as Json;
      const accountId = String(b.accountId ?? '');
      if (!/^[a-z]([-a-z0-9]{4,28}[a-z0-9])$/.test(accountId)) throw new ApiError(400, `Invalid accountId '${accountId}': it must be 6-30 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen`, 'INVALID_ARGUMENT');
      const email = `${accountId}@${project}.iam.gserviceaccount.com`;
      const name = `projects/${project}/serviceAccounts/${email}`;
      if (state.get(serviceAccountKey(email))) throw new ApiError(409, `Service account ${accountId} already exists within project projects/${project}.`);
      const sa = (b.serviceAccount as Json | undefined) ?? {};
      const uniqueId = `1${state.nextId()}${state.nextId()}`.slice(0, 21);
      const stored: Json = { ...sa, name, projectId: project, uniqueId, email, oauth2ClientId: uniqueId, etag: Buffer.from(state.etag()).toString('base64') };
      state.put(serviceAccountKey(email), 'iam#ServiceAccount', stored);
      return ok(stored);
    }
    case 'iam.projects.serviceAccounts.get':
      return ok(needServiceAccount(state, String(p.serviceAccountsId)).body);
    case 'iam.projects.serviceAccounts.list': {
      const project = String(p.projectsId);
      const accounts = [...state.resources.entries()].filter(([n, r]) => n.startsWith('iam/serviceAccounts/') && r.body.projectId === project).map(([, r]) => r.body);
      return ok({ accounts });
    }
    case 'iam.projects.serviceAccounts.patch': {
      const r = needServiceAccount(state, String(p.serviceAccountsId));
      const b = body as Json;
      const mask = String(b.updateMask ?? '').split(',').filter((x) => x !== '');
      const bad = mask.filter((f) => f !== 'displayName' && f !== 'description' && f !== 'display_name');
      if (mask.length === 0 || bad.length > 0) throw new ApiError(400, `updateMask must name displayName and/or description, got '${String(b.updateMask ?? '')}'`, 'INVALID_ARGUMENT');
      const sa = (b.serviceAccount as Json | undefined) ?? {};
      const next = { ...r.body };
      for (const f of mask.map((x) => (x === 'display_name' ? 'displayName' : x))) next[f] = sa[f];
      next.etag = Buffer.from(state.etag()).toString('base64');
      r.body = next;
      return ok(next);
    }
    case 'iam.projects.serviceAccounts.delete': {
      const r = needServiceAccount(state, String(p.serviceAccountsId));
      state.remove(serviceAccountKey(String(r.body.email)));
      return ok({});
    }

    // ---- IAM project custom roles
    case 'iam.projects.roles.create': {
      const project = String(p.projectsId);
      const b = body as Json;
      const roleId = String(b.roleId ?? '');
      if (!/^[a-zA-Z0-9_.]{3,64}$/.test(roleId)) throw new ApiError(400, `The role_id (${roleId}) is invalid: it must be 3-64 letters, digits, underscores and periods`, 'INVALID_ARGUMENT');
      const name = `projects/${project}/roles/${roleId}`;
      const existing = state.get(roleKey(name));
      if (existing) {
        throw existing.body.deleted === true
          ? new ApiError(400, `A role (${name}) with this ID was deleted recently; undelete it, or wait 37 days before reusing the ID`, 'FAILED_PRECONDITION')
          : new ApiError(409, `A role named ${roleId} in projects/${project} already exists.`, 'ALREADY_EXISTS');
      }
      const role = (b.role as Json | undefined) ?? {};
      if (role.name !== undefined) throw new ApiError(400, 'Role.name must not be set in CreateRole', 'INVALID_ARGUMENT');
      checkPermissions(role.includedPermissions);
      const stored: Json = { ...role, name, stage: role.stage ?? 'ALPHA', etag: Buffer.from(state.etag()).toString('base64') };
      delete stored.deleted;
      state.put(roleKey(name), 'iam#Role', stored);
      return ok(stored);
    }
    case 'iam.projects.roles.get':
      return ok(needRole(state, p).body);
    case 'iam.projects.roles.list': {
      const prefix = `projects/${String(p.projectsId)}/roles/`;
      const showDeleted = req.query.get('showDeleted') === 'true';
      const full = req.query.get('view') === 'FULL';
      const roles = [...state.resources.values()]
        .filter((r) => r.type === 'iam#Role' && String(r.body.name).startsWith(prefix) && (showDeleted || r.body.deleted !== true))
        .map((r) => (full ? r.body : Object.fromEntries(Object.entries(r.body).filter(([k]) => k !== 'includedPermissions'))));
      return ok(roles.length > 0 ? { roles } : {});
    }
    case 'iam.projects.roles.patch': {
      const r = needRole(state, p);
      if (r.body.deleted === true) throw new ApiError(400, `Role ${String(r.body.name)} is deleted; undelete it first`, 'FAILED_PRECONDITION');
      const b = body as Json;
      if (b.etag !== undefined && b.etag !== r.body.etag) throw new ApiError(409, 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.', 'ABORTED');
      const mask = (req.query.get('updateMask') ?? '').split(',').filter((x) => x !== '');
      const allowed = ['title', 'description', 'includedPermissions', 'stage'];
      const bad = mask.filter((f) => !allowed.includes(f));
      if (mask.length === 0 || bad.length > 0) throw new ApiError(400, `updateMask must name fields among ${allowed.join(', ')}, got '${req.query.get('updateMask') ?? ''}'`, 'INVALID_ARGUMENT');
      if (mask.includes('includedPermissions')) checkPermissions(b.includedPermissions);
      const next = { ...r.body };
      for (const f of mask) next[f] = b[f];
      next.etag = Buffer.from(state.etag()).toString('base64');
      r.body = next;
      return ok(next);
    }
    case 'iam.projects.roles.delete': {
      const r = needRole(state, p);
      if (r.body.deleted === true) throw new ApiError(400, `Role ${String(r.body.name)} is already deleted`, 'FAILED_PRECONDITION');
      r.body = { ...r.body, deleted: true, etag: Buffer.from(state.etag()).toString('base64') };
      return ok(r.body);
    }
    case 'iam.projects.roles.undelete': {
      const r = needRole(state, p);
      if (r.body.deleted !== true) throw new ApiError(400, `Role ${String(r.body.name)} is not deleted`, 'FAILED_PRECONDITION');
      const b = (body as Json | undefined) ?? {};
      if (b.etag !== undefined && b.etag !== r.body.etag) throw new ApiError(409, 'There were concurrent changes to the role; read it again', 'ABORTED');
      const next: Json = { ...r.body, etag: Buffer.from(state.etag()).toString('base64') };
      delete next.deleted;
      r.body = next;
      return ok(next);
    }

    // ---- Cloud Resource Manager v3
    case 'cloudresourcemanager.projects.get': {
      const id = String(p.projectsId);
      return ok({ name: `projects/${projectNumber(id)}`, projectId: id, state: 'ACTIVE', displayName: id, parent: 'organizations/1234567890', etag: 'W/"project"', labels: {} });
    }
    case 'cloudresourcemanager.projects.getIamPolicy':
      return ok(projectPolicy(state, String(p.projectsId)));
    case 'cloudresourcemanager.projects.setIamPolicy': {
      const id = String(p.projectsId);
      projectPolicy(state, id);
      // A custom role in a binding must exist (and not be deleted) in the project.
      for (const b of (((body as Json).policy as Json | undefined)?.bindings as Json[] | undefined) ?? []) {
        const role = String(b.role);
        const custom = /^projects\/([^/]+)\/roles\/[^/]+$/.exec(role);
        if (custom && (custom[1] !== id || !state.get(roleKey(role)) || state.get(roleKey(role))?.body.deleted === true)) {
          throw new ApiError(400, `Role (${role}) does not exist in the resource's hierarchy.`, 'INVALID_ARGUMENT');
        }
      }
      return ok(setPolicy(state, `crm/projects/${id}`, body as Json));
    }
    default:
      throw new ApiError(501, `${m.rpc} is in the discovery document but not implemented by the simulator`);
  }
}

const bucketName = (name: string) => `storage/b/${name}`;
const serviceAccountKey = (email: string) => `iam/serviceAccounts/${email}`;
const roleKey = (name: string) => `iam/${name}`;

function needRole(state: SimulatorState, p: Readonly<Record<string, string>>) {
  const name = `projects/${String(p.projectsId)}/roles/${String(p.rolesId)}`;
  const r = state.get(roleKey(name));
  if (!r) throw new ApiError(404, `The role named ${name} was not found.`, 'NOT_FOUND');
  return r;
}

/** A custom role's permissions: a non-empty list of `<service>.<resource>.<verb>` names (IAM answers 400 otherwise). */
function checkPermissions(value: unknown): void {
  const list = Array.isArray(value) ? (value as unknown[]) : [];
  const bad = list.filter((x) => typeof x !== 'string' || !/^[a-z][a-z0-9]*\.[a-zA-Z0-9]+\.[a-zA-Z0-9]+$/.test(x));
  if (bad.length > 0) throw new ApiError(400, `Permission ${String(bad[0])} is not valid.`, 'INVALID_ARGUMENT');
}
const keyRingPath = (p: Readonly<Record<string, string>>) => `projects/${String(p.projectsId)}/locations/${String(p.locationsId)}/keyRings/${String(p.keyRingsId)}`;
const cryptoKeyPath = (p: Readonly<Record<string, string>>) => `${keyRingPath(p)}/cryptoKeys/${String(p.cryptoKeysId)}`;

function need(state: SimulatorState, name: string, what: string) {
  const r = state.get(name);
  if (!r) throw new ApiError(404, `${what} ${name} not found.`);
  return r;
}

function needBucket(state: SimulatorState, name: string) {
  const r = state.get(bucketName(name));
  if (!r) throw new ApiError(404, 'The specified bucket does not exist.');
  return r;
}

function needServiceAccount(state: SimulatorState, emailOrId: string) {
  const r = state.get(serviceAccountKey(emailOrId)) ?? [...state.resources.values()].find((x) => x.type === 'iam#ServiceAccount' && x.body.uniqueId === emailOrId);
  if (!r) throw new ApiError(404, `Unknown service account ${emailOrId}`);
  return r;
}

function projectPolicy(state: SimulatorState, project: string): Json {
  const key = `crm/projects/${project}`;
  let policy = state.policies.get(key);
  if (!policy) {
    policy = { version: 1, etag: policyEtag(state), bindings: [{ role: 'roles/owner', members: [`user:owner@${project}.example`] }] };
    state.policies.set(key, policy);
  }
  return policy;
}

/** `setIamPolicy` of Resource Manager and KMS: etag-conditional (409 ABORTED on a stale etag), members checked. */
function setPolicy(state: SimulatorState, key: string, request: Json): Json {
  const policy = (request.policy as Json | undefined) ?? {};
  const current = state.policies.get(key) ?? { bindings: [] };
  if (policy.etag !== undefined && policy.etag !== '' && policy.etag !== current.etag) {
    throw new ApiError(409, 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.', 'ABORTED');
  }
  checkMembers(state, policy);
  const bindings = ((policy.bindings as Json[] | undefined) ?? []).filter((b) => ((b.members as unknown[] | undefined) ?? []).length > 0);
  const next: Json = { version: policy.version ?? 1, bindings, etag: policyEtag(state) };
  state.policies.set(key, next);
  return next;
}

/** A member naming a service account of a project must name one that exists (IAM answers 400). */
function checkMembers(state: SimulatorState, policy: Json): void {
  for (const b of (policy.bindings as Json[] | undefined) ?? []) {
    for (const member of (b.members as string[] | undefined) ?? []) {
      const m = /^serviceAccount:(.+@(.+)\.iam\.gserviceaccount\.com)$/.exec(member);
      // Google-managed service agents (gcp-sa-*, gs-project-accounts, bigquery-encryption) are not the project's accounts.
      const managed = m && (/^gcp-sa-/.test(m[2] as string) || ['gs-project-accounts', 'bigquery-encryption'].includes(m[2] as string));
      if (m && !managed && !state.get(serviceAccountKey(m[1] as string))) {
        throw new ApiError(400, `Service account ${m[1]} does not exist.`, 'INVALID_ARGUMENT');
      }
    }
  }
}

/** A key a service uses as default key must exist, be enabled, and the service agent must hold `roles/cloudkms.cryptoKeyEncrypterDecrypter` on it. */
function checkKeyUsable(state: SimulatorState, key: string, agent: string): void {
  const r = state.get(key);
  if (!r) throw new ApiError(400, `Cloud KMS key ${key} does not exist`, 'INVALID_ARGUMENT');
  const policy = state.policies.get(key) ?? {};
  const granted = ((policy.bindings as Json[] | undefined) ?? []).some((b) => b.role === 'roles/cloudkms.cryptoKeyEncrypterDecrypter' && ((b.members as string[] | undefined) ?? []).includes(`serviceAccount:${agent}`));
  if (!granted) throw new ApiError(403, `Permission denied on Cloud KMS key ${key}: the service agent ${agent} needs roles/cloudkms.cryptoKeyEncrypterDecrypter on it`, 'PERMISSION_DENIED');
}

/** KMS: a key with a rotation period needs the next rotation time (`gcloud kms keys create --rotation-period` requires `--next-rotation-time`). */
function checkRotation(key: Json): void {
  if (key.rotationPeriod !== undefined && key.nextRotationTime === undefined) {
    throw new ApiError(400, 'CryptoKey.next_rotation_time must be set when CryptoKey.rotation_period is set', 'INVALID_ARGUMENT');
  }
}

/** RFC 7396 merge patch (Cloud Storage `patch`): objects merge, `null` removes. */
function mergePatch(target: Json, patch: Json): Json {
  const out: Json = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k])) out[k] = mergePatch(out[k] as Json, v as Json);
    else out[k] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The GAPIC clients (KMS, Resource Manager) send `$alt=json;enum-encoding=int`: enums as numbers.

const require = createRequire(import.meta.url);
let kmsRoot: protobuf.Root | undefined;

/** The request message of a KMS method whose body carries enums. */
const ENUM_BODIES: Readonly<Record<string, string>> = {
  'cloudkms.projects.locations.keyRings.cryptoKeys.create': 'google.cloud.kms.v1.CryptoKey',
  'cloudkms.projects.locations.keyRings.cryptoKeys.patch': 'google.cloud.kms.v1.CryptoKey',
};

/** Turn numeric enum values into their names (proto numbers, from the protos of `@google-cloud/kms`), so the discovery check sees names. */
function numericEnumsToNames(rpc: string, query: URLSearchParams, body: unknown): unknown {
  const message = ENUM_BODIES[rpc];
  if (!message || !(query.get('$alt') ?? '').includes('enum-encoding=int') || typeof body !== 'object' || body === null) return body;
  if (!kmsRoot) {
    kmsRoot = protobuf.Root.fromJSON(require(path.join(path.dirname(require.resolve('@google-cloud/kms/package.json')), 'build', 'protos', 'protos.json')) as protobuf.INamespace);
    kmsRoot.resolveAll();
  }
  const root = kmsRoot;
  const convert = (type: protobuf.Type, value: Json): Json => {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      const field = type.fields[k];
      if (field?.resolvedType instanceof protobuf.Enum && typeof v === 'number') out[k] = field.resolvedType.valuesById[v] ?? v;
      else if (field?.resolvedType instanceof protobuf.Type && typeof v === 'object' && v !== null && !Array.isArray(v)) out[k] = convert(field.resolvedType, v as Json);
      else out[k] = v;
    }
    return out;
  };
  return convert(root.lookupType(message), body as Json);
}
