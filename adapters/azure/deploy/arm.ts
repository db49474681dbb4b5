/**
 * Template deployments and what-if on the real SDK pipeline.
 *
 * `@azure/arm-resources` 7.x moved `deployments` out (to `@azure/arm-resourcesdeployments`, not a
 * dependency yet), so: a deployment is PUT and read as the ARM resource it is
 * (`resources.beginCreateOrUpdateById` / `getById`, api-version {@link DEPLOYMENTS_API}), and
 * what-if (a POST action) goes through the same client's pipeline with `@azure/core-lro`'s HTTP
 * poller, which is what the generated operation groups use. The deployment operations list
 * (`DeploymentOperations_ListAtScope`, the `deploymentOperations` group that moved out with
 * `deployments`) is read the same way, page by page through `nextLink`.
 */
import type { ResourceManagementClient } from '@azure/arm-resources';
import { createHttpPoller, type LongRunningOperation, type LroResponse, type OperationState } from '@azure/core-lro';
import { createPipelineRequest, isRestError, RestError } from '@azure/core-rest-pipeline';
import { ARM_ENDPOINT } from './transport';

/** api-version of Microsoft.Resources/deployments (the arm-resources 7 default). */
export const DEPLOYMENTS_API = '2025-04-01';

/** What a deployment PUT sends. */
export interface DeploymentBody {
  readonly properties: { readonly mode: 'Incremental'; readonly template: unknown; readonly parameters: Record<string, { readonly value: unknown }> };
  readonly tags?: Record<string, string>;
}

/** One deployment operation (`DeploymentOperation`): the deployment of one resource. */
export interface DeploymentOperationState {
  readonly operationId: string;
  /** `Create`, `EvaluateDeploymentOutput`, ... */
  readonly provisioningOperation?: string;
  /** `Running`, `Succeeded`, `Failed`, ... */
  readonly provisioningState?: string;
  readonly targetId?: string;
  readonly targetType?: string;
  /** ISO 8601 duration (`PT1.5S`). */
  readonly duration?: string;
  /** The provider's error, when it failed. */
  readonly error?: ArmErrorBody;
}

/** ARM's error shape. */
export interface ArmErrorBody {
  readonly code?: string;
  readonly message?: string;
  readonly target?: string;
  readonly details?: readonly ArmErrorBody[];
}

/** A deployment as read back. */
export interface DeploymentState {
  readonly id: string;
  readonly tags?: Record<string, string>;
  readonly provisioningState?: string;
  readonly error?: ArmErrorBody;
  readonly outputs?: Record<string, { readonly value?: unknown }>;
}

/** One what-if change (ARM `WhatIfChange`). */
export interface WhatIfChange {
  readonly resourceId: string;
  readonly changeType: 'Create' | 'Delete' | 'Ignore' | 'Deploy' | 'NoChange' | 'Modify' | 'Unsupported';
  readonly before?: Record<string, unknown>;
  readonly after?: Record<string, unknown>;
  readonly delta?: readonly WhatIfPropertyChange[];
}

/** One property delta (ARM `WhatIfPropertyChange`); arrays and nested objects carry `children`. */
export interface WhatIfPropertyChange {
  readonly path: string;
  readonly propertyChangeType: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly children?: readonly WhatIfPropertyChange[];
}

/** Leaf deltas with full dotted paths (`properties.signals.s1.metricThresholds.0.threshold.value`). */
export function leafDeltas(delta: readonly WhatIfPropertyChange[] | undefined, prefix = ''): WhatIfPropertyChange[] {
  const out: WhatIfPropertyChange[] = [];
  for (const d of delta ?? []) {
    const path = prefix && d.path ? `${prefix}.${d.path}` : prefix || d.path;
    if (d.children && d.children.length > 0) out.push(...leafDeltas(d.children, path));
    else out.push({ ...d, path });
  }
  return out;
}

