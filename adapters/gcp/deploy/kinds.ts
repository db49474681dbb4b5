/**
 * What the engine knows about each kind of manifest entry: how to read, list, create, update and
 * delete it through the SDKs, how it is identified and owned, which fields are immutable.
 */
import type { ManifestEntry } from '../index';
import { Calls, cloudError, isNotFound, type GcpClients } from './clients';
import { canonical, jsonToObject, messageType, objectToJson, type Json } from './proto-json';

/** The label every owned resource carries (its value names the environment). */
export const ENV_LABEL = 'mlplane-env';
/** The label naming the construct path a resource realizes. */
export const PATH_LABEL = 'mlplane-path';

/** A live resource, in canonical JSON. */
export interface Live {
  readonly name: string;
  readonly json: Json;
  /** Value of `mlplane-env` (undefined when the resource has no labels). */
  readonly env?: string;
}

/** Run-wide things a kind needs. */
export interface KindContext {
  readonly clients: GcpClients;
  readonly calls: Calls;
  readonly envLabel: string;
  /** Wait for a long-running operation. */
  wait(client: object, rpc: string, op: unknown, what: string, timeoutMs: number): Promise<Json | undefined>;
}

/** A Vertex collection handled generically. */
export interface VertexKind {
  readonly family: 'vertex';
  /** Manifest method of the create (`aiplatform.projects.locations.endpoints.create`). */
  readonly method: string;
  /** Type name in plans (`Endpoint`). */
  readonly type: string;
  readonly message: string;
  readonly collection: string;
  readonly client: (c: GcpClients) => object;
  readonly rpc: { readonly create: string; readonly get: string; readonly list: string; readonly update?: string; readonly remove: string };
  readonly lro: { readonly create: boolean; readonly update: boolean };
  /** Request field holding the resource in create/update (`endpoint`). */
  readonly field: string;
  /** Request field of a caller-chosen id (`endpointId`). */
  readonly idField?: string;
  /** Whether list calls can filter by `labels.mlplane-env`. */
  readonly labelFilter: boolean;
  /** Top-level fields that cannot change in place. */
  readonly immutable: readonly string[];
  /** Top-level fields the update method accepts (all others force a replace). */
  readonly updatable?: readonly string[];
  /** Whether a replace would lose data (refused instead). */
  readonly dataBearing: boolean;
  /** Delete order: lower deletes first. */
  readonly deleteRank: number;
  /** Long-running operation timeout. */
  readonly timeoutMs: number;
  /** Identity of a resource without a caller-chosen id. */
  readonly identity: (json: Json) => string | undefined;
  /** Env label of a live resource (labels, or the pipeline job template's labels). */
  readonly envOf: (json: Json) => string | undefined;
}

const labelsOf = (json: Json): Record<string, string> => (json.labels as Record<string, string> | undefined) ?? {};
const pipelineLabels = (json: Json): Record<string, string> =>
  ((((json.createPipelineJobRequest as Json | undefined)?.pipelineJob as Json | undefined)?.labels as Record<string, string> | undefined) ?? {});
const byPathLabel = (json: Json) => labelsOf(json)[PATH_LABEL];

const MIN = 60_000;

