/**
 * Plan steps per kind of resource: what each create / update / replace / delete does through the
 * SDKs, ownership errors, IAM policy merging, and the cascade of replacements.
 */
import { DeployError, type PlanAction } from '../../deploy';
import type { Manifest, ManifestEntry } from '../index';
import { isNotFound } from './clients';
import { equal, propertyChanges, summarize, topFields } from './diff';
import { createVertex, deleteVertex, desiredJson, ENV_LABEL, getVertex, PATH_LABEL, listVertex, liveJson, MONITOR_SCHEDULE_KIND, rpcOf, updateVertex, VERTEX_KINDS, type Live, type VertexKind } from './kinds';
import { jsonToObject, messageType, type Json } from './proto-json';
import { type Step, type RunContext, RANK, type Run, lastSegment, item, timeoutFor, ignoreNotFound } from './run';

/** The refusal of a same-named resource this environment does not own, with how to import it. */
export function foreignError(path: string, what: string, name: string, env: string | undefined, ours: string, importHint: string): string {
  return `[${path}] ${what} ${name} already exists and is not owned by this environment (label ${ENV_LABEL}=${env ?? '(none)'}, expected ${ours}); mlplane never adopts or overwrites it. To import it, add the labels ${ENV_LABEL}=${ours} and mlplane-path=<construct path> to it (${importHint}); otherwise rename the construct or delete the resource`;
}

/**
 * A replace that deletes first (fixed ids) takes down what lives under or on the resource (feature
 * views of a store, IAM policies): no-op steps depending on it, directly or not, are applied again.
 */
export function cascadeReplacements(steps: Step[]): Step[] {
  const replaced = new Set(steps.filter((s) => s.item.action === 'replace').map((s) => s.item.id));
  if (replaced.size === 0) return steps;
  const out: Step[] = [];
  for (const s of steps) {
    if (s.item.action === 'noop' && s.recreate && s.deps.some((d) => replaced.has(d))) {
      replaced.add(s.item.id);
      out.push({ ...s, item: { ...s.item, action: 'create', summary: [`apply ${s.item.type} again: ${s.deps.filter((d) => replaced.has(d)).join(', ')} is replaced`] }, run: s.recreate });
    } else out.push(s);
  }
  return out;
}

/** Steps in manifest order first (apply phase), then deletes by rank. */
export function order(steps: Step[], manifest: Manifest): Step[] {
  const index = new Map(manifest.entries.map((e, i) => [e.key, i]));
  const apply = steps.filter((s) => s.phase === 'apply').sort((a, b) => (index.get(a.item.id) ?? 0) - (index.get(b.item.id) ?? 0));
  const del = steps.filter((s) => s.phase === 'delete').sort((a, b) => a.rank - b.rank || (a.item.id < b.item.id ? -1 : 1));
  return [...apply, ...del];
}

/** A delete step, or a retained no-op when `retain` (data-bearing). */
export function deleteStep(id: string, type: string, path: string, target: string, rank: number, retain: boolean, run: (rc: RunContext) => Promise<void>): Step {
  if (retain) {
    return { item: item(id, type, path, 'noop', [], [`retained: ${type} ${lastSegment(target)} holds data (delete it with destroy --destroy-data)`]), deps: [], phase: 'delete', rank, target };
  }
  return { item: item(id, type, path, 'delete', [], [`delete ${type} ${lastSegment(target)}`]), deps: [], phase: 'delete', rank, target, run };
}

/** An IAM binding. */
export interface Binding {
  readonly role: string;
  readonly members?: readonly string[];
}

/** A policy as read (bindings and the etag to write back). */
export interface LivePolicy {
  readonly bindings?: readonly Binding[];
  readonly etag?: unknown;
}

/** (role, member) pairs of `desired` that `live` lacks. */
export function missingGrants(live: readonly Binding[] | undefined, desired: readonly Binding[]): { role: string; member: string }[] {
  const have = new Set((live ?? []).flatMap((b) => (b.members ?? []).map((m) => `${b.role} ${m}`)));
  return desired.flatMap((b) => (b.members ?? []).filter((m) => !have.has(`${b.role} ${m}`)).map((member) => ({ role: b.role, member })));
}

