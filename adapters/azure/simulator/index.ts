/**
 * An Azure Resource Manager simulator on 127.0.0.1: template deployments (incremental) and
 * what-if, generic resource reads/deletes/lists as `@azure/arm-resources` sends them, Azure ML
 * reads as `@azure/arm-machinelearning` 2.1.1 sends them (api-version 2022-10-01), long-running
 * operations with `Azure-AsyncOperation` and `Location` that run on one clock (deployments and
 * direct operations alike: polls only observe them), ARM's 409 `Conflict` for a write to a resource
 * with an operation in flight, soft-deleted workspaces and Key Vaults, and fault injection. Request
 * bodies are checked against the public ARM schemas.
 *
 * It speaks plain HTTP. The real SDKs refuse bearer tokens over `http://`, so mlplane keeps the
 * real `https://management.azure.com` URLs and redirects the SDK transport to the simulator
 * (see `adapters/azure/deploy/transport.ts`); absolute URLs in LRO headers follow
 * `X-Forwarded-Proto` / `X-Forwarded-Host` so that polling stays on the public URL too.
 *
 * @see adapters/azure/deploy/README.md
 */
import { FaultRules, type BaseFaultRule, type CommonFaultKind } from '../../shared/faults';
import { keepIdleConnections } from '../../shared/keep-alive';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deploymentClock, isoDuration, type ArmError, type DeploymentOperationRecord, type DeploymentRecord } from './deployments';
import { TemplateError, UnresolvedReference, type Json } from './expressions';
import { findConformanceDir, SchemaChecker } from './schemas';
import { keyOf, parseId, resourceGroupOf, runtimeProperties, viewOf, type SoftDeleted, type StoredResource } from './store';
import { evaluateBody, flatten, orderResources, templateContext, type RawTemplate, type ResourceBody, type ResourceUnit, type TemplateScope } from './template';
import { comparable, diffValues, type ResourceChange } from './whatif';

export type { StoredResource, SoftDeleted } from './store';
export type { ResourceChange, PropertyDelta, ChangeType } from './whatif';
export type { ArmError, DeploymentOperationRecord, DeploymentRecord } from './deployments';

/** What a fault does to a matching request: the shared kinds (`adapters/shared/faults.ts`) plus an ARM error. */
export type FaultKind =
  | CommonFaultKind
  /** Answer this HTTP status and ARM error code without applying the request. */
  | { readonly kind: 'error'; readonly status: number; readonly code: string; readonly message?: string };

/** A fault rule: which requests it hits and how many times. */
export type FaultRule = BaseFaultRule<FaultKind>;

/** Which requests a convenience fault applies to. */
export interface FaultMatch {
  /** HTTP method, e.g. `PUT`. @default - any */
  readonly method?: string;
  /** Tested against the request path (no query). @default - any */
  readonly path?: RegExp;
}

/** Faults to inject; change them at any time (tests do, between steps). */
export interface Faults {
  /** Add a rule; returns a function that removes it. */
  add(rule: FaultRule): () => void;
  /** Rules that still have hits left. */
  pending(): number;
  /** The next `count` matching requests get 429 with `Retry-After: retryAfterSeconds` (default 1). */
  throttle(count: number, options?: FaultMatch & { readonly retryAfterSeconds?: number }): void;
  /** The next `count` matching requests get 503 (with `Retry-After` when given). */
  unavailable(count: number, options?: FaultMatch & { readonly retryAfterSeconds?: number }): void;
  /** The next `count` matching requests are applied, then the connection is dropped with no response. */
  dropAfterApply(count: number, options?: FaultMatch): void;
  /** A resource whose id matches ends its deployment in `Failed` with this error. */
  failResource(idPattern: RegExp, error?: { readonly code?: string; readonly message?: string }): void;
  /**
   * How long every direct long-running operation (an Azure ML PUT, a DELETE, what-if, a vault
   * purge) takes, in ms: it is `InProgress` until then however often it is polled, and done
   * afterwards even if nobody polled it. The shared `slow` fault makes the operations a request
   * starts take `polls` times this. Template deployments take `resourceDurationMs` per resource.
   * @default - the simulator's `lroDurationMs` option
   */
  lroDurationMs: number;
  /** While true, template deployments stay `Running` and start no resource (ARM busy); clearing it lets them go on. @default false */
  holdDeployments: boolean;
  /** How long a provider takes to deploy one resource of a template deployment, in ms. @default - the simulator's `resourceDurationMs` option */
  resourceDurationMs: number;
  /** Resources whose id matches take `ms` to deploy in a template deployment (a slow provider). */
  slowResource(idPattern: RegExp, ms: number): void;
  /** `Retry-After` (seconds) on the 201/202 that starts a long-running operation and on every answer while it is in progress. @default 0 */
  lroRetryAfterSeconds: number;
  /** Delay added to every response. @default 0 */
  latencyMs: number;
  /** Remove every fault. */
  reset(): void;
}

/** One request the simulator received (no headers: tokens are never recorded). */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly status: number;
  /** Whether the request could change state (PUT/PATCH/DELETE, POST other than what-if). */
  readonly write: boolean;
  /** When it was answered (`Date.now()`): tests measure the gaps between polls with it. */
  readonly at: number;
}

/** What the simulator holds; tests read and seed it. */
export interface SimulatorState {
  readonly resources: Map<string, StoredResource>;
  readonly deployments: Map<string, DeploymentRecord>;
  readonly softDeleted: Map<string, SoftDeleted>;
  /** Blobs written through the data plane: `account/container/path` (lower-cased) → content. */
  readonly blobs: Map<string, string>;
  /** Every resource write in order (deployments and direct PUTs): what a provider saw, step by step. */
  readonly writes: { readonly id: string; readonly deployment?: string; readonly body: ResourceBody }[];
  /** Put a resource directly into the store (a "foreign" resource, or pre-existing state). */
  seed(resource: { readonly id: string; readonly apiVersion?: string } & ResourceBody): StoredResource;
  /** A stored resource by id (case-insensitive). */
  get(id: string): StoredResource | undefined;
}

/** Options of {@link startAzureSimulator}. */
export interface AzureSimulatorOptions {
  /** Port on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** Tenant id `subscription().tenantId` returns. @default a fixed GUID */
  readonly tenantId?: string;
  /** Location of every resource group (`resourceGroup().location`). @default westeurope */
  readonly location?: string;
  /**
   * Folder `conformance/azure` with the ARM schemas, or `false` to skip body checks.
   * @default - the spec data shipped in the package (`spec-data/azure`); checks are skipped (and said so) when absent
   */
  readonly conformanceDir?: string | false;
  /** Page size of list operations (they page through `nextLink`). @default 50 */
  readonly pageSize?: number;
  /**
   * How long a provider takes to deploy one resource of a template deployment, in ms: a
   * deployment takes about this times the length of its longest `dependsOn` chain.
   * @default 5
   */
  readonly resourceDurationMs?: number;
  /** How long a direct long-running operation takes, in ms (see {@link Faults.lroDurationMs}). @default 5 */
  readonly lroDurationMs?: number;
}

/** A running simulator. */
export interface AzureSimulator {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly faults: Faults;
  readonly state: SimulatorState;
  readonly requestLog: RequestRecord[];
  /** Whether request bodies are checked against the ARM schemas. */
  readonly validating: boolean;
  close(): Promise<void>;
}

interface Operation {
  readonly id: string;
  status(): 'InProgress' | 'Succeeded' | 'Failed';
  error(): ArmError | undefined;
  /** Body of the `Location` result once done (`undefined`: 204). */
  result(): Json | undefined;
}

class HttpError extends Error {
  constructor(
    public readonly status: number,
    public readonly error: ArmError,
  ) {
    super(error.message);
  }
}

interface Reply {
  readonly status: number;
  readonly body?: Json;
  /** A raw (non-JSON) body, for the blob data plane. */
  readonly text?: string;
  readonly headers?: Record<string, string>;
}

