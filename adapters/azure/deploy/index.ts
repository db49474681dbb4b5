/**
 * The azure deploy engine: one incremental ARM deployment per environment, ARM what-if as the
 * diff, post-deploy verification through `@azure/arm-machinelearning`, and an ownership-scoped
 * destroy.
 *
 * @see adapters/azure/deploy/README.md
 */
import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { isRestError, RestError } from '@azure/core-rest-pipeline';
import { checkApprovedPlan, DeployError, InterruptedError, PlanChangedError, withDigest, type DeployEngine, type DeployInput, type DeploySummary, type DestroyOptions, type Plan, type PlanItem, type ProgressEvent, type ProgressSink } from '../../deploy';
import { parseRetryAfter, RETRYABLE_NETWORK_CODES, RETRYABLE_STATUS, withRetries, type RetryDecision } from '../../shared/retry';
import type { EnvironmentInfo } from '../../../lib/model/types';
import { stagedEnvironmentName } from '../../shared/names';
import type { AzureSettings } from '../settings';
import { DEFAULT_MAX_POLL_INTERVAL_MS, deploymentId, durationMs, followOperation, getDeployment, listDeploymentOperations, pollWaitMs, sendArm, startDeployment, whatIf, type ArmErrorBody, type DeploymentBody, type DeploymentState, type OperationRef, type PollPacing } from './arm';
import { callStats, describeCallStats } from '../../shared/calls';
import { cloudResource, kindOf, nonAdditiveSchemaChange, planFromWhatIf } from './plan';
import { droppedFromDefinition, foreignChildren, listOwned, ownedBy, ownerFilter, ownerOf, ownerTags, STAGE_TAG, type DroppedResource, type Owner } from './owned';
import { specUploads, uploadSpec, type SpecUpload } from './specs';
import { templateIndex, type TemplateEntry, type TemplateIndex } from './template';
import { createClients, type AzureClients } from './transport';

export { ENDPOINT_ENV, redirectingHttpClient, simulatorCredential } from './transport';

/** Options of {@link createAzureDeployEngine}. */
export interface AzureDeployEngineOptions {
  /** ARM simulator URL. @default - `process.env.MLPLANE_AZURE_ENDPOINT`; the real ARM when unset */
  readonly endpoint?: string;
  /** @default - `DefaultAzureCredential` (workload identity federation in CI); a fake token against the simulator */
  readonly credential?: TokenCredential;
  /** Interval between polls of a long-running operation when the server gives no `Retry-After`. @default 2000 */
  readonly pollIntervalMs?: number;
  /**
   * The longest wait between two polls mlplane accepts from a server's `Retry-After`; a server
   * asking for more is polled after this.
   * @default 60000
   */
  readonly maxPollIntervalMs?: number;
  /** Retry tuning (the mechanism is `adapters/shared/retry.ts`). @default - 6 attempts, 500 ms base, 30 s cap */
  readonly retry?: { readonly maxAttempts?: number; readonly baseMs?: number; readonly capMs?: number; readonly sleep?: (ms: number) => Promise<void> };
  /** Longest wait for a deployment to finish. @default 3 hours */
  readonly deployTimeoutMs?: number;
}

/**
 * The deterministic ARM deployment name of an environment: `mlplane-<name>`, and
 * `mlplane-<name>-<stage>` when the definition declares its stages, so each stage sharing a
 * resource group has its own deployment (at most 64 characters).
 */
export function deploymentNameOf(env: Pick<EnvironmentInfo, 'name' | 'stage' | 'stages'>): string {
  const slug = stagedEnvironmentName(env).toLowerCase().replace(/[^a-z0-9-_.()]+/g, '-').replace(/^-+|-+$/g, '');
  return `mlplane-${slug}`.slice(0, 64);
}

/** The arguments that select this environment (and its stage) again on the command line: `Fraud --stage staging`. */
function again(p: Pick<Prepared, 'environment' | 'owner'>): string {
  return p.owner.stage === undefined ? p.environment : `${p.environment} --stage ${p.owner.stage}`;
}

/** Types that hold data: retained by destroy unless `destroyData`. */
const DATA_TYPES = /^(microsoft\.storage\/storageaccounts(\/.*)?|microsoft\.machinelearningservices\/registries(\/.*)?|microsoft\.machinelearningservices\/workspaces\/(data|models|datastores|featuresets|featurestoreentities)(\/.*)?)$/i;

/** States of a deployment still running (ARM refuses another of the same name meanwhile). */
const ACTIVE_STATES: ReadonlySet<string> = new Set(['Accepted', 'Running', 'Created', 'Creating', 'Updating', 'Ready', 'Waiting', 'Deploying']);

/** ML resources verified after a deploy. */
const VERIFIED = /^microsoft\.machinelearningservices\/workspaces\/(computes|onlineendpoints|onlineendpoints\/deployments|batchendpoints|batchendpoints\/deployments|schedules)$/i;

