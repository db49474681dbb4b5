/**
 * The BigQuery v2 REST surface of the simulator: datasets and tables (insert / get / list / patch
 * / delete, etag preconditions, expiration, additive-only schema changes) and table IAM policies.
 */
import { checkDiscovery, type DiscoveryDocument } from './discovery';
import { ApiError, invalidBody } from './errors';
import type { Json, SimulatorState } from './state';
import type { SimRequest, SimResponse } from './vertex';

const PREFIX = '/bigquery/v2/';

/** The BigQuery method id of a request (`bigquery.tables.insert`), or undefined. */
export function matchBigQuery(verb: string, path: string): { rpc: string; parts: string[] } | undefined {
  if (!path.startsWith(PREFIX)) return undefined;
  const rest = path.slice(PREFIX.length);
  const iam = /^(projects\/[^/]+\/datasets\/[^/]+\/tables\/[^/:]+):(getIamPolicy|setIamPolicy)$/.exec(rest);
  if (iam && verb === 'POST') return { rpc: `bigquery.tables.${iam[2]}`, parts: (iam[1] as string).split('/').map(decodeURIComponent) };
  const parts = rest.split('/').map(decodeURIComponent);
  const [p, project, d, dataset, t, table, ...extra] = parts;
  if (p === 'projects' && project !== undefined && d === 'serviceAccount' && dataset === undefined && verb === 'GET') return { rpc: 'bigquery.projects.getServiceAccount', parts };
  if (p !== 'projects' || project === undefined || extra.length > 0) return undefined;
  if (d === undefined) return undefined;
  if (d !== 'datasets') return undefined;
  const byVerb = (collection: string, one: boolean) => {
    if (verb === 'GET') return one ? 'get' : 'list';
    if (verb === 'POST' && !one) return 'insert';
    if (verb === 'PATCH' && one) return 'patch';
    if (verb === 'PUT' && one) return 'update';
    if (verb === 'DELETE' && one) return 'delete';
    void collection;
    return undefined;
  };
  if (t === undefined) {
    const m = byVerb('datasets', dataset !== undefined);
    return m ? { rpc: `bigquery.datasets.${m}`, parts } : undefined;
  }
  if (t !== 'tables' || dataset === undefined) return undefined;
  const m = byVerb('tables', table !== undefined);
  return m ? { rpc: `bigquery.tables.${m}`, parts } : undefined;
}

function datasetName(project: string, dataset: string): string {
  return `bigquery/projects/${project}/datasets/${dataset}`;
}

