/**
 * Template deployments and what-if on the real SDK pipeline.
 *
 * `@azure/arm-resources` 7.x moved `deployments` out (to `@azure/arm-resourcesdeployments`, not a
 * dependency yet), so: a deployment is PUT and read as the ARM resource it is
 * (a PUT and `getById`, api-version {@link DEPLOYMENTS_API}), and what-if (a POST action) goes
 * through the same client's pipeline. Every long-running operation mlplane sends itself (the
 * deployment, what-if, deletes, purges) is followed by {@link followOperation}, at the pace of the
 * server's `Retry-After` (bounded), never at a fixed pace when the server gives one. The deployment operations list
 * (`DeploymentOperations_ListAtScope`, the `deploymentOperations` group that moved out with
 * `deployments`) is read the same way, page by page through `nextLink`.
 */
import type { ResourceManagementClient } from '@azure/arm-resources';
import { createPipelineRequest, isRestError, RestError } from '@azure/core-rest-pipeline';
import { parseRetryAfter } from '../../shared/retry';
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

/** Read a deployment; `undefined` when it does not exist. `hint` receives the answer's `Retry-After`, if any. */
export async function getDeployment(client: ResourceManagementClient, id: string, hint?: (retryAfter: string | undefined) => void): Promise<DeploymentState | undefined> {
  try {
    return toState(await client.resources.getById(id, DEPLOYMENTS_API, hint ? { onResponse: (raw) => hint(raw.headers.get('retry-after')) } : {}));
  } catch (e) {
    if (isRestError(e) && e.statusCode === 404) return undefined;
    throw e;
  }
}

/**
 * Start a deployment (one PUT) without following it: the operation to follow, from the answer's
 * `Azure-AsyncOperation` / `Location` / `Retry-After` headers.
 */
export async function startDeployment(client: ResourceManagementClient, id: string, body: DeploymentBody): Promise<OperationRef> {
  const res = await sendOnce(client, `${ARM_ENDPOINT}${id}?api-version=${DEPLOYMENTS_API}`, 'PUT', { properties: body.properties, tags: body.tags });
  return operationRef(res);
}

/** An answer: status, lower-cased headers, parsed body. */
interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** One request on the client's pipeline; an error status becomes a `RestError` carrying ARM's error body. */
async function sendOnce(client: ResourceManagementClient, url: string, method: string, body?: unknown): Promise<Answer> {
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
  return { status: res.status, headers: res.headers.toJSON(), body: parsed };
}

/** A long-running operation to follow: where its status is, and how long the server asked to wait first. */
export interface OperationRef {
  /** `Azure-AsyncOperation`: the operation's status resource. */
  readonly asyncOperation?: string;
  /** `Location`: where its result will be (202 while it runs). */
  readonly location?: string;
  /** `Retry-After` of the answer that started it. */
  readonly retryAfter?: string;
}

function operationRef(a: Answer): OperationRef {
  return { asyncOperation: a.headers['azure-asyncoperation'], location: a.headers.location, retryAfter: a.headers['retry-after'] };
}

/** How mlplane paces the polls of a long-running operation. */
export interface PollPacing {
  /** Wait between polls when the server gives no `Retry-After` (or `0`). */
  readonly intervalMs: number;
  /** The longest wait mlplane accepts from a `Retry-After` (a server asking for more is polled after this). @default 60000 */
  readonly maxIntervalMs?: number;
  /** Runs after each poll. */
  readonly onPoll?: () => void;
  /** Stop following (and report `InProgress`) once this time (`Date.now()`) has passed. @default - never */
  readonly deadline?: number;
}

/** Longest wait accepted from a `Retry-After` unless the engine says otherwise. */
export const DEFAULT_MAX_POLL_INTERVAL_MS = 60_000;

/**
 * The wait before the next poll: the server's `Retry-After`, bounded by `maxIntervalMs`; the
 * engine's interval when there is none.
 *
 * @see https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations
 */