interface Prepared {
  readonly settings: AzureSettings;
  readonly template: Record<string, unknown>;
  readonly parameters: Record<string, { value: unknown }>;
  readonly environment: string;
  readonly environmentPath: string;
  /** Whose resources these are: the environment, and its stage when it declares stages. */
  readonly owner: Owner;
  /** The ARM deployment's name (`mlplane-fraud`, `mlplane-fraud-staging`). */
  readonly deploymentName: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Check the input before any request: an invalid input makes zero calls. */
function prepare(input: DeployInput<AzureSettings>): Prepared {
  const env = input.model.environment;
  const s = input.settings as Partial<AzureSettings> | undefined;
  if (!s || typeof s.subscriptionId !== 'string' || s.subscriptionId === '' || typeof s.resourceGroup !== 'string' || s.resourceGroup === '' || typeof s.location !== 'string') {
    throw new DeployError('azure settings need subscriptionId, resourceGroup and location (mlplane:azure in cdk.json context); nothing was sent', env.path);
  }
  const template = input.documents['template.json'];
  const params = input.documents['parameters.json'];
  if (!isRecord(template) || !Array.isArray(template.resources)) {
    throw new DeployError("the synthesized documents have no ARM template ('template.json' with a resources array); run mlplane synth for the azure target; nothing was sent", env.path);
  }
  if (params !== undefined && (!isRecord(params) || !isRecord(params.parameters))) {
    throw new DeployError("'parameters.json' is not an ARM parameters file ({ parameters: { name: { value } } }); nothing was sent", env.path);
  }
  const parameters: Record<string, { value: unknown }> = {};
  for (const [k, v] of Object.entries(isRecord(params) && isRecord(params.parameters) ? params.parameters : {})) {
    if (!isRecord(v) || !('value' in v)) throw new DeployError(`parameter '${k}' in parameters.json has no value; nothing was sent`, env.path);
    parameters[k] = { value: v.value };
  }
  return { settings: input.settings, template, parameters, environment: env.name, environmentPath: env.path, owner: ownerOf(env), deploymentName: deploymentNameOf(env) };
}

/** Whether an error is an HTTP answer (as opposed to no answer). */
function statusOf(e: unknown): number | undefined {
  return isRestError(e) ? e.statusCode : undefined;
}

/** Whether a request may have reached the server without an answer coming back. */
function isAmbiguous(e: unknown): boolean {
  return isRestError(e) && e.statusCode === undefined;
}

/** The retry policy of every call: 429/5xx (after `Retry-After`) and connection errors. */
export function classifyAzureError(e: unknown): RetryDecision {
  if (isRestError(e)) {
    if (e.statusCode !== undefined && RETRYABLE_STATUS.has(e.statusCode)) {
      return { retry: true, retryAfterMs: parseRetryAfter(e.response?.headers.get('retry-after')), reason: `HTTP ${e.statusCode}${e.code ? ` ${e.code}` : ''}` };
    }
    if (e.statusCode === undefined && (RETRYABLE_NETWORK_CODES.has(e.code ?? '') || e.code === RestError.REQUEST_SEND_ERROR)) {
      return { retry: true, reason: `connection error ${e.code ?? ''}`.trim() };
    }
  }
  return { retry: false };
}

function describeArmError(e: ArmErrorBody | undefined, index: TemplateIndex, fallbackPath: string, prefix = 'ARM deployment failed'): { path: string; message: string } {
  const leaves: ArmErrorBody[] = [];
  const walk = (x: ArmErrorBody) => {
    if (x.details && x.details.length > 0) x.details.forEach(walk);
    else leaves.push(x);
  };
  if (e) walk(e);
  const first = leaves[0] ?? e;
  const path = first?.target && first.target.startsWith('/') ? index.pathOf(first.target) : fallbackPath;
  const lines = leaves.map((l) => {
    const where = l.target && l.target.startsWith('/') ? `${kindOf(typeOfId(l.target))} '${l.target.split('/').pop() ?? ''}' (${index.pathOf(l.target)}): ` : '';
    let hint = '';
    if (/soft[- ]deleted/i.test(l.message ?? '') && /workspaces/i.test(l.target ?? '')) {
      hint = ' — a soft-deleted Azure ML workspace of the same name blocks this deploy; run `mlplane destroy --destroy-data --purge` to purge it (permanently deletes its data), or recover it in the Azure portal';
    } else if (/soft deleted vault/i.test(l.message ?? '')) {
      hint = ' — a soft-deleted Key Vault of the same name blocks this deploy; run `mlplane destroy --destroy-data --purge` to purge it, or `az keyvault recover --name <vault>`';
    }
    return `${where}${l.code ?? 'Error'}: ${l.message ?? ''}${hint}`;
  });
  return { path, message: `${prefix}: ${lines.join('; ') || (e?.message ?? 'unknown error')}` };
}

function typeOfId(id: string): string {
  const at = id.toLowerCase().lastIndexOf('/providers/');
  const rest = id.slice(at + '/providers/'.length).split('/');
  const types = [rest[0]];
  for (let k = 1; k < rest.length; k += 2) types.push(rest[k]);
  return types.join('/');
}

/** Segments of an ML id: workspace, then child names. */
function mlNames(id: string): string[] {
  const rest = id.slice(id.toLowerCase().lastIndexOf('/providers/') + '/providers/'.length).split('/');
  const names: string[] = [];
  for (let k = 2; k < rest.length; k += 2) names.push(rest[k] as string);
  return names;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Define the azure deploy engine.
 *
 * Against the simulator (`MLPLANE_AZURE_ENDPOINT` set, or `endpoint`), the SDK keeps its real
 * `https://management.azure.com` URLs and its transport is redirected; credentials are a fake
 * token. Otherwise `DefaultAzureCredential` is used.
 */
export function createAzureDeployEngine(options: AzureDeployEngineOptions = {}): DeployEngine<AzureSettings> {
  const interval = options.pollIntervalMs ?? 2000;
  /** Every long-running operation is polled at the server's `Retry-After` (bounded), else every `interval`. */
  const pacing: PollPacing = { intervalMs: interval, maxIntervalMs: options.maxPollIntervalMs ?? DEFAULT_MAX_POLL_INTERVAL_MS };
  const timeout = options.deployTimeoutMs ?? 3 * 3_600_000;

  const retrying = <T>(progress: ProgressSink, what: string, path: string, fn: () => Promise<T>): Promise<T> =>
    withRetries(() => fn(), {
      classify: classifyAzureError,
      maxAttempts: options.retry?.maxAttempts,
      baseMs: options.retry?.baseMs,
      capMs: options.retry?.capMs,
      sleep: options.retry?.sleep,
      onRetry: (attempt, waitMs, reason) => {
        progress.event({ id: what, path, action: 'noop', state: 'retrying', message: `${what}: ${reason}; retry ${attempt} in ${waitMs} ms` });
      },
    });

  const clientsFor = (p: Prepared): AzureClients => createClients({ subscriptionId: p.settings.subscriptionId, endpoint: options.endpoint, credential: options.credential });

  /**
   * Resolve parameters the deployer owns: model versions behind aliases (the version holding the
   * alias tag, else the synthesized default), and endpoints' live traffic (`mlplane:liveTraffic`).
   */
  const resolveAliases = async (clients: AzureClients, p: Prepared, index: TemplateIndex, progress: ProgressSink): Promise<Record<string, { value: unknown }>> => {
    const out = { ...p.parameters };
    // All reads at once (one round trip on the critical path), one version list per model and alias tag.
    const lists = new Map<string, Promise<string | undefined>>();
    const versionHolding = (workspace: string, model: string, tag: string, label: string, path: string): Promise<string | undefined> => {
      const key = JSON.stringify([workspace, model, tag]);
      let list = lists.get(key);
      if (list === undefined) {
        list = retrying(progress, label, path, async () => {
          const found: string[] = [];
          for await (const v of clients.ml.modelVersions.list(p.settings.resourceGroup, workspace, model, { tags: `${tag}=true` })) {
            if (v.name) found.push(v.name);
          }
          return found.sort((a, b) => Number(b) - Number(a) || b.localeCompare(a))[0];
        }).catch((e: unknown) => {
          if (statusOf(e) !== 404) throw e;
          return undefined;
        });
        lists.set(key, list);
      }
      return list;
    };
    const aliases = [...index.aliasParameters].map(async ([name, alias]) => {
      const container = [...index.entries.values()].find((e) => e.type.toLowerCase() === 'microsoft.machinelearningservices/workspaces/models' && mlNames(e.id)[1] === alias.model);
      if (!container) return;
      const [workspace] = mlNames(container.id);
      const best = await versionHolding(workspace as string, alias.model, alias.tag, `resolve alias ${alias.alias}`, container.path ?? p.environmentPath);
      if (best !== undefined) out[name] = { value: best };
    });
    // An endpoint re-declared before its deployments keeps its live traffic until the traffic step runs.
    const traffic = [...index.liveTrafficParameters].map(async ([name, endpoint]) => {
      const [workspace, ep] = endpoint.split('/');
      const entry = [...index.entries.values()].find((e) => /\/onlineEndpoints$/i.test(e.type) && e.id.toLowerCase().endsWith(`/onlineendpoints/${String(ep).toLowerCase()}`));
      try {
        const live = await retrying(progress, `read traffic of ${endpoint}`, entry?.path ?? p.environmentPath, () => clients.ml.onlineEndpoints.get(p.settings.resourceGroup, workspace as string, ep as string));
        out[name] = { value: live.properties.traffic ?? {} };
      } catch (e) {
        if (statusOf(e) !== 404) throw wrap(e, entry?.path ?? p.environmentPath, p);
        out[name] = { value: {} };
      }
    });
    await Promise.all([...aliases, ...traffic]);
    return out;
  };

  const plan = async (input: DeployInput<AzureSettings>, p: Prepared, clients: AzureClients) => {
    const scope = { subscriptionId: p.settings.subscriptionId, resourceGroup: p.settings.resourceGroup };
    const draft = templateIndex(p.template, p.environmentPath, scope);
    const parameters = await resolveAliases(clients, p, draft, input.progress);
    const index = templateIndex(p.template, p.environmentPath, scope, Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, v.value])));
    const name = p.deploymentName;
    const body: DeploymentBody = { properties: { mode: 'Incremental', template: p.template, parameters } };
    // What-if, and what the environment owns (an incremental deployment never deletes: what the
    // template dropped is deleted by mlplane), read at the same time.
    const [changes, owned] = await Promise.all([
      retrying(input.progress, 'what-if', p.environmentPath, () => whatIf(clients.resources, scope.subscriptionId, scope.resourceGroup, name, body, pacing)),
      listOwned(clients, p.settings, p.owner, index, (what, path, fn) => retrying(input.progress, what, path, fn), p.environmentPath),
    ]);
    const fromWhatIf = planFromWhatIf(p.environment, changes, index);
    // Same rule as the gcp target: a dataset's schema changes in place only additively.
    const schema = nonAdditiveSchemaChange(changes, index);
    if (schema) throw new DeployError(schema.message, schema.path);
    const dropped = droppedFromDefinition(owned, index);
    const items = [...fromWhatIf.items, ...dropped.deletes.map((d) => d.item), ...dropped.retained].sort((a, b) => a.path.localeCompare(b.path) || a.id.localeCompare(b.id));
    return { plan: withDigest({ ...fromWhatIf, items }), templateChanges: fromWhatIf.items.some((i) => i.action !== 'noop'), dropped: dropped.deletes, index, parameters, name, body };
  };

  const wrap = (e: unknown, path: string, p?: Prepared): Error => {
    if (e instanceof DeployError || e instanceof PlanChangedError || e instanceof InterruptedError) return e;
    if (isRestError(e)) {
      const body = (e.details as { error?: ArmErrorBody } | undefined)?.error;
      if (body?.details && body.details.length > 0 && p) {
        // ARM's inner errors name the resources: report them with their construct paths.
        const index = templateIndex(p.template, p.environmentPath, { subscriptionId: p.settings.subscriptionId, resourceGroup: p.settings.resourceGroup });
        const d = describeArmError(body, index, path, `${e.statusCode ?? 'no response'} ${body.code ?? ''}: ${body.message ?? ''}`.replace(/\s+/g, ' ').trim());
        return new DeployError(d.message, d.path, classifyAzureError(e).retry);
      }
      return new DeployError(`${e.statusCode ?? 'no response'} ${body?.code ?? e.code ?? ''}: ${body?.message ?? e.message}`.replace(/\s+/g, ' '), path, classifyAzureError(e).retry);
    }
    return new DeployError(e instanceof Error ? e.message : String(e), path);
  };

  /** Key Vaults the deploy creates that sit soft-deleted under the same name. */
  const softDeletedVaults = async (clients: AzureClients, p: Prepared, index: TemplateIndex, creates: ReadonlySet<string>, progress: ProgressSink) => {
    const found: { entry: TemplateEntry; name: string; location: string; purgeProtection: boolean }[] = [];
    for (const e of index.entries.values()) {
      if (e.type.toLowerCase() !== 'microsoft.keyvault/vaults' || !creates.has(e.id.toLowerCase())) continue;
      const name = e.id.split('/').pop() as string;
      const location = typeof e.raw.location === 'string' && !e.raw.location.startsWith('[') ? e.raw.location : p.settings.location;
      try {
        const v = (await retrying(progress, `check deleted vault ${name}`, e.path ?? p.environmentPath, () =>
          sendArm(clients.resources, 'GET', `/subscriptions/${p.settings.subscriptionId}/providers/Microsoft.KeyVault/locations/${location}/deletedVaults/${name}?api-version=2023-07-01`, undefined, interval),
        )) as { properties?: { purgeProtectionEnabled?: boolean } };
        found.push({ entry: e, name, location, purgeProtection: v.properties?.purgeProtectionEnabled === true });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    }
    return found;
  };

  /**
   * Wait for a deployment to reach a terminal state (reads only): follow its operation
   * (`Azure-AsyncOperation`, at the pace of its `Retry-After`) when mlplane has it, then read the
   * deployment; without one (a PUT whose answer was lost), read the deployment at the pace of its
   * `Retry-After`, else every poll interval. `onPoll` runs after each poll and read.
   */
  const settle = async (clients: AzureClients, progress: ProgressSink, id: string, path: string, onPoll: () => void = () => undefined, operation?: OperationRef): Promise<DeploymentState> => {
    const started = Date.now();
    if (operation?.asyncOperation !== undefined || operation?.location !== undefined) {
      try {
        await retrying(progress, 'follow deployment', path, () => followOperation(clients.resources, operation, { ...pacing, onPoll, deadline: started + timeout }));
      } catch {
        // The outcome is read from the deployment itself below (a failed poll is not a failed deploy).
      }
    }
    for (;;) {
      let retryAfter: string | undefined;
      const d = await retrying(progress, 'read deployment', path, () =>
        getDeployment(clients.resources, id, (h) => {
          retryAfter = h;
        }),
      );
      onPoll();
      if (!d) throw new DeployError(`ARM deployment ${id} disappeared while mlplane was waiting for it`, path);
      if (d.provisioningState && !ACTIVE_STATES.has(d.provisioningState)) return d;
      if (Date.now() - started > timeout) throw new DeployError(`ARM deployment ${id} still ${d.provisioningState} after ${Math.round(timeout / 60000)} minutes; it keeps running in Azure — run mlplane deploy again to follow it`, path);
      await sleep(pollWaitMs(retryAfter, pacing));
    }
  };

  /** Verify through Azure ML that computes, endpoints, deployments and schedules succeeded, and that traffic and schedule state are live. */
  const verify = async (clients: AzureClients, p: Prepared, index: TemplateIndex, progress: ProgressSink, mode: 'deploy' | 'diff'): Promise<{ path: string; line: string }[]> => {
    const rg = p.settings.resourceGroup;
    // Every resource is read at once (one round trip on the critical path, not one per resource);
    // problems are reported in template order.
    const checks = [...index.entries.values()].filter((e) => VERIFIED.test(e.type)).map(async (e) => {
      const problems: { path: string; line: string }[] = [];
      const names = mlNames(e.id);
      const path = index.pathOf(e.id);
      const t = e.type.toLowerCase();
      const read = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
        try {
          return await retrying(progress, `verify ${names.join('/')}`, path, fn);
        } catch (err) {
          if (statusOf(err) === 404) {
            // Before a deploy, a resource not created yet is simply part of the plan.
            if (mode === 'deploy') problems.push({ path, line: `${kindOf(e.type)} '${names.slice(1).join('/')}' does not exist after the deploy` });
            return undefined;
          }
          throw wrap(err, path);
        }
      };
      if (t.endsWith('/computes')) {
        const c = await read(() => clients.ml.computeOperations.get(rg, names[0] as string, names[1] as string));
        const state = c?.properties?.provisioningState;
        if (c && state !== 'Succeeded') problems.push({ path, line: `compute pool '${names[1] as string}' is ${state ?? 'in an unknown state'}, expected Succeeded` });
      } else if (t.endsWith('/onlineendpoints')) {
        const ep = await read(() => clients.ml.onlineEndpoints.get(rg, names[0] as string, names[1] as string));
        if (!ep) return problems;
        if (ep.properties.provisioningState !== 'Succeeded') problems.push({ path, line: `online endpoint '${names[1] as string}' is ${ep.properties.provisioningState ?? 'in an unknown state'}, expected Succeeded` });
        const want = isRecord(e.properties) && isRecord(e.properties.traffic) ? (e.properties.traffic as Record<string, unknown>) : undefined;
        if (want && mode === 'deploy') {
          const live = ep.properties.traffic ?? {};
          const names2 = [...new Set([...Object.keys(want), ...Object.keys(live)])].sort();
          const off = names2.filter((d) => Number(want[d] ?? 0) !== Number(live[d] ?? 0));
          if (off.length > 0) problems.push({ path, line: `live traffic of '${names[1] as string}' is ${names2.map((d) => `${d} ${live[d] ?? 0}%`).join(', ')}, the definition says ${names2.map((d) => `${d} ${String(want[d] ?? 0)}%`).join(', ')}` });
        }
      } else if (t.endsWith('/schedules')) {
        const sc = await read(() => clients.ml.schedules.get(rg, names[0] as string, names[1] as string));
        if (!sc) return problems;
        const state = sc.properties.provisioningState;
        if (state !== 'Succeeded') problems.push({ path, line: `schedule '${names[1] as string}' is ${state ?? 'in an unknown state'}, expected Succeeded` });
        const want = isRecord(e.properties) ? e.properties.isEnabled : undefined;
        if (typeof want === 'boolean' && mode === 'deploy' && sc.properties.isEnabled !== want) problems.push({ path, line: `schedule '${names[1] as string}' is ${sc.properties.isEnabled ? 'enabled' : 'disabled'}, the definition says ${want ? 'enabled' : 'disabled'}` });
      } else if (t.endsWith('/batchendpoints')) {
        const b = await read(() => clients.ml.batchEndpoints.get(rg, names[0] as string, names[1] as string));
        const state = b?.properties.provisioningState;
        if (b && state !== 'Succeeded') problems.push({ path, line: `batch endpoint '${names[1] as string}' is ${state ?? 'in an unknown state'}, expected Succeeded` });
      } else if (t.endsWith('/batchendpoints/deployments')) {
        const b = await read(() => clients.ml.batchDeployments.get(rg, names[0] as string, names[1] as string, names[2] as string));
        const state = b?.properties.provisioningState;
        if (b && state !== 'Succeeded') problems.push({ path, line: `batch deployment '${names[2] as string}' of '${names[1] as string}' is ${state ?? 'in an unknown state'}, expected Succeeded` });
      } else {
        const d = await read(() => clients.ml.onlineDeployments.get(rg, names[0] as string, names[1] as string, names[2] as string));
        const state = d?.properties.provisioningState;
        if (d && state !== 'Succeeded') problems.push({ path, line: `deployment '${names[2] as string}' of endpoint '${names[1] as string}' is ${state ?? 'in an unknown state'}, expected Succeeded` });
      }
      return problems;
    });
    return (await Promise.all(checks)).flat();
  };

  /** Verify after every deploy (a no-op one included): any problem fails it, naming the resource. */
  const verifyOrFail = async (clients: AzureClients, p: Prepared, index: TemplateIndex, progress: ProgressSink): Promise<void> => {
    const problems = await verify(clients, p, index, progress, 'deploy');
    if (problems.length > 0) {
      throw new DeployError(`post-deploy verification failed: ${problems.map((x) => `[${x.path}] ${x.line}`).join('; ')}`, (problems[0] as { path: string }).path);
    }
  };

  /**
   * Delete what the environment owns and its definition dropped, one at a time in the plan's order
   * (grants and autoscale settings first, then the deepest). On SIGINT/SIGTERM the delete in
   * flight finishes and no other starts.
   */
  const deleteDropped = async (clients: AzureClients, p: Prepared, dropped: readonly DroppedResource[], progress: ProgressSink, signal: AbortSignal | undefined): Promise<number> => {
    let deleted = 0;
    for (const [n, r] of dropped.entries()) {
      if (signal?.aborted) {
        throw new InterruptedError(`interrupted (${String(signal.reason)}): ${deleted} of ${dropped.length} delete(s) done, not started: ${dropped.slice(n).map((x) => x.path).join(', ')}; run 'mlplane deploy ${again(p)}' to continue`, p.environment);
      }
      const resource = cloudResource(r.type, r.id);
      progress.event({ id: r.id, path: r.path, action: 'delete', resource, state: 'running' });
      const apiVersion = /\/roleassignments$/i.test(r.type) ? '2022-04-01' : await apiVersionOf(clients, progress, r.type, r.path);
      try {
        await retrying(progress, `delete ${r.id.split('/').pop() ?? ''}`, r.path, () => sendArm(clients.resources, 'DELETE', `${r.id}?api-version=${apiVersion}`, undefined, pacing));
      } catch (e) {
        progress.event({ id: r.id, path: r.path, action: 'delete', resource, state: 'failed' });
        throw wrap(e, r.path, p);
      }
      deleted += 1;
      progress.event({ id: r.id, path: r.path, action: 'delete', resource, state: 'done' });
    }
    return deleted;
  };

  const summary = (p: Prepared, clients: AzureClients, items: readonly PlanItem[], started: number, deleted = 0): DeploySummary => ({
    target: 'azure',
    environment: p.environment,
    created: items.filter((i) => i.action === 'create').length,
    updated: items.filter((i) => i.action === 'update').length,
    replaced: items.filter((i) => i.action === 'replace').length,
    deleted,
    unchanged: items.filter((i) => i.action === 'noop').length,
    writes: clients.counter.writes,
    reads: clients.counter.reads,
    durationMs: Date.now() - started,
    stats: callStats(clients.counter.spans),
  });

  /** The run's calls on the live view (as the gcp engine shows them), then its summary. */
  const finished = (progress: ProgressSink, result: DeploySummary): DeploySummary => {
    if (result.stats) progress.log(describeCallStats(result.stats));
    return result;
  };

  // ---------------------------------------------------------------------------------------------
  // destroy

  /** One delete of a destroy. */
  interface DeleteStep {
    readonly id: string;
    readonly type: string;
    readonly apiVersion?: string;
    readonly path: string;
    /** Delete with `forceToPurge=true` (workspaces). */
    readonly purge: boolean;
    /** Whether the resource was found (false: a purge of a possibly soft-deleted workspace). */
    readonly exists: boolean;
    /** Ids (lower-cased) of steps that must finish first: the resources that depend on this one. */
    readonly after: readonly string[];
  }

  interface DestroyPlan {
    readonly plan: Plan;
    /** Ids to delete, in order (dependents first). */
    readonly order: readonly DeleteStep[];
    readonly vaultsToPurge: readonly { name: string; location: string; path: string }[];
  }

  const destroyPlan = async (input: DeployInput<AzureSettings>, p: Prepared, clients: AzureClients, o: DestroyOptions): Promise<DestroyPlan> => {
    const scope = { subscriptionId: p.settings.subscriptionId, resourceGroup: p.settings.resourceGroup };
    const index = templateIndex(p.template, p.environmentPath, scope);
    const owned = new Map<string, { id: string; type: string; path: string; retainTag: boolean; tracked: boolean }>();
    await retrying(input.progress, 'list owned resources', p.environmentPath, async () => {
      owned.clear();
      for await (const r of clients.resources.resources.listByResourceGroup(p.settings.resourceGroup, { filter: ownerFilter(p.owner) })) {
        if (!r.id || !r.type || !r.tags) continue;
        // The filter is ARM's (on the environment only); checking the tags again guards against a
        // filter ignored by a proxy, and keeps another stage's resources out of this stage's destroy.
        if (!ownedBy(r.tags, p.owner)) continue;
        owned.set(r.id.toLowerCase(), { id: r.id, type: r.type, path: r.tags['mlplane-path'] ?? index.pathOf(r.id), retainTag: r.tags['mlplane-retain'] === 'true', tracked: true });
      }
    });
    // Retained: data-bearing types, resources tagged mlplane-retain, and what they need to keep
    // working (ancestors, template dependencies). Grants are not followed: a role assignment is not
    // data, and keeping one must not keep its principal alive.
    const retained = new Map<string, string>();
    if (!o.destroyData) {
      const stack: { id: string; reason: string }[] = [];
      for (const r of owned.values()) if (r.retainTag || DATA_TYPES.test(r.type)) stack.push({ id: r.id.toLowerCase(), reason: 'holds data' });
      for (const e of index.entries.values()) if (e.retain || DATA_TYPES.test(e.type)) stack.push({ id: e.id.toLowerCase(), reason: 'holds data' });
      while (stack.length > 0) {
        const { id, reason } = stack.pop() as { id: string; reason: string };
        if (retained.has(id) && retained.get(id) === 'holds data') continue;
        if (retained.has(id) && reason !== 'holds data') continue;
        retained.set(id, reason);
        const why = `needed by retained ${kindOf(typeOfId(id))} '${id.split('/').pop() ?? ''}'`;
        const at = id.lastIndexOf('/providers/');
        const parts = id.slice(at + 11).split('/');
        if (parts.length > 3) stack.push({ id: `${id.slice(0, at + 11)}${parts.slice(0, -2).join('/')}`, reason: `holds retained ${kindOf(typeOfId(id))} '${id.split('/').pop() ?? ''}'` });
        for (const d of index.entries.get(id)?.dependsOn ?? []) {
          if (/\/providers\/microsoft\.authorization\//i.test(d)) continue;
          stack.push({ id: d.toLowerCase(), reason: why });
        }
      }
    }
    // Untracked children declared in the template under a retained parent (schedules, components, ...) go explicitly.
    for (const e of index.entries.values()) {
      const key = e.id.toLowerCase();
      if (owned.has(key) || retained.has(key)) continue;
      let keep: boolean;
      if (e.type.toLowerCase() === 'microsoft.authorization/roleassignments') {
        // A grant on a retained scope to a principal that is going away.
        const scope = key.slice(0, key.lastIndexOf('/providers/microsoft.authorization/'));
        const principals = e.dependsOn.map((d) => d.toLowerCase()).filter((d) => /\/microsoft\.managedidentity\/userassignedidentities\//.test(d));
        keep = retained.has(scope) && principals.length > 0 && principals.every((d) => owned.has(d) && !retained.has(d));
      } else if (e.type.toLowerCase() === 'microsoft.authorization/roledefinitions') {
        // The environment's custom roles (untagged; their GUID names derive from the environment's path).
        keep = true;
      } else {
        const parent = key.slice(0, key.lastIndexOf('/', key.lastIndexOf('/') - 1));
        keep = retained.has(parent);
      }
      if (!keep) continue;
      try {
        await retrying(input.progress, `read ${e.id.split('/').pop() ?? ''}`, e.path ?? p.environmentPath, () => clients.resources.resources.getById(e.id, e.apiVersion));
        owned.set(key, { id: e.id, type: e.type, path: index.pathOf(e.id), retainTag: false, tracked: false });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    }
    // A custom role still assigned by a grant kept on retained data cannot go: Azure refuses to delete a
    // role definition with assignments (RoleDefinitionHasAssignments). It is retained with that grant.
    for (const e of index.entries.values()) {
      const key = e.id.toLowerCase();
      if (e.type.toLowerCase() !== 'microsoft.authorization/roleassignments' || owned.has(key)) continue;
      if (!retained.has(key.slice(0, key.lastIndexOf('/providers/microsoft.authorization/')))) continue;
      for (const d of e.dependsOn.map((x) => x.toLowerCase())) {
        if (/\/providers\/microsoft\.authorization\/roledefinitions\//.test(d) && owned.has(d)) retained.set(d, `assigned by a grant kept on retained data ('${e.id.split('/').pop() ?? ''}')`);
      }
    }
    const doomed = [...owned.values()].filter((r) => !retained.has(r.id.toLowerCase()));
    const doomedKeys = new Set(doomed.map((r) => r.id.toLowerCase()));
    // A parent's delete takes its children with it.
    const covered = (id: string) => {
      let cur = id.toLowerCase();
      for (;;) {
        const at = cur.lastIndexOf('/providers/');
        const parts = cur.slice(at + 11).split('/');
        if (parts.length <= 3) return false;
        cur = `${cur.slice(0, at + 11)}${parts.slice(0, -2).join('/')}`;
        if (doomedKeys.has(cur)) return true;
      }
    };
    const direct = doomed.filter((r) => !covered(r.id));
    // Reverse dependency order: a resource goes before what it depends on.
    const dependents = new Map<string, Set<string>>();
    for (const e of index.entries.values()) {
      for (const d of e.dependsOn) {
        const k = d.toLowerCase();
        if (!dependents.has(k)) dependents.set(k, new Set());
        (dependents.get(k) as Set<string>).add(e.id.toLowerCase());
      }
    }
    const order: DeleteStep[] = [];
    const visited = new Set<string>();
    const directKeys = new Set(direct.map((r) => r.id.toLowerCase()));
    const visit = (key: string) => {
      if (visited.has(key)) return;
      visited.add(key);
      for (const dep of [...(dependents.get(key) ?? [])].sort()) if (directKeys.has(dep)) visit(dep);
      const r = owned.get(key);
      if (r) {
        const purge = o.purge === true && r.type.toLowerCase() === 'microsoft.machinelearningservices/workspaces';
        const after = [...directKeys].filter((k) => k !== key && ((dependents.get(key)?.has(k) ?? false) || k.startsWith(`${key}/`)));
        order.push({ id: r.id, type: r.type, apiVersion: index.entries.get(key)?.apiVersion, path: r.path, purge, exists: true, after });
      }
    };
    for (const r of [...direct].sort((a, b) => b.id.split('/').length - a.id.split('/').length || a.id.localeCompare(b.id))) visit(r.id.toLowerCase());
    // A container's delete takes its children with it: list them first; one the environment does not own stops the destroy.
    const foreign: string[] = [];
    for (const r of order) {
      if (!r.exists) continue;
      if (!/^microsoft\.machinelearningservices\/workspaces(\/onlineendpoints|\/batchendpoints)?$/i.test(r.type)) continue;
      const found = await foreignChildren(clients, r, '2022-10-01', p.owner, index, (what, path, fn) => retrying(input.progress, what, path, fn), r.path);
      foreign.push(...found.map((f) => `[${r.path}] ${kindOf(r.type)} '${r.id.split('/').pop() ?? ''}' holds ${f}`));
    }
    if (foreign.length > 0) {
      throw new DeployError(
        `refusing to destroy: deleting these would also delete resources this environment does not own (not tagged ${ownerTags(p.owner)}):\n  ${foreign.join('\n  ')}\nMove or delete them yourself, or tag them ${ownerTags(p.owner)} if they belong to this environment; nothing was deleted`,
        p.environmentPath,
      );
    }
    const vaultsToPurge: { name: string; location: string; path: string }[] = [];
    if (o.purge) {
      // Workspaces soft-deleted by an earlier destroy: a purge by id (DELETE ?forceToPurge=true) frees their names.
      for (const e of index.entries.values()) {
        const key = e.id.toLowerCase();
        if (e.type.toLowerCase() !== 'microsoft.machinelearningservices/workspaces' || retained.has(key) || owned.has(key)) continue;
        order.push({ id: e.id, type: e.type, apiVersion: e.apiVersion, path: index.pathOf(e.id), purge: true, exists: false, after: [] });
      }
      for (const e of index.entries.values()) {
        if (e.type.toLowerCase() !== 'microsoft.keyvault/vaults' || retained.has(e.id.toLowerCase())) continue;
        const location = typeof e.raw.location === 'string' && !e.raw.location.startsWith('[') ? e.raw.location : p.settings.location;
        vaultsToPurge.push({ name: e.id.split('/').pop() as string, location, path: index.pathOf(e.id) });
      }
    }
    const items: PlanItem[] = order.map((r) => ({
      id: r.id,
      type: r.type,
      path: r.path,
      action: 'delete',
      changes: [],
      summary: [r.exists ? `delete ${kindOf(r.type)} '${r.id.split('/').pop() ?? ''}'${r.purge ? ' and purge it (no soft-delete recovery)' : ''}` : `purge soft-deleted ${kindOf(r.type)} '${r.id.split('/').pop() ?? ''}' if present`],
    }));
    for (const v of vaultsToPurge) items.push({ id: `deletedVaults/${v.name}`, type: 'Microsoft.KeyVault/deletedVaults', path: v.path, action: 'delete', changes: [], summary: [`purge soft-deleted key vault '${v.name}' if present`] });
    for (const [key, reason] of retained) {
      const r = owned.get(key);
      if (r) items.push({ id: r.id, type: r.type, path: r.path, action: 'noop', changes: [], summary: [`retain ${kindOf(r.type)} '${r.id.split('/').pop() ?? ''}' (${reason}; --destroy-data deletes it)`] });
    }
    return { plan: { target: 'azure', environment: p.environment, items }, order, vaultsToPurge };
  };

  const apiVersions = new Map<string, string>();
  const apiVersionOf = async (clients: AzureClients, progress: ProgressSink, type: string, path: string): Promise<string> => {
    const key = type.toLowerCase();
    const known = apiVersions.get(key);
    if (known) return known;
    const [ns, ...rest] = type.split('/');
    const provider = await retrying(progress, `read provider ${ns ?? ''}`, path, () => clients.resources.providers.get(ns as string));
    const rt = provider.resourceTypes?.find((t) => t.resourceType?.toLowerCase() === rest.join('/').toLowerCase());
    const v = rt?.apiVersions?.find((x) => !x.includes('preview')) ?? rt?.apiVersions?.[0];
    if (!v) throw new DeployError(`no api-version known for ${type}`, path);
    apiVersions.set(key, v);
    return v;
  };

  return {
    target: 'azure',

    async diff(input) {
      const p = prepare(input);
      try {
        const clients = clientsFor(p);
        const planned = await plan(input, p, clients);
        // Live health of what the plan covers (a deployment marked Failed): `diff --fail` exits non-zero on it.
        const health = (await verify(clients, p, planned.index, input.progress, 'diff')).map((x) => `[${x.path}] ${x.line}`);
        return { ...planned.plan, ...(health.length > 0 ? { health } : {}), reads: clients.counter.reads };
      } catch (e) {
        throw wrap(e, p.environmentPath, p);
      }
    },

    async deploy(input) {
      const started = Date.now();
      const p = prepare(input);
      const progress = input.progress;
      try {
        const clients = clientsFor(p);
        // The re-read right before the first write (ARM's deployment of this name is the lock): the plan applied is the plan shown.
        const planned = await plan(input, p, clients);
        checkApprovedPlan(input, planned.plan);
        const items = planned.plan.items;
        if (input.signal?.aborted) throw new InterruptedError(`interrupted (${String(input.signal.reason)}) before anything was sent; run 'mlplane deploy ${again(p)}' to deploy`, p.environment);
        if (!planned.templateChanges) {
          // What-if says the deployment would change nothing: sending it would only make writes.
          progress.log(`${p.environment}: no changes (ARM what-if); deployment '${planned.name}' not sent`);
          const deleted = await deleteDropped(clients, p, planned.dropped, progress, input.signal);
          await verifyOrFail(clients, p, planned.index, progress);
          return finished(progress, summary(p, clients, items, started, deleted));
        }
        const creates = new Set(items.filter((i) => i.action === 'create').map((i) => i.id.toLowerCase()));
        const vaults = await softDeletedVaults(clients, p, planned.index, creates, progress);
        if (vaults.length > 0) {
          const v = vaults[0] as (typeof vaults)[number];
          throw new DeployError(
            `Key Vault '${v.name}' is soft-deleted and blocks this deploy (ARM refuses a vault with the name of a soft-deleted one). ${v.purgeProtection ? `Purge protection is on, so it cannot be purged before its retention ends: recover it with 'az keyvault recover --name ${v.name}' and deploy again.` : `Recover it with 'az keyvault recover --name ${v.name}', or purge it with 'mlplane destroy --destroy-data --purge' (its keys are then gone for good).`}`,
            v.entry.path ?? p.environmentPath,
          );
        }
        // What the progress lines last said of each resource (by lower-cased id): a state is reported once.
        const reported = new Map<string, ProgressEvent['state']>();
        const report = (i: PlanItem, state: ProgressEvent['state'], extra: { message?: string; elapsedMs?: number } = {}) => {
          if (reported.get(i.id.toLowerCase()) === state) return;
          reported.set(i.id.toLowerCase(), state);
          progress.event({ id: i.id, path: i.path, action: i.action, resource: cloudResource(i.type, i.id), state, ...extra });
        };
        for (const i of items) if (i.action !== 'noop') report(i, 'pending');
        const sent = items.filter((i) => i.action !== 'noop' && i.action !== 'delete');
        const sentById = new Map(sent.map((i) => [i.id.toLowerCase(), i] as const));

        /**
         * Per-resource progress from the deployment's operations (one per resource ARM deploys),
         * read after each poll of the deployment, so at the pace its `Retry-After` sets. Best
         * effort: the outcome is always read from the deployment itself.
         */
        const watchOperations = (id: string) => {
          let inFlight: Promise<void> | undefined;
          let rerun = false;
          const once = async () => {
            let ops: Awaited<ReturnType<typeof listDeploymentOperations>>;
            try {
              ops = await listDeploymentOperations(clients.resources, id);
            } catch {
              return;
            }
            for (const o of ops) {
              const item = o.targetId ? sentById.get(o.targetId.toLowerCase()) : undefined;
              if (!item) continue;
              if (o.provisioningState === 'Succeeded') report(item, 'done', { elapsedMs: durationMs(o.duration) });
              else if (o.provisioningState === 'Failed') report(item, 'failed', { message: `${o.error?.code ?? 'Failed'}: ${o.error?.message ?? 'the resource provider reported a failure'}` });
              else if (ACTIVE_STATES.has(o.provisioningState ?? '')) report(item, 'running');
            }
          };
          const kick = () => {
            if (inFlight) {
              rerun = true;
              return;
            }
            inFlight = (async () => {
              do {
                rerun = false;
                await once();
              } while (rerun);
            })().finally(() => {
              inFlight = undefined;
            });
          };
          return {
            kick,
            /** Wait for the read in flight, then read once more: the operations as the deployment ended. */
            flush: async () => {
              await inFlight;
              await once();
            },
          };
        };
        const id = deploymentId(p.settings.subscriptionId, p.settings.resourceGroup, planned.name);
        const alreadyDeploying = (d: DeploymentState | undefined) =>
          new DeployError(
            `already deploying: ARM deployment '${planned.name}' of this environment is still ${d?.provisioningState ?? 'active'} (another mlplane deploy, or a deploy from the portal/CLI). ARM runs one deployment of a name at a time; wait for it to finish (az deployment group wait -g ${p.settings.resourceGroup} -n ${planned.name} --created) and run mlplane deploy again`,
            p.environmentPath,
          );
        const actions = (pl: Plan) => JSON.stringify(pl.items.map((i) => [i.id.toLowerCase(), i.action, i.summary]));

        /** Send one deployment of `template` and follow it to the end. */
        const sendDeployment = async (template: unknown, lockTimeoutMs: number): Promise<void> => {
          const deployId = randomUUID();
          const body: DeploymentBody = { properties: { ...planned.body.properties, template }, tags: { 'mlplane-deploy-id': deployId, 'mlplane-env': p.environment, ...(p.owner.stage !== undefined ? { [STAGE_TAG]: p.owner.stage } : {}) } };
          let operation: OperationRef | undefined;
          const lockDeadline = Date.now() + lockTimeoutMs;
          let waited = false;
          for (;;) {
            if (waited) {
              // The other deployment may have changed what this one would do: the plan shown must stay the plan applied.
              const replanned = await plan(input, p, clients);
              if (actions(replanned.plan) !== actions(planned.plan)) {
                throw new DeployError(`the environment changed while mlplane waited for deployment '${planned.name}'; review the new plan (mlplane diff) and deploy again`, p.environmentPath);
              }
            }
            try {
              operation = await retrying(progress, `deploy ${planned.name}`, p.environmentPath, async () => {
                try {
                  return await startDeployment(clients.resources, id, body);
                } catch (e) {
                  const active = statusOf(e) === 409 && isRestError(e) && e.code === 'DeploymentActive';
                  if (!isAmbiguous(e) && !active) throw e;
                  // No answer, or ARM says a deployment is active: settle by a read, never by re-sending blindly.
                  const d = await retrying(progress, 'read deployment', p.environmentPath, () => getDeployment(clients.resources, id));
                  // Ours (its answer was lost): follow it by reading the deployment.
                  if (d?.tags?.['mlplane-deploy-id'] === deployId) return undefined;
                  // ARM said "active" but the other deployment has finished since: nothing was applied, send again.
                  if (active && d?.provisioningState && !ACTIVE_STATES.has(d.provisioningState)) return await startDeployment(clients.resources, id, body);
                  if (active) throw alreadyDeploying(d);
                  throw e;
                }
              });
              break;
            } catch (e) {
              // ARM's lock: wait for the other deployment when the caller allows it (lockTimeoutMs), else fail at once.
              if (!(e instanceof DeployError) || !e.message.includes('already deploying') || Date.now() >= lockDeadline) throw e;
              progress.log(`${p.environment}: deployment '${planned.name}' is active; waiting for it (lock timeout ${lockTimeoutMs} ms)`);
              waited = true;
              await sleep(interval);
            }
          }
          const watch = watchOperations(id);
          // Follow Azure-AsyncOperation at the pace of its Retry-After (each poll also reads the operations), then read the deployment.
          const final = await settle(clients, progress, id, p.environmentPath, watch.kick, operation);
          if (final.tags?.['mlplane-deploy-id'] !== undefined && final.tags['mlplane-deploy-id'] !== deployId) throw alreadyDeploying(final);
          await watch.flush();
          if (final.provisioningState !== 'Succeeded') {
            const d = describeArmError(final.error, planned.index, p.environmentPath);
            for (const i of sent) {
              const state = reported.get(i.id.toLowerCase());
              if (state !== 'done' && state !== 'failed') report(i, 'failed', { message: `not deployed: ARM deployment '${planned.name}' ${final.provisioningState ?? 'failed'}` });
            }
            throw new DeployError(d.message, d.path);
          }
        };

        // Feature set specifications go to the feature store's datastore before ARM creates the
        // versions that read them. On a first deploy the feature store does not exist yet: deploy
        // everything else first, upload, then deploy the whole template.
        const uploads = specUploads(input.documents, planned.index, p.environmentPath).filter((u) => creates.has(u.entry.id.toLowerCase()));
        const pending: SpecUpload[] = [];
        for (const u of uploads) {
          const r = await retrying(progress, `upload ${u.document}`, u.path, () => uploadSpec(clients, p.settings.resourceGroup, u));
          if (r === 'no-datastore') pending.push(u);
          else progress.log(`[${u.path}] ${u.document}: ${r}`);
        }
        if (pending.length > 0) {
          const blocked = new Set(pending.map((u) => u.entry.id.toLowerCase()));
          // Everything that depends (transitively) on a blocked version waits for the second pass too.
          for (let grew = true; grew; ) {
            grew = false;
            for (const e of planned.index.entries.values()) {
              if (!blocked.has(e.id.toLowerCase()) && e.dependsOn.some((d) => blocked.has(d.toLowerCase()))) {
                blocked.add(e.id.toLowerCase());
                grew = true;
              }
            }
          }
          const raws = new Set([...planned.index.entries.values()].filter((e) => blocked.has(e.id.toLowerCase())).map((e) => e.raw));
          const first = { ...p.template, resources: (p.template.resources as unknown[]).filter((r) => !raws.has(r as Record<string, unknown>)) };
          progress.log(`${p.environment}: first deploy of a feature store: deploying without ${blocked.size} resource(s) that read feature set specifications, uploading the specifications, then deploying the rest`);
          await sendDeployment(first, input.lockTimeoutMs ?? 0);
          for (const u of pending) {
            const r = await retrying(progress, `upload ${u.document}`, u.path, () => uploadSpec(clients, p.settings.resourceGroup, u));
            if (r === 'no-datastore') throw new DeployError(`the feature store '${u.workspace}' has no datastore '${u.datastore}' after the deploy; cannot upload ${u.document}`, u.path);
            progress.log(`[${u.path}] ${u.document}: ${r}`);
          }
        }
        await sendDeployment(p.template, pending.length > 0 ? 0 : (input.lockTimeoutMs ?? 0));
        // A resource ARM deployed without an operation of this deployment of its own (one declared only in a nested deployment) is done too.
        for (const i of sent) report(i, 'done');
        if (input.signal?.aborted && planned.dropped.length > 0) {
          throw new InterruptedError(`interrupted (${String(input.signal.reason)}): ARM deployment '${planned.name}' finished; ${planned.dropped.length} delete(s) of what the definition dropped were not started; run 'mlplane deploy ${again(p)}' to continue`, p.environment);
        }
        const deleted = await deleteDropped(clients, p, planned.dropped, progress, input.signal);
        await verifyOrFail(clients, p, planned.index, progress);
        return finished(progress, summary(p, clients, items, started, deleted));
      } catch (e) {
        throw wrap(e, p.environmentPath, p);
      }
    },

    async planDestroy(input, o) {
      const p = prepare(input);
      try {
        const clients = clientsFor(p);
        return { ...withDigest((await destroyPlan(input, p, clients, o)).plan), reads: clients.counter.reads };
      } catch (e) {
        throw wrap(e, p.environmentPath, p);
      }
    },

    async destroy(input, o) {
      const started = Date.now();
      const p = prepare(input);
      const progress = input.progress;
      try {
        const clients = clientsFor(p);
        const dp = await destroyPlan(input, p, clients, o);
        checkApprovedPlan(input, withDigest(dp.plan));
        let deleted = 0;
        const deleteOne = async (r: DeleteStep): Promise<void> => {
          progress.event({ id: r.id, path: r.path, action: 'delete', resource: cloudResource(r.type, r.id), state: 'running' });
          const apiVersion = r.apiVersion && r.apiVersion !== '' ? r.apiVersion : await apiVersionOf(clients, progress, r.type, r.path);
          if (r.purge) {
            await retrying(progress, `purge ${r.id.split('/').pop() ?? ''}`, r.path, () => sendArm(clients.resources, 'DELETE', `${r.id}?api-version=${apiVersion}&forceToPurge=true`, undefined, pacing));
          } else {
            await retrying(progress, `delete ${r.id.split('/').pop() ?? ''}`, r.path, () => sendArm(clients.resources, 'DELETE', `${r.id}?api-version=${apiVersion}`, undefined, pacing));
          }
          if (r.exists) deleted += 1;
          progress.event({ id: r.id, path: r.path, action: 'delete', resource: cloudResource(r.type, r.id), state: 'done' });
        };
        // Up to `concurrency` deletes at once; a resource goes only after everything that depends on it.
        const limit = Math.max(1, input.concurrency ?? 8);
        const done = new Set<string>();
        const begun = new Set<string>();
        const running = new Map<string, Promise<void>>();
        let failure: unknown;
        while (done.size < dp.order.length && failure === undefined) {
          for (const r of dp.order) {
            if (running.size >= limit || input.signal?.aborted) break;
            const key = r.id.toLowerCase();
            if (begun.has(key) || !r.after.every((k) => done.has(k))) continue;
            begun.add(key);
            running.set(
              key,
              deleteOne(r).then(
                () => {
                  done.add(key);
                  running.delete(key);
                },
                (e: unknown) => {
                  failure ??= wrap(e, r.path, p);
                  progress.event({ id: r.id, path: r.path, action: 'delete', resource: cloudResource(r.type, r.id), state: 'failed' });
                  running.delete(key);
                },
              ),
            );
          }
          if (running.size === 0) break;
          await Promise.race(running.values());
        }
        await Promise.all(running.values());
        if (failure !== undefined) throw failure;
        if (input.signal?.aborted && done.size < dp.order.length) {
          throw new InterruptedError(`interrupted (${String(input.signal.reason)}): ${done.size} of ${dp.order.length} delete(s) done, the ones in flight finished; run 'mlplane destroy ${again(p)}' to continue`, p.environment);
        }
        if (done.size < dp.order.length) throw new DeployError(`destroy stopped: ${dp.order.length - done.size} delete(s) wait on each other (a dependency cycle)`, p.environmentPath);
        for (const v of dp.vaultsToPurge) {
          const base = `/subscriptions/${p.settings.subscriptionId}/providers/Microsoft.KeyVault/locations/${v.location}/deletedVaults/${v.name}`;
          try {
            await retrying(progress, `read deleted vault ${v.name}`, v.path, () => sendArm(clients.resources, 'GET', `${base}?api-version=2023-07-01`, undefined, interval));
          } catch (e) {
            if (statusOf(e) === 404) continue;
            throw e;
          }
          try {
            await retrying(progress, `purge vault ${v.name}`, v.path, () => sendArm(clients.resources, 'POST', `${base}/purge?api-version=2023-07-01`, undefined, pacing));
            progress.event({ id: base, path: v.path, action: 'delete', state: 'done', message: `purged soft-deleted key vault '${v.name}'` });
          } catch (e) {
            if (statusOf(e) !== 409) throw e;
            progress.log(`[${v.path}] key vault '${v.name}' is soft-deleted with purge protection and cannot be purged before its retention ends; a re-deploy needs it recovered: az keyvault recover --name ${v.name}`);
          }
        }
        return finished(progress, summary(p, clients, dp.plan.items.filter((i) => i.action === 'noop'), started, deleted));
      } catch (e) {
        throw wrap(e, p.environmentPath, p);
      }
    },
  };
}
