/**
 * A stand-in MLflow tracking server (model registry part) on 127.0.0.1, for the aws promotion tests:
 * MLflow is a Python server and cannot run here. Every request is checked against MLflow's published
 * REST API, `mlflow/protos/model_registry.proto` (test/support/specs/mlflow/, see its README): the
 * method and path must be an endpoint of `ModelRegistryService`, every parameter a field of the rpc's
 * request message with that field's type, every `validate_required` field present. A request that
 * fails is answered 400 `INVALID_PARAMETER_VALUE` and recorded in `violations`.
 *
 * The proto is read with a small reader of its own: protobufjs cannot parse the aggregate list
 * options (`endpoints: [{ … }]`) MLflow's protos use.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

interface Field {
  readonly type: string;
  readonly repeated: boolean;
  readonly required: boolean;
}

interface Rpc {
  readonly name: string;
  readonly request: string;
}

interface Spec {
  /** `GET /mlflow/model-versions/get` → rpc. */
  readonly routes: ReadonlyMap<string, Rpc>;
  readonly messages: ReadonlyMap<string, ReadonlyMap<string, Field>>;
}

/** MLflow's model registry service, read from its proto. */
export function readMlflowSpec(file = path.join(__dirname, 'specs/mlflow/model_registry.proto')): Spec {
  const text = readFileSync(file, 'utf8');
  const routes = new Map<string, Rpc>();
  for (const m of text.matchAll(/rpc\s+(\w+)\s*\((\w+)\)\s*returns\s*\([\w.]+\)\s*\{([\s\S]*?)\n {2}\}/g)) {
    const [, name, request, body] = m as unknown as [string, string, string, string];
    for (const e of body.matchAll(/method:\s*"(\w+)",\s*path:\s*"([^"]+)"/g)) routes.set(`${e[1]} ${e[2]}`, { name, request });
  }
  const messages = new Map<string, Map<string, Field>>();
  for (const m of text.matchAll(/^message (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const [, name, body] = m as unknown as [string, string, string];
    const own = body.replace(/\n\s+message Response \{[\s\S]*?\n\s+\}/g, '');
    const fields = new Map<string, Field>();
    for (const f of own.matchAll(/^\s*(optional|repeated|required)\s+(\w+)\s+(\w+)\s*=\s*\d+\s*(\[[^\]]*\])?;/gm)) {
      fields.set(f[3] as string, { type: f[2] as string, repeated: f[1] === 'repeated', required: /validate_required\)\s*=\s*true/.test(f[4] ?? '') });
    }
    messages.set(name, fields);
  }
  return { routes, messages };
}

/** Problems of `params` as the request message `message` (empty: valid). */
function check(spec: Spec, message: string, params: Record<string, unknown>, query: boolean): string[] {
  const fields = spec.messages.get(message);
  if (!fields) return [`the proto has no message ${message}`];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    const f = fields.get(name);
    if (!f) {
      problems.push(`${message} has no field '${name}' (fields: ${[...fields.keys()].join(', ')})`);
      continue;
    }
    const values = f.repeated ? (Array.isArray(value) ? value : query ? [value] : undefined) : [value];
    if (!values) {
      problems.push(`${message}.${name} is repeated: expected a JSON array`);
      continue;
    }
    for (const v of values) problems.push(...checkValue(spec, `${message}.${name}`, f.type, v, query));
  }
  for (const [name, f] of fields) if (f.required && (params[name] === undefined || params[name] === '')) problems.push(`${message}.${name} is required (validate_required)`);
  return problems;
}

function checkValue(spec: Spec, where: string, type: string, v: unknown, query: boolean): string[] {
  switch (type) {
    case 'string':
      return typeof v === 'string' ? [] : [`${where} must be a string, got ${JSON.stringify(v)}`];
    case 'int64':
      return (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v)) ? [] : [`${where} must be an int64, got ${JSON.stringify(v)}`];
    case 'bool':
      return typeof v === 'boolean' || (query && (v === 'true' || v === 'false')) ? [] : [`${where} must be a bool, got ${JSON.stringify(v)}`];
    default:
      if (query) return [`${where} is a ${type} message and cannot be a query parameter`];
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return [`${where} must be a ${type} object, got ${JSON.stringify(v)}`];
      return check(spec, type, v as Record<string, unknown>, false);
  }
}

/** A model version as the stand-in keeps it. */
export interface StoredVersion {
  name: string;
  version: string;
  source: string;
  description?: string;
  run_id?: string;
  status: 'READY';
  tags: Array<{ key: string; value: string }>;
  creation_timestamp: number;
}

/** One running stand-in registry. */
export interface MlflowStandIn {
  readonly url: string;
  readonly models: Map<string, { description?: string; versions: StoredVersion[]; aliases: Map<string, string> }>;
  /** Every request: method, path, and parsed parameters. */
  readonly requests: Array<{ method: string; path: string; params: Record<string, unknown> }>;
  /** Requests the proto refused (also answered 400). */
  readonly violations: string[];
  /** Register a version directly (what a register step in this stage would have done). */
  seed(name: string, source: string, tags: Record<string, string>, alias?: string): string;
  close(): Promise<void>;
}