/** Handle a BigQuery request. */
export function handleBigQuery(state: SimulatorState, doc: DiscoveryDocument, req: SimRequest, rpc: string, parts: readonly string[]): SimResponse {
  const [, project, , dataset, , table] = parts as [string, string, string?, string?, string?, string?];
  const check = (schema: string) => {
    const problems = checkDiscovery(doc, schema, req.body ?? {});
    if (schema === 'Table' && problems.length === 0) fieldSchemaProblems(doc, (req.body as Json | undefined)?.schema);
    if (problems.length > 0) throw invalidBody(`${schema} in ${rpc}`, problems);
    return structuredClone((req.body ?? {}) as Json);
  };
  expireTables(state);
  switch (rpc) {
    case 'bigquery.projects.getServiceAccount':
      // The e-mail holds the project number, which is how callers learn it.
      return { status: 200, body: { kind: 'bigquery#getServiceAccountResponse', email: `bq-${projectNumber(project)}@bigquery-encryption.iam.gserviceaccount.com` } };
    case 'bigquery.datasets.insert': {
      const body = check('Dataset');
      const ref = (body.datasetReference as Json | undefined) ?? {};
      const id = String(ref.datasetId ?? '');
      if (!/^[A-Za-z0-9_]{1,1024}$/.test(id)) throw new ApiError(400, `Invalid dataset ID "${id}"`, 'INVALID_ARGUMENT', [{ field: 'datasetReference.datasetId', message: 'invalid' }]);
      if (ref.projectId !== undefined && ref.projectId !== project) throw new ApiError(400, `datasetReference.projectId ${String(ref.projectId)} does not match ${project}`);
      const name = datasetName(project, id);
      if (state.get(name)) throw new ApiError(409, `Already Exists: Dataset ${project}:${id}`);
      const now = String(Date.now());
      const stored: Json = { kind: 'bigquery#dataset', id: `${project}:${id}`, ...body, datasetReference: { projectId: project, datasetId: id }, etag: state.etag(), creationTime: now, lastModifiedTime: now, location: body.location ?? 'US' };
      state.put(name, 'bigquery#dataset', stored);
      return { status: 200, body: stored };
    }
    case 'bigquery.datasets.get':
      return { status: 200, body: needDataset(state, project, dataset as string).body };
    case 'bigquery.datasets.list': {
      const filter = labelFilter(req.query.get('filter'));
      const datasets = state
        .children(`bigquery/projects/${project}`, 'datasets')
        .filter(([, r]) => filter(r.body))
        .map(([, r]) => ({ kind: 'bigquery#dataset', id: r.body.id, datasetReference: r.body.datasetReference, labels: r.body.labels, location: r.body.location }));
      return { status: 200, body: { kind: 'bigquery#datasetList', etag: state.etag(), datasets } };
    }
    case 'bigquery.datasets.patch': {
      const body = check('Dataset');
      const r = needDataset(state, project, dataset as string);
      precondition(req, r.body);
      const next = patch(r.body, body);
      next.etag = state.etag();
      next.lastModifiedTime = String(Date.now());
      r.body = next;
      return { status: 200, body: next };
    }
    case 'bigquery.datasets.delete': {
      const name = datasetName(project, dataset as string);
      needDataset(state, project, dataset as string);
      if (state.children(name, 'tables').length > 0 && req.query.get('deleteContents') !== 'true') {
        throw new ApiError(400, `Dataset ${project}:${dataset} is still in use`, 'FAILED_PRECONDITION');
      }
      state.remove(name);
      return { status: 204, body: {} };
    }
    case 'bigquery.tables.insert': {
      const body = check('Table');
      const ds = needDataset(state, project, dataset as string);
      const ref = (body.tableReference as Json | undefined) ?? {};
      const id = String(ref.tableId ?? '');
      if (!/^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]{1,1024}$/u.test(id)) throw new ApiError(400, `Invalid table ID "${id}"`, 'INVALID_ARGUMENT', [{ field: 'tableReference.tableId', message: 'invalid' }]);
      if (body.view && body.schema) throw new ApiError(400, 'Schema field shouldn\'t be used as input with a view');
      const name = `${datasetName(project, dataset as string)}/tables/${id}`;
      if (state.get(name)) throw new ApiError(409, `Already Exists: Table ${project}:${dataset}.${id}`);
      const now = String(Date.now());
      const stored: Json = {
        kind: 'bigquery#table',
        id: `${project}:${dataset}.${id}`,
        ...body,
        tableReference: { projectId: project, datasetId: dataset, tableId: id },
        type: body.view ? 'VIEW' : body.externalDataConfiguration ? 'EXTERNAL' : 'TABLE',
        location: ds.body.location,
        etag: state.etag(),
        creationTime: now,
        lastModifiedTime: now,
      };
      state.put(name, 'bigquery#table', stored);
      return { status: 200, body: stored };
    }
    case 'bigquery.tables.get':
      return { status: 200, body: needTable(state, project, dataset as string, table as string).body };
    case 'bigquery.tables.list': {
      needDataset(state, project, dataset as string);
      const all = state.children(datasetName(project, dataset as string), 'tables');
      const size = Number(req.query.get('maxResults') ?? '1000') || 1000;
      const start = Number(req.query.get('pageToken') ?? '0') || 0;
      const tables = all.slice(start, start + size).map(([, r]) => ({
        kind: 'bigquery#table',
        id: r.body.id,
        tableReference: r.body.tableReference,
        type: r.body.type,
        ...(r.body.labels ? { labels: r.body.labels } : {}),
        creationTime: r.body.creationTime,
        ...(r.body.expirationTime ? { expirationTime: r.body.expirationTime } : {}),
      }));
      const next = start + size < all.length ? String(start + size) : undefined;
      return { status: 200, body: { kind: 'bigquery#tableList', etag: state.etag(), tables, totalItems: all.length, ...(next ? { nextPageToken: next } : {}) } };
    }
    case 'bigquery.tables.patch':
    case 'bigquery.tables.update': {
      const body = check('Table');
      const r = needTable(state, project, dataset as string, table as string);
      precondition(req, r.body);
      if (body.schema) schemaChangeProblem(r.body.schema as Json | undefined, body.schema as Json, `${project}:${dataset}.${table}`);
      const next = rpc === 'bigquery.tables.patch' ? patch(r.body, body) : { ...pick(r.body, ['kind', 'id', 'tableReference', 'type', 'location', 'creationTime']), ...body };
      next.etag = state.etag();
      next.lastModifiedTime = String(Date.now());
      r.body = next;
      return { status: 200, body: next };
    }
    case 'bigquery.tables.delete':
      needTable(state, project, dataset as string, table as string);
      state.remove(`${datasetName(project, dataset as string)}/tables/${table}`);
      return { status: 204, body: {} };
    case 'bigquery.tables.getIamPolicy': {
      const name = `${datasetName(project, dataset as string)}/tables/${table}`;
      needTable(state, project, dataset as string, table as string);
      check('GetIamPolicyRequest');
      return { status: 200, body: state.policies.get(name) ?? { etag: 'ACAB' } };
    }
    case 'bigquery.tables.setIamPolicy': {
      const name = `${datasetName(project, dataset as string)}/tables/${table}`;
      needTable(state, project, dataset as string, table as string);
      const body = check('SetIamPolicyRequest');
      // IAM's optimistic concurrency: a policy written with an etag other than the current one is refused.
      const sent = (body.policy as Json | undefined)?.etag;
      const current = (state.policies.get(name) ?? { etag: 'ACAB' }).etag;
      if (sent !== undefined && sent !== current) throw new ApiError(409, 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.', 'ABORTED');
      const policy = { ...(body.policy as Json), etag: Buffer.from(state.etag()).toString('base64') };
      state.policies.set(name, policy);
      return { status: 200, body: policy };
    }
    default:
      throw new ApiError(501, `${rpc} is not implemented by the mlplane simulator`);
  }
}

