/**
 * The Secret Manager v1 API of the simulator, routed and checked by the public protos shipped in
 * `@google-cloud/secret-manager` (`spec-data/gcp/secretmanager/`, see `spec-data/SOURCES.md`): a
 * request is answered only when its verb and path are a `google.api.http` binding of
 * `SecretManagerService`, its query parameters are fields of the request message, and its body
 * (the request message, or the field the binding names) passes the proto check (unknown fields,
 * types, OUTPUT_ONLY fields set, REQUIRED fields missing).
 *
 * Served: `GetSecret`, `CreateSecret` (so tests can make the user's secrets through the client),
 * `GetIamPolicy` and `SetIamPolicy` (etag-conditional: 409 ABORTED on a stale etag; members naming a
 * project service account must name one that exists). The other methods of the service answer 501.
 * Secret values are never stored: the engine never reads or writes them.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import protobuf from 'protobufjs';
import { specDataPath } from '../../shared/spec-data';
import { ApiError, invalidBody } from './errors';
import { checkMessage, compileTemplate, type BodyProblem } from './protos';
import type { Json, SimulatorState } from './state';
import type { SimRequest, SimResponse } from './vertex';

/** The folder of the shipped protos (`spec-data/gcp/secretmanager/google/...`). */
export function secretManagerProtoDir(): string {
  return specDataPath('gcp', 'secretmanager');
}

const SERVICE = 'google.cloud.secretmanager.v1.SecretManagerService';

interface Rule {
  readonly method: protobuf.Method;
  readonly verb: string;
  readonly body: string | undefined;
  readonly pattern: RegExp;
  readonly variables: readonly string[];
}

let rules: Rule[] | undefined;
let policyType: protobuf.Type | undefined;

/**
 * Load the service proto from the shipped copy; its imports of the common Google protos
 * (`google/api/*`, `google/protobuf/*`, `google/type/expr.proto`, `google/rpc/status.proto`) come
 * from google-gax, like the KFP proto's.
 *
 * @throws Error when the shipped protos are missing (a broken installation)
 */
function loadRules(dir: string = secretManagerProtoDir()): Rule[] {
  if (rules) return rules;
  const main = path.join(dir, 'google', 'cloud', 'secretmanager', 'v1', 'service.proto');
  if (!fs.existsSync(main)) throw new Error(`Secret Manager protos not found: ${main} does not exist; the mlplane installation is incomplete (spec-data/ is missing); reinstall mlplane`);
  const require = createRequire(import.meta.url);
  const gaxProtos = path.join(path.dirname(require.resolve('google-gax')), '..', 'protos');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    const shipped = path.join(dir, target);
    return fs.existsSync(shipped) ? shipped : path.join(gaxProtos, target);
  };
  root.loadSync('google/cloud/secretmanager/v1/service.proto');
  root.resolveAll();
  const service = root.lookupService(SERVICE);
  policyType = root.lookupType('google.iam.v1.Policy');
  const out: Rule[] = [];
  for (const m of service.methodsArray) {
    const opts = optionsOf(m).find((o) => '(google.api.http)' in o)?.['(google.api.http)'] as Record<string, unknown> | undefined;
    if (!opts) continue;
    const bindings = [opts, ...((Array.isArray(opts.additional_bindings) ? opts.additional_bindings : opts.additional_bindings ? [opts.additional_bindings] : []) as Record<string, unknown>[])];
    for (const b of bindings) {
      for (const verb of ['get', 'post', 'patch', 'delete', 'put']) {
        const template = b[verb];
        if (typeof template !== 'string') continue;
        const { pattern, variables } = compileTemplate(template);
        out.push({ method: m, verb: verb.toUpperCase(), body: typeof b.body === 'string' ? b.body : undefined, pattern, variables });
      }
    }
  }
  rules = out;
  return out;
}

/** The parsed options of a method or field (protobufjs keeps repeated options as a list of objects). */
function optionsOf(x: protobuf.ReflectionObject): Record<string, unknown>[] {
  const parsed = (x as { parsedOptions?: unknown }).parsedOptions;
  return Array.isArray(parsed) ? (parsed as Record<string, unknown>[]) : [];
}

