/**
 * Read live state through the SDKs (owned resources found by the ownership labels, lists
 * preferred) and build the plan's steps.
 */
import { DeployError, type DestroyOptions, type Plan } from '../../deploy';
import type { ManifestEntry } from '../index';
import { Calls, classifyGcp, cloudError, isAlreadyExists, isAmbiguous, isNotFound } from './clients';
import { equal, nonAdditive, propertyChanges, summarize, topFields, trafficSummary } from './diff';
import { deleteVertex, desiredJson, ENV_LABEL, PATH_LABEL, firstPageVertex, listAllVertex, listVertex, MONITOR_SCHEDULE_KIND, rpcOf, VERTEX_KINDS, type Live, type VertexKind } from './kinds';
import { LOCK_TABLE } from './lock';
import { observePlatform, rewritePolicy } from './platform';
import { jsonToObject, messageType, type Json } from './proto-json';
import { type Step, type Observed, RANK, type Run, lastSegment, item, timeoutFor, quiet, ignoreNotFound, stripUndefined, pickTop } from './run';
import { AliasRollouts, asDesired, liveDeployment } from './alias';
import { foreignError, cascadeReplacements, order, deleteStep, type Binding, type LivePolicy, mergeBindings, namesServiceAgents, policyStep, projectNumberOf, serviceAgents, MODEL_KIND, modelStep, vertexStep, deployedModelStep, undeploy, createDataset, createTable, deleteTable, normalizeBq } from './steps';

/** The generic Vertex kind of a manifest entry, if it has one. */
export function vertexKindOf(e: ManifestEntry): VertexKind | undefined {
  if (e.method === 'aiplatform.projects.locations.schedules.create' && e.schema.kind === 'proto' && e.schema.message.includes('v1beta1')) return MONITOR_SCHEDULE_KIND;
  return VERTEX_KINDS.find((k) => k.method === e.method);
}

/**
 * Whether applying `e` with `action` waits for a long-running operation (a create or update that
 * answers with an operation the engine polls): Vertex endpoints, models, datasets, deployed
 * models, metadata stores and the like.
 */
export function isLongRunning(e: ManifestEntry, action: string): boolean {
  if (e.method === 'aiplatform.projects.locations.endpoints.deployModel' || e.method === 'aiplatform.projects.locations.metadataStores.create') return action !== 'delete';
  const kind = e.method === MODEL_KIND.method ? MODEL_KIND : vertexKindOf(e);
  if (!kind) return false;
  return action === 'create' || action === 'replace' ? kind.lro.create : action === 'update' ? kind.lro.update : false;
}

/**
 * Read live state and build the plan. A read that fails (401/403/5xx/timeout, after retries)
 * stops everything: a resource is never taken for deleted because it could not be read.
 */
export async function observe(run: Run, mode: 'deploy' | 'destroy', destroyOptions: DestroyOptions): Promise<Observed> {
  try {
    return await observeLive(run, mode, destroyOptions);
  } catch (e) {
    if (e instanceof DeployError) throw e;
    const c = cloudError(e);
    const url = String((e as { config?: { url?: unknown } }).config?.url ?? '');
    throw new DeployError(
      `could not read the live state${url ? ` (${new URL(url).pathname})` : ''}: ${c.status ? `HTTP ${c.status}${c.rpcStatus ? ` ${c.rpcStatus}` : ''}: ` : ''}${c.message}; nothing was changed and nothing is assumed deleted — fix access or retry later`,
      run.manifest.environment,
      classifyGcp(e).retry,
    );
  }
}