/** `live` with the bindings of `desired` added (policies are bindings to add, never to replace). */
export function mergeBindings(live: readonly Binding[] | undefined, desired: readonly Binding[]): Binding[] {
  const byRole = new Map<string, Set<string>>();
  for (const b of [...(live ?? []), ...desired]) {
    const set = byRole.get(b.role) ?? new Set<string>();
    for (const m of b.members ?? []) set.add(m);
    byRole.set(b.role, set);
  }
  return [...byRole.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([role, members]) => ({ role, members: [...members].sort() }));
}

/** An IAM policy step: grant the (role, member) pairs `live` lacks; nothing is revoked. */
export function policyStep(e: ManifestEntry, desired: Json, live: LivePolicy | undefined, deps: string[], run: (rc: RunContext) => Promise<void>): Step {
  const missing = missingGrants(live?.bindings, (desired.bindings as Binding[] | undefined) ?? []);
  const action: PlanAction = missing.length === 0 ? 'noop' : (live?.bindings ?? []).length === 0 ? 'create' : 'update';
  return {
    item: item(
      e.key,
      'IAM policy',
      e.path,
      action,
      missing.map((g) => ({ property: `bindings[${g.role}]`, after: g.member })),
      missing.map((g) => `grant ${g.role} on ${e.id} to ${g.member}`),
    ),
    deps,
    phase: 'apply',
    rank: RANK.featureView,
    target: `${e.parent}/${e.id}`,
    run,
    recreate: run,
  };
}

/** Service agents by API: their e-mail from the project number. */
const AGENTS: Readonly<Record<string, (projectNumber: string) => string>> = {
  'aiplatform.googleapis.com': (n) => `service-${n}@gcp-sa-aiplatform.iam.gserviceaccount.com`,
  'storage.googleapis.com': (n) => `service-${n}@gs-project-accounts.iam.gserviceaccount.com`,
  // BigQuery encrypts with customer-managed keys as its encryption service account.
  'bigquery.googleapis.com': (n) => `bq-${n}@bigquery-encryption.iam.gserviceaccount.com`,
};

const PROJECT_NUMBERS = new WeakMap<Run, Promise<string>>();

/**
 * The project number (Resource Manager v3 `projects.get`: the project's `name` is
 * `projects/<number>`), read once per engine call and only when something needs it.
 */
export function projectNumberOf(run: Run): Promise<string> {
  let n = PROJECT_NUMBERS.get(run);
  if (!n) {
    n = run.calls
      .run('read', `project ${run.manifest.project}`, () => run.clients.projects.getProject({ name: `projects/${run.manifest.project}` }))
      .then(([project]) => {
        const m = /^projects\/(\d+)$/.exec(String(project.name ?? ''));
        if (!m) throw new DeployError(`cannot learn the project number of ${run.manifest.project} (Resource Manager answered name '${String(project.name)}')`, run.manifest.environment);
        return m[1] as string;
      });
    PROJECT_NUMBERS.set(run, n);
  }
  return n;
}

/** Whether a policy body names a service agent (`serviceAgent:<api>`), which takes the project number to resolve. */
export function namesServiceAgents(body: Json): boolean {
  return ((body.bindings as Binding[] | undefined) ?? []).some((b) => (b.members ?? []).some((m) => m.startsWith('serviceAgent:')));
}

/**
 * Members written `serviceAgent:<api>` stand for the project's service agent of that API
 * (`service-<number>@gcp-sa-aiplatform…`, `service-<number>@gs-project-accounts…`,
 * `bq-<number>@bigquery-encryption…`), whose e-mail holds the project number.
 */
export function serviceAgents(run: Run): { resolve(body: Json): Promise<Json> } {
  return {
    async resolve(body: Json): Promise<Json> {
      const bindings = (body.bindings as Binding[] | undefined) ?? [];
      if (!namesServiceAgents(body)) return body;
      const n = await projectNumberOf(run);
      const member = (m: string) => {
        if (!m.startsWith('serviceAgent:')) return m;
        const agent = AGENTS[m.slice('serviceAgent:'.length)];
        if (!agent) throw new DeployError(`unknown service agent '${m}'; known are ${Object.keys(AGENTS).map((a) => `serviceAgent:${a}`).join(', ')}`, run.manifest.environment);
        return `serviceAccount:${agent(n)}`;
      };
      return { ...body, bindings: bindings.map((b) => ({ ...b, members: (b.members ?? []).map(member) })) };
    },
  };
}