/** A routed Secret Manager request. */
export interface SecretManagerRoute {
  /** `SecretManagerService.GetIamPolicy` (fault rules and the request log use it). */
  readonly rpc: string;
  readonly write: boolean;
  run(): SimResponse;
}

/**
 * Route a request to Secret Manager, if its path is one of the service's bindings.
 *
 * @throws ApiError 404 when the path is the service's but no binding has this verb
 */
export function matchSecretManager(state: SimulatorState, req: SimRequest): SecretManagerRoute | undefined {
  if (!/^\/v1\/projects\/[^/]+\/(locations\/[^/]+\/)?secrets(\/|$)/.test(req.path)) return undefined;
  const onPath = loadRules().filter((r) => r.pattern.test(req.path));
  if (onPath.length === 0) return undefined;
  const rule = onPath.find((r) => r.verb === req.verb);
  if (!rule) throw new ApiError(404, `No ${req.verb} method at ${req.path} in ${SERVICE} (it has ${[...new Set(onPath.map((r) => `${r.verb} ${r.method.name}`))].join(', ')})`);
  const m = rule.pattern.exec(req.path) as RegExpExecArray;
  const params = Object.fromEntries(rule.variables.map((v, i) => [v, decodeURIComponent(m[i + 1] as string)]));
  const rpc = `SecretManagerService.${rule.method.name}`;
  return {
    rpc,
    write: !/^(Get|List|Access)/.test(rule.method.name),
    run: () => {
      const body = check(rule, params, req);
      return handle(state, rule.method.name, params, req, body);
    },
  };
}

/** Query parameters of the transport, not of the request message. */
const TRANSPORT_QUERY = new Set(['$alt', 'alt', 'fields', 'key', 'prettyPrint', 'quotaUser', 'access_token', '$.xgafv']);

