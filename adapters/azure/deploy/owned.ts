/**
 * What the environment owns live, beyond what ARM what-if reports: resources tagged
 * `mlplane-env=<environment>` — and `mlplane-stage=<stage>` when the definition declares its
 * stages (see {@link Owner}) — (tracked resources through the resource group list, workspace
 * schedules through Azure ML), and role assignments granted to the environment's own identities.
 * An incremental ARM deployment never deletes, so whatever of this the template no longer declares
 * is deleted by the engine after the deployment, behind the same approval as any delete.
 *
 * Role assignments carry no tags in Azure; one is the environment's when its principal is an
 * identity the environment owns (tagged) and it sits in the environment's resource group.
 */
import type { PlanItem } from '../../deploy';
import type { EnvironmentInfo } from '../../../lib/model/types';
import type { AzureSettings } from '../settings';
import { sendArm } from './arm';
import { kindOf } from './plan';
import type { TemplateIndex } from './template';
import type { AzureClients } from './transport';

/** The tag that marks what an environment owns. */
export const ENV_TAG = 'mlplane-env';
/** The tag that, with {@link ENV_TAG}, marks what one stage of an environment owns. */
export const STAGE_TAG = 'mlplane-stage';

/**
 * Who owns a resource: the environment, and its stage when the definition declares its stages.
 *
 * A single-stage environment owns what is tagged `mlplane-env=<Env>` (as it always has, so
 * existing deployments keep their resources); one stage of a definition with stages owns only
 * what is tagged `mlplane-env=<Env>` **and** `mlplane-stage=<stage>`, so dev, staging and prod
 * can share a resource group without one stage's destroy or dropped-resource deletes reaching
 * another's.
 */
export interface Owner {
  readonly environment: string;
  /** @default - any stage (a single-stage environment) */
  readonly stage?: string;
}

/** The owner of what an environment deploys: its stage counts only when it declares stages. */
export function ownerOf(env: Pick<EnvironmentInfo, 'name' | 'stage' | 'stages'>): Owner {
  return env.stages ? { environment: env.name, stage: env.stage } : { environment: env.name };
}

/** Whether a resource's tags (ARM tags, or an Azure ML asset's `properties.tags`) mark it as `owner`'s. */
export function ownedBy(tags: Readonly<Record<string, unknown>> | undefined, owner: Owner): boolean {
  if (!tags || tags[ENV_TAG] !== owner.environment) return false;
  return owner.stage === undefined || tags[STAGE_TAG] === owner.stage;
}

/** The ownership tags in words, for messages: `mlplane-env=Fraud` or `mlplane-env=Fraud, mlplane-stage=staging`. */
export function ownerTags(owner: Owner): string {
  return owner.stage === undefined ? `${ENV_TAG}=${owner.environment}` : `${ENV_TAG}=${owner.environment}, ${STAGE_TAG}=${owner.stage}`;
}

/** The ARM tag filter of a resource group listing: `mlplane-env` (ARM filters on one tag; the stage is checked on each result). */
export function ownerFilter(owner: Owner): string {
  return `tagName eq '${ENV_TAG}' and tagValue eq '${owner.environment.replace(/'/g, "''")}'`;
}

/** One live resource the environment owns. */
export interface OwnedResource {
  readonly id: string;
  readonly type: string;
  /** Construct path (its `mlplane-path` tag, else the template's). */
  readonly path: string;
  /** Tagged `mlplane-retain: true`. */
  readonly retainTag: boolean;
  /** A role assignment's description (what the grant was for). */
  readonly description?: string;
}

/** Calls the engine makes with its retries. */
export type Retrying = <T>(what: string, path: string, fn: () => Promise<T>) => Promise<T>;

/** Role assignments: their api-version (Microsoft.Authorization/roleAssignments 2022-04-01). */
const ROLE_ASSIGNMENTS_API = '2022-04-01';

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Everything the environment owns live: tagged tracked resources, tagged workspace schedules, and
 * role assignments to its identities (lower-cased id → resource).
 */