/** Vertex collections, by manifest method. */
export const VERTEX_KINDS: readonly VertexKind[] = [
  {
    family: 'vertex',
    method: 'aiplatform.projects.locations.endpoints.create',
    type: 'Endpoint',
    message: 'google.cloud.aiplatform.v1.Endpoint',
    collection: 'endpoints',
    client: (c) => c.endpoints,
    rpc: { create: 'createEndpoint', get: 'getEndpoint', list: 'listEndpoints', update: 'updateEndpoint', remove: 'deleteEndpoint' },
    lro: { create: true, update: false },
    field: 'endpoint',
    idField: 'endpointId',
    labelFilter: true,
    immutable: ['encryptionSpec', 'privateServiceConnectConfig', 'dedicatedEndpointEnabled'],
    updatable: ['displayName', 'description', 'labels', 'predictRequestResponseLoggingConfig'],
    dataBearing: false,
    deleteRank: 60,
    timeoutMs: 30 * MIN,
    identity: byPathLabel,
    envOf: (j) => labelsOf(j)[ENV_LABEL],
  },
  {
    family: 'vertex',
    method: 'aiplatform.projects.locations.tensorboards.create',
    type: 'Tensorboard',
    message: 'google.cloud.aiplatform.v1.Tensorboard',
    collection: 'tensorboards',
    client: (c) => c.tensorboards,
    rpc: { create: 'createTensorboard', get: 'getTensorboard', list: 'listTensorboards', update: 'updateTensorboard', remove: 'deleteTensorboard' },
    lro: { create: true, update: true },
    field: 'tensorboard',
    labelFilter: true,
    immutable: ['encryptionSpec'],
    updatable: ['displayName', 'description', 'labels'],
    dataBearing: true,
    deleteRank: 80,
    timeoutMs: 10 * MIN,
    identity: byPathLabel,
    envOf: (j) => labelsOf(j)[ENV_LABEL],
  },
  {
    family: 'vertex',
    method: 'aiplatform.projects.locations.datasets.create',
    type: 'Dataset',
    message: 'google.cloud.aiplatform.v1.Dataset',
    collection: 'datasets',
    client: (c) => c.datasets,
    rpc: { create: 'createDataset', get: 'getDataset', list: 'listDatasets', update: 'updateDataset', remove: 'deleteDataset' },
    lro: { create: true, update: false },
    field: 'dataset',
    labelFilter: true,
    immutable: ['encryptionSpec', 'metadataSchemaUri', 'metadata'],
    updatable: ['displayName', 'description', 'labels'],
    dataBearing: true,
    deleteRank: 80,
    timeoutMs: 10 * MIN,
    identity: byPathLabel,
    envOf: (j) => labelsOf(j)[ENV_LABEL],
  },
  {
    family: 'vertex',
    method: 'aiplatform.projects.locations.featureOnlineStores.create',
    type: 'FeatureOnlineStore',
    message: 'google.cloud.aiplatform.v1.FeatureOnlineStore',
    collection: 'featureOnlineStores',
    client: (c) => c.featureStores,
    rpc: { create: 'createFeatureOnlineStore', get: 'getFeatureOnlineStore', list: 'listFeatureOnlineStores', update: 'updateFeatureOnlineStore', remove: 'deleteFeatureOnlineStore' },
    lro: { create: true, update: true },
    field: 'featureOnlineStore',
    idField: 'featureOnlineStoreId',
    labelFilter: true,
    immutable: ['encryptionSpec', 'optimized', 'bigtable'],
    updatable: ['labels', 'dedicatedServingEndpoint'],
    dataBearing: false,
    deleteRank: 70,
    timeoutMs: 30 * MIN,
    identity: byPathLabel,
    envOf: (j) => labelsOf(j)[ENV_LABEL],
  },
  {
    family: 'vertex',
    method: 'aiplatform.projects.locations.featureOnlineStores.featureViews.create',
    type: 'FeatureView',
    message: 'google.cloud.aiplatform.v1.FeatureView',
    collection: 'featureViews',
    client: (c) => c.featureStores,
    rpc: { create: 'createFeatureView', get: 'getFeatureView', list: 'listFeatureViews', update: 'updateFeatureView', remove: 'deleteFeatureView' },
    lro: { create: true, update: true },
    field: 'featureView',
    idField: 'featureViewId',
    labelFilter: true,
    immutable: ['bigQuerySource'],
    updatable: ['labels', 'syncConfig'],
    dataBearing: false,
    deleteRank: 30,
    timeoutMs: 30 * MIN,
    identity: byPathLabel,
    envOf: (j) => labelsOf(j)[ENV_LABEL],
  },
  {
    family: 'vertex',
    method: 'aiplatform.projects.locations.schedules.create',
    type: 'Schedule',
    message: 'google.cloud.aiplatform.v1.Schedule',
    collection: 'schedules',
    client: (c) => c.schedules,
    rpc: { create: 'createSchedule', get: 'getSchedule', list: 'listSchedules', update: 'updateSchedule', remove: 'deleteSchedule' },
    lro: { create: false, update: false },
    field: 'schedule',
    labelFilter: false,
    immutable: [],
    updatable: ['displayName', 'cron', 'maxConcurrentRunCount', 'createPipelineJobRequest', 'maxRunCount', 'allowQueueing', 'startTime', 'endTime'],
    dataBearing: false,
    deleteRank: 10,
    timeoutMs: 10 * MIN,
    identity: (j) => {
      const path = pipelineLabels(j)[PATH_LABEL];
      return path ? `${path}|${String(j.displayName)}` : undefined;
    },
    envOf: (j) => pipelineLabels(j)[ENV_LABEL],
  },
  {
    family: 'vertex',
    method: 'aiplatform.projects.locations.modelDeploymentMonitoringJobs.create',
    type: 'ModelDeploymentMonitoringJob',
    message: 'google.cloud.aiplatform.v1.ModelDeploymentMonitoringJob',
    collection: 'modelDeploymentMonitoringJobs',
    client: (c) => c.jobs,
    rpc: {
      create: 'createModelDeploymentMonitoringJob',
      get: 'getModelDeploymentMonitoringJob',
      list: 'listModelDeploymentMonitoringJobs',
      update: 'updateModelDeploymentMonitoringJob',
      remove: 'deleteModelDeploymentMonitoringJob',
    },
    lro: { create: false, update: true },
    field: 'modelDeploymentMonitoringJob',
    labelFilter: true,
    immutable: ['encryptionSpec', 'endpoint'],
    dataBearing: false,
    deleteRank: 5,
    timeoutMs: 10 * MIN,
    identity: byPathLabel,
    envOf: (j) => labelsOf(j)[ENV_LABEL],
  },
  {
    family: 'vertex',
    method: 'aiplatform.projects.locations.modelMonitors.create',
    type: 'ModelMonitor',
    message: 'google.cloud.aiplatform.v1beta1.ModelMonitor',
    collection: 'modelMonitors',
    client: (c) => c.monitorsBeta,
    rpc: { create: 'createModelMonitor', get: 'getModelMonitor', list: 'listModelMonitors', update: 'updateModelMonitor', remove: 'deleteModelMonitor' },
    lro: { create: true, update: true },
    field: 'modelMonitor',
    idField: 'modelMonitorId',
    labelFilter: false,
    immutable: ['encryptionSpec', 'modelMonitoringTarget'],
    dataBearing: false,
    deleteRank: 20,
    timeoutMs: 10 * MIN,
    identity: () => undefined,
    // ModelMonitor has no labels: a monitor at the name mlplane chose is taken as mlplane's.
    envOf: () => undefined,
  },
];