/** Start a stand-in MLflow registry on an ephemeral loopback port. */
export async function startMlflowStandIn(spec = readMlflowSpec(), pageSize = 2): Promise<MlflowStandIn> {
  const models: MlflowStandIn['models'] = new Map();
  const requests: MlflowStandIn['requests'] = [];
  const violations: string[] = [];
  const view = (m: { aliases: Map<string, string> }, v: StoredVersion) => ({ ...v, aliases: [...m.aliases].filter(([, ver]) => ver === v.version).map(([a]) => a).sort() });
  const fail = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: code, message }));
  };
  const seed: MlflowStandIn['seed'] = (name, source, tags, alias) => {
    let m = models.get(name);
    if (!m) models.set(name, (m = { versions: [], aliases: new Map() }));
    const version = String(m.versions.length + 1);
    m.versions.push({ name, version, source, status: 'READY', tags: Object.entries(tags).map(([key, value]) => ({ key, value })), creation_timestamp: 1_700_000_000_000 + m.versions.length });
    if (alias) m.aliases.set(alias, version);
    return version;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = url.pathname.replace(/^\/api\/2\.0/, '');
    const rpc = url.pathname.startsWith('/api/2.0/') ? spec.routes.get(`${req.method} ${route}`) : undefined;
    if (!rpc) {
      violations.push(`${req.method} ${url.pathname} is not an endpoint of ModelRegistryService`);
      return fail(res, 404, 'ENDPOINT_NOT_FOUND', `${req.method} ${url.pathname} is not an MLflow model registry endpoint`);
    }
    let params: Record<string, unknown>;
    if (req.method === 'GET') {
      params = {};
      for (const [k, v] of url.searchParams) params[k] = v;
    } else {
      if (!/^application\/json/.test(req.headers['content-type'] ?? '')) {
        violations.push(`${req.method} ${route}: content-type ${req.headers['content-type'] ?? 'none'}, not application/json`);
        return fail(res, 400, 'INVALID_PARAMETER_VALUE', 'expected a JSON body');
      }
      try {
        params = JSON.parse(raw === '' ? '{}' : raw) as Record<string, unknown>;
      } catch {
        violations.push(`${req.method} ${route}: body is not JSON`);
        return fail(res, 400, 'MALFORMED_REQUEST', 'body is not JSON');
      }
    }
    requests.push({ method: req.method as string, path: route, params });
    const problems = check(spec, rpc.request, params, req.method === 'GET');
    if (problems.length > 0) {
      violations.push(...problems.map((p) => `${req.method} ${route}: ${p}`));
      return fail(res, 400, 'INVALID_PARAMETER_VALUE', problems.join('; '));
    }
    const name = String(params.name ?? '');
    const model = models.get(name);
    const ok = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const missing = () => fail(res, 404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
    switch (rpc.name) {
      case 'getRegisteredModel':
        return model ? ok({ registered_model: { name, description: model.description, aliases: [...model.aliases].map(([alias, version]) => ({ alias, version })) } }) : missing();
      case 'createRegisteredModel':
        if (model) return fail(res, 400, 'RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
        models.set(name, { ...(typeof params.description === 'string' ? { description: params.description } : {}), versions: [], aliases: new Map() });
        return ok({ registered_model: { name } });
      case 'getModelVersion': {
        const v = model?.versions.find((x) => x.version === params.version);
        return v && model ? ok({ model_version: view(model, v) }) : fail(res, 404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=${String(params.version)}) not found`);
      }
      case 'getModelVersionByAlias': {
        const ver = model?.aliases.get(String(params.alias));
        const v = model?.versions.find((x) => x.version === ver);
        return v && model ? ok({ model_version: view(model, v) }) : fail(res, 404, 'RESOURCE_DOES_NOT_EXIST', `Registered model alias ${String(params.alias)} not found.`);
      }
      case 'searchModelVersions': {
        const m = /^name\s*=\s*'((?:[^'\\]|\\.)*)'$/.exec(String(params.filter ?? ''));
        if (!m) return fail(res, 400, 'INVALID_PARAMETER_VALUE', `the stand-in answers only filter name='<model>', got ${String(params.filter)}`);
        const found = models.get((m[1] as string).replace(/\\'/g, "'"));
        const all = found ? [...found.versions].reverse().map((v) => view(found, v)) : [];
        const start = Number(params.page_token ?? 0);
        const page = all.slice(start, start + pageSize);
        return ok({ model_versions: page, ...(start + pageSize < all.length ? { next_page_token: String(start + pageSize) } : {}) });
      }
      case 'createModelVersion': {
        if (!model) return missing();
        const version = String(model.versions.length + 1);
        const v: StoredVersion = { name, version, source: String(params.source), status: 'READY', tags: (params.tags as StoredVersion['tags'] | undefined) ?? [], creation_timestamp: 1_700_000_000_000 + model.versions.length, ...(typeof params.description === 'string' ? { description: params.description } : {}) };
        model.versions.push(v);
        return ok({ model_version: view(model, v) });
      }
      case 'setRegisteredModelAlias': {
        if (!model) return missing();
        if (!model.versions.some((v) => v.version === params.version)) return fail(res, 404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=${String(params.version)}) not found`);
        model.aliases.set(String(params.alias), String(params.version));
        return ok({});
      }
      default:
        return fail(res, 501, 'NOT_IMPLEMENTED', `the stand-in does not serve ${rpc.name}`);
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    models,
    requests,
    violations,
    seed,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
