import type { FeatureTableModel, FieldModel } from '../../lib/model/types';
import { concat, reference, resourceId, resourceKey, type ArmObject } from './arm';
import { isoDuration } from './common';
import { API, ML, ML_API, type SynthContext } from './context';
import { dataRef } from './data';
import { RULES, shortHash } from './names';
import { cmkKeyId } from './environment';
import { assignRole, ROLES } from './roles';
import { yamlLibrary } from './yaml';

/** Names of the feature store's resources. */
export interface FeatureStoreNames {
  readonly workspace: string;
  readonly offlineAccount: string;
  readonly redis: string;
}

/** Names of the environment's feature store (created only when there are feature tables). */
export function featureStoreNames(ctx: SynthContext): FeatureStoreNames {
  const env = ctx.env;
  const salt = [ctx.settings.subscriptionId, ctx.settings.resourceGroup];
  return {
    workspace: ctx.name(RULES.workspace, [...ctx.baseSegments, 'fs'], env.path),
    offlineAccount: ctx.name(RULES.storageAccount, ['stfs', ...ctx.baseSegments], env.path, salt),
    redis: ctx.name(RULES.generic, ['redis', ...ctx.baseSegments], env.path, salt),
  };
}

const INDEX_TYPES: Readonly<Record<string, string>> = { string: 'String', int: 'Long', float: 'Double', bool: 'Boolean', timestamp: 'Datetime', date: 'Datetime' };
const SPEC_TYPES: Readonly<Record<string, string>> = { string: 'string', int: 'long', float: 'double', bool: 'boolean', timestamp: 'datetime', date: 'datetime' };

/**
 * The feature store: a workspace of kind FeatureStore sharing the environment's dependencies,
 * an ADLS Gen2 offline store (hierarchical namespace, which feature stores require) and, when a
 * table is served online, an Azure Cache for Redis online store with Entra ID auth; both
 * connected with the environment identity (no keys).
 */
