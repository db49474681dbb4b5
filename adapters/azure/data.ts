import type { DatasetModel, FieldModel } from '../../lib/model/types';
import { resourceKey, type ArmObject } from './arm';
import { API, type SynthContext } from './context';
import { addMlChild } from './common';
import { RULES } from './names';

/** Where a dataset lives in Azure ML. */
export interface DataRef {
  /** Data asset name. */
  readonly asset: string;
  readonly version: string;
  /** `azureml:<asset>:<version>` */
  readonly uri: string;
  /** Blob container of a managed dataset (for role scopes). */
  readonly container?: string;
  /** Datastore of a managed dataset. */
  readonly datastore?: string;
}

const VERSION = /^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,29}$/;
const EXTERNAL = /^(https:\/\/|abfss:\/\/|wasbs:\/\/|azureml:\/\/)/;

/** Names and URIs of a dataset (no resources). */
export function dataRef(ctx: SynthContext, d: DatasetModel): DataRef {
  const asset = ctx.name(RULES.asset, ctx.localSegments(d.path), d.path);
  const base = { asset, version: d.version, uri: `azureml:${asset}:${d.version}` };
  if (d.source.kind === 'external') return base;
  return {
    ...base,
    container: ctx.name(RULES.container, ['ds', ...ctx.localSegments(d.path)], d.path),
    datastore: ctx.name(RULES.child, ['ds', ...ctx.localSegments(d.path)], d.path),
  };
}

/** Host of an external dataset URI (for outbound rules). */
export function externalHost(d: DatasetModel): string | undefined {
  if (d.source.kind !== 'external') return undefined;
  const m = /^[a-z]+:\/\/(?:[^@/]*@)?([^/:?]+)/.exec(d.source.uri);
  return m && !d.source.uri.startsWith('azureml://') ? m[1] : undefined;
}

/**
 * Dataset → a blob container + identity-based datastore (managed) and a data asset version
 * (`workspaces/data/versions`) with the schema in its properties; retention → a lifecycle rule.
 */
export function mapDataset(ctx: SynthContext, d: DatasetModel, lifecycleRules: ArmObject[]): void {
  const ref = dataRef(ctx, d);
  if (!VERSION.test(d.version)) {
    ctx.problem(d.path, `version '${d.version}' is not a valid Azure ML asset version (letters, digits, '-', '_', '.', at most 30 characters, starting with a letter or digit); use e.g. '1' or '2026-01'`);
  }
  if (d.clusterBy.length > 0) {
    ctx.warn(
      'clustering-hint',
      d.path,
      `clusterBy ${d.clusterBy.join(', ')} is recorded on the data asset (mlplane.clusterBy) as the sort order writers apply; Azure storage has no engine-side clustering`,
    );
  }
  let dataUri: string;
  const extra: string[] = [];
  if (d.source.kind === 'managed') {
    const container = ref.container as string;
    const datastore = ref.datastore as string;
    ctx.add({
      type: 'Microsoft.Storage/storageAccounts/blobServices/containers',
      apiVersion: API.storage,
      name: `${ctx.core.storage}/default/${container}`,
      properties: { publicAccess: 'None', metadata: { 'mlplane-path': d.path, 'mlplane-retain': String(d.retain) } },
      extraDependsOn: [resourceKey('Microsoft.Storage/storageAccounts/blobServices', `${ctx.core.storage}/default`)],
    });
    extra.push(
      addMlChild(ctx, 'datastores', [datastore], {
        properties: {
          datastoreType: 'AzureBlob',
          accountName: ctx.core.storage,
          containerName: container,
          endpoint: 'core.windows.net',
          protocol: 'https',
          // Identity-based access: no key or SAS token is stored in the datastore.
          credentials: { credentialsType: 'None' },
          serviceDataAccessAuthIdentity: 'WorkspaceSystemAssignedIdentity',
          description: `Storage of ${d.path}`,
          tags: ctx.tags(d.path),
        },
        extraDependsOn: [resourceKey('Microsoft.Storage/storageAccounts/blobServices/containers', `${ctx.core.storage}/default/${container}`)],
      }),
    );
    dataUri = `azureml://datastores/${datastore}/paths/${d.format}/`;
    if (d.retentionDays !== undefined) {
      lifecycleRules.push({
        name: ctx.name(RULES.generic, ['retain', ...ctx.localSegments(d.path)], d.path),
        enabled: true,
        type: 'Lifecycle',
        definition: {
          filters: { blobTypes: ['blockBlob'], prefixMatch: [`${container}/`] },
          actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: d.retentionDays } } },
        },
      });
    }
  } else {
    const uri = d.source.uri;
    if (!EXTERNAL.test(uri)) {
      ctx.problem(d.path, `external URI '${uri}' cannot back an Azure ML data asset (allowed schemes: https://, abfss://, wasbs://, azureml://); copy the data to Azure Storage or give its https:// URL`);
    }
    if (d.retentionDays !== undefined) {
      ctx.problem(d.path, `retention of ${d.retentionDays} days cannot be applied to external data at '${uri}' (the azure target only manages lifecycle rules of the environment's storage); remove retention or make the dataset managed`);
    }
    dataUri = uri.endsWith('/') ? uri : `${uri}/`;
  }

  const properties: Record<string, string> = {
    'mlplane.format': d.format,
    'mlplane.schema': JSON.stringify(d.schema.map(schemaField)),
  };
  if (d.clusterBy.length > 0) properties['mlplane.clusterBy'] = d.clusterBy.join(',');
  if (d.partitionBy) properties['mlplane.partitionBy'] = `${d.partitionBy.field}:${d.partitionBy.granularity}`;

  extra.push(
    addMlChild(ctx, 'data', [ref.asset], {
      properties: { dataType: 'uri_folder', description: d.description, tags: ctx.tags(d.path) },
    }),
  );
  addMlChild(ctx, 'data/versions', [ref.asset, d.version], {
    properties: {
      dataType: 'uri_folder',
      dataUri,
      description: d.description,
      tags: { ...ctx.tags(d.path), 'mlplane-retain': String(d.retain) },
      properties,
    },
    extraDependsOn: extra,
  });

  ctx.documents[`azureml/data/${ref.asset}.yml`] = {
    $schema: 'https://azuremlschemas.azureedge.net/latest/data.schema.json',
    name: ref.asset,
    version: d.version,
    description: d.description,
    type: 'uri_folder',
    path: dataUri,
  };
}

function schemaField(f: FieldModel): Record<string, unknown> {
  const base: Record<string, unknown> = { name: f.name, type: f.type, nullable: f.nullable };
  if (f.type === 'array') base.items = f.items;
  if (f.type === 'struct') base.fields = f.fields.map(schemaField);
  return base;
}

/** The storage lifecycle policy holding every retention rule (one per account). */
export function addLifecyclePolicy(ctx: SynthContext, rules: readonly ArmObject[]): void {
  if (rules.length === 0) return;
  ctx.add({
    type: 'Microsoft.Storage/storageAccounts/managementPolicies',
    apiVersion: API.storage,
    name: `${ctx.core.storage}/default`,
    properties: { policy: { rules } },
    extraDependsOn: [resourceKey('Microsoft.Storage/storageAccounts', ctx.core.storage)],
  });
}