/** The v1beta1 schedule of a batch model monitor, told apart from v1 pipeline schedules. */
export const MONITOR_SCHEDULE_KIND: VertexKind = {
  family: 'vertex',
  method: 'aiplatform.projects.locations.schedules.create#v1beta1',
  type: 'Schedule',
  message: 'google.cloud.aiplatform.v1beta1.Schedule',
  collection: 'schedules',
  client: (c) => c.schedulesBeta,
  rpc: { create: 'createSchedule', get: 'getSchedule', list: 'listSchedules', update: 'updateSchedule', remove: 'deleteSchedule' },
  lro: { create: false, update: false },
  field: 'schedule',
  labelFilter: false,
  immutable: [],
  updatable: ['displayName', 'cron', 'maxConcurrentRunCount', 'createModelMonitoringJobRequest'],
  dataBearing: false,
  deleteRank: 10,
  timeoutMs: 10 * MIN,
  identity: (j) => {
    const parent = (j.createModelMonitoringJobRequest as Json | undefined)?.parent;
    return typeof parent === 'string' ? `monitor|${parent}` : undefined;
  },
  envOf: () => undefined,
};

type Rpc = (request: object, options?: object) => Promise<unknown[]>;

/** Call an RPC of a client by name. */
export function rpcOf(client: object, name: string): Rpc {
  const fn = (client as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`the SDK client has no method ${name}`);
  return (fn as Rpc).bind(client);
}

/** Canonical JSON of a live object returned by a client. */
export function liveJson(kind: VertexKind, obj: unknown): Json {
  return objectToJson(messageType(kind.message), obj) as Json;
}

/** Canonical JSON of a desired document. */
export function desiredJson(kind: VertexKind, body: unknown): Json {
  return canonical(messageType(kind.message), body);
}