export function mapFeatureStore(ctx: SynthContext, tables: readonly FeatureTableModel[]): void {
  if (tables.length === 0) return;
  const n = featureStoreNames(ctx);
  const env = ctx.env;
  const path = env.path;
  const isPrivate = env.network.mode === 'private';
  const online = tables.some((t) => t.online);
  const identity = ctx.identityId();
  const location = ctx.settings.location;
  const cmk = featureStoreCmk(ctx);

  ctx.add({
    type: 'Microsoft.Storage/storageAccounts',
    apiVersion: API.storage,
    name: n.offlineAccount,
    location,
    kind: 'StorageV2',
    sku: { name: 'Standard_LRS' },
    tags: { ...ctx.tags(`${path}/FeatureStore`), 'mlplane-retain': 'true' },
    identity: cmk ? { type: 'UserAssigned', userAssignedIdentities: { [`[${identity.text}]`]: {} } } : undefined,
    properties: {
      encryption: cmk?.storage,
      isHnsEnabled: true,
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
      minimumTlsVersion: 'TLS1_2',
      supportsHttpsTrafficOnly: true,
      publicNetworkAccess: isPrivate ? 'Disabled' : 'Enabled',
      networkAcls: isPrivate ? { defaultAction: 'Deny', bypass: 'AzureServices' } : undefined,
    },
    extraDependsOn: cmk ? [cmk.keyRole] : undefined,
  });
  ctx.add({
    type: 'Microsoft.Storage/storageAccounts/blobServices/containers',
    apiVersion: API.storage,
    name: `${n.offlineAccount}/default/offline`,
    properties: { publicAccess: 'None' },
  });
  assignRole(ctx, {
    scopeType: 'Microsoft.Storage/storageAccounts/blobServices/containers',
    scopeNames: [n.offlineAccount, 'default', 'offline'],
    role: ROLES.storageBlobDataContributor,
    principalId: reference(identity, API.identity, 'principalId'),
    principalKey: ctx.core.identity,
    description: `${path}: materialization writes the offline feature store`,
  });

  const outboundRules: Record<string, ArmObject> = {
    offline: { type: 'PrivateEndpoint', category: 'UserDefined', destination: { serviceResourceId: resourceId('Microsoft.Storage/storageAccounts', n.offlineAccount), subresourceTarget: 'dfs' } },
    source: { type: 'PrivateEndpoint', category: 'UserDefined', destination: { serviceResourceId: resourceId('Microsoft.Storage/storageAccounts', ctx.core.storage), subresourceTarget: 'blob' } },
  };
  if (online) {
    ctx.add({
      type: 'Microsoft.Cache/redis',
      apiVersion: API.redis,
      name: n.redis,
      location,
      tags: ctx.tags(`${path}/FeatureStore`),
      properties: {
        sku: { name: 'Standard', family: 'C', capacity: 1 },
        enableNonSslPort: false,
        minimumTlsVersion: '1.2',
        publicNetworkAccess: isPrivate ? 'Disabled' : 'Enabled',
        disableAccessKeyAuthentication: true,
        redisConfiguration: { 'aad-enabled': 'true' },
      },
    });
    if (cmk) {
      // https://learn.microsoft.com/en-us/azure/azure-cache-for-redis/cache-how-to-encryption
      ctx.warn(
        'cmk-not-supported',
        `${path}/FeatureStore`,
        `the online feature store ${n.redis} (Azure Cache for Redis) cannot take the customer-managed key '${ctx.env.encryption.kind === 'customer-managed' ? ctx.env.encryption.keyName : ''}': only the Enterprise tiers encrypt with a customer-managed key, and feature stores connect to Basic, Standard or Premium caches; its data is encrypted at rest with a platform-managed key`,
      );
    }
    ctx.add({
      type: 'Microsoft.Cache/redis/accessPolicyAssignments',
      apiVersion: API.redis,
      name: `${n.redis}/mlplane-materialization`,
      properties: { accessPolicyName: 'Data Contributor', objectId: reference(identity, API.identity, 'principalId'), objectIdAlias: ctx.core.identity },
    });
    outboundRules.online = { type: 'PrivateEndpoint', category: 'UserDefined', destination: { serviceResourceId: resourceId('Microsoft.Cache/redis', n.redis), subresourceTarget: 'redisCache' } };
  }

  ctx.add({
    type: `${ML}/workspaces`,
    apiVersion: ML_API,
    name: n.workspace,
    location,
    kind: 'FeatureStore',
    sku: { name: 'Basic', tier: 'Basic' },
    tags: ctx.tags(`${path}/FeatureStore`),
    identity: { type: 'SystemAssigned,UserAssigned', userAssignedIdentities: { [`[${identity.text}]`]: {} } },
    properties: {
      friendlyName: `${env.name} feature store`,
      storageAccount: resourceId('Microsoft.Storage/storageAccounts', ctx.core.storage),
      keyVault: resourceId('Microsoft.KeyVault/vaults', ctx.core.keyVault),
      applicationInsights: resourceId('Microsoft.Insights/components', ctx.core.appInsights),
      containerRegistry: resourceId('Microsoft.ContainerRegistry/registries', ctx.core.registry),
      publicNetworkAccess: isPrivate ? 'Disabled' : 'Enabled',
      managedNetwork: isPrivate ? { isolationMode: 'AllowOnlyApprovedOutbound', outboundRules } : undefined,
      hbiWorkspace: cmk ? true : undefined,
      encryption: cmk?.workspace,
      featureStoreSettings: {
        computeRuntime: { sparkRuntimeVersion: '3.4' },
        offlineStoreConnectionName: 'offline_store',
        onlineStoreConnectionName: online ? 'online_store' : undefined,
      },
    },
    extraDependsOn: [resourceKey('Microsoft.ManagedIdentity/userAssignedIdentities', ctx.core.identity), ...(cmk ? [cmk.keyRole] : [])],
  });
  const fsChild = (child: string, names: string[], properties: ArmObject, deps: string[] = []): string => {
    const type = `${ML}/workspaces/${child}`;
    const name = [n.workspace, ...names].join('/');
    ctx.add({ type, apiVersion: ML_API, name, properties, extraDependsOn: deps });
    return resourceKey(type, name);
  };
  const credentials = { clientId: reference(identity, API.identity, 'clientId'), resourceId: identity };
  const offlineConn = fsChild('connections', ['offline_store'], {
    category: 'ADLSGen2',
    target: concat('https://', n.offlineAccount, '.dfs.core.windows.net/offline'),
    authType: 'ManagedIdentity',
    credentials,
  }, [resourceKey('Microsoft.Storage/storageAccounts/blobServices/containers', `${n.offlineAccount}/default/offline`)]);
  const connDeps = [offlineConn];
  if (online) {
    connDeps.push(fsChild('connections', ['online_store'], { category: 'Redis', target: resourceId('Microsoft.Cache/redis', n.redis), authType: 'ManagedIdentity', credentials }));
  }

  const entities = new Map<string, { keys: FieldModel[]; path: string }>();
  for (const t of tables) {
    const source = ctx.resource(t.source);
    if (source === undefined || source.kind !== 'dataset') {
      ctx.problem(t.path, `source '${t.source}' is not a dataset of this environment`);
      continue;
    }
    const keys: FieldModel[] = [];
    for (const k of t.entity.keys) {
      const f = source.schema.find((x) => x.name === k);
      if (f === undefined) ctx.problem(t.path, `entity key '${k}' is not a column of ${source.path}`);
      else keys.push(f);
    }
    const prev = entities.get(t.entity.name);
    if (prev && JSON.stringify(prev.keys.map((k) => k.name)) !== JSON.stringify(keys.map((k) => k.name))) {
      ctx.problem(t.path, `entity '${t.entity.name}' has keys ${keys.map((k) => k.name).join(', ')} here but ${prev.keys.map((k) => k.name).join(', ')} in ${prev.path}; an Azure ML feature store entity has one set of index columns`);
    }
    if (!prev) entities.set(t.entity.name, { keys, path: t.path });
  }
  const entityRefs = new Map<string, { name: string; version: string }>();
  for (const [entity, { keys, path: ePath }] of [...entities.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const name = ctx.name(RULES.asset, [entity], ePath);
    const indexColumns = keys.map((k) => ({ columnName: k.name, dataType: INDEX_TYPES[k.type] ?? 'String' }));
    const version = shortHash([JSON.stringify(indexColumns)], 8);
    entityRefs.set(entity, { name, version });
    fsChild('featurestoreEntities/versions', [name, version], { description: `Entity ${entity}`, indexColumns, tags: ctx.tags(ePath) }, connDeps);
  }

  for (const t of tables) {
    const source = ctx.resource(t.source);
    if (source === undefined || source.kind !== 'dataset') continue;
    const name = ctx.name(RULES.asset, ctx.localSegments(t.path), t.path);
    const formats: Readonly<Record<string, string | undefined>> = { parquet: 'parquet', csv: 'csv', delta: 'deltaTable', jsonl: undefined };
    const format = formats[source.format];
    if (format === undefined) {
      ctx.problem(t.path, `source ${source.path} is ${source.format}; Azure ML feature set sources are parquet, csv, deltaTable or mltable; store the source as parquet or delta`);
    }
    if (t.timestampField === undefined) {
      ctx.problem(t.path, `has no timestampField; Azure ML feature sets need the source's event-time column for materialization and point-in-time joins; set timestampField`);
    }
    if (t.online && t.ttlSeconds !== undefined) {
      ctx.warn(
        'online-ttl',
        t.path,
        `TTL of ${t.ttlSeconds} seconds applies to offline point-in-time joins (temporal_join_lookback) only: the Azure ML online store (Redis) keeps the latest materialized value per key with no expiry; check the feature timestamp in the serving code if stale values matter`,
      );
    }
    const ref = dataRef(ctx, source);
    if (ref.container) {
      // Materialization (under the environment identity) reads the source dataset.
      assignRole(ctx, {
        scopeType: 'Microsoft.Storage/storageAccounts/blobServices/containers',
        scopeNames: [ctx.core.storage, 'default', ref.container],
        role: ROLES.storageBlobDataReader,
        principalId: reference(identity, API.identity, 'principalId'),
        principalKey: ctx.core.identity,
        description: `${t.path}: materialization reads ${source.path}`,
      });
    }
    const sourcePath = source.source.kind === 'managed' ? `wasbs://${ref.container}@${ctx.core.storage}.blob.core.windows.net/${source.format}/` : source.source.uri;
    const lookback = t.ttlSeconds !== undefined ? { days: Math.floor(t.ttlSeconds / 86400), hours: Math.floor((t.ttlSeconds % 86400) / 3600), minutes: Math.floor((t.ttlSeconds % 3600) / 60) } : undefined;
    const keys = new Set(t.entity.keys);
    const spec = {
      $schema: 'http://azureml/sdk-2-0/FeatureSetSpec.json',
      source: { type: format ?? 'parquet', path: sourcePath, timestamp_column: t.timestampField ? { name: t.timestampField } : undefined },
      features: t.features.filter((f) => !keys.has(f.name)).map((f) => ({ name: f.name, type: SPEC_TYPES[f.type] ?? 'string' })),
      index_columns: t.entity.keys.map((k) => ({ name: k, type: SPEC_TYPES[source.schema.find((f) => f.name === k)?.type ?? 'string'] ?? 'string' })),
      temporal_join_lookback: lookback,
    };
    for (const f of t.features) {
      if (f.type === 'array' || f.type === 'struct') ctx.problem(t.path, `feature '${f.name}' is ${f.type}; Azure ML feature sets take scalar features; flatten it`);
    }
    const version = shortHash([JSON.stringify(spec)], 8);
    const specFolder = `mlplane/featuresets/${name}/${version}`;
    ctx.documents[`featuresets/${name}/${version}/FeaturesetSpec.yaml`] = yamlLibrary().stringify(JSON.parse(JSON.stringify(spec)));
    ctx.warn('featureset-spec-upload', t.path, `feature set ${name} reads its specification from azureml://datastores/workspaceblobstore/paths/${specFolder}/ of the feature store; mlplane deploy uploads featuresets/${name}/${version}/FeaturesetSpec.yaml there before the ARM deployment (with az deployment group create, upload it first)`);
    const entity = entityRefs.get(t.entity.name);
    const schedule =
      t.refreshSeconds !== undefined
        ? t.refreshSeconds % 86400 === 0
          ? { triggerType: 'Recurrence', frequency: 'Day', interval: t.refreshSeconds / 86400 }
          : t.refreshSeconds % 3600 === 0
            ? { triggerType: 'Recurrence', frequency: 'Hour', interval: t.refreshSeconds / 3600 }
            : { triggerType: 'Recurrence', frequency: 'Minute', interval: Math.max(1, Math.round(t.refreshSeconds / 60)) }
        : undefined;
    if (t.refreshSeconds !== undefined && t.refreshSeconds % 60 !== 0) {
      ctx.problem(t.path, `refresh every ${t.refreshSeconds} seconds cannot be expressed by a materialization recurrence (whole minutes); use a multiple of 60 seconds`);
    }
    fsChild('featuresets/versions', [name, version], {
      description: t.description ?? `Feature table ${t.path}`,
      entities: entity ? [`azureml:${entity.name}:${entity.version}`] : [],
      specification: { path: `azureml://datastores/workspaceblobstore/paths/${specFolder}/` },
      materializationSettings: {
        storeType: t.online ? 'OnlineAndOffline' : 'Offline',
        schedule,
        resource: { instanceType: 'standard_e8s_v3' },
        sparkConfiguration: { 'spark.driver.cores': '4', 'spark.driver.memory': '28g', 'spark.executor.cores': '4', 'spark.executor.memory': '28g', 'spark.executor.instances': '2' },
      },
      tags: { ...ctx.tags(t.path), 'mlplane-refresh': t.refreshSeconds !== undefined ? isoDuration(t.refreshSeconds) : 'none' },
    }, entity ? [resourceKey(`${ML}/workspaces/featurestoreEntities/versions`, `${n.workspace}/${entity.name}/${entity.version}`)] : connDeps);
  }
}

/**
 * The feature store's share of the environment's customer-managed key, when it asks for one: the
 * same key as the workspace and its storage (environment.ts), for the feature-store workspace
 * (`encryption`, as the workspace) and its ADLS account, unwrapped by the environment identity.
 */
function featureStoreCmk(ctx: SynthContext): { storage: ArmObject; workspace: ArmObject; keyRole: string } | undefined {
  const enc = ctx.env.encryption;
  const keyId = cmkKeyId(ctx);
  if (enc.kind !== 'customer-managed' || keyId === undefined) return undefined;
  const identity = ctx.identityId();
  const vault = resourceId('Microsoft.KeyVault/vaults', ctx.core.keyVault);
  // The environment already assigns this role (environment.ts); the same spec names the same assignment.
  const keyRole = assignRole(ctx, {
    scopeType: 'Microsoft.KeyVault/vaults/keys',
    scopeNames: [ctx.core.keyVault, enc.keyName],
    role: ROLES.keyVaultCryptoServiceEncryptionUser,
    principalId: reference(identity, API.identity, 'principalId'),
    principalKey: ctx.core.identity,
    description: `${ctx.env.path}: environment identity unwraps the customer-managed key`,
  });
  return {
    keyRole,
    storage: {
      keySource: 'Microsoft.Keyvault',
      identity: { userAssignedIdentity: identity },
      keyvaultproperties: { keyname: enc.keyName, keyvaulturi: reference(vault, API.keyVault, 'vaultUri') },
      services: { blob: { enabled: true, keyType: 'Account' }, file: { enabled: true, keyType: 'Account' } },
    },
    workspace: {
      status: 'Enabled',
      identity: { userAssignedIdentity: identity },
      keyVaultProperties: { keyVaultArmId: vault, keyIdentifier: reference(keyId, API.keyVault, 'keyUriWithVersion') },
    },
  };
}