/** The id of a resource-group deployment. */
export function deploymentId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Resources/deployments/${name}`;
}

function toState(raw: { id?: string; tags?: Record<string, string>; properties?: unknown }): DeploymentState {
  const p = (raw.properties ?? {}) as { provisioningState?: string; error?: ArmErrorBody; outputs?: Record<string, { value?: unknown }> };
  return { id: raw.id ?? '', tags: raw.tags, provisioningState: p.provisioningState, error: p.error, outputs: p.outputs };
}

/** Start a deployment (one PUT). The returned poller follows its `Azure-AsyncOperation`. */
export async function beginDeployment(client: ResourceManagementClient, id: string, body: DeploymentBody, intervalMs: number) {
  return client.resources.beginCreateOrUpdateById(id, DEPLOYMENTS_API, { properties: body.properties, tags: body.tags }, { updateIntervalInMs: intervalMs });
}

/** Read a deployment; `undefined` when it does not exist. */
export async function getDeployment(client: ResourceManagementClient, id: string): Promise<DeploymentState | undefined> {
  try {
    return toState(await client.resources.getById(id, DEPLOYMENTS_API));
  } catch (e) {
    if (isRestError(e) && e.statusCode === 404) return undefined;
    throw e;
  }
}

/** Parse a deployment from a poller result. */
export function deploymentFromResource(raw: { id?: string; tags?: Record<string, string>; properties?: unknown }): DeploymentState {
  return toState(raw);
}

/** One request on the client's pipeline; an error status becomes a `RestError` carrying ARM's error body. */
async function sendOnce(client: ResourceManagementClient, url: string, method: string, body?: unknown): Promise<LroResponse<unknown>> {
  const req = createPipelineRequest({ url, method: method as 'GET', body: body === undefined ? undefined : JSON.stringify(body) });
  if (body !== undefined) req.headers.set('content-type', 'application/json; charset=utf-8');
  const res = await client.sendRequest(req);
  const text = res.bodyAsText ?? '';
  let parsed: unknown;
  try {
    parsed = text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    parsed = text;
  }
  if (res.status >= 400) {
    const err = (parsed as { error?: ArmErrorBody } | undefined)?.error;
    const error = new RestError(err?.message ?? `HTTP ${res.status}`, { code: err?.code, statusCode: res.status, request: req, response: res });
    error.details = parsed;
    throw error;
  }
  return { flatResponse: parsed, rawResponse: { statusCode: res.status, headers: res.headers.toJSON(), body: parsed } };
}

/**
 * The operations of a deployment (one per resource it deploys, and ARM's own steps), every page.
 *
 * @see https://learn.microsoft.com/rest/api/resources/deployment-operations/list
 */
export async function listDeploymentOperations(client: ResourceManagementClient, deploymentResourceId: string): Promise<DeploymentOperationState[]> {
  const out: DeploymentOperationState[] = [];
  let url: string | undefined = `${ARM_ENDPOINT}${deploymentResourceId}/operations?api-version=${DEPLOYMENTS_API}`;
  for (let pages = 0; url !== undefined && pages < 1000; pages++) {
    const page = (await sendOnce(client, url, 'GET')).flatResponse as { value?: unknown[]; nextLink?: string } | undefined;
    for (const raw of page?.value ?? []) {
      const o = raw as { operationId?: string; properties?: { provisioningOperation?: string; provisioningState?: string; duration?: string; targetResource?: { id?: string; resourceType?: string }; statusMessage?: { error?: ArmErrorBody & { error?: ArmErrorBody } } } };
      const p = o.properties ?? {};
      // `statusMessage.error` is the provider's error, bare or wrapped in `{ error }` (the v3 ErrorResponse).
      const error = p.statusMessage?.error?.error ?? p.statusMessage?.error;
      out.push({ operationId: o.operationId ?? '', provisioningOperation: p.provisioningOperation, provisioningState: p.provisioningState, targetId: p.targetResource?.id, targetType: p.targetResource?.resourceType, duration: p.duration, error });
    }
    url = page?.nextLink;
  }
  return out;
}

/** Milliseconds of an ISO 8601 duration (`PT1M2.5S`); `undefined` when it is not one. */
export function durationMs(iso: string | undefined): number | undefined {
  const m = iso === undefined ? null : /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$/.exec(iso);
  if (!m) return undefined;
  const [, d, h, min, sec] = m;
  return Math.round(((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(sec ?? 0) * 1000);
}

/**
 * Send one request on the client's pipeline (auth, counting, transport) and, for an LRO, poll it
 * with core-lro until done. Errors are `RestError`s like every SDK call's.
 */
export async function sendArm(client: ResourceManagementClient, method: 'GET' | 'POST' | 'DELETE' | 'PUT', pathAndQuery: string, body: unknown, intervalMs: number): Promise<unknown> {
  const send = (url: string, m: string, b?: unknown) => sendOnce(client, url, m, b);
  const url = `${ARM_ENDPOINT}${pathAndQuery}`;
  const lro: LongRunningOperation<unknown> = {
    requestMethod: method,
    requestPath: url,
    sendInitialRequest: () => send(url, method, body),
    sendPollRequest: (path: string) => send(path.startsWith('http') ? path : `${ARM_ENDPOINT}${path}`, 'GET'),
  };
  const poller = await createHttpPoller<unknown, OperationState<unknown>>(lro, { intervalInMs: intervalMs, resourceLocationConfig: 'location' });
  return poller.pollUntilDone();
}

/** ARM what-if of a deployment body at resource-group scope. */
export async function whatIf(client: ResourceManagementClient, subscriptionId: string, resourceGroup: string, name: string, body: DeploymentBody, intervalMs: number): Promise<WhatIfChange[]> {
  const path = `${deploymentId(subscriptionId, resourceGroup, name)}/whatIf?api-version=${DEPLOYMENTS_API}`;
  const result = (await sendArm(client, 'POST', path, { properties: { ...body.properties, whatIfSettings: { resultFormat: 'FullResourcePayloads' } } }, intervalMs)) as {
    status?: string;
    error?: ArmErrorBody;
    properties?: { changes?: WhatIfChange[] };
  };
  if (result?.error) throw new RestError(result.error.message ?? 'what-if failed', { code: result.error.code, statusCode: 400 });
  return result?.properties?.changes ?? [];
}