/**
 * Column names and types as `TableFieldSchema` describes them in the discovery document ("The name
 * must contain only letters (a-z, A-Z), numbers (0-9), or underscores (_), and must start with a
 * letter or underscore. The maximum length is 300 characters." / "Possible values include: *
 * STRING * BYTES …"): the limits are read from those descriptions.
 *
 * @throws ApiError 400 `invalid` with BigQuery's wording.
 */
function fieldSchemaProblems(doc: DiscoveryDocument, schema: unknown): void {
  const props = doc.schemas.TableFieldSchema?.properties as Readonly<Record<string, { description?: string }>> | undefined;
  const nameText = props?.name?.description ?? '';
  const max = Number(/maximum length is (\d+) characters/.exec(nameText)?.[1] ?? '300');
  const types = new Set([...(/Possible values include:(.*?)Use of/s.exec(props?.type?.description ?? '')?.[1] ?? '').matchAll(/\b([A-Z][A-Z0-9]+)\b/g)].map((m) => m[1] as string));
  const walk = (fields: unknown, prefix: string): void => {
    if (!Array.isArray(fields)) return;
    for (const f of fields as Json[]) {
      const name = String(f.name ?? '');
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.length > max) {
        throw new ApiError(400, `Invalid field name "${prefix}${name}". Fields must contain only letters, numbers, and underscores, start with a letter or underscore, and be at most ${max} characters long.`, 'INVALID_ARGUMENT', [{ field: 'schema.fields.name', message: `invalid field name ${JSON.stringify(name)}` }]);
      }
      const type = String(f.type ?? '');
      if (types.size > 0 && !types.has(type)) {
        throw new ApiError(400, `Invalid value for type: ${type} is not a valid value (field ${prefix}${name})`, 'INVALID_ARGUMENT', [{ field: 'schema.fields.type', message: `${type} is not one of ${[...types].join(', ')}` }]);
      }
      walk(f.fields, `${prefix}${name}.`);
    }
  };
  if (schema && typeof schema === 'object') walk((schema as Json).fields, '');
}

/** A stable 12-digit project number for a project id. */
export function projectNumber(project: string): string {
  let h = 7;
  for (const c of project) h = (h * 31 + c.charCodeAt(0)) % 900_000_000_000;
  return String(100_000_000_000 + h);
}

function needDataset(state: SimulatorState, project: string, dataset: string) {
  const r = state.get(datasetName(project, dataset));
  if (!r) throw new ApiError(404, `Not found: Dataset ${project}:${dataset}`);
  return r;
}

