/**
 * Deployments that follow a model alias on Vertex AI.
 *
 * A deployment bound to an alias (`model.alias('champion')`) is synthesized as a DeployedModel of
 * `models/<id>@champion`. Vertex resolves the alias once, when the model is deployed, and records
 * the version it deployed in `DeployedModel.modelVersionId`; moving the alias later does not touch
 * the endpoint. So the engine resolves the alias again at every diff and deploy (one
 * `models.listVersions` per model, read together for all models; each version lists its aliases) and, when the alias now names another version than the one served, plans a
 * rollout on that deployment — `alias champion: v3 → v4` — that deploys the new version into the
 * endpoint with the old one's traffic share and then undeploys the old one (a DeployedModel's
 * model cannot be changed in place). A deployment pinned to a version never moves.
 *
 * The register step of a pipeline performs the same rollout itself right after it moves the alias
 * (adapters/gcp/python-components.ts), so after a promotion the diff is empty again; an alias the
 * diff still finds ahead of the endpoint was moved outside mlplane (console, gcloud, another tool),
 * and the plan says so.
 *
 * Deployed-model ids are fixed per deployment (1-10 digits); a rollout alternates between the
 * deployment's id and its twin (`twinId`) because both versions are deployed for a moment.
 *
 * @see https://cloud.google.com/vertex-ai/docs/model-registry/model-alias
 * @see https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints/deployModel (trafficSplit "0" = the model being deployed)
 * @see https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.endpoints#DeployedModel (modelVersionId, output only)
 */
import type { ManifestEntry } from '../index';
import { twinId } from '../alias';
import { isNotFound } from './clients';
import { getVertex, rpcOf, VERTEX_KINDS, type VertexKind } from './kinds';
export { twinId };
import { jsonToObject, messageType, type Json } from './proto-json';
import { item, lastSegment, quiet, RANK, type Run, type RunContext, type Step } from './run';


/** The live deployed model of a manifest deployment (under its own id or its twin). */
export function liveDeployment(endpoint: Json | undefined, id: string): Json | undefined {
  const models = (endpoint?.deployedModels as Json[] | undefined) ?? [];
  return models.find((d) => String(d.id) === id) ?? models.find((d) => String(d.id) === twinId(id));
}

/** `models/<id>` and the alias of a model reference `models/<id>@<alias>`; undefined when it names a version. */
export function aliasOf(modelRef: string): { model: string; alias: string } | undefined {
  const m = /^(.*\/models\/[^/@]+)@([^/@]+)$/.exec(modelRef);
  if (!m || /^\d+$/.test(m[2] as string)) return undefined;
  return { model: m[1] as string, alias: m[2] as string };
}

/** The version a live deployed model serves: `modelVersionId`, else the `@<n>` of its model name. */
export function servedVersion(dm: Json): string | undefined {
  if (typeof dm.modelVersionId === 'string' && dm.modelVersionId !== '') return dm.modelVersionId;
  const m = /@(\d+)$/.exec(String(dm.model ?? ''));
  return m ? (m[1] as string) : undefined;
}