/** Registered models: uploaded with a caller-chosen id; aliases merged, never moved back. */
export const MODEL_KIND: VertexKind = {
  family: 'vertex',
  method: 'aiplatform.projects.locations.models.upload',
  type: 'Model',
  message: 'google.cloud.aiplatform.v1.Model',
  collection: 'models',
  client: (c) => c.models,
  rpc: { create: 'uploadModel', get: 'getModel', list: 'listModels', update: 'updateModel', remove: 'deleteModel' },
  lro: { create: true, update: false },
  field: 'model',
  labelFilter: true,
  immutable: ['containerSpec', 'encryptionSpec'],
  updatable: ['displayName', 'description', 'labels'],
  dataBearing: true,
  deleteRank: RANK.model,
  timeoutMs: 30 * 60_000,
  identity: (j) => ((j.labels as Record<string, string> | undefined) ?? {})[PATH_LABEL],
  envOf: (j) => ((j.labels as Record<string, string> | undefined) ?? {})[ENV_LABEL],
};

/** The step of a registered model: upload, or update of its metadata and missing aliases. */
export async function modelStep(run: Run, e: ManifestEntry, name: string, desired: Json, live: Live | undefined, deps: string[]): Promise<Step> {
  const want = desiredJson(MODEL_KIND, desired);
  const aliases = ((want.versionAliases as string[] | undefined) ?? []).filter((a) => a !== 'default');
  if (!live) {
    return {
      item: item(e.key, 'Model', e.path, 'create', [], [`register model ${e.id} (version 1${aliases.length > 0 ? `, aliases ${aliases.join(', ')}` : ''})`]),
      deps,
      phase: 'apply',
      rank: RANK.model,
      target: name,
      run: async (rc) => {
        const request = { parent: e.parent, modelId: e.id, model: jsonToObject(messageType(MODEL_KIND.message), desired) };
        await createSettled(
          rc,
          e.key,
          async () => {
            const [op] = await rc.calls.run('write', e.key, () => rpcOf(rc.clients.models, 'uploadModel')(request));
            await rc.wait(rc.clients.models, 'uploadModel', op, e.key, timeoutFor(run, 'Model', MODEL_KIND.timeoutMs));
          },
          async () => ownedIfFound(rc, MODEL_KIND, await getVertex(rc, MODEL_KIND, name), e.path),
        );
      },
    };
  }
  const { versionAliases: _a, containerSpec, ...rest } = want;
  void _a;
  const liveJsonModel = live.json;
  if (containerSpec && !equal(containerSpec, pickShape(liveJsonModel.containerSpec, containerSpec))) {
    throw new DeployError(
      `the serving container of registered model ${e.id} changed; a model version's container is immutable on Vertex AI. Register a new version from a pipeline (addRegisterStep) or rename the model`,
      e.path,
    );
  }
  const changes = propertyChanges(rest, liveJsonModel);
  const liveAliases = ((liveJsonModel.versionAliases as string[] | undefined) ?? []).filter((a) => a !== 'default');
  let missing = aliases.filter((a) => !liveAliases.includes(a));
  if (missing.length > 0) {
    // An alias a pipeline moved to a newer version is not moved back.
    const [versions] = (await run.calls.run('read', `versions of ${name}`, () => rpcOf(run.clients.models, 'listModelVersions')({ name }))) as [unknown[]];
    const everywhere = new Set(versions.flatMap((v) => ((liveJson(MODEL_KIND, v).versionAliases as string[] | undefined) ?? [])));
    missing = missing.filter((a) => !everywhere.has(a));
  }
  const summary = [...(changes.length > 0 ? summarize('Model', changes, liveJsonModel, want) : []), ...missing.map((a) => `alias ${a} → version 1`)];
  const allChanges = [...changes, ...(missing.length > 0 ? [{ property: 'versionAliases', before: liveAliases, after: [...liveAliases, ...missing] }] : [])];
  return {
    item: item(e.key, 'Model', e.path, allChanges.length > 0 ? 'update' : 'noop', allChanges, summary),
    deps,
    phase: 'apply',
    rank: RANK.model,
    target: name,
    run: async (rc) => {
      if (changes.length > 0) await updateVertex(rc, MODEL_KIND, name, desired, topFields(changes), e.key);
      if (missing.length > 0) await rc.calls.run('write', e.key, () => rpcOf(rc.clients.models, 'mergeVersionAliases')({ name: `${name}@1`, versionAliases: missing }), { retryAmbiguous: true });
    },
  };
}