const DEPLOYMENT_PATH = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.resources\/deployments\/([^/]+)(\/whatif|\/cancel|\/operations(?:\/[^/]+)?)?$/i;
const OPERATION_PATH = /\/(operationstatuses|operationresults|mfeoperationsstatus|mfeoperationresults)\/([^/]+)$/i;
const LIST_RG_PATH = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/resources$/i;
const PROVIDER_PATH = /^\/subscriptions\/([^/]+)\/providers\/([^/]+)$/i;
const DELETED_VAULT_PATH = /^\/subscriptions\/([^/]+)\/providers\/microsoft\.keyvault\/locations\/([^/]+)\/deletedvaults\/([^/]+)(\/purge)?$/i;
const RESOURCE_PATH = /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\//i;
/** `{scope}/providers/Microsoft.Authorization/roleAssignments`: role assignments at, above and below a scope. */
const ROLE_ASSIGNMENTS_AT = /^(\/subscriptions\/[^/]+(?:\/.*)?)\/providers\/microsoft\.authorization\/roleassignments$/i;

/** API versions the simulator answers for each provider (`providers.get`). */
const PROVIDERS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  'Microsoft.MachineLearningServices': {
    workspaces: ['2026-05-01', '2022-10-01'],
    'workspaces/computes': ['2026-05-01', '2022-10-01'],
    'workspaces/onlineEndpoints': ['2026-05-01', '2022-10-01'],
    'workspaces/onlineEndpoints/deployments': ['2026-05-01', '2022-10-01'],
    'workspaces/batchEndpoints': ['2026-05-01', '2022-10-01'],
    'workspaces/batchEndpoints/deployments': ['2026-05-01', '2022-10-01'],
    'workspaces/schedules': ['2026-05-01', '2022-10-01'],
    registries: ['2026-05-01'],
  },
  'Microsoft.Storage': { storageAccounts: ['2023-05-01'] },
  'Microsoft.KeyVault': { vaults: ['2023-07-01'] },
  'Microsoft.ManagedIdentity': { userAssignedIdentities: ['2023-01-31'] },
  'Microsoft.Insights': { components: ['2020-02-02'], autoscalesettings: ['2022-10-01'] },
  'Microsoft.OperationalInsights': { workspaces: ['2023-09-01'] },
  'Microsoft.ContainerRegistry': { registries: ['2023-07-01'] },
  'Microsoft.Cache': { redis: ['2024-03-01'] },
  'Microsoft.Logic': { workflows: ['2019-05-01'] },
  'Microsoft.EventGrid': { systemTopics: ['2022-06-15'] },
  'Microsoft.Authorization': { roleAssignments: ['2022-04-01'], roleDefinitions: ['2022-04-01'] },
  'Microsoft.Network': { privateEndpoints: ['2023-09-01'] },
};

/** ML types whose direct PUT answers as an LRO with `Azure-AsyncOperation` (as the service does). */
const ML_LRO_TYPES = /^microsoft\.machinelearningservices\/(workspaces|workspaces\/computes|workspaces\/onlineendpoints|workspaces\/onlineendpoints\/deployments|workspaces\/batchendpoints|workspaces\/batchendpoints\/deployments|registries)$/;

let sharedChecker: { dir: string; checker: SchemaChecker } | undefined;