/** The version holding `alias` now (`models.get` of `models/<id>@<alias>`); undefined when the model or alias does not exist yet. */
export async function resolveAlias(run: Pick<Run, 'calls' | 'clients'>, model: string, alias: string): Promise<string | undefined> {
  const name = `${model}@${alias}`;
  try {
    const [m] = (await run.calls.run('read', name, () => rpcOf(run.clients.models, 'getModel')({ name }))) as unknown as [{ versionId?: string }];
    return m.versionId ? String(m.versionId) : undefined;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * Every alias of a model and the version holding it, from one `models.listVersions` (page by
 * page): one read per model, however many deployments follow its aliases. Empty when the model
 * does not exist yet.
 */
export async function modelAliases(run: Pick<Run, 'calls' | 'clients'>, model: string): Promise<ReadonlyMap<string, string>> {
  const out = new Map<string, string>();
  let pageToken: string | undefined;
  try {
    do {
      const request = { name: model, pageSize: 100, ...(pageToken ? { pageToken } : {}) };
      const [versions, , raw] = (await run.calls.run('read', `${model}:listVersions`, () => rpcOf(run.clients.models, 'listModelVersions')(request, { autoPaginate: false }))) as [{ versionId?: string; versionAliases?: string[] }[] | undefined, unknown, { nextPageToken?: string } | undefined];
      for (const v of versions ?? []) for (const a of v.versionAliases ?? []) if (v.versionId) out.set(a, String(v.versionId));
      pageToken = raw?.nextPageToken || undefined;
    } while (pageToken);
  } catch (e) {
    if (isNotFound(e)) return out;
    throw e;
  }
  return out;
}

/** The deployed model as the generic step compares it: under the manifest id, and for an alias-bound one the alias reference it was deployed from. */
export function asDesired(dm: Json, desired: Json): Json {
  return { ...dm, id: desired.id, ...(aliasOf(String(desired.model)) ? { model: desired.model } : {}) };
}

/**
 * The rollout step of an alias-bound deployment whose alias moved, with the deployed-model id the
 * deployment has once it is applied; undefined when it serves the alias holder (or nothing is
 * deployed yet, or the deployment is pinned to a version).
 */
export async function aliasRolloutStep(
  run: Run,
  e: ManifestEntry,
  desired: Json,
  liveDm: Json | undefined,
  deps: string[],
  timeoutMs: number,
  resolve: (model: string, alias: string) => Promise<string | undefined> = (model, alias) => resolveAlias(run, model, alias),
): Promise<{ step: Step; id: string } | undefined> {
  const ref = aliasOf(String(desired.model));
  if (!ref || !liveDm) return undefined;
  const served = servedVersion(liveDm);
  const holder = await resolve(ref.model, ref.alias);
  if (holder === undefined || served === holder) return undefined;
  const name = String(desired.displayName);
  const oldId = String(liveDm.id);
  const newId = oldId === e.id ? twinId(e.id as string) : (e.id as string);
  const step: Step = {
    item: item(e.key, 'DeployedModel', e.path, 'update', [{ property: 'modelVersionId', before: served, after: holder }], [
      `alias ${ref.alias}: v${served ?? '?'} → v${holder}`,
      `${name} rolls to version ${holder} of ${lastSegment(ref.model)} with the same traffic share (the alias moved after the last rollout, outside mlplane's register step)`,
    ]),
    deps,
    phase: 'apply',
    rank: RANK.deployedModel,
    target: `${e.parent}#${e.id}`,
    run: (rc) => rollOut(rc, e, desired, { oldId, newId, version: holder, model: ref.model }, timeoutMs),
  };
  return { step, id: newId };
}

/** Deploy `version` under `newId` taking `oldId`'s traffic share, then undeploy `oldId`. */
async function rollOut(rc: RunContext, e: ManifestEntry, desired: Json, r: { oldId: string; newId: string; version: string; model: string }, timeoutMs: number): Promise<void> {
  const endpointKind = VERTEX_KINDS.find((k) => k.collection === 'endpoints') as VertexKind;
  const ep = await getVertex(rc, endpointKind, e.parent);
  const models = (ep?.json.deployedModels as Json[] | undefined) ?? [];
  if (!models.some((d) => String(d.id) === r.newId)) {
    const split: Record<string, number> = { ...((ep?.json.trafficSplit as Record<string, number> | undefined) ?? {}) };
    const share = split[r.oldId] ?? 0;
    delete split[r.oldId];
    split['0'] = share;
    const deployedModel = jsonToObject(messageType('google.cloud.aiplatform.v1.DeployedModel'), { ...desired, id: r.newId, model: `${r.model}@${r.version}` });
    const request = { endpoint: e.parent, deployedModel, trafficSplit: { ...split, [r.oldId]: 0 } };
    await rc.calls.create(
      e.key,
      async () => {
        const [op] = await rc.calls.run('write', e.key, () => rpcOf(rc.clients.endpoints, 'deployModel')(request));
        await rc.wait(rc.clients.endpoints, 'deployModel', op, e.key, timeoutMs);
      },
      async () => (((await getVertex(rc, endpointKind, e.parent))?.json.deployedModels as Json[] | undefined) ?? []).some((d) => String(d.id) === r.newId),
    );
  }
  const after = await getVertex(rc, endpointKind, e.parent);
  if (!((after?.json.deployedModels as Json[] | undefined) ?? []).some((d) => String(d.id) === r.oldId)) return;
  const split = { ...((after?.json.trafficSplit as Record<string, number> | undefined) ?? {}) };
  delete split[r.oldId];
  try {
    const request = { endpoint: e.parent, deployedModelId: r.oldId, trafficSplit: split };
    const [op] = await rc.calls.run('write', e.key, () => rpcOf(rc.clients.endpoints, 'undeployModel')(request), { retryAmbiguous: true });
    await rc.wait(rc.clients.endpoints, 'undeployModel', op, e.key, timeoutMs);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * The alias rollouts of one plan: which deployed-model id each deployment has once the plan is
 * applied (for the traffic split), and one rollout at a time per endpoint (each one rewrites the
 * endpoint's split).
 */
export class AliasRollouts {
  /** Manifest id → id after the plan. */
  private readonly ids = new Map<string, string>();
  /** Live id being replaced → its successor. */
  private readonly renamed = new Map<string, string>();
  /** Endpoint → key of its last rollout step. */
  private readonly last = new Map<string, string>();
  /** Model → its aliases, read once (one `listVersions`) for this plan. */
  private readonly aliases = new Map<string, Promise<ReadonlyMap<string, string>>>();

  /** Start reading, all at once, the aliases of the models these deployed models' references follow (one list per model). */
  public prefetch(run: Run, modelRefs: readonly string[]): void {
    for (const ref of modelRefs) {
      const a = aliasOf(ref);
      if (a) quiet(this.aliasesOf(run, a.model));
    }
  }

  private aliasesOf(run: Run, model: string): Promise<ReadonlyMap<string, string>> {
    let p = this.aliases.get(model);
    if (!p) this.aliases.set(model, (p = modelAliases(run, model)));
    return p;
  }

  /** The rollout step of a deployment whose alias moved (see {@link aliasRolloutStep}), recording the ids it leaves. */
  public async step(run: Run, e: ManifestEntry, desired: Json, liveDm: Json | undefined, deps: string[], timeoutMs: number): Promise<Step | undefined> {
    const previous = this.last.get(e.parent);
    const rollout = await aliasRolloutStep(run, e, desired, liveDm, previous ? [...deps, previous] : deps, timeoutMs, async (model, alias) => (await this.aliasesOf(run, model)).get(alias));
    const id = e.id as string;
    this.ids.set(id, rollout?.id ?? (liveDm ? String(liveDm.id) : id));
    if (!rollout) return undefined;
    this.renamed.set(String(liveDm?.id), rollout.id);
    this.last.set(e.parent, e.key);
    return rollout.step;
  }

  /** The id a manifest deployment has once the plan is applied. */
  public idOf(id: string): string {
    return this.ids.get(id) ?? id;
  }

  /** A desired split (manifest ids) in the ids live after the plan. */
  public desiredSplit(want: Record<string, number>): Record<string, number> {
    return renameKeys(want, this.ids);
  }

  /** A live split as it is after the plan's rollouts (each keeps its predecessor's share). */
  public liveSplit(have: Record<string, number>): Record<string, number> {
    return renameKeys(have, this.renamed);
  }
}

function renameKeys(split: Record<string, number>, ids: ReadonlyMap<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(split).map(([id, share]) => [ids.get(id) ?? id, share]));
}