/** Restrict `live` to the keys `shape` has (recursively), for comparing immutable sub-objects. */
export function pickShape(live: unknown, shape: unknown): unknown {
  if (typeof shape !== 'object' || shape === null || Array.isArray(shape) || typeof live !== 'object' || live === null) return live;
  const out: Json = {};
  for (const k of Object.keys(shape)) out[k] = pickShape((live as Json)[k], (shape as Json)[k]);
  return out;
}

/** The step of a generic Vertex resource: create, update (mask of changed fields), replace, or no-op. */
export function vertexStep(run: Run, kind: VertexKind, e: ManifestEntry, desired: Json, want: Json, current: Live | undefined, deps: string[]): Step {
  const fixedName = e.id ? `${e.parent}/${kind.collection}/${e.id}` : undefined;
  const timeout = timeoutFor(run, kind.type, kind.timeoutMs);
  const k = { ...kind, timeoutMs: timeout };
  const find = async (rc: RunContext): Promise<Live | undefined> => {
    if (fixedName) {
      const found = await getVertex(rc, k, fixedName);
      return ownedIfFound(rc, k, found, e.path) ? found : undefined;
    }
    const id = kind.identity(want);
    const all = await listVertex(rc, k, e.parent);
    return all.find((l) => kind.identity(l.json) === id && (kind === MONITOR_SCHEDULE_KIND || kind.envOf(l.json) === rc.envLabel));
  };
  const create = async (rc: RunContext) => {
    await createSettled(
      rc,
      e.key,
      async () => {
        await createVertex(rc, k, e, desired);
      },
      async () => (await find(rc)) !== undefined,
    );
  };
  const displayName = String(desired.displayName ?? e.id ?? kind.type);
  if (!current) {
    return { item: item(e.key, kind.type, e.path, 'create', [], [`create ${kind.type} ${displayName}`]), deps, phase: 'apply', rank: kind.deleteRank, target: fixedName ?? `${kind.collection}:${kind.identity(want) ?? displayName}`, run: create };
  }
  const changes = propertyChanges(want, current.json);
  if (changes.length === 0) return { item: item(e.key, kind.type, e.path, 'noop'), deps, phase: 'apply', rank: kind.deleteRank, target: current.name, recreate: create };
  const fields = topFields(changes);
  const immutable = fields.filter((f) => kind.immutable.includes(f) || (kind.updatable !== undefined && !kind.updatable.includes(f)));
  const summary = summarize(kind.type, changes, current.json, want);
  const name = current.name;
  if (immutable.length > 0) {
    if (kind.dataBearing) {
      throw new DeployError(`${immutable.join(', ')} of ${kind.type} ${name} cannot change in place and the resource holds data; define a new one (rename the construct) and migrate, or change it back`, e.path);
    }
    if (kind.collection === 'endpoints') {
      throw new DeployError(
        `${immutable.join(', ')} of endpoint ${name} cannot change in place, and replacing a serving endpoint means downtime; define a new endpoint (a new construct id), move clients to it, then remove the old one`,
        e.path,
      );
    }
    return {
      item: item(e.key, kind.type, e.path, 'replace', changes, [`replace ${kind.type} ${displayName} (${immutable.join(', ')} cannot change in place)`, ...summary]),
      deps,
      phase: 'apply',
      rank: kind.deleteRank,
      target: name,
      run: async (rc) => {
        if (fixedName) {
          await deleteVertex(rc, k, name, e.key);
          await create(rc);
        } else {
          // Create before destroy: the new one first, then the old one.
          await createVertex(rc, k, e, desired);
          await deleteVertex(rc, k, name, e.key);
        }
      },
    };
  }
  return {
    item: item(e.key, kind.type, e.path, 'update', changes, summary),
    deps,
    phase: 'apply',
    rank: kind.deleteRank,
    target: name,
    run: (rc) => updateVertex(rc, k, name, desired, fields, e.key),
  };
}