/** `observe` without the error wrapping. */
export async function observeLive(run: Run, mode: 'deploy' | 'destroy', destroyOptions: DestroyOptions): Promise<Observed> {
  const { manifest, bodies, ctx, input } = run;
  const env = ctx.envLabel;
  const steps: Step[] = [];
  const foreign: string[] = [];
  const managed = manifest.entries;
  const managedKeys = new Set(managed.map((e) => e.key));
  const depsOf = (e: ManifestEntry) => e.dependsOn.filter((d) => managedKeys.has(d));
  const retainAll = mode === 'destroy' && !destroyOptions.destroyData;
  const platform = quiet(observePlatform(run, mode, destroyOptions, foreign));

  // Every first-round read goes out at once: the Vertex collections (one list each, and the first
  // page of the unfiltered list of each collection holding a named entry), the dataset and its
  // tables, the metadata stores; second-round reads (tables' metadata, policies) follow.
  const project = input.settings.project;
  const parent = `projects/${project}/locations/${input.settings.region}`;
  const reads = liveReads(run);
  const { list } = reads;
  for (const kind of [MODEL_KIND, ...VERTEX_KINDS, MONITOR_SCHEDULE_KIND]) if (kind.collection !== 'featureViews') void quiet(list(kind, parent));
  // A named entry missing from its owned list is looked for among all the collection's resources
  // (one of that name without our label is refused, or adopted); on a first deploy every named
  // entry is missing. The unfiltered list's first page goes out with the owned lists: a collection
  // that fits in one page is answered from it, without a second round; a longer one costs one
  // page more per read of the live state when nothing is missing (a no-op redeploy).
  for (const { kind, entry } of namedEntries(managed)) reads.firstPage(kind, entry.parent);
  for (const e of managed.filter((x) => x.method === 'aiplatform.projects.locations.metadataStores.create')) void quiet(reads.metadataStore(`${e.parent}/metadataStores/${e.id}`));
  // Second round, sent together, for the collections longer than one page only: an entry that is
  // not among its collection's owned resources has the unfiltered list read on from the first
  // page's token. The loops below ask for the same lists, collection after collection; asking for
  // them here as soon as the owned lists are in makes them one round.
  void quiet(secondRound(reads, managed, parent, env));
  // The collections an earlier read in this run listed unfiltered are read on as soon as their first pages are in.
  for (const key of run.listedUnfiltered) reads.listUnfiltered(key);
  // The project number (service agents' e-mails), read once per run, with the first round.
  if (mode === 'deploy' && managed.some((e) => namesServiceAgents(bodies.get(e.key) as Json))) void quiet(projectNumberOf(run));

  // ---- BigQuery: the environment dataset, its tables, their policies
  const dsEntry = managed.find((e) => e.method === 'bigquery.datasets.insert');
  const datasetId = dsEntry?.id ?? `${manifest.environment}`;
  const dataset = run.clients.bigquery.dataset(datasetId);
  let datasetPresent = false;
  let lockPresent = false;
  const liveTables = new Map<string, Json>();
  if (dsEntry) {
    const desired = bodies.get(dsEntry.key) as Json;
    // The tables are listed together with the dataset's read (a missing dataset lists as not found).
    const tableList = quiet(run.calls.run('read', `tables of ${datasetId}`, () => dataset.getTables({ autoPaginate: true })).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    }));
    let live: Json | undefined;
    try {
      const [md] = await run.calls.run('read', `dataset ${datasetId}`, () => dataset.getMetadata());
      live = md as Json;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const liveEnv = ((live?.labels as Record<string, string> | undefined) ?? {})[ENV_LABEL];
    if (live && liveEnv !== env) {
      foreign.push(foreignError(dsEntry.path, 'BigQuery dataset', `${project}:${datasetId}`, liveEnv, env, `bq update --set_label ${ENV_LABEL}:${env} ${project}:${datasetId}`));
    } else if (live) {
      datasetPresent = true;
      const [tables] = (await tableList) ?? [[]];
      for (const t of tables) liveTables.set(String(t.id), t.metadata as Json);
      lockPresent = liveTables.has(LOCK_TABLE);
    }
    if (mode === 'deploy') {
      if (!live) {
        steps.push({
          item: item(dsEntry.key, 'BigQuery dataset', dsEntry.path, 'create', [], [`create BigQuery dataset ${datasetId} (${String(desired.location)})`]),
          deps: depsOf(dsEntry),
          phase: 'apply',
          rank: RANK.dataset,
          target: `${project}:${datasetId}`,
          run: async (rc) => {
            await createDataset(rc, dsEntry, desired);
          },
        });
      } else if (liveEnv === env) {
        const want = { friendlyName: desired.friendlyName, description: desired.description, labels: desired.labels, defaultEncryptionConfiguration: desired.defaultEncryptionConfiguration };
        const changes = propertyChanges(stripUndefined(want), live);
        // Access entries are added, never removed: BigQuery lists its default entries too.
        const liveAccess = (live.access as Json[] | undefined) ?? [];
        const key = (a: Json) => JSON.stringify(Object.keys(a).sort().map((k) => [k, a[k]]));
        const missingAccess = ((desired.access as Json[] | undefined) ?? []).filter((a) => !liveAccess.some((l) => key(l) === key(a)));
        const access = [...liveAccess, ...missingAccess];
        if (missingAccess.length > 0) changes.push({ property: 'access', before: liveAccess, after: access });
        const summary = [
          ...(changes.some((c) => c.property !== 'access') ? summarize('BigQuery dataset', changes.filter((c) => c.property !== 'access'), live, desired) : []),
          ...missingAccess.map((a) => `grant ${String(a.role)} on dataset ${datasetId} to ${String(a.userByEmail ?? a.groupByEmail ?? a.specialGroup ?? a.domain ?? JSON.stringify(a))}`),
        ];
        const etag = live.etag as string | undefined;
        steps.push({
          item: item(dsEntry.key, 'BigQuery dataset', dsEntry.path, changes.length > 0 ? 'update' : 'noop', changes, summary),
          deps: depsOf(dsEntry),
          phase: 'apply',
          rank: RANK.dataset,
          target: `${project}:${datasetId}`,
          run: async (rc) => {
            const patch = { ...pickTop(desired, topFields(changes).filter((f) => f !== 'access')), ...(missingAccess.length > 0 ? { access } : {}), etag };
            await rc.calls.run('write', dsEntry.key, () => rc.dataset.setMetadata(patch), { retryAmbiguous: true });
          },
        });
      }
    } else if (live && liveEnv === env) {
      const retainDataset = retainAll || (dsEntry.retain && !destroyOptions.destroyData);
      // Deleting the dataset deletes every table in it: one this environment does not own stops the destroy.
      const notOurs = (tables: ReadonlyMap<string, Json>) => [...tables].filter(([id, t]) => id !== LOCK_TABLE && ((t.labels as Record<string, string> | undefined) ?? {})[ENV_LABEL] !== env).map(([id]) => id);
      if (!retainDataset) {
        for (const id of notOurs(liveTables)) {
          foreign.push(`[${dsEntry.path}] BigQuery dataset ${project}:${datasetId} holds table ${id}, which this environment does not own (no label ${ENV_LABEL}=${env}); deleting the dataset would delete it. Move it out (bq cp, then bq rm) or label it ${ENV_LABEL}=${env} if it is this environment's`);
        }
      }
      steps.push(deleteStep(dsEntry.key, 'BigQuery dataset', dsEntry.path, `${project}:${datasetId}`, RANK.dataset, retainDataset, async (rc) => {
        // Listed again right before the delete: only our own lock table may remain (it goes with the dataset).
        const [now] = await rc.calls.run('read', `tables of ${datasetId}`, () => rc.dataset.getTables({ autoPaginate: true }));
        const left = [...now].map((t) => [String(t.id), t.metadata as Json] as const);
        const stray = notOurs(new Map(left));
        const ours = left.filter(([id]) => id !== LOCK_TABLE && !stray.includes(id)).map(([id]) => id);
        if (stray.length > 0 || ours.length > 0) {
          throw new DeployError(`BigQuery dataset ${project}:${datasetId} is not empty (${[...stray.map((t) => `${t}, not owned by this environment`), ...ours].join('; ')}); it was not deleted`, dsEntry.path);
        }
        await rc.calls.run('write', dsEntry.key, () => rc.dataset.delete({ force: left.length > 0 }), { retryAmbiguous: true }).catch(ignoreNotFound);
      }));
    }
  }

  const tableEntries = managed.filter((e) => e.method === 'bigquery.tables.insert');
  // Independent reads go out together.
  const tableReads = new Map(
    tableEntries
      .filter((e) => liveTables.has(e.id as string))
      .map((e) => [e.id as string, quiet(run.calls.run('read', `table ${datasetId}.${e.id}`, () => dataset.table(e.id as string).getMetadata()))] as const),
  );
  const tablePolicyEntries = managed.filter((e) => e.method === 'bigquery.tables.setIamPolicy');
  const readTablePolicy = async (calls: Calls, id: string): Promise<LivePolicy> => {
    const [policy] = await calls.run('read', `policy ${datasetId}.${id}`, () => dataset.table(id).getIamPolicy());
    return policy as LivePolicy;
  };
  const tablePolicies = new Map(
    tablePolicyEntries
      .filter((e) => mode === 'deploy' && liveTables.has(e.id as string))
      .map((e) => [e.id as string, quiet(readTablePolicy(run.calls, e.id as string))] as const),
  );
  const desiredTables = new Set(tableEntries.map((e) => e.id as string));
  /** The policy of each table this run creates that has a policy entry, read right after the create (its policy step edits it). */
  const policyAfterCreate = new Map<string, Promise<LivePolicy>>();
  const withPolicy = new Set(tablePolicyEntries.map((x) => x.id as string));
  for (const e of tableEntries) {
    const id = e.id as string;
    const desired = bodies.get(e.key) as Json;
    const listed = liveTables.get(id);
    let live: Json | undefined;
    if (listed) {
      const [md] = (await tableReads.get(id)) as unknown as [Json];
      live = md;
    }
    const liveEnv = ((live?.labels as Record<string, string> | undefined) ?? {})[ENV_LABEL];
    if (live && liveEnv !== env) {
      foreign.push(foreignError(e.path, 'BigQuery table', `${project}:${datasetId}.${id}`, liveEnv, env, `bq update --set_label ${ENV_LABEL}:${env} ${project}:${datasetId}.${id}`));
      continue;
    }
    const type = desired.view ? 'BigQuery view' : 'BigQuery table';
    const rank = desired.view ? RANK.view : RANK.table;
    if (mode === 'destroy') {
      if (live) steps.push(deleteStep(e.key, type, e.path, `${datasetId}.${id}`, rank, e.retain && !destroyOptions.destroyData, (rc) => deleteTable(rc, e.key, id)));
      continue;
    }
    if (!live) {
      steps.push({
        item: item(e.key, type, e.path, 'create', [], [`create ${type} ${id}${desired.schema ? ` (${((desired.schema as Json).fields as unknown[]).length} columns)` : ''}`]),
        deps: depsOf(e),
        phase: 'apply',
        rank,
        target: `${datasetId}.${id}`,
        run: async (rc) => {
          await createTable(rc, e, desired);
          // Its policy is read now, while what its grants wait for is still being created.
          if (withPolicy.has(id)) policyAfterCreate.set(id, quiet(readTablePolicy(rc.calls, id)));
        },
      });
      continue;
    }
    const want: Json = {};
    for (const k of ['friendlyName', 'description', 'labels', 'schema', 'view', 'timePartitioning', 'clustering', 'externalDataConfiguration', 'encryptionConfiguration']) if (desired[k] !== undefined) want[k] = desired[k];
    const changes = propertyChanges(want, normalizeBq(live, want));
    const schemaChange = changes.find((c) => c.property.startsWith('schema'));
    if (schemaChange) {
      const why = nonAdditive(live.schema, desired.schema);
      if (why) {
        throw new DeployError(
          `schema change of ${type} ${project}:${datasetId}.${id} is not additive: ${why}. BigQuery only adds NULLABLE columns or relaxes REQUIRED → NULLABLE in place; define a new dataset version (a new table) and migrate the data, or make the change additive`,
          e.path,
        );
      }
    }
    const partition = changes.find((c) => c.property === 'timePartitioning.type' || c.property === 'timePartitioning.field' || c.property === 'encryptionConfiguration.kmsKeyName');
    if (partition) {
      throw new DeployError(`${partition.property} of ${type} ${project}:${datasetId}.${id} cannot change in place (${JSON.stringify(partition.before)} → ${JSON.stringify(partition.after)}); BigQuery would need a new table: define a new dataset version and migrate the data`, e.path);
    }
    const normalizedChanges = schemaChange ? [...changes.filter((c) => !c.property.startsWith('schema')), { property: 'schema.fields', before: (live.schema as Json | undefined)?.fields, after: (desired.schema as Json).fields }] : changes;
    steps.push({
      item: item(e.key, type, e.path, changes.length > 0 ? 'update' : 'noop', normalizedChanges, changes.length > 0 ? summarize(type, normalizedChanges, live, desired) : []),
      deps: depsOf(e),
      phase: 'apply',
      rank,
      target: `${datasetId}.${id}`,
      run: async (rc) => {
        await rc.calls.run('write', e.key, () => rc.dataset.table(id).setMetadata({ ...pickTop(desired, topFields(changes)), etag: live?.etag as string | undefined }), { retryAmbiguous: true });
      },
    });
  }
  // Owned tables no longer defined: views are dropped; tables hold data and stay unless destroy --destroy-data.
  for (const [id, listed] of liveTables) {
    if (id === LOCK_TABLE || desiredTables.has(id)) continue;
    const labels = (listed.labels as Record<string, string> | undefined) ?? {};
    if (labels[ENV_LABEL] !== env) continue;
    const isView = listed.type === 'VIEW';
    const retain = !isView && (mode === 'deploy' || !destroyOptions.destroyData);
    steps.push(deleteStep(`bigquery.table/${id}`, isView ? 'BigQuery view' : 'BigQuery table', labels[PATH_LABEL] ?? id, `${datasetId}.${id}`, isView ? RANK.view : RANK.table, retain, (rc) => deleteTable(rc, `bigquery.table/${id}`, id)));
  }
  const agents = serviceAgents(run);
  for (const e of tablePolicyEntries) {
    if (mode === 'destroy') continue;
    const id = e.id as string;
    const desired = await agents.resolve(bodies.get(e.key) as Json);
    const live = liveTables.has(id) ? await (tablePolicies.get(id) ?? readTablePolicy(run.calls, id)) : undefined;
    steps.push(
      policyStep(e, desired, live, depsOf(e), async (rc) => {
        // The policy as read under the lock (or right after the table's create), edited on its etag.
        await rewritePolicy(
          rc,
          e.key,
          () => readTablePolicy(rc.calls, id),
          (policy) => rc.dataset.table(id).setIamPolicy(policy as never),
          (bindings) => mergeBindings(bindings as Binding[], desired.bindings as Binding[]),
          live ?? policyAfterCreate.get(id),
        );
      }),
    );
  }

  // ---- Vertex AI
  const claimed = new Set<string>();

  // Models (upload with a caller-chosen id).
  const modelKind = MODEL_KIND;
  const liveModels = await list(modelKind, parent);
  const ownedModels = liveModels.filter((m) => m.env === env);
  const modelEntries = managed.filter((e) => e.method === 'aiplatform.projects.locations.models.upload');
  for (const e of modelEntries) {
    const name = `${e.parent}/models/${e.id}`;
    const desired = bodies.get(e.key) as Json;
    let live = ownedModels.find((m) => m.name === name);
    if (!live) {
      const got = await reads.byName(modelKind, e.parent, name);
      if (got && got.env !== env) {
        foreign.push(foreignError(e.path, 'Vertex AI model', name, got.env, env, `gcloud ai models update ${e.id} --region=${input.settings.region} --update-labels=${ENV_LABEL}=${env}`));
        continue;
      }
      live = got;
    }
    if (live) claimed.add(live.name);
    if (mode === 'destroy') {
      if (live) steps.push(deleteStep(e.key, 'Model', e.path, name, RANK.model, retainAll || (e.retain && !destroyOptions.destroyData), (rc) => deleteVertex(rc, modelKind, name, e.key)));
      continue;
    }
    steps.push(await modelStep(run, e, name, desired, live, depsOf(e)));
  }

  for (const m of ownedModels) {
    if (claimed.has(m.name)) continue;
    claimed.add(m.name);
    const path = ((m.json.labels as Record<string, string> | undefined) ?? {})[PATH_LABEL] ?? lastSegment(m.name);
    steps.push(deleteStep(`vertex.model/${lastSegment(m.name)}`, 'Model', path, m.name, RANK.model, !(mode === 'destroy' && destroyOptions.destroyData), (rc) => deleteVertex(rc, modelKind, m.name, m.name)));
  }

  // Endpoints, deployed models, traffic.
  const endpointKind = VERTEX_KINDS.find((k) => k.collection === 'endpoints') as VertexKind;
  const liveEndpoints = await list(endpointKind, parent);
  const dmEntries = managed.filter((e) => e.method === 'aiplatform.projects.locations.endpoints.deployModel');
  const trafficEntries = managed.filter((e) => e.method === 'aiplatform.projects.locations.endpoints.patch');

  // Generic Vertex kinds.
  for (const kind of [...VERTEX_KINDS, MONITOR_SCHEDULE_KIND]) {
    const entries = managed.filter((e) => vertexKindOf(e) === kind);
    const parents = new Set<string>([...entries.map((e) => e.parent)]);
    if (kind.collection !== 'featureViews') parents.add(parent);
    else {
      // Feature views live under the environment's owned stores.
      const storeKind = VERTEX_KINDS.find((k) => k.collection === 'featureOnlineStores') as VertexKind;
      for (const s of (await list(storeKind, parent)).filter((x) => x.env === env)) parents.add(s.name);
    }
    const live: Live[] = [];
    for (const p of parents) if (kind !== endpointKind) void list(kind, p);
    for (const p of parents) {
      if (kind.collection === 'featureViews' && !(await list(VERTEX_KINDS.find((k) => k.collection === 'featureOnlineStores') as VertexKind, parent)).some((s) => s.name === p && s.env === env)) continue;
      live.push(...(kind === endpointKind ? liveEndpoints : await list(kind, p)));
    }
    const monitorNames = new Set(managed.filter((e) => e.method === 'aiplatform.projects.locations.modelMonitors.create').map((e) => `${e.parent}/modelMonitors/${e.id}`));
    const owned = live.filter((l) => (kind === MONITOR_SCHEDULE_KIND ? [...monitorNames].some((m) => kind.identity(l.json) === `monitor|${m}`) : kind.envOf(l.json) === env) || (!kind.labelFilter && kind.envOf(l.json) === undefined && kind.collection === 'modelMonitors' && monitorNames.has(l.name)));
    const byIdentity = new Map<string, Live[]>();
    for (const l of owned) {
      const id = kind.identity(l.json);
      if (id === undefined) continue;
      byIdentity.set(id, [...(byIdentity.get(id) ?? []), l]);
    }
    for (const e of entries) {
      const desired = bodies.get(e.key) as Json;
      const want = desiredJson(kind, desired);
      let current: Live | undefined;
      if (e.id) {
        const name = `${e.parent}/${kind.collection}/${e.id}`;
        current = owned.find((l) => l.name === name);
        if (!current) {
          const got = await reads.byName(kind, e.parent, name);
          if (got && kind.envOf(got.json) !== env && kind.collection !== 'modelMonitors') {
            foreign.push(foreignError(e.path, `Vertex AI ${kind.type}`, name, got.env, env, `add the labels with the console, gcloud or the REST API (${kind.collection}.patch)`));
            continue;
          }
          current = got;
        }
      } else {
        const id = kind.identity(want);
        const found = id !== undefined ? (byIdentity.get(id) ?? []) : [];
        current = found[0];
        // Duplicates (from an earlier interrupted run outside mlplane's journal) are removed.
        for (const dup of found.slice(1)) {
          claimed.add(dup.name);
          if (mode === 'deploy') steps.push(deleteStep(`${e.key}#duplicate:${lastSegment(dup.name)}`, kind.type, e.path, dup.name, kind.deleteRank, false, (rc) => deleteVertex(rc, kind, dup.name, e.key)));
        }
      }
      if (current) claimed.add(current.name);
      if (mode === 'destroy') {
        if (current) {
          const keep = retainAll ? e.retain || kind.dataBearing : e.retain && !destroyOptions.destroyData;
          const c = current;
          steps.push(deleteStep(e.key, kind.type, e.path, c.name, kind.deleteRank, keep, (rc) => deleteVertex(rc, kind, c.name, e.key, kind.collection === 'featureOnlineStores' ? { force: true } : {})));
        }
        continue;
      }
      steps.push(vertexStep(run, kind, e, desired, want, current, depsOf(e)));
    }
    // Owned resources nothing defines any more.
    for (const l of owned) {
      if (claimed.has(l.name)) continue;
      claimed.add(l.name);
      const keep = kind.dataBearing && !(mode === 'destroy' && destroyOptions.destroyData);
      const path = ((l.json.labels as Record<string, string> | undefined) ?? {})[PATH_LABEL] ?? lastSegment(l.name);
      steps.push(deleteStep(`${kind.collection}/${lastSegment(l.name)}`, kind.type, path, l.name, kind.deleteRank, keep, (rc) => deleteVertex(rc, kind, l.name, l.name, kind.collection === 'featureOnlineStores' ? { force: true } : {})));
    }
  }

  // Deployed models and traffic of owned endpoints.
  const ownedEndpoints = liveEndpoints.filter((l) => l.env === env);
  const dmNames = new Map<string, string>();
  for (const e of dmEntries) dmNames.set(e.id as string, String((bodies.get(e.key) as Json).displayName));
  for (const ep of ownedEndpoints) for (const dm of (ep.json.deployedModels as Json[] | undefined) ?? []) if (!dmNames.has(String(dm.id))) dmNames.set(String(dm.id), String(dm.displayName ?? dm.id));
  const desiredDms = new Set<string>();
  const rollouts = new AliasRollouts();
  // The aliases of every model a live deployment follows are read together, one list per model.
  if (mode === 'deploy') rollouts.prefetch(run, dmEntries.filter((e) => liveDeployment(ownedEndpoints.find((x) => x.name === e.parent)?.json, e.id as string)).map((e) => String((bodies.get(e.key) as Json).model)));
  for (const e of dmEntries) {
    const endpointName = e.parent;
    const ep = ownedEndpoints.find((x) => x.name === endpointName);
    const liveDm = liveDeployment(ep?.json, e.id as string);
    desiredDms.add(`${endpointName}|${e.id}`);
    if (liveDm) desiredDms.add(`${endpointName}|${String(liveDm.id)}`);
    if (mode === 'destroy') continue;
    const desired = bodies.get(e.key) as Json;
    // A deployment following an alias that moved rolls to the alias holder (./alias.ts).
    const rollout = await rollouts.step(run, e, desired, liveDm, depsOf(e), timeoutFor(run, 'DeployedModel', 30 * 60_000));
    steps.push(rollout ?? deployedModelStep({ ...e, id: rollouts.idOf(e.id as string) }, desired, liveDm && asDesired(liveDm, desired), timeoutFor(run, 'DeployedModel', 30 * 60_000), depsOf(e)));
  }
  for (const e of trafficEntries) {
    if (mode === 'destroy') continue;
    const name = `${e.parent}/endpoints/${e.id}`;
    const ep = ownedEndpoints.find((x) => x.name === name);
    const desired = bodies.get(e.key) as Json;
    const want = rollouts.desiredSplit((desired.trafficSplit as Record<string, number> | undefined) ?? {});
    const have = rollouts.liveSplit((ep?.json.trafficSplit as Record<string, number> | undefined) ?? {});
    const same = equal(want, have);
    steps.push({
      item: item(e.key, 'Endpoint traffic', e.path, same ? 'noop' : 'update', same ? [] : [{ property: 'trafficSplit', before: have, after: want }], same ? [] : [trafficSummary(have, want, dmNames)]),
      deps: depsOf(e),
      phase: 'apply',
      rank: RANK.endpoint,
      target: name,
      run: async (rc) => {
        const request = { endpoint: { name, displayName: desired.displayName, trafficSplit: want }, updateMask: { paths: ['traffic_split'] } };
        await rc.calls.run('write', e.key, () => rpcOf(rc.clients.endpoints, 'updateEndpoint')(request), { retryAmbiguous: true });
      },
    });
  }
  // Deployed models no desired deployment names: undeployed after traffic moved away (deploy), or all (destroy).
  for (const ep of ownedEndpoints) {
    const orphans = ((ep.json.deployedModels as Json[] | undefined) ?? []).filter((d) => mode === 'destroy' || !desiredDms.has(`${ep.name}|${String(d.id)}`));
    let previous: string | undefined;
    for (const dm of orphans) {
      const key = `vertex.deployedModel/${lastSegment(ep.name)}/${String(dm.id)}`;
      const step = deleteStep(key, 'DeployedModel', `${String(dm.displayName ?? dm.id)} on ${lastSegment(ep.name)}`, `${ep.name}#${String(dm.id)}`, RANK.deployedModel, false, (rc) => undeploy(rc, ep.name, String(dm.id), key));
      steps.push(previous ? { ...step, deps: [previous] } : step);
      previous = key;
    }
  }

  // Metadata store: a project-wide singleton Vertex also creates by itself; ensured, never deleted.
  for (const e of managed.filter((x) => x.method === 'aiplatform.projects.locations.metadataStores.create')) {
    if (mode === 'destroy') continue;
    const name = `${e.parent}/metadataStores/${e.id}`;
    const exists = await reads.metadataStore(name);
    const desired = bodies.get(e.key) as Json;
    steps.push({
      item: item(e.key, 'MetadataStore', e.path, exists ? 'noop' : 'create', [], exists ? [] : [`create Vertex ML Metadata store ${e.id}`]),
      deps: depsOf(e),
      phase: 'apply',
      rank: RANK.dataBearing,
      target: name,
      run: async (rc) => {
        try {
          const [op] = await rc.calls.run('write', e.key, () => rpcOf(rc.clients.metadata, 'createMetadataStore')({ parent: e.parent, metadataStoreId: e.id, metadataStore: jsonToObject(messageType('google.cloud.aiplatform.v1.MetadataStore'), desired) }));
          await rc.wait(rc.clients.metadata, 'createMetadataStore', op, e.key, timeoutFor(run, 'MetadataStore', 600_000));
        } catch (err) {
          if (!isAlreadyExists(err) && !isAmbiguous(err)) throw err;
        }
      },
    });
  }

  // Feature view policies (read all at once).
  const viewPolicyEntries = managed.filter((x) => mode === 'deploy' && x.method === 'aiplatform.projects.locations.featureOnlineStores.featureViews.setIamPolicy');
  const viewPolicies = new Map<string, Promise<LivePolicy | undefined>>();
  for (const e of viewPolicyEntries) {
    const resource = `${e.parent}/featureViews/${e.id}`;
    viewPolicies.set(
      resource,
      quiet(
        run.calls.run('read', `policy ${resource}`, () => rpcOf(run.clients.featureStores, 'getIamPolicy')({ resource })).then(
          ([policy]) => policy as LivePolicy,
          (err: unknown) => {
            if (isNotFound(err)) return undefined;
            throw err;
          },
        ),
      ),
    );
  }
  for (const e of viewPolicyEntries) {
    const resource = `${e.parent}/featureViews/${e.id}`;
    const desired = await agents.resolve(bodies.get(e.key) as Json);
    const read = async (calls: Calls): Promise<LivePolicy | undefined> => {
      try {
        const [policy] = await calls.run('read', `policy ${resource}`, () => rpcOf(run.clients.featureStores, 'getIamPolicy')({ resource }));
        return policy as LivePolicy;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };
    const live = await viewPolicies.get(resource);
    steps.push(
      policyStep(e, desired, live, depsOf(e), async (rc) => {
        const current = (await read(rc.calls)) ?? { bindings: [] };
        const policy = { bindings: mergeBindings(current.bindings, desired.bindings as Binding[]), ...(current.etag ? { etag: current.etag } : {}) };
        await rc.calls.run('write', e.key, () => rpcOf(rc.clients.featureStores, 'setIamPolicy')({ resource, policy }), { retryAmbiguous: true });
      }),
    );
  }

  // Service accounts, the staging bucket, KMS keys and IAM policies (read alongside everything above).
  steps.push(...(await platform));

  if (foreign.length > 0) throw new DeployError(`refusing to touch resources this environment does not own:\n  ${foreign.join('\n  ')}`, manifest.environment);
  return { manifest, steps: cascadeReplacements(order(steps, manifest)), lockPresent, datasetPresent };
}