function checkerFor(dir: string): SchemaChecker {
  if (sharedChecker?.dir !== dir) sharedChecker = { dir, checker: new SchemaChecker(dir) };
  return sharedChecker.checker;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Start the simulator on 127.0.0.1.
 *
 * @example
 * const sim = await startAzureSimulator();
 * process.env.MLPLANE_AZURE_ENDPOINT = sim.url;
 */
export async function startAzureSimulator(options: AzureSimulatorOptions = {}): Promise<AzureSimulator> {
  const tenantId = options.tenantId ?? '72f988bf-0000-4000-8000-00000000a11e';
  const location = options.location ?? 'westeurope';
  const pageSize = options.pageSize ?? 50;
  const dir = options.conformanceDir === false ? undefined : findConformanceDir(options.conformanceDir);
  const checker = dir ? checkerFor(dir) : undefined;

  const resources = new Map<string, StoredResource>();
  const deployments = new Map<string, DeploymentRecord>();
  const softDeleted = new Map<string, SoftDeleted>();
  const operations = new Map<string, Operation>();
  /** Direct operations in flight per resource (lower-cased id): what a second write conflicts with. */
  const busy = new Map<string, { readonly kind: 'PUT' | 'DELETE'; readonly goal?: string; readonly status: number; readonly headers: Record<string, string> }>();
  const requestLog: RequestRecord[] = [];
  /** Blob data plane: `account/container/path` (lower-cased) → content. */
  const blobs = new Map<string, string>();
  const writes: { id: string; deployment?: string; body: ResourceBody }[] = [];

  const rules = new FaultRules<FaultRule>();
  let failures: { pattern: RegExp; code: string; message: string }[] = [];
  const defaultDurationMs = options.resourceDurationMs ?? 5;
  const defaultLroMs = options.lroDurationMs ?? 5;
  let slowResources: { pattern: RegExp; ms: number }[] = [];
  let held = false;
  const add = (rule: FaultRule): (() => void) => rules.add(rule);
  const faults: Faults = {
    add,
    pending: () => rules.pending(),
    throttle(count, o = {}) {
      add({ verb: o.method, path: o.path, count, fault: { kind: 'throttle', retryAfterSeconds: o.retryAfterSeconds } });
    },
    unavailable(count, o = {}) {
      add({ verb: o.method, path: o.path, count, fault: { kind: 'unavailable', retryAfterSeconds: o.retryAfterSeconds } });
    },
    dropAfterApply(count, o = {}) {
      add({ verb: o.method, path: o.path, count, fault: { kind: 'drop' } });
    },
    failResource(pattern, e = {}) {
      failures.push({ pattern, code: e.code ?? 'InternalServerError', message: e.message ?? 'The resource provider failed to provision the resource (injected fault).' });
    },
    slowResource(pattern, ms) {
      slowResources.push({ pattern, ms });
    },
    lroDurationMs: defaultLroMs,
    get holdDeployments() {
      return held;
    },
    set holdDeployments(v: boolean) {
      const released = held && !v;
      held = v;
      if (released) clock.resume();
    },
    resourceDurationMs: defaultDurationMs,
    lroRetryAfterSeconds: 0,
    latencyMs: 0,
    reset() {
      rules.clear();
      failures = [];
      slowResources = [];
      this.lroDurationMs = defaultLroMs;
      this.holdDeployments = false;
      this.resourceDurationMs = defaultDurationMs;
      this.lroRetryAfterSeconds = 0;
      this.latencyMs = 0;
    },
  };

  /** The first matching rule with hits left (consuming one hit). */
  const take = (method: string, path: string): FaultKind | undefined => rules.take({ verb: method, path });
  /** Duration (ms) of the LROs the current request starts (a `slow` fault sets it). */
  let requestDurationMs: number | undefined;

  const state: SimulatorState = {
    resources,
    deployments,
    softDeleted,
    blobs,
    writes,
    seed(r) {
      const parsed = parseId(r.id);
      if (!parsed) throw new Error(`not a resource id: ${r.id}`);
      const { id: _id, apiVersion, ...body } = r;
      const stored: StoredResource = {
        id: r.id,
        type: parsed.type,
        name: parsed.name,
        apiVersion: apiVersion ?? '2023-01-01',
        body,
        runtime: runtimeProperties(r.id, parsed.type, parsed.name, body, tenantId),
        provisioningState: 'Succeeded',
        createdAt: new Date().toISOString(),
      };
      resources.set(keyOf(r.id), stored);
      return stored;
    },
    get: (id) => resources.get(keyOf(id)),
  };

  // ---------------------------------------------------------------------------------------------
  // Store operations shared by deployments and direct calls

  const notFound = (id: string): HttpError => {
    const p = parseId(id);
    return new HttpError(404, { code: 'ResourceNotFound', message: `The Resource '${p?.type ?? 'resource'}/${p?.name ?? id}' under resource group '${resourceGroupOf(id) ?? ''}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix` });
  };

  /** Write one resource as its provider would (checks parent and soft-delete conflicts). */
  const putResource = (id: string, apiVersion: string, body: ResourceBody, deployment?: string): { created: boolean; stored: StoredResource } => {
    const parsed = parseId(id);
    if (!parsed) throw new HttpError(400, { code: 'InvalidResourceId', message: `'${id}' is not a valid resource id.` });
    // A storage account's `blobServices/default` (and file/queue/table) exist with the account.
    let parentId = parsed.parentId?.replace(/\/(blob|file|queue|table)Services\/default$/i, '');
    // Azure ML creates the container of an asset version (data, models, components, ...) with its first version.
    if (parentId && /^microsoft\.machinelearningservices\/(workspaces|registries)\/[^/]+\/versions$/i.test(parsed.type) && !resources.has(keyOf(parentId))) {
      const container = parseId(parentId);
      const workspace = container?.parentId;
      if (container && workspace && resources.has(keyOf(workspace))) {
        resources.set(keyOf(parentId), { id: parentId, type: container.type, name: container.name, apiVersion, body: { properties: {} }, runtime: {}, provisioningState: 'Succeeded', createdAt: new Date().toISOString() });
      }
      parentId = workspace ?? parentId;
    }
    if (parentId && RESOURCE_PATH.test(parentId) && !resources.has(keyOf(parentId))) {
      throw new HttpError(404, { code: 'ParentResourceNotFound', message: `Can not perform requested operation on nested resource. Parent resource '${parentId.split('/providers/').pop() ?? parentId}' not found.` });
    }
    const t = parsed.type.toLowerCase();
    const existing = resources.get(keyOf(id));
    // A template deployment's PUT meets a direct operation in flight as any PUT does: 409 Conflict (see `inFlightWrite`).
    const ongoing = deployment !== undefined ? busy.get(keyOf(id)) : undefined;
    if (ongoing) throw new HttpError(409, { code: 'Conflict', target: id, message: `The PUT of '${id}' conflicts with an ongoing ${ongoing.kind} operation on it (provisioningState '${existing?.provisioningState ?? 'Deleting'}'). Wait for that operation to finish, then retry.` });
    if (!existing) {
      const deleted = softDeleted.get(keyOf(id));
      if (deleted && t === 'microsoft.machinelearningservices/workspaces') {
        throw new HttpError(409, { code: 'Conflict', message: `Workspace '${parsed.name}' is soft-deleted; its name cannot be reused until the retention period ends or it is permanently deleted (purged), or recover it.`, target: id });
      }
      if (t === 'microsoft.keyvault/vaults') {
        const vault = [...softDeleted.values()].find((s) => s.type === 'Microsoft.KeyVault/vaults' && s.name.toLowerCase() === parsed.name.toLowerCase());
        const createMode = isObject(body.properties) ? body.properties.createMode : undefined;
        if (vault && createMode !== 'recover') {
          throw new HttpError(409, { code: 'ConflictError', message: `Exist soft deleted vault with the same name.`, target: id });
        }
        if (vault) softDeleted.delete(keyOf(vault.id));
      }
    }
    for (const f of failures) {
      if (f.pattern.test(id)) throw new HttpError(400, { code: f.code, message: f.message, target: id });
    }
    if (t === 'microsoft.machinelearningservices/workspaces/featuresets/versions') checkFeaturesetSpec(id, body, parentId ?? '');
    writes.push({ id, deployment, body });
    if (existing) {
      existing.body = body;
      existing.apiVersion = apiVersion;
      if (deployment !== undefined) existing.deployment = deployment;
      return { created: false, stored: existing };
    }
    const stored: StoredResource = {
      id,
      type: parsed.type,
      name: parsed.name,
      apiVersion,
      body,
      runtime: runtimeProperties(id, parsed.type, parsed.name, body, tenantId),
      provisioningState: 'Succeeded',
      createdAt: new Date().toISOString(),
      deployment,
    };
    resources.set(keyOf(id), stored);
    if (t === 'microsoft.machinelearningservices/workspaces') createDefaultDatastore(stored);
    return { created: true, stored };
  };

  /**
   * Azure ML creates `workspaceblobstore` (a blob container in the workspace's storage account)
   * with every workspace.
   */
  const createDefaultDatastore = (ws: StoredResource): void => {
    const props = isObject(ws.body.properties) ? ws.body.properties : {};
    const account = typeof props.storageAccount === 'string' ? (props.storageAccount.split('/').pop() ?? '') : '';
    if (!account) return;
    const containerName = `azureml-blobstore-${String(ws.runtime.workspaceId ?? ws.name)}`;
    const accountId = typeof props.storageAccount === 'string' ? props.storageAccount : '';
    const containerId = `${accountId}/blobServices/default/containers/${containerName}`;
    if (!resources.has(keyOf(containerId)) && resources.has(keyOf(accountId))) {
      resources.set(keyOf(containerId), { id: containerId, type: 'Microsoft.Storage/storageAccounts/blobServices/containers', name: containerName, apiVersion: '2023-05-01', body: { properties: {} }, runtime: {}, provisioningState: 'Succeeded', createdAt: new Date().toISOString() });
    }
    const dsId = `${ws.id}/datastores/workspaceblobstore`;
    resources.set(keyOf(dsId), {
      id: dsId,
      type: 'Microsoft.MachineLearningServices/workspaces/datastores',
      name: 'workspaceblobstore',
      apiVersion: '2022-10-01',
      body: { properties: { datastoreType: 'AzureBlob', accountName: account, containerName, endpoint: 'core.windows.net', protocol: 'https', credentials: { credentialsType: 'None' }, isDefault: true } },
      runtime: {},
      provisioningState: 'Succeeded',
      createdAt: new Date().toISOString(),
    });
  };

  /** Where an `azureml://datastores/<ds>/paths/<p>` URI of a workspace points in blob storage. */
  const datastoreBlob = (workspaceId: string, uri: string): { account: string; container: string; path: string } | undefined => {
    const m = /^azureml:\/\/datastores\/([^/]+)\/paths\/(.*)$/.exec(uri);
    if (!m) return undefined;
    const ds = resources.get(keyOf(`${workspaceId}/datastores/${m[1] as string}`));
    const props = ds && isObject(ds.body.properties) ? ds.body.properties : undefined;
    if (!props || typeof props.accountName !== 'string' || typeof props.containerName !== 'string') return undefined;
    return { account: props.accountName, container: props.containerName, path: m[2] as string };
  };

  /** A feature set version reads `FeaturesetSpec.yaml` from its specification folder: it must be there. */
  const checkFeaturesetSpec = (id: string, body: ResourceBody, parentId: string): void => {
    const props = isObject(body.properties) ? body.properties : {};
    const spec = isObject(props.specification) ? props.specification.path : undefined;
    const workspaceId = parentId.replace(/\/featuresets\/[^/]+$/i, '');
    const where = typeof spec === 'string' ? datastoreBlob(workspaceId, spec) : undefined;
    const file = where ? `${where.account}/${where.container}/${where.path.replace(/\/?$/, '/')}FeaturesetSpec.yaml`.toLowerCase() : undefined;
    if (!file || !blobs.has(file)) {
      throw new HttpError(400, { code: 'UserError', message: `The feature set specification was not found at '${String(spec)}' (FeaturesetSpec.yaml); upload it to the feature store's datastore before creating the version.`, target: id });
    }
  };

  /** Delete a resource and everything under it; workspaces and vaults are soft-deleted. */
  const deleteResource = (id: string, purge: boolean): void => {
    const key = keyOf(id);
    const r = resources.get(key);
    if (r) {
      const t = r.type.toLowerCase();
      const props = isObject(r.body.properties) ? r.body.properties : {};
      const cmk = isObject(props.encryption) && props.encryption.status === 'Enabled';
      if (t === 'microsoft.machinelearningservices/workspaces' && !purge && !cmk) {
        softDeleted.set(key, { id: r.id, name: r.name, type: 'Microsoft.MachineLearningServices/workspaces', location: String(r.body.location ?? location), deletedAt: new Date().toISOString(), purgeProtection: false });
      }
      if (t === 'microsoft.keyvault/vaults') {
        softDeleted.set(key, { id: r.id, name: r.name, type: 'Microsoft.KeyVault/vaults', location: String(r.body.location ?? location), deletedAt: new Date().toISOString(), purgeProtection: props.enablePurgeProtection === true });
      }
    } else if (purge) {
      softDeleted.delete(key);
    }
    for (const k of [...resources.keys()]) {
      if (k === key || k.startsWith(`${key}/`)) resources.delete(k);
    }
  };

  const scopeFor = (subscriptionId: string, resourceGroup: string, deploymentName: string, strict: boolean): TemplateScope => ({
    subscriptionId,
    tenantId,
    resourceGroup,
    location,
    deploymentName,
    reference(id, full) {
      const r = resources.get(keyOf(id));
      if (!r) throw new UnresolvedReference(id);
      const v = viewOf(r, tenantId);
      return full ? v : (v.properties as Json);
    },
    list(action, id): Json {
      const r = resources.get(keyOf(id));
      if (action === 'listcallbackurl') {
        const parsed = parseId(id);
        const wf = parsed?.parentId ? resources.get(keyOf(parsed.parentId)) : undefined;
        if (!wf) throw new UnresolvedReference(id);
        return { value: `${String(wf.runtime.accessEndpoint)}/triggers/${parsed?.name ?? ''}/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2F${parsed?.name ?? ''}%2Frun&sv=1.0&sig=simulated` };
      }
      if (!r) throw new UnresolvedReference(id);
      if (action === 'listkeys') return { keys: [{ keyName: 'key1', value: 'simulated', permissions: 'FULL' }] };
      if (strict) throw new TemplateError(`The list function '${action}' is not supported by the mlplane ARM simulator.`);
      throw new UnresolvedReference(id);
    },
  });

  // ---------------------------------------------------------------------------------------------
  // Deployments

  const schemaProblems = (units: readonly ResourceUnit[]): ArmError[] => {
    const out: ArmError[] = [];
    for (const u of flatten(units)) {
      providerCheck(u.type, u.apiVersion);
      out.push(...resourceProblems(u.id, u.type, u.apiVersion, String(u.raw.name), u.raw as unknown as Record<string, unknown>));
    }
    return out;
  };

  /**
   * The namespace, type and api-version of a resource must be registered, as ARM checks before
   * any provider sees the request (codes as ARM answers them: `InvalidResourceNamespace`,
   * `InvalidResourceType`, `NoRegisteredProviderFound`).
   * @see https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-register-resource-provider
   */
  const providerCheck = (type: string, apiVersion: string): void => {
    const [ns = '', top = ''] = type.split('/');
    if (ns.toLowerCase() === 'microsoft.resources') return;
    const namespace = Object.keys(PROVIDERS).find((n) => n.toLowerCase() === ns.toLowerCase());
    if (!namespace) throw new HttpError(400, { code: 'InvalidResourceNamespace', message: `The resource namespace '${ns}' is invalid.` });
    const types = PROVIDERS[namespace] as Readonly<Record<string, readonly string[]>>;
    const known = Object.keys(types).find((t) => t.toLowerCase() === top.toLowerCase());
    if (!known) throw new HttpError(400, { code: 'InvalidResourceType', message: `The resource type '${top}' could not be found in the namespace '${namespace}' for api version '${apiVersion}'.` });
    const versions = types[known] as readonly string[];
    if (!versions.includes(apiVersion)) {
      throw new HttpError(400, { code: 'NoRegisteredProviderFound', message: `No registered resource provider found for location '${location}' and API version '${apiVersion}' for type '${known}'. The supported api-versions are '${versions.join(', ')}'. The supported locations are '${location}'.` });
    }
  };

  /**
   * What the provider would reject in one resource body: its published ARM schema (shipped in
   * spec-data), the rules of the REST specs the schemas leave out (a storage account needs `sku`,
   * `kind` and `location`; tracked top-level resources need `location`), and storage account names.
   * @see https://learn.microsoft.com/rest/api/storagerp/storage-accounts/create
   * @see https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftstorage
   */
  const resourceProblems = (id: string, type: string, apiVersion: string, name: string, raw: Record<string, unknown>): ArmError[] => {
    const out: ArmError[] = [];
    const t = type.toLowerCase();
    const top = type.split('/').length === 2;
    if (t === 'microsoft.storage/storageaccounts' && !/^[a-z0-9]{3,24}$/.test(name.split('/').pop() ?? '')) {
      out.push({ code: 'PreflightValidationCheckFailed', message: 'Preflight validation failed. Please refer to the details for the specific errors.', details: [{ code: 'AccountNameInvalid', target: name, message: `${name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.` }] });
    }
    if (t === 'microsoft.storage/storageaccounts') {
      for (const k of ['sku', 'kind']) if (raw[k] === undefined) out.push({ code: 'InvalidRequestContent', target: id, message: `The request content was invalid and could not be deserialized: 'Required property '${k}' not found in JSON. Path ''.'` });
    }
    if (top && !t.startsWith('microsoft.authorization/') && !t.startsWith('microsoft.resources/') && (raw.location === undefined || raw.location === '')) {
      out.push({ code: 'LocationRequired', target: id, message: 'The location property is required for this definition.' });
    }
    if (!checker) return out;
    const body = { ...raw, type, apiVersion, name };
    const errors = t.startsWith('microsoft.machinelearningservices/') ? checker.mlResource(body) : checker.providerResource(body);
    if (errors && errors.length > 0) out.push({ code: 'InvalidRequestContent', target: id, message: `The resource '${id}' does not match the ARM schema of ${type}@${apiVersion}: ${errors.join('; ')}` });
    return out;
  };

  const prepare = (sub: string, rg: string, name: string, body: unknown, strict: boolean): { template: RawTemplate; parameters: Record<string, unknown>; mode: string; units: ResourceUnit[]; tags: Record<string, string> } => {
    if (!isObject(body) || !isObject(body.properties)) throw new HttpError(400, { code: 'InvalidRequestContent', message: "The request content was invalid and could not be deserialized: 'properties' is required." });
    const p = body.properties;
    const mode = p.mode;
    if (mode !== 'Incremental' && mode !== 'Complete') throw new HttpError(400, { code: 'InvalidRequestContent', message: `The request content was invalid and could not be deserialized: 'properties.mode' must be 'Incremental' or 'Complete', got ${JSON.stringify(mode)}.` });
    if (mode === 'Complete') throw new HttpError(400, { code: 'InvalidDeploymentMode', message: 'Complete mode is not supported by the mlplane ARM simulator (mlplane deploys incrementally).' });
    if (p.templateLink !== undefined || !isObject(p.template)) throw new HttpError(400, { code: 'InvalidRequestContent', message: "The deployment must carry an inline 'properties.template' (templateLink is not supported offline)." });
    const template = p.template as RawTemplate;
    if (checker) {
      const errors = checker.template(template);
      if (errors.length > 0) throw new HttpError(400, { code: 'InvalidTemplate', message: `Deployment template validation failed: ${errors.join('; ')}` });
    }
    const parameters: Record<string, unknown> = {};
    if (p.parameters !== undefined) {
      if (!isObject(p.parameters)) throw new HttpError(400, { code: 'InvalidRequestContent', message: "'properties.parameters' must be an object." });
      for (const [k, v] of Object.entries(p.parameters)) {
        if (!isObject(v) || !('value' in v)) throw new HttpError(400, { code: 'InvalidRequestContent', message: `The deployment parameter '${k}' must be an object with a 'value' (Key Vault references are not supported offline).` });
        parameters[k] = v.value;
      }
    }
    const tags: Record<string, string> = {};
    if (body.tags !== undefined) {
      if (!isObject(body.tags)) throw new HttpError(400, { code: 'InvalidRequestContent', message: "'tags' must be an object of strings." });
      for (const [k, v] of Object.entries(body.tags)) tags[k] = String(v);
    }
    try {
      const scope = scopeFor(sub, rg, name, strict);
      const ctx = templateContext(template, parameters, scope);
      const units = orderResources(template, ctx, scope);
      const problems = schemaProblems(units);
      if (problems.length > 0) throw new HttpError(400, { code: 'InvalidTemplateDeployment', message: `The template deployment '${name}' is not valid according to the validation procedure. See inner errors for details.`, details: problems });
      return { template, parameters, mode: String(mode), units, tags };
    } catch (e) {
      if (e instanceof TemplateError) throw new HttpError(400, { code: e.code, message: `Deployment template validation failed: '${e.message}'.` });
      throw e;
    }
  };

  const deploymentView = (d: DeploymentRecord): Json => {
    const props: { [key: string]: Json } = {
      provisioningState: d.state,
      mode: d.mode,
      timestamp: d.timestamp,
      correlationId: d.id.slice(-12),
      outputResources: d.outputResources.map((id) => ({ id })),
    };
    if (d.outputs) props.outputs = d.outputs;
    if (d.error) props.error = d.error as unknown as Json;
    return { id: `/subscriptions/${d.id.split('/')[2] ?? ''}/resourceGroups/${d.resourceGroup}/providers/Microsoft.Resources/deployments/${d.name}`, name: d.name, type: 'Microsoft.Resources/deployments', tags: d.tags, properties: props };
  };

  /**
   * Deployments run on timers: each resource takes `faults.resourceDurationMs` (or its
   * `slowResource` time) once everything it depends on has succeeded; polls only observe.
   */
  const clock = deploymentClock({
    scopeFor: (sub, rg, name) => scopeFor(sub, rg, name, true),
    put: (id, apiVersion, body, deployment) => putResource(id, apiVersion, body, deployment),
    register: (record) => deployments.set(`${record.resourceGroup}/${record.name}`.toLowerCase(), record),
    durationOf: (id) => slowResources.find((r) => r.pattern.test(id))?.ms ?? faults.resourceDurationMs,
    held: () => held,
  });

  /** A deployment operation in the REST API's shape (`DeploymentOperation`, 2025-04-01). */
  const deploymentOperationView = (d: DeploymentRecord, o: DeploymentOperationRecord): Json => {
    const props: { [key: string]: Json } = {
      provisioningOperation: o.provisioningOperation,
      provisioningState: o.provisioningState,
      timestamp: new Date(o.endedAt ?? o.startedAt).toISOString(),
      duration: isoDuration((o.endedAt ?? Date.now()) - o.startedAt),
      serviceRequestId: o.serviceRequestId,
    };
    if (o.statusCode !== undefined) props.statusCode = o.statusCode;
    if (o.error) props.statusMessage = { status: 'Failed', error: o.error as unknown as Json };
    if (o.target) props.targetResource = { id: o.target.id, resourceName: o.target.name, resourceType: o.target.type, apiVersion: o.target.apiVersion };
    return { id: `${(deploymentView(d) as { id: string }).id}/operations/${o.operationId}`, operationId: o.operationId, properties: props };
  };

  const whatIf = (sub: string, rg: string, name: string, body: unknown): Json => {
    // What-if compares with the resources as they are now: a deployment still running has written some of them.
    const { units } = prepare(sub, rg, name, body, false);
    const desired = new Map<string, { id: string; type: string; apiVersion: string; body: ResourceBody }>();
    for (const u of flatten(units)) {
      if (u.nested) continue;
      const b = evaluateBody(u, (text) => text);
      desired.set(keyOf(u.id), { id: u.id, type: u.type, apiVersion: u.apiVersion, body: b });
    }
    const changes: ResourceChange[] = [];
    for (const [key, want] of desired) {
      const have = resources.get(key);
      const after = { id: want.id, name: want.id.split('/').pop() ?? '', type: want.type, apiVersion: want.apiVersion, ...comparable(want.body) } as Json;
      if (!have) {
        changes.push({ resourceId: want.id, changeType: 'Create', after });
        continue;
      }
      const before = { id: have.id, name: have.name, type: have.type, apiVersion: have.apiVersion, ...comparable(have.body) } as Json;
      // A value still written as an expression (a reference() to a resource this deployment creates)
      // shows as a Modify with the expression as the new value, as ARM's what-if does.
      const delta = diffValues(comparable(have.body), comparable(want.body));
      changes.push(delta.length === 0 ? { resourceId: want.id, changeType: 'NoChange', before, after } : { resourceId: want.id, changeType: 'Modify', before, after, delta });
    }
    for (const [key, r] of resources) {
      if (desired.has(key) || (resourceGroupOf(r.id) ?? '').toLowerCase() !== rg.toLowerCase()) continue;
      changes.push({ resourceId: r.id, changeType: 'Ignore', before: { id: r.id, name: r.name, type: r.type, apiVersion: r.apiVersion, ...comparable(r.body) } as Json });
    }
    changes.sort((a, b) => a.resourceId.localeCompare(b.resourceId));
    return { status: 'Succeeded', properties: { changes: changes as unknown as Json } };
  };

  // ---------------------------------------------------------------------------------------------
  // LROs

  /**
   * An operation that runs on the simulator's clock (the one deployments run on): `InProgress`
   * for `faults.lroDurationMs` (or the `slow` fault's time), then `complete` runs and it is
   * `Succeeded` or `Failed`. Polls only observe it; one that nobody polls ends all the same.
   */
  const newOperation = (complete: () => ArmError | undefined, result?: () => Json | undefined): Operation => {
    let status: 'InProgress' | 'Succeeded' | 'Failed' = 'InProgress';
    let error: ArmError | undefined;
    const op: Operation = {
      id: randomUUID(),
      status: () => status,
      error: () => error,
      result: () => result?.(),
    };
    operations.set(op.id, op);
    clock.after(requestDurationMs ?? faults.lroDurationMs, () => {
      error = complete();
      status = error ? 'Failed' : 'Succeeded';
    });
    return op;
  };

  /** `Retry-After` of an LRO answer (the 201/202 that starts it, a poll while it runs). */
  const retryAfter = (): string => String(faults.lroRetryAfterSeconds);

  /**
   * A direct write to a resource with an operation in flight, as ARM's resource provider contract
   * says (Azure/azure-resource-manager-rpc `v1.0/Addendum.md`, "Creating or Updating Resources
   * Asynchronously" and "Delete Resource Asynchronously"): a repeat of the ongoing PUT (same goal
   * state) or DELETE is answered like the first, with the same polling URL; any other PUT, and a
   * DELETE during a PUT, gets 409 Conflict at once and changes nothing. A resource a template
   * deployment is still provisioning counts as busy too. `undefined`: no conflict.
   */
  const inFlightWrite = (method: 'PUT' | 'DELETE', id: string, goal: string | undefined): Reply | undefined => {
    const key = keyOf(id);
    const ongoing = busy.get(key);
    const r = resources.get(key);
    if (ongoing && ongoing.kind === method && (method === 'DELETE' || ongoing.goal === goal)) {
      return { status: ongoing.status, ...(method === 'PUT' && r ? { body: viewOf(r, tenantId) } : {}), headers: ongoing.headers };
    }
    const state = r?.provisioningState;
    if (!ongoing && !(state === 'Creating' || state === 'Updating' || state === 'Deleting')) return undefined;
    const what = ongoing ? `an ongoing ${ongoing.kind} operation` : 'an ongoing template deployment';
    throw new HttpError(409, { code: 'Conflict', target: id, message: `The ${method} of '${id}' conflicts with ${what} on it (provisioningState '${state ?? 'Deleting'}'). Wait for that operation to finish, then retry.` });
  };

  /** The operation of a template deployment: it follows the deployment (which runs on its own clock). */
  const deploymentOperation = (record: DeploymentRecord): Operation => {
    const op: Operation = {
      id: randomUUID(),
      status: () => (record.state === 'Succeeded' ? 'Succeeded' : record.state === 'Failed' || record.state === 'Canceled' ? 'Failed' : 'InProgress'),
      error: () => record.error,
      result: () => deploymentView(record),
    };
    operations.set(op.id, op);
    return op;
  };

  // ---------------------------------------------------------------------------------------------
  // Routing

  const handle = (method: string, path: string, query: URLSearchParams, body: unknown, base: string): Reply => {
    const apiVersion = query.get('api-version');
    if (!apiVersion) throw new HttpError(400, { code: 'MissingApiVersionParameter', message: "The api-version query parameter (?api-version=) is required for all requests." });

    const op = OPERATION_PATH.exec(path);
    if (op && method === 'GET') {
      const o = operations.get(op[2] as string);
      if (!o) throw new HttpError(404, { code: 'OperationNotFound', message: `Operation '${op[2] as string}' was not found.` });
      const status = o.status();
      const error = o.error();
      if (/results$/i.test(op[1] as string)) {
        if (status === 'InProgress') return { status: 202, headers: { location: `${base}${path}?api-version=${apiVersion}`, 'retry-after': retryAfter() } };
        if (status === 'Failed') return { status: 400, body: { error: (error ?? { code: 'Failed', message: 'The operation failed.' }) as unknown as Json } };
        const r = o.result();
        return r === undefined ? { status: 204 } : { status: 200, body: r };
      }
      return { status: 200, body: { id: o.id, name: o.id, status, ...(error ? { error: error as unknown as Json } : {}) }, headers: status === 'InProgress' ? { 'retry-after': retryAfter() } : {} };
    }

    const dep = DEPLOYMENT_PATH.exec(path);
    if (dep) {
      const [, sub, rg, name, action] = dep as unknown as [string, string, string, string, string | undefined];
      const key = `${rg}/${name}`.toLowerCase();
      const existing = deployments.get(key);
      const active = existing !== undefined && (existing.state === 'Running' || existing.state === 'Accepted');
      if (action !== undefined && /^\/operations/i.test(action)) {
        if (method !== 'GET') throw new HttpError(405, { code: 'MethodNotAllowed', message: `${method} is not allowed on deployment operations.` });
        if (!existing) throw new HttpError(404, { code: 'DeploymentNotFound', message: `Deployment '${name}' could not be found.` });
        const operationId = action.split('/')[2];
        if (operationId !== undefined) {
          const o = existing.operations.find((x) => x.operationId.toLowerCase() === operationId.toLowerCase());
          if (!o) throw new HttpError(404, { code: 'DeploymentOperationNotFound', message: `Deployment operation '${operationId}' of deployment '${name}' could not be found.` });
          return { status: 200, body: deploymentOperationView(existing, o) };
        }
        const top = query.get('$top');
        const all = existing.operations.slice(0, top !== null && /^\d+$/.test(top) ? Number(top) : undefined);
        const skip = Number(query.get('$skiptoken') ?? '0');
        const value = all.slice(skip, skip + pageSize).map((o) => deploymentOperationView(existing, o));
        const next = skip + pageSize < all.length ? `${base}${path}?${new URLSearchParams({ ...Object.fromEntries(query), $skiptoken: String(skip + pageSize) }).toString()}` : undefined;
        return { status: 200, body: next ? { value, nextLink: next } : { value } };
      }
      if (action?.toLowerCase() === '/whatif') {
        if (method !== 'POST') throw new HttpError(405, { code: 'MethodNotAllowed', message: 'what-if is a POST.' });
        let result: Json | undefined;
        let error: ArmError | undefined;
        try {
          result = whatIf(sub, rg, name, body);
        } catch (e) {
          if (e instanceof HttpError && e.status === 400) throw e;
          if (e instanceof TemplateError) throw new HttpError(400, { code: e.code, message: e.message });
          error = { code: 'InternalServerError', message: e instanceof Error ? e.message : String(e) };
        }
        // What-if runs on the clock too: the result is ready once its duration has passed.
        const o = newOperation(() => error, () => result);
        return { status: 202, headers: { location: `${base}/subscriptions/${sub}/providers/Microsoft.Resources/locations/${location}/operationResults/${o.id}?api-version=${apiVersion}`, 'retry-after': retryAfter() } };
      }
      if (action?.toLowerCase() === '/cancel') {
        if (!existing || !active) throw new HttpError(409, { code: 'DeploymentCannotBeCancelled', message: `The deployment '${name}' cannot be cancelled: it is not running.` });
        existing.state = 'Canceled';
        return { status: 204 };
      }
      if (method === 'GET') {
        if (!existing) throw new HttpError(404, { code: 'DeploymentNotFound', message: `Deployment '${name}' could not be found.` });
        return { status: 200, body: deploymentView(existing) };
      }
      if (method === 'PUT') {
        // ARM runs one deployment of a name at a time: a second one while the first is active is refused.
        if (existing && active) {
          const expires = new Date(Date.parse(existing.timestamp) + 7 * 24 * 3_600_000).toISOString();
          throw new HttpError(409, { code: 'DeploymentActive', message: `Unable to edit or replace deployment '${name}': previous deployment from '${existing.timestamp}' is still active (expiration time is '${expires}'). Please see https://aka.ms/arm-deploy for usage details.` });
        }
        const prepared = prepare(sub, rg, name, body, true);
        const record: DeploymentRecord = {
          id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Resources/deployments/${name}`,
          name,
          resourceGroup: rg,
          state: 'Accepted',
          template: prepared.template,
          parameters: prepared.parameters,
          mode: prepared.mode,
          tags: prepared.tags,
          timestamp: new Date().toISOString(),
          outputResources: [],
          operations: [],
        };
        deployments.set(key, record);
        clock.start(record, sub);
        const o = deploymentOperation(record);
        return {
          status: existing ? 200 : 201,
          body: deploymentView(record),
          headers: { 'azure-asyncoperation': `${base}/subscriptions/${sub}/resourcegroups/${rg}/providers/Microsoft.Resources/deployments/${name}/operationStatuses/${o.id}?api-version=${apiVersion}`, 'retry-after': String(faults.lroRetryAfterSeconds) },
        };
      }
      if (method === 'DELETE') {
        // "A template deployment that is currently running cannot be deleted" (Deployments - Delete, REST API 2025-04-01).
        if (active) throw new HttpError(409, { code: 'DeploymentActive', message: `The deployment '${name}' is still active (state: ${existing.state}) and cannot be deleted; cancel it or wait for it to finish.` });
        deployments.delete(key);
        return { status: 204 };
      }
      throw new HttpError(405, { code: 'MethodNotAllowed', message: `${method} is not allowed on a deployment.` });
    }

    const list = LIST_RG_PATH.exec(path);
    if (list && method === 'GET') {
      const rg = (list[2] as string).toLowerCase();
      const filter = query.get('$filter');
      let predicate: (r: StoredResource) => boolean = () => true;
      if (filter) {
        const tag = /^\s*tagName\s+eq\s+'([^']*)'(?:\s+and\s+tagValue\s+eq\s+'([^']*)')?\s*$/i.exec(filter);
        const type = /^\s*resourceType\s+eq\s+'([^']*)'\s*$/i.exec(filter);
        if (tag) {
          const [, tn, tv] = tag as unknown as [string, string, string | undefined];
          predicate = (r) => {
            const tags = isObject(r.body.tags) ? r.body.tags : {};
            const k = Object.keys(tags).find((x) => x.toLowerCase() === tn.toLowerCase());
            return k !== undefined && (tv === undefined || tags[k] === tv);
          };
        } else if (type) predicate = (r) => r.type.toLowerCase() === (type[1] as string).toLowerCase();
        else throw new HttpError(400, { code: 'InvalidFilterInQueryString', message: `Invalid $filter '${filter}' specified in the query string.` });
      }
      const all = [...resources.values()]
        .filter((r) => (resourceGroupOf(r.id) ?? '').toLowerCase() === rg && r.body.location !== undefined && predicate(r))
        .sort((a, b) => a.id.localeCompare(b.id));
      const skip = Number(query.get('$skiptoken') ?? '0');
      const page = all.slice(skip, skip + pageSize);
      const value = page.map((r) => {
        const v = viewOf(r, tenantId);
        const { properties: _p, systemData: _s, ...rest } = v;
        return rest as Json;
      });
      const next = skip + pageSize < all.length ? `${base}${path}?${new URLSearchParams({ ...Object.fromEntries(query), $skiptoken: String(skip + pageSize) }).toString()}` : undefined;
      return { status: 200, body: next ? { value, nextLink: next } : { value } };
    }

    const provider = PROVIDER_PATH.exec(path);
    if (provider && method === 'GET') {
      const ns = Object.keys(PROVIDERS).find((n) => n.toLowerCase() === (provider[2] as string).toLowerCase());
      if (!ns) throw new HttpError(404, { code: 'InvalidResourceNamespace', message: `The resource namespace '${provider[2] as string}' is invalid.` });
      const types = PROVIDERS[ns] as Record<string, readonly string[]>;
      return { status: 200, body: { id: `/subscriptions/${provider[1] as string}/providers/${ns}`, namespace: ns, registrationState: 'Registered', resourceTypes: Object.entries(types).map(([t, v]) => ({ resourceType: t, apiVersions: [...v], locations: [location] })) } };
    }

    const dv = DELETED_VAULT_PATH.exec(path);
    if (dv) {
      const [, sub, loc, name, purge] = dv as unknown as [string, string, string, string, string | undefined];
      const vault = [...softDeleted.values()].find((s) => s.type === 'Microsoft.KeyVault/vaults' && s.name.toLowerCase() === name.toLowerCase() && s.location.toLowerCase() === loc.toLowerCase());
      if (!vault) throw new HttpError(404, { code: 'ResourceNotFound', message: `The Resource 'Microsoft.KeyVault/deletedVaults/${name}' under subscription '${sub}' was not found.` });
      if (purge) {
        if (method !== 'POST') throw new HttpError(405, { code: 'MethodNotAllowed', message: 'purge is a POST.' });
        if (vault.purgeProtection) throw new HttpError(409, { code: 'Conflict', message: `Operation 'DeleteVault' is not allowed: vault '${name}' has purge protection enabled; it can only be recovered until its retention period ends.` });
        const o = newOperation(() => {
          softDeleted.delete(keyOf(vault.id));
          return undefined;
        });
        return { status: 202, headers: { location: `${base}/subscriptions/${sub}/providers/Microsoft.KeyVault/locations/${loc}/operationResults/${o.id}?api-version=${apiVersion}`, 'retry-after': retryAfter() } };
      }
      if (method !== 'GET') throw new HttpError(405, { code: 'MethodNotAllowed', message: `${method} is not allowed on a deleted vault.` });
      return { status: 200, body: { id: `/subscriptions/${sub}/providers/Microsoft.KeyVault/locations/${loc}/deletedVaults/${name}`, name, type: 'Microsoft.KeyVault/deletedVaults', properties: { vaultId: vault.id, location: vault.location, deletionDate: vault.deletedAt, purgeProtectionEnabled: vault.purgeProtection } } };
    }

    const ra = ROLE_ASSIGNMENTS_AT.exec(path);
    if (ra && method === 'GET') return { status: 200, body: { value: roleAssignmentsAt(ra[1] as string, query.get('$filter')) } };

    if (RESOURCE_PATH.test(path)) return resourceCall(method, path, query, body, base, apiVersion);
    throw new HttpError(404, { code: 'NotFound', message: `The mlplane ARM simulator does not serve ${method} ${path}.` });
  };

  /**
   * Role assignments that apply at `scope` (assigned at it or above it) or below it, as "Role
   * Assignments - List For Scope" answers; `$filter` takes `atScope()` and `principalId eq '<id>'`.
   * @see https://learn.microsoft.com/rest/api/authorization/role-assignments/list-for-scope
   */
  const roleAssignmentsAt = (scope: string, filter: string | null): Json[] => {
    const s = keyOf(scope);
    const principal = filter ? /principalId\s+eq\s+'([^']+)'/i.exec(filter)?.[1] : undefined;
    const atScope = filter ? /atScope\(\)/i.test(filter) : false;
    if (filter && !principal && !atScope) throw new HttpError(400, { code: 'UnsupportedQuery', message: `The filter '${filter}' is not supported.` });
    return [...resources.values()]
      .filter((r) => r.type.toLowerCase() === 'microsoft.authorization/roleassignments')
      .map((r) => ({ r, at: r.id.slice(0, r.id.toLowerCase().lastIndexOf('/providers/microsoft.authorization/')) }))
      .filter(({ at }) => {
        const a = keyOf(at);
        return a === s || s.startsWith(`${a}/`) || (!atScope && a.startsWith(`${s}/`));
      })
      .filter(({ r }) => principal === undefined || (isObject(r.body.properties) && String(r.body.properties.principalId).toLowerCase() === principal.toLowerCase()))
      .sort((a, b) => a.r.id.localeCompare(b.r.id))
      .map(({ r, at }) => {
        const v = viewOf(r, tenantId);
        return { ...v, properties: { ...(v.properties as Record<string, Json>), scope: at } } as Json;
      });
  };

  const resourceCall = (method: string, path: string, query: URLSearchParams, body: unknown, base: string, apiVersion: string): Reply => {
    const parsed = parseId(path);
    const sub = path.split('/')[2] as string;
    if (!parsed) {
      // A collection: `.../workspaces/ws/models/fraud/versions`.
      if (method !== 'GET') throw new HttpError(405, { code: 'MethodNotAllowed', message: `${method} is not allowed on a collection.` });
      const prefix = `${keyOf(path)}/`;
      const tagFilter = query.get('$tags') ?? query.get('tags');
      const wanted = tagFilter ? tagFilter.split(',').map((t) => t.split('=')) : [];
      const items = [...resources.values()]
        .filter((r) => keyOf(r.id).startsWith(prefix) && !keyOf(r.id).slice(prefix.length).includes('/'))
        .filter((r) => {
          const props = isObject(r.body.properties) ? r.body.properties : {};
          const tags = isObject(props.tags) ? props.tags : {};
          return wanted.every(([k, v]) => k !== undefined && k in tags && (v === undefined || tags[k] === v));
        })
        .sort((a, b) => a.id.localeCompare(b.id));
      return { status: 200, body: { value: items.map((r) => viewOf(r, tenantId)) } };
    }
    const key = keyOf(path);
    const t = parsed.type.toLowerCase();
    if (method === 'GET') {
      const r = resources.get(key);
      if (!r) throw notFound(path);
      return { status: 200, body: viewOf(r, tenantId) };
    }
    if (method === 'PUT') {
      if (!isObject(body)) throw new HttpError(400, { code: 'InvalidRequestContent', message: 'The request content was invalid and could not be deserialized: a JSON object is required.' });
      if (t.startsWith('microsoft.machinelearningservices/') && checker) {
        if (!checker.hasMlApiVersion(apiVersion)) throw new HttpError(400, { code: 'NoRegisteredProviderFound', message: `No registered resource provider found for location '${location}' and API version '${apiVersion}' for type '${parsed.type.split('/').slice(1).join('/')}'.` });
        const errors = checker.mlResource({ ...(body as Record<string, unknown>), type: parsed.type, apiVersion, name: parsed.name });
        if (errors.length > 0) throw new HttpError(400, { code: 'BadRequest', message: `The request body of ${parsed.type}@${apiVersion} is invalid: ${errors.join('; ')}`, target: path });
      } else {
        providerCheck(parsed.type, apiVersion);
        const problems = resourceProblems(path, parsed.type, apiVersion, parsed.name, body as Record<string, unknown>);
        if (problems.length > 0) throw new HttpError(400, problems[0] as ArmError);
      }
      const b = body as Record<string, Json>;
      const rb: ResourceBody = {};
      for (const k of ['location', 'kind', 'sku', 'identity', 'tags', 'properties', 'plan', 'zones'] as const) if (b[k] !== undefined) rb[k] = b[k];
      const goal = JSON.stringify(rb);
      const repeat = inFlightWrite('PUT', path, goal);
      if (repeat) return repeat;
      if (ML_LRO_TYPES.test(t)) {
        const existed = resources.has(key);
        const { stored } = putResource(path, apiVersion, rb);
        // The resource reads `Creating`/`Updating` until the operation ends, on the clock.
        stored.provisioningState = existed ? 'Updating' : 'Creating';
        const o = newOperation(() => {
          busy.delete(key);
          stored.provisioningState = 'Succeeded';
          return undefined;
        });
        const headers = { 'azure-asyncoperation': `${base}/subscriptions/${sub}/providers/Microsoft.MachineLearningServices/locations/${location}/mfeOperationsStatus/${o.id}?api-version=${apiVersion}`, 'retry-after': retryAfter() };
        busy.set(key, { kind: 'PUT', goal, status: existed ? 200 : 201, headers });
        return { status: existed ? 200 : 201, body: viewOf(stored, tenantId), headers };
      }
      const { created, stored } = putResource(path, apiVersion, rb);
      return { status: created ? 201 : 200, body: viewOf(stored, tenantId) };
    }
    if (method === 'DELETE') {
      const purge = query.get('forceToPurge') === 'true';
      const repeat = inFlightWrite('DELETE', path, undefined);
      if (repeat) return repeat;
      if (!resources.has(key) && !(purge && softDeleted.has(key))) return { status: 204 };
      // The resource reads `Deleting` until the operation ends, then it is gone.
      const stored = resources.get(key);
      if (stored) stored.provisioningState = 'Deleting';
      const o = newOperation(() => {
        busy.delete(key);
        deleteResource(path, purge);
        return undefined;
      });
      const headers = { location: `${base}/subscriptions/${sub}/providers/Microsoft.Resources/operationResults/${o.id}?api-version=${apiVersion}`, 'retry-after': retryAfter() };
      busy.set(key, { kind: 'DELETE', status: 202, headers });
      return { status: 202, headers };
    }
    throw new HttpError(405, { code: 'MethodNotAllowed', message: `${method} is not supported by the mlplane ARM simulator for ${parsed.type}.` });
  };

  /**
   * Blob data plane (`https://<account>.blob.core.windows.net/<container>/<path>`, reached through
   * `X-Forwarded-Host`): block blob PUT, GET, DELETE. The container must exist in the store.
   */
  const blobCall = (method: string, account: string, path: string, text: string, blobType: string | string[] | undefined): Reply => {
    const [, container, ...rest] = path.split('/');
    const name = rest.join('/');
    if (!container || !name) throw new HttpError(400, { code: 'InvalidUri', message: 'The requested URI does not represent a blob (account/container/path).' });
    const key = `${account}/${container}/${name}`.toLowerCase();
    const containerExists = [...resources.values()].some((r) => r.type.toLowerCase() === 'microsoft.storage/storageaccounts/blobservices/containers' && r.name.toLowerCase() === container.toLowerCase() && r.id.toLowerCase().includes(`/storageaccounts/${account}/`));
    if (!containerExists) throw new HttpError(404, { code: 'ContainerNotFound', message: `The specified container '${container}' does not exist in account '${account}'.` });
    if (method === 'PUT') {
      if (blobType !== 'BlockBlob') throw new HttpError(400, { code: 'MissingRequiredHeader', message: "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type." });
      blobs.set(key, text);
      return { status: 201 };
    }
    if (method === 'GET' || method === 'HEAD') {
      const content = blobs.get(key);
      if (content === undefined) throw new HttpError(404, { code: 'BlobNotFound', message: 'The specified blob does not exist.' });
      return { status: 200, text: content };
    }
    if (method === 'DELETE') {
      if (!blobs.delete(key)) throw new HttpError(404, { code: 'BlobNotFound', message: 'The specified blob does not exist.' });
      return { status: 202 };
    }
    throw new HttpError(405, { code: 'UnsupportedHttpVerb', message: `The resource doesn't support the specified HTTP verb ${method}.` });
  };

  // ---------------------------------------------------------------------------------------------
  // Server

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        // `//subscriptions/...` (the SDK's `{$host}/{resourceId}`) is a path, not a host.
        const raw = req.url ?? '/';
        const q = raw.indexOf('?');
        const url = { pathname: q < 0 ? raw : raw.slice(0, q), search: q < 0 ? '' : raw.slice(q), searchParams: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
        const method = (req.method ?? 'GET').toUpperCase();
        const path = decodeURIComponent(url.pathname).replace(/\/{2,}/g, '/').replace(/\/+$/, '') || '/';
        const isWrite = method === 'PUT' || method === 'PATCH' || method === 'DELETE' || (method === 'POST' && !/\/whatif$/i.test(path));
        const record = (status: number) => requestLog.push({ method, path, query: url.search, status, write: isWrite, at: Date.now() });
        const send = (reply: Reply) => {
          const payload = reply.text ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
          const contentType = reply.text !== undefined ? 'application/octet-stream' : 'application/json; charset=utf-8';
          res.writeHead(reply.status, { 'content-type': contentType, 'x-ms-request-id': randomUUID(), ...(reply.headers ?? {}) });
          res.end(payload);
          record(reply.status);
        };
        if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
        const auth = req.headers.authorization;
        if (typeof auth !== 'string' || !/^Bearer \S+/.test(auth)) {
          send({ status: 401, body: { error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." } } });
          return;
        }
        const fault = take(method, path);
        if (fault?.kind === 'throttle') {
          send({ status: 429, headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) }, body: { error: { code: 'TooManyRequests', message: 'The request is being throttled (injected fault).' } } });
          return;
        }
        if (fault?.kind === 'unavailable') {
          send({ status: 503, headers: fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {}, body: { error: { code: 'ServiceUnavailable', message: 'The service is temporarily unavailable (injected fault).' } } });
          return;
        }
        if (fault?.kind === 'error') {
          send({ status: fault.status, body: { error: { code: fault.code, message: fault.message ?? 'Injected fault.' } } });
          return;
        }
        if (fault?.kind === 'outside-change') fault.change();
        let body: unknown;
        const text = Buffer.concat(chunks).toString('utf8');
        let reply: Reply;
        try {
          const isBlob = /\.blob\.core\.windows\.net$/.test(String(req.headers['x-forwarded-host'] ?? ''));
          if (text.length > 0 && !isBlob) {
            try {
              body = JSON.parse(text) as unknown;
            } catch {
              throw new HttpError(400, { code: 'InvalidRequestContent', message: 'The request content was invalid and could not be deserialized: not JSON.' });
            }
          }
          const proto = String(req.headers['x-forwarded-proto'] ?? 'http');
          const host = String(req.headers['x-forwarded-host'] ?? req.headers.host ?? '127.0.0.1');
          const blobHost = /^([a-z0-9]{3,24})\.blob\.core\.windows\.net$/.exec(host);
          requestDurationMs = fault?.kind === 'slow' ? fault.polls * faults.lroDurationMs : undefined;
          try {
            reply = blobHost ? blobCall(method, blobHost[1] as string, path, text, req.headers['x-ms-blob-type']) : handle(method, path, url.searchParams, body, `${proto}://${host}`);
          } finally {
            requestDurationMs = undefined;
          }
        } catch (e) {
          if (e instanceof HttpError) reply = { status: e.status, body: { error: e.error as unknown as Json } };
          else reply = { status: 500, body: { error: { code: 'InternalServerError', message: e instanceof Error ? e.message : String(e) } } };
        }
        if (fault?.kind === 'drop') {
          record(0);
          res.socket?.destroy();
          return;
        }
        send(reply);
      })();
    });
  });

  keepIdleConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    state,
    requestLog,
    validating: checker !== undefined,
    close: () =>
      new Promise<void>((resolve) => {
        clock.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