function needTable(state: SimulatorState, project: string, dataset: string, table: string) {
  needDataset(state, project, dataset);
  const r = state.get(`${datasetName(project, dataset)}/tables/${table}`);
  if (!r) throw new ApiError(404, `Not found: Table ${project}:${dataset}.${table}`);
  return r;
}

/** Tables past their `expirationTime` are gone, as BigQuery deletes them. */
function expireTables(state: SimulatorState): void {
  const now = Date.now();
  for (const [name, r] of [...state.resources.entries()]) {
    if (r.type === 'bigquery#table' && r.body.expirationTime !== undefined && Number(r.body.expirationTime) <= now) state.remove(name);
  }
}

function precondition(req: SimRequest, current: Json): void {
  if (req.ifMatch !== undefined && req.ifMatch !== '' && req.ifMatch !== current.etag) {
    throw new ApiError(412, `Precondition check failed: etag ${req.ifMatch} does not match ${String(current.etag)}`, 'FAILED_PRECONDITION');
  }
}

/** BigQuery PATCH: given fields replace, `labels` merge (a null value removes a label). */
function patch(current: Json, body: Json): Json {
  const next: Json = { ...current };
  for (const [k, v] of Object.entries(body)) {
    if (k === 'etag') continue;
    if (k === 'labels' && v && typeof v === 'object') {
      const labels: Record<string, unknown> = { ...((current.labels as Json | undefined) ?? {}) };
      for (const [lk, lv] of Object.entries(v as Json)) {
        if (lv === null) delete labels[lk];
        else labels[lk] = lv;
      }
      next.labels = labels;
    } else if (v === null) {
      delete next[k];
    } else {
      next[k] = v;
    }
  }
  return next;
}

function pick(obj: Json, keys: readonly string[]): Json {
  const out: Json = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

interface Field {
  name: string;
  type: string;
  mode?: string;
  fields?: Field[];
}

/**
 * BigQuery accepts only additive schema changes: new NULLABLE/REPEATED columns, REQUIRED →
 * NULLABLE. Anything else is a 400 like the service's.
 */
function schemaChangeProblem(before: Json | undefined, after: Json, table: string): void {
  const walk = (old: readonly Field[], next: readonly Field[], prefix: string) => {
    const byName = new Map(next.map((f) => [f.name.toLowerCase(), f]));
    for (const f of old) {
      const n = byName.get(f.name.toLowerCase());
      if (!n) throw new ApiError(400, `Provided Schema does not match Table ${table}. Field ${prefix}${f.name} is missing in new schema`);
      if (n.type !== f.type) throw new ApiError(400, `Provided Schema does not match Table ${table}. Field ${prefix}${f.name} has changed type from ${f.type} to ${n.type}`);
      const om = f.mode ?? 'NULLABLE';
      const nm = n.mode ?? 'NULLABLE';
      if (om !== nm && !(om === 'REQUIRED' && nm === 'NULLABLE')) throw new ApiError(400, `Provided Schema does not match Table ${table}. Field ${prefix}${f.name} has changed mode from ${om} to ${nm}`);
      if (f.fields) walk(f.fields, n.fields ?? [], `${prefix}${f.name}.`);
    }
    const oldNames = new Set(old.map((f) => f.name.toLowerCase()));
    for (const n of next) if (!oldNames.has(n.name.toLowerCase()) && n.mode === 'REQUIRED') throw new ApiError(400, `Provided Schema does not match Table ${table}. Cannot add required field ${prefix}${n.name}`);
  };
  walk(((before?.fields as Field[] | undefined) ?? []), ((after.fields as Field[] | undefined) ?? []), '');
}

/** `labels.k:v` / `labels.k` filters of datasets.list. */
function labelFilter(filter: string | null): (b: Json) => boolean {
  if (!filter) return () => true;
  const tests = filter.trim().split(/\s+/).map((c) => {
    const m = /^labels\.([^:]+)(?::(.*))?$/.exec(c);
    if (!m) throw new ApiError(400, `Invalid filter '${c}'`);
    return (b: Json) => {
      const v = ((b.labels as Record<string, string> | undefined) ?? {})[m[1] as string];
      return m[2] === undefined ? v !== undefined : v === m[2];
    };
  });
  return (b) => tests.every((t) => t(b));
}