/** Read one Vertex resource; `undefined` only on NOT_FOUND. */
export async function getVertex(ctx: KindContext, kind: VertexKind, name: string): Promise<Live | undefined> {
  try {
    const [obj] = await ctx.calls.run('read', name, () => rpcOf(kind.client(ctx.clients), kind.rpc.get)({ name }));
    const json = liveJson(kind, obj);
    return { name: String(json.name ?? name), json, env: kind.envOf(json) };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * List a Vertex collection under `parent`, page by page, filtered server-side by
 * `labels.mlplane-env` where the API supports it. Should the service refuse the filter (400), the
 * list is read unfiltered and filtered here — never an empty answer taken for "nothing exists".
 */
export async function listVertex(ctx: KindContext, kind: VertexKind, parent: string): Promise<Live[]> {
  if (kind.labelFilter) {
    try {
      return await listPages(ctx, kind, parent, `labels.${ENV_LABEL}="${ctx.envLabel}"`);
    } catch (e) {
      const c = cloudError(e);
      if (c.status !== 400 || c.rpcStatus === 'FAILED_PRECONDITION') throw e;
      const all = await listPages(ctx, kind, parent, undefined);
      return all.filter((l) => l.env === ctx.envLabel);
    }
  }
  return listPages(ctx, kind, parent, undefined);
}

/**
 * List a Vertex collection under `parent` unfiltered: owned and foreign resources, page by page,
 * from `pageToken` on (the first page when none is given).
 */
export function listAllVertex(ctx: KindContext, kind: VertexKind, parent: string, pageToken?: string): Promise<Live[]> {
  return listPages(ctx, kind, parent, undefined, pageToken);
}

/** One page of a list and the token of the next one (undefined on the last page). */
export interface LivePage {
  readonly items: Live[];
  readonly nextPageToken?: string;
}

/** The first page of a Vertex collection under `parent`, unfiltered (one request). */
export function firstPageVertex(ctx: KindContext, kind: VertexKind, parent: string): Promise<LivePage> {
  return listPage(ctx, kind, parent, undefined, undefined);
}

async function listPages(ctx: KindContext, kind: VertexKind, parent: string, filter: string | undefined, from?: string): Promise<Live[]> {
  const out: Live[] = [];
  let pageToken = from;
  do {
    const page = await listPage(ctx, kind, parent, filter, pageToken);
    out.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

async function listPage(ctx: KindContext, kind: VertexKind, parent: string, filter: string | undefined, pageToken: string | undefined): Promise<LivePage> {
  const request: Json = { parent, pageSize: 100, ...(filter ? { filter } : {}), ...(pageToken ? { pageToken } : {}) };
  const [objs, , raw] = (await ctx.calls.run('read', `${parent}/${kind.collection}`, () => rpcOf(kind.client(ctx.clients), kind.rpc.list)(request, { autoPaginate: false }))) as [unknown[], unknown, { nextPageToken?: string } | undefined];
  const items = (objs ?? []).map((obj) => {
    const json = liveJson(kind, obj);
    return { name: String(json.name), json, env: kind.envOf(json) };
  });
  const next = raw?.nextPageToken || undefined;
  return next ? { items, nextPageToken: next } : { items };
}

/** Create a Vertex resource; returns its name. */
export async function createVertex(ctx: KindContext, kind: VertexKind, entry: ManifestEntry, body: Json): Promise<string> {
  const client = kind.client(ctx.clients);
  const request: Json = { parent: entry.parent, [kind.field]: jsonToObject(messageType(kind.message), body) };
  if (kind.idField && entry.id) request[kind.idField] = entry.id;
  // A create answered with the resource itself is asked for its name only (a partial response:
  // the system parameter `X-Goog-FieldMask`); the SDK would otherwise decode the whole resource,
  // a pipeline schedule's spec included, only for the name to be kept.
  const options = kind.lro.create ? undefined : nameOnly();
  const [res] = await ctx.calls.run('write', entry.key, () => rpcOf(client, kind.rpc.create)(request, options));
  if (kind.lro.create) {
    const result = await ctx.wait(client, kind.rpc.create, res, entry.key, kind.timeoutMs);
    return String(result?.name ?? `${entry.parent}/${kind.collection}/${entry.id}`);
  }
  return String((res as Json).name);
}

/** Call options asking for a partial response holding the resource's `name` only (new per call: the client adds its routing header to them). */
const nameOnly = () => ({ otherArgs: { headers: { 'X-Goog-FieldMask': 'name' } } });

/** Update the given top-level fields of a Vertex resource. */
export async function updateVertex(ctx: KindContext, kind: VertexKind, name: string, body: Json, fields: readonly string[], what: string): Promise<void> {
  if (!kind.rpc.update) throw new Error(`${kind.type} cannot be updated`);
  const client = kind.client(ctx.clients);
  const request = { [kind.field]: jsonToObject(messageType(kind.message), { ...body, name }), updateMask: { paths: fields.map(snake) } };
  const [res] = await ctx.calls.run('write', what, () => rpcOf(client, kind.rpc.update as string)(request), { retryAmbiguous: true });
  if (kind.lro.update) await ctx.wait(client, kind.rpc.update, res, what, kind.timeoutMs);
}

/** Delete a Vertex resource (a NOT_FOUND counts as done). */
export async function deleteVertex(ctx: KindContext, kind: VertexKind, name: string, what: string, extra: Json = {}): Promise<void> {
  const client = kind.client(ctx.clients);
  try {
    const [op] = await ctx.calls.run('write', what, () => rpcOf(client, kind.rpc.remove)({ name, ...extra }), { retryAmbiguous: true });
    await ctx.wait(client, kind.rpc.remove, op, what, kind.timeoutMs);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** `displayName` → `display_name`. */
export function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