/** The step of a deployment: deploy (no traffic yet), or mutate replicas and autoscaling in place. */
export function deployedModelStep(e: ManifestEntry, desired: Json, liveDm: Json | undefined, timeoutMs: number, deps: string[]): Step {
  const want = desiredJson({ ...MODEL_KIND, message: 'google.cloud.aiplatform.v1.DeployedModel' }, desired);
  const name = String(desired.displayName);
  if (!liveDm) {
    return {
      item: item(e.key, 'DeployedModel', e.path, 'create', [], [`deploy ${name}: ${String(desired.model).split('/').pop()} on ${lastSegment(e.parent)} (no traffic until the split is applied)`]),
      deps,
      phase: 'apply',
      rank: RANK.deployedModel,
      target: `${e.parent}#${e.id}`,
      run: async (rc) => {
        const request = { endpoint: e.parent, deployedModel: jsonToObject(messageType('google.cloud.aiplatform.v1.DeployedModel'), desired) };
        await createSettled(
          rc,
          e.key,
          async () => {
            const [op] = await rc.calls.run('write', e.key, () => rpcOf(rc.clients.endpoints, 'deployModel')(request));
            await rc.wait(rc.clients.endpoints, 'deployModel', op, e.key, timeoutMs);
          },
          async () => {
            const ep = await getVertex(rc, VERTEX_KINDS[0] as VertexKind, e.parent);
            return ((ep?.json.deployedModels as Json[] | undefined) ?? []).some((d) => String(d.id) === e.id);
          },
        );
      },
    };
  }
  const changes = propertyChanges(want, liveDm);
  if (changes.length === 0) return { item: item(e.key, 'DeployedModel', e.path, 'noop'), deps, phase: 'apply', rank: RANK.deployedModel, target: `${e.parent}#${e.id}` };
  const mutable = /^dedicatedResources\.(minReplicaCount|maxReplicaCount|autoscalingMetricSpecs)$/;
  const fixed = changes.filter((c) => !mutable.test(c.property));
  if (fixed.length > 0) {
    throw new DeployError(
      `${fixed.map((c) => c.property).join(', ')} of deployment '${name}' cannot change on a live deployed model without downtime; add a deployment with a new name (blue/green), move the traffic to it and remove the old one — mlplane then deploys the new model, shifts traffic and undeploys the old one`,
      e.path,
    );
  }
  const summary = changes.map((c) => `${name} ${c.property.replace('dedicatedResources.', '')} ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`);
  return {
    item: item(e.key, 'DeployedModel', e.path, 'update', changes, summary),
    deps,
    phase: 'apply',
    rank: RANK.deployedModel,
    target: `${e.parent}#${e.id}`,
    run: async (rc) => {
      const request = {
        endpoint: e.parent,
        deployedModel: jsonToObject(messageType('google.cloud.aiplatform.v1.DeployedModel'), { id: e.id, dedicatedResources: desired.dedicatedResources, model: desired.model }),
        updateMask: { paths: changes.map((c) => c.property.split('.').map((s) => s.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`)).join('.')) },
      };
      const [op] = await rc.calls.run('write', e.key, () => rpcOf(rc.clients.endpoints, 'mutateDeployedModel')(request), { retryAmbiguous: true });
      await rc.wait(rc.clients.endpoints, 'mutateDeployedModel', op, e.key, timeoutMs);
    },
  };
}

/** Undeploy a deployed model, moving any traffic it still has to the largest remaining one. */
export async function undeploy(rc: RunContext, endpoint: string, id: string, what: string): Promise<void> {
  const ep = await getVertex(rc, VERTEX_KINDS[0] as VertexKind, endpoint);
  if (!ep) return;
  const models = (ep.json.deployedModels as Json[] | undefined) ?? [];
  if (!models.some((d) => String(d.id) === id)) return;
  const split = { ...((ep.json.trafficSplit as Record<string, number> | undefined) ?? {}) };
  const request: Json = { endpoint, deployedModelId: id };
  if ((split[id] ?? 0) > 0) {
    const share = split[id] as number;
    delete split[id];
    const rest = Object.entries(split).sort((a, b) => b[1] - a[1]);
    if (rest.length > 0) {
      split[rest[0]?.[0] as string] = (rest[0]?.[1] ?? 0) + share;
      request.trafficSplit = split;
    }
  }
  try {
    const [op] = await rc.calls.run('write', what, () => rpcOf(rc.clients.endpoints, 'undeployModel')(request), { retryAmbiguous: true });
    await rc.wait(rc.clients.endpoints, 'undeployModel', op, what, 30 * 60_000);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/**
 * Create, settling an unknown outcome by a read: after a dropped response, a 500 or a timeout the
 * resource is looked up; it is created again (after a backoff) only when the read says it does not
 * exist. A 409 (already exists) is settled the same way.
 */
export async function createSettled(rc: RunContext, what: string, create: () => Promise<void>, exists: () => Promise<boolean>): Promise<void> {
  await rc.calls.create(what, create, exists);
}

/**
 * Whether a Vertex resource a create's settling read found (after a 409 or an unknown outcome)
 * exists and is ours. One without our ownership label was created meanwhile by someone else: it is
 * refused, never adopted (as `bqOwned` does for BigQuery).
 */
function ownedIfFound(rc: RunContext, kind: VertexKind, found: Live | undefined, path: string): boolean {
  if (!found) return false;
  if (kind.labelFilter && found.env !== rc.envLabel) {
    throw new DeployError(`${kind.type} ${found.name} was created meanwhile by someone else (it does not carry ${ENV_LABEL}=${rc.envLabel}); mlplane does not adopt it. Delete or rename it, or add the label to import it, and deploy again`, path);
  }
  return true;
}

/** Whether a BigQuery resource exists and is ours; one that is not ours is refused. */
async function bqOwned(rc: RunContext, what: string, path: string, read: () => Promise<unknown>): Promise<boolean> {
  let md: Json | undefined;
  try {
    [md] = (await rc.calls.run('read', what, read)) as unknown as [Json];
  } catch (readErr) {
    if (!isNotFound(readErr)) throw readErr;
    return false;
  }
  if (((md.labels as Record<string, string> | undefined) ?? {})[ENV_LABEL] !== rc.envLabel) {
    throw new DeployError(`${what} was created meanwhile by someone else (it does not carry ${ENV_LABEL}=${rc.envLabel}); mlplane does not adopt it`, path);
  }
  return true;
}

/**
 * Create the environment dataset; an unknown outcome or a 409 is settled by a read. Returns
 * whether this call created it (false: a concurrent run of ours did).
 */
export async function createDataset(rc: RunContext, e: ManifestEntry, desired: Json): Promise<boolean> {
  const { datasetReference: _r, ...options } = desired;
  void _r;
  let created = false;
  await rc.calls.create(
    e.key,
    async () => {
      await rc.calls.run('write', e.key, () => rc.clients.bigquery.createDataset(e.id as string, options));
      created = true;
    },
    () => bqOwned(rc, `BigQuery dataset ${e.id as string}`, e.path, () => rc.clients.bigquery.dataset(e.id as string).getMetadata()),
  );
  return created;
}

/** Create a table or view; an unknown outcome or a 409 is settled by a read. */
export async function createTable(rc: RunContext, e: ManifestEntry, desired: Json): Promise<void> {
  const id = e.id as string;
  const { tableReference: _r, ...options } = desired;
  void _r;
  await rc.calls.create(
    e.key,
    async () => {
      await rc.calls.run('write', e.key, () => rc.dataset.createTable(id, options));
    },
    () => bqOwned(rc, `BigQuery table ${id}`, e.path, () => rc.dataset.table(id).getMetadata()),
  );
}

/** Delete a table (already gone counts as done). */
export async function deleteTable(rc: RunContext, what: string, id: string): Promise<void> {
  await rc.calls.run('write', what, () => rc.dataset.table(id).delete(), { retryAmbiguous: true }).catch(ignoreNotFound);
}

/**
 * BigQuery may leave out a field at its default (`autodetect: false`, `useLegacySql: false`): where
 * the desired value is a default (false, 0, '') and live has no such key, take live as that value.
 */
export function normalizeBq(live: Json, desired: Json): Json {
  const out: Json = { ...live };
  for (const [k, want] of Object.entries(desired)) {
    const have = out[k];
    if (have === undefined && (want === false || want === 0 || want === '')) out[k] = want;
    else if (typeof want === 'object' && want !== null && !Array.isArray(want) && typeof have === 'object' && have !== null && !Array.isArray(have)) out[k] = normalizeBq(have as Json, want as Json);
  }
  return out;
}