/**
 * The entries with a caller-chosen id of the label-filtered collections (models, endpoints, …):
 * those `byName` may look for among all the collection's resources. (Feature views are listed
 * under their stores, later.)
 */
function namedEntries(managed: readonly ManifestEntry[]): { kind: VertexKind; entry: ManifestEntry }[] {
  const kinds = [MODEL_KIND, ...VERTEX_KINDS].filter((k) => k.labelFilter && k.collection !== 'featureViews');
  return kinds.flatMap((kind) => managed.filter((e) => e.id && (kind === MODEL_KIND ? e.method === MODEL_KIND.method : vertexKindOf(e) === kind)).map((entry) => ({ kind, entry })));
}

/**
 * Start the unfiltered list of every label-filtered collection in which an entry with a
 * caller-chosen id is missing from the owned resources: exactly the lists `byName` reads for
 * those entries, at once (beyond their first pages, already sent, only for collections longer
 * than one page).
 */
async function secondRound(reads: LiveReads, managed: readonly ManifestEntry[], parent: string, env: string): Promise<void> {
  await Promise.all(
    namedEntries(managed).map(async ({ kind, entry: e }) => {
      const name = `${e.parent}/${kind.collection}/${e.id as string}`;
      // Models are listed in the location only; the other collections in each entry's parent.
      const owned = await reads.list(kind, kind === MODEL_KIND ? parent : e.parent);
      if (!owned.some((l) => l.name === name && (kind === MODEL_KIND ? l.env : kind.envOf(l.json)) === env)) void quiet(reads.byName(kind, e.parent, name));
    }),
  );
}