export async function listOwned(clients: AzureClients, settings: AzureSettings, owner: Owner, index: TemplateIndex, retrying: Retrying, envPath: string): Promise<Map<string, OwnedResource>> {
  const owned = new Map<string, OwnedResource>();
  const rg = settings.resourceGroup;
  await retrying('list owned resources', envPath, async () => {
    owned.clear();
    for await (const r of clients.resources.resources.listByResourceGroup(rg, { filter: ownerFilter(owner) })) {
      if (!r.id || !r.type || !r.tags) continue;
      // The filter is ARM's (on the environment only); checking the tags again guards against a
      // filter ignored by a proxy, and keeps the other stages of the environment out.
      if (!ownedBy(r.tags, owner)) continue;
      owned.set(r.id.toLowerCase(), { id: r.id, type: r.type, path: r.tags['mlplane-path'] ?? index.pathOf(r.id), retainTag: r.tags['mlplane-retain'] === 'true' });
    }
  });
  // The reads below need only the resource group's list, not one another: all are sent at once
  // (two round trips on the critical path: an identity, then its role assignments), and their
  // results are added in the order of the list.
  const scope = `/subscriptions/${settings.subscriptionId}/resourceGroups/${rg}`;
  const workspaces = [...owned.values()].filter((r) => r.type.toLowerCase() === 'microsoft.machinelearningservices/workspaces');
  const identities = [...owned.values()].filter((r) => r.type.toLowerCase() === 'microsoft.managedidentity/userassignedidentities');
  const [schedulesOf, assignmentsOf] = await Promise.all([
    // Workspace schedules are proxy resources (not in the resource group list); their tags are in properties.
    Promise.all(workspaces.map((ws) => {
      const name = ws.id.split('/').pop() as string;
      return retrying(`list schedules of ${name}`, envPath, async () => {
        const out: { id: string; tags: Record<string, string> }[] = [];
        for await (const s of clients.ml.schedules.list(rg, name)) if (s.id) out.push({ id: s.id, tags: (s.properties.tags ?? {}) as Record<string, string> });
        return out;
      });
    })),
    // Role assignments in the resource group whose principal is one of the environment's identities.
    Promise.all(identities.map(async (identity) => {
      const live = await retrying(`read identity ${identity.id.split('/').pop() ?? ''}`, identity.path, () => clients.resources.resources.getById(identity.id, '2023-01-31'));
      const principalId = isRecord(live.properties) ? live.properties.principalId : undefined;
      if (typeof principalId !== 'string') return [];
      const filter = encodeURIComponent(`principalId eq '${principalId}'`);
      // "Role Assignments - List For Scope" (no SDK package is a dependency; the request goes through the same ARM pipeline).
      // @see https://learn.microsoft.com/rest/api/authorization/role-assignments/list-for-scope
      const listed = (await retrying(`list role assignments of ${identity.id.split('/').pop() ?? ''}`, identity.path, () =>
        sendArm(clients.resources, 'GET', `${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=${ROLE_ASSIGNMENTS_API}&$filter=${filter}`, undefined, 0),
      )) as { value?: { id?: string; properties?: { scope?: string; description?: string } }[] };
      return listed.value ?? [];
    })),
  ]);
  for (const s of schedulesOf.flat()) {
    if (!ownedBy(s.tags, owner)) continue;
    owned.set(s.id.toLowerCase(), { id: s.id, type: 'Microsoft.MachineLearningServices/workspaces/schedules', path: s.tags['mlplane-path'] ?? index.pathOf(s.id), retainTag: false });
  }
  identities.forEach((identity, i) => {
    for (const a of assignmentsOf[i] ?? []) {
      if (!a.id || !a.id.toLowerCase().startsWith(`${scope.toLowerCase()}/`)) continue;
      owned.set(a.id.toLowerCase(), { id: a.id, type: 'Microsoft.Authorization/roleAssignments', path: index.pathOf(a.id) === envPath ? identity.path : index.pathOf(a.id), retainTag: false, description: a.properties?.description });
    }
  });
  return owned;
}

/** Types that hold data: retained unless the user says otherwise. */
export const DATA_TYPES = /^(microsoft\.storage\/storageaccounts(\/.*)?|microsoft\.machinelearningservices\/registries(\/.*)?|microsoft\.machinelearningservices\/workspaces\/(data|models|datastores|featuresets|featurestoreentities)(\/.*)?)$/i;

/** The id of the resource that contains `id` (its parent), or undefined at the top. */
export function parentOf(id: string): string | undefined {
  const lower = id.toLowerCase();
  if (lower.includes('/providers/microsoft.authorization/')) return undefined;
  const at = id.toLowerCase().lastIndexOf('/providers/');
  const parts = id.slice(at + 11).split('/');
  if (parts.length <= 3) return undefined;
  return `${id.slice(0, at + 11)}${parts.slice(0, -2).join('/')}`;
}

/** A delete of something owned that the definition dropped. */
export interface DroppedResource extends OwnedResource {
  readonly item: PlanItem;
}

/**
 * Owned resources the template no longer declares: deletes (children of a deleted parent go with
 * it and are not listed twice), and data-bearing ones retained (shown as unchanged, with why).
 * Deletes are ordered for sending: grants and autoscale settings first, then the deepest first.
 */