export function pollWaitMs(retryAfter: string | undefined, pacing: PollPacing): number {
  const ms = parseRetryAfter(retryAfter);
  return ms !== undefined && ms > 0 ? Math.min(ms, pacing.maxIntervalMs ?? DEFAULT_MAX_POLL_INTERVAL_MS) : pacing.intervalMs;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

/** How a followed operation ended (`InProgress`: the deadline came first). */
export interface OperationOutcome {
  readonly status: 'Succeeded' | 'Failed' | 'Canceled' | 'InProgress';
  /** Body of the last answer (the `Location` result, or the status resource). */
  readonly body: unknown;
  readonly error?: ArmErrorBody;
}

/**
 * Follow a long-running operation as ARM asks clients to: poll `Azure-AsyncOperation` if given,
 * else `Location`, each time after the `Retry-After` of the previous answer (bounded; the
 * interval when there is none), until it has ended. Errors of a poll are thrown (`RestError`).
 *
 * @see https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations
 */
export async function followOperation(client: ResourceManagementClient, op: OperationRef, pacing: PollPacing): Promise<OperationOutcome> {
  const url = op.asyncOperation ?? op.location;
  if (url === undefined) return { status: 'Succeeded', body: undefined };
  let wait = pollWaitMs(op.retryAfter, pacing);
  for (;;) {
    if (pacing.deadline !== undefined && Date.now() + wait > pacing.deadline) return { status: 'InProgress', body: undefined };
    await sleep(wait);
    const a = await sendOnce(client, url, 'GET');
    pacing.onPoll?.();
    if (op.asyncOperation !== undefined) {
      const body = a.body as { status?: string; error?: ArmErrorBody } | undefined;
      const status = String(body?.status ?? '');
      if (TERMINAL.has(status.toLowerCase())) {
        const named = (status.charAt(0).toUpperCase() + status.slice(1).toLowerCase()) as OperationOutcome['status'];
        return { status: named, body, error: body?.error };
      }
    } else if (a.status !== 202) {
      return { status: 'Succeeded', body: a.body };
    }
    wait = pollWaitMs(a.headers['retry-after'], pacing);
  }
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
    const page = (await sendOnce(client, url, 'GET')).body as { value?: unknown[]; nextLink?: string } | undefined;
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
 * Send one request on the client's pipeline (auth, counting, transport) and, for an LRO, follow
 * it to the end at the server's pace ({@link followOperation}). Errors are `RestError`s like every
 * SDK call's; a failed operation is one too.
 */
export async function sendArm(client: ResourceManagementClient, method: 'GET' | 'POST' | 'DELETE' | 'PUT', pathAndQuery: string, body: unknown, pacing: number | PollPacing): Promise<unknown> {
  const url = `${ARM_ENDPOINT}${pathAndQuery}`;
  const first = await sendOnce(client, url, method, body);
  const op = operationRef(first);
  if (first.status !== 201 && first.status !== 202 && op.asyncOperation === undefined) return first.body;
  if (op.asyncOperation === undefined && op.location === undefined) return first.body;
  const outcome = await followOperation(client, op, typeof pacing === 'number' ? { intervalMs: pacing } : pacing);
  if (outcome.status !== 'Succeeded') {
    throw new RestError(outcome.error?.message ?? `the operation ended ${outcome.status}`, { code: outcome.error?.code, statusCode: 400 });
  }
  // Azure-AsyncOperation tells the status; the result is the resource (PUT) or the Location (POST, DELETE).
  if (op.asyncOperation === undefined) return outcome.body;
  if (method === 'PUT') return (await sendOnce(client, url, 'GET')).body;
  if (op.location !== undefined) return (await sendOnce(client, op.location, 'GET')).body;
  return undefined;
}

/** ARM what-if of a deployment body at resource-group scope. */
export async function whatIf(client: ResourceManagementClient, subscriptionId: string, resourceGroup: string, name: string, body: DeploymentBody, pacing: number | PollPacing): Promise<WhatIfChange[]> {
  const path = `${deploymentId(subscriptionId, resourceGroup, name)}/whatIf?api-version=${DEPLOYMENTS_API}`;
  const result = (await sendArm(client, 'POST', path, { properties: { ...body.properties, whatIfSettings: { resultFormat: 'FullResourcePayloads' } } }, pacing)) as {
    status?: string;
    error?: ArmErrorBody;
    properties?: { changes?: WhatIfChange[] };
  };
  if (result?.error) throw new RestError(result.error.message ?? 'what-if failed', { code: result.error.code, statusCode: 400 });
  return result?.properties?.changes ?? [];
}