/** The live-state reads of one observation, each sent once and shared. */
interface LiveReads {
  /** The owned resources of a collection (filtered by the ownership label where the API can). */
  list(kind: VertexKind, parent: string): Promise<Live[]>;
  /**
   * The resource of a caller-chosen name, owned or not, found in one unfiltered list of its
   * collection (shared by every entry of that collection) rather than one get per resource: its
   * first page (`firstPage`), then, when there are more, the rest from that page's token.
   */
  byName(kind: VertexKind, parent: string, name: string): Promise<Live | undefined>;
  /** Send the first page of the unfiltered list `byName` reads (one request; the rest is read only if `byName` is asked). */
  firstPage(kind: VertexKind, parent: string): void;
  /** Whether a metadata store exists. */
  metadataStore(name: string): Promise<boolean>;
  /** Send the unfiltered list `byName` reads, named `<list method>|<parent>` (as `Run.listedUnfiltered` records them). */
  listUnfiltered(key: string): void;
}

function liveReads(run: Run): LiveReads {
  const cache = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    let v = cache.get(key) as Promise<T> | undefined;
    if (!v) {
      v = quiet(read());
      cache.set(key, v);
    }
    return v;
  };
  const list = (kind: VertexKind, p: string) => once(`owned|${kind.method}|${p}`, () => listVertex(run.ctx, kind, p));
  const firstPage = (kind: VertexKind, p: string) => once(`first|${kind.method}|${p}`, () => firstPageVertex(run.ctx, kind, p));
  // The whole unfiltered list: its first page, then the pages after it (one continuation per collection).
  const listAll = (kind: VertexKind, p: string) => {
    run.listedUnfiltered.add(`${kind.method}|${p}`);
    return once(`all|${kind.method}|${p}`, async () => {
      const first = await firstPage(kind, p);
      return first.nextPageToken ? [...first.items, ...(await listAllVertex(run.ctx, kind, p, first.nextPageToken))] : first.items;
    });
  };
  return {
    list,
    firstPage: (kind, p) => void firstPage(kind, p),
    byName: async (kind, p, name) => {
      const all = kind.labelFilter ? await listAll(kind, p) : await list(kind, p);
      return all.find((l) => l.name === name);
    },
    listUnfiltered: (key) => {
      const bar = key.indexOf('|');
      const kind = [MODEL_KIND, ...VERTEX_KINDS].find((k) => k.method === key.slice(0, bar));
      if (kind?.labelFilter) void listAll(kind, key.slice(bar + 1));
    },
    metadataStore: (name) =>
      once(`metadataStore|${name}`, async () => {
        try {
          await run.calls.run('read', name, () => rpcOf(run.clients.metadata, 'getMetadataStore')({ name }));
          return true;
        } catch (err) {
          if (isNotFound(err)) return false;
          throw err;
        }
      }),
  };
}

/** The public plan of observed steps. */
export function toPlan(o: Observed): Plan {
  return { target: 'gcp', environment: o.manifest.environment, items: o.steps.map((s) => s.item) };
}