export function droppedFromDefinition(owned: ReadonlyMap<string, OwnedResource>, index: TemplateIndex): { deletes: DroppedResource[]; retained: PlanItem[] } {
  const gone = [...owned.values()].filter((r) => !index.entries.has(r.id.toLowerCase()));
  const retainedKeys = new Set(gone.filter((r) => r.retainTag || DATA_TYPES.test(r.type)).map((r) => r.id.toLowerCase()));
  const doomed = new Set(gone.map((r) => r.id.toLowerCase()).filter((k) => !retainedKeys.has(k)));
  const coveredByParent = (id: string) => {
    for (let p = parentOf(id); p; p = parentOf(p)) if (doomed.has(p.toLowerCase())) return true;
    return false;
  };
  const name = (r: OwnedResource) => r.id.split('/').pop() ?? '';
  const rank = (r: OwnedResource) => (/\/roleassignments$/i.test(r.type) ? 0 : /autoscalesettings$/i.test(r.type) ? 1 : /schedules$/i.test(r.type) ? 2 : 10 - r.id.split('/').length / 100);
  const deletes = gone
    .filter((r) => doomed.has(r.id.toLowerCase()) && !coveredByParent(r.id))
    .sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id))
    .map((r) => ({
      ...r,
      item: {
        id: r.id,
        type: r.type,
        path: r.path,
        action: 'delete' as const,
        changes: [],
        summary: [/roleassignments$/i.test(r.type) ? `revoke role assignment '${name(r)}'${r.description ? ` (${r.description})` : ''}: the grant is no longer defined` : `delete ${kindOf(r.type)} '${name(r)}': no longer defined`],
      },
    }));
  const retained = gone
    .filter((r) => retainedKeys.has(r.id.toLowerCase()))
    .map((r) => ({ id: r.id, type: r.type, path: r.path, action: 'noop' as const, changes: [], summary: [`retain ${kindOf(r.type)} '${name(r)}' (no longer defined, but it holds data; mlplane destroy --destroy-data deletes it)`] }));
  return { deletes, retained };
}

/** Child collections of a container that may hold resources someone else made. */
const CHILD_COLLECTIONS: Readonly<Record<string, readonly string[]>> = {
  'microsoft.machinelearningservices/workspaces': ['computes', 'onlineEndpoints', 'batchEndpoints', 'schedules'],
  'microsoft.machinelearningservices/workspaces/onlineendpoints': ['deployments'],
  'microsoft.machinelearningservices/workspaces/batchendpoints': ['deployments'],
};

/** Whether a listed child is the environment's (stage's): tagged for it (ARM tags or `properties.tags`), or declared in its template. */
function ownedChild(child: { id?: string; tags?: Record<string, unknown>; properties?: Record<string, unknown> }, owner: Owner, index: TemplateIndex): boolean {
  const tags = (child.tags ?? (isRecord(child.properties?.tags) ? child.properties.tags : undefined) ?? {}) as Record<string, unknown>;
  return ownedBy(tags, owner) || (child.id !== undefined && index.entries.has(child.id.toLowerCase()));
}

/**
 * Children of a container about to be deleted that the environment does not own (a compute or an
 * endpoint someone added to the workspace). Deleting the container would take them with it.
 */
export async function foreignChildren(clients: AzureClients, container: { id: string; type: string }, apiVersion: string, owner: Owner, index: TemplateIndex, retrying: Retrying, path: string): Promise<string[]> {
  const collections = CHILD_COLLECTIONS[container.type.toLowerCase()] ?? [];
  const out: string[] = [];
  for (const c of collections) {
    const listed = (await retrying(`list ${c} of ${container.id.split('/').pop() ?? ''}`, path, () => sendArm(clients.resources, 'GET', `${container.id}/${c}?api-version=${apiVersion}`, undefined, 0))) as {
      value?: { id?: string; type?: string; tags?: Record<string, unknown>; properties?: Record<string, unknown> }[];
    };
    for (const child of listed.value ?? []) {
      if (!child.id) continue;
      if (!ownedChild(child, owner, index)) {
        out.push(`${kindOf(child.type ?? `${container.type}/${c}`)} '${child.id.split('/').pop() ?? ''}' (${child.id})`);
        continue;
      }
      if (CHILD_COLLECTIONS[(child.type ?? '').toLowerCase()]) out.push(...(await foreignChildren(clients, { id: child.id, type: child.type as string }, apiVersion, owner, index, retrying, path)));
    }
  }
  return out;
}