/** Check query and body against the binding's request message; returns the body as sent. */
function check(rule: Rule, params: Readonly<Record<string, string>>, req: SimRequest): Json | undefined {
  const request = rule.method.resolvedRequestType as protobuf.Type;
  const problems: BodyProblem[] = [];
  for (const name of new Set(req.query.keys())) {
    if (TRANSPORT_QUERY.has(name)) continue;
    // Non-body fields travel as (dotted) query parameters: `options.requestedPolicyVersion`.
    const known = name.split('.').reduce<protobuf.Type | null | undefined>((t, part) => {
      if (!t) return null;
      const f = t.fieldsArray.find((x) => x.name === part || x.name === part.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
      if (!f) return null;
      return f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined;
    }, request);
    if (known === null) problems.push({ field: name, message: `unknown query parameter ${name}: not a field of ${request.name}` });
    if (rule.body === '*' && known !== null) problems.push({ field: name, message: `${name} must be in the body of ${rule.method.name} (its binding has body: "*")` });
  }
  const body = req.body === '' ? undefined : (req.body as Json | undefined);
  if (rule.body === undefined) {
    if (body !== undefined && Object.keys(body).length > 0) problems.push({ field: '(body)', message: `${rule.method.name} takes no request body` });
  } else if (rule.body === '*') {
    problems.push(...checkMessage(request, body ?? {}, { notRequired: Object.keys(params) }));
  } else {
    const named = rule.body;
    const field = request.fields[named] ?? request.fieldsArray.find((f) => f.name === named.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
    if (field?.resolvedType instanceof protobuf.Type) {
      problems.push(...checkMessage(field.resolvedType, body ?? {}, { checkRequired: true }, field.name));
    }
    // The other REQUIRED fields of the request (`secretId`) come from the query.
    for (const f of request.fieldsArray) {
      if (f === field || params[f.name] !== undefined) continue;
      const required = optionsOf(f).some((o) => o['(google.api.field_behavior)'] === 'REQUIRED');
      if (required && !req.query.has(f.name) && !req.query.has(f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))) problems.push({ field: f.name, message: `required field is missing` });
    }
  }
  if (problems.length > 0) throw invalidBody(`request of ${SERVICE}.${rule.method.name}`, problems);
  return body;
}

function handle(state: SimulatorState, method: string, p: Readonly<Record<string, string>>, req: SimRequest, body: Json | undefined): SimResponse {
  const ok = (b: Json): SimResponse => ({ status: 200, body: b });
  switch (method) {
    case 'GetSecret':
      return ok(needSecret(state, String(p.name)).body);
    case 'CreateSecret': {
      const id = req.query.get('secretId') ?? req.query.get('secret_id') ?? '';
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) throw new ApiError(400, `secret_id must be 1-255 letters, digits, '-' or '_', got '${id}'`, 'INVALID_ARGUMENT');
      const name = `${String(p.parent)}/secrets/${id}`;
      if (state.get(secretKey(name))) throw new ApiError(409, `Secret [${name}] already exists.`, 'ALREADY_EXISTS');
      const stored: Json = { ...(body ?? {}), name, createTime: state.now(), etag: `"${state.etag()}"` };
      state.put(secretKey(name), 'secretmanager#Secret', stored);
      state.policies.set(secretKey(name), { version: 1, etag: Buffer.from(state.etag()).toString('base64') });
      return ok(stored);
    }
    case 'GetIamPolicy': {
      const name = String(p.resource);
      needSecret(state, name);
      return ok(state.policies.get(secretKey(name)) ?? {});
    }
    case 'SetIamPolicy': {
      const name = String(p.resource);
      needSecret(state, name);
      const policy = ((body ?? {}).policy as Json | undefined) ?? {};
      const current = state.policies.get(secretKey(name)) ?? {};
      if (policy.etag !== undefined && policy.etag !== '' && policy.etag !== current.etag) {
        throw new ApiError(409, 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.', 'ABORTED');
      }
      checkMembers(state, policy);
      // Stored as the service answers it: proto3 JSON without default values, bindings with no members dropped.
      const type = policyType as protobuf.Type;
      const stored = dropDefaults(type.toObject(type.fromObject(policy), { bytes: String, enums: String, longs: Number, defaults: false })) as Json;
      const bindings = ((stored.bindings as Json[] | undefined) ?? []).filter((b) => ((b.members as unknown[] | undefined) ?? []).length > 0);
      const next: Json = { version: stored.version ?? 1, ...(bindings.length > 0 ? { bindings } : {}), etag: Buffer.from(state.etag()).toString('base64') };
      state.policies.set(secretKey(name), next);
      return ok(next);
    }
    default:
      throw new ApiError(501, `${SERVICE}.${method} is in the Secret Manager protos but not implemented by the simulator`);
  }
}

/** proto3 JSON leaves out fields at their default value ('', 0, false, empty lists and messages). */
function dropDefaults(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropDefaults);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const y = dropDefaults(x);
    if (y === '' || y === 0 || y === false || (Array.isArray(y) && y.length === 0)) continue;
    out[k] = y;
  }
  return out;
}

/** Where the simulator keeps a secret (its resource name, under a prefix of its own). */
export function secretKey(name: string): string {
  return `secretmanager/${name}`;
}

function needSecret(state: SimulatorState, name: string) {
  const r = state.get(secretKey(name));
  if (!r) throw new ApiError(404, `Secret [${name}] not found or has no versions.`, 'NOT_FOUND');
  return r;
}

/** A member naming a service account of a project must name one that exists (IAM answers 400). */
function checkMembers(state: SimulatorState, policy: Json): void {
  for (const b of (policy.bindings as Json[] | undefined) ?? []) {
    for (const member of (b.members as string[] | undefined) ?? []) {
      const m = /^serviceAccount:(.+@(.+)\.iam\.gserviceaccount\.com)$/.exec(member);
      const managed = m && /^gcp-sa-/.test(m[2] as string);
      if (m && !managed && !state.get(`iam/serviceAccounts/${m[1] as string}`)) throw new ApiError(400, `Service account ${m[1]} does not exist.`, 'INVALID_ARGUMENT');
    }
  }
}
