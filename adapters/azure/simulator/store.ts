/**
 * The simulator's resource store: what ARM and the resource providers would hold, keyed by
 * lower-cased resource id (ARM ids are case-insensitive), plus soft-deleted workspaces and vaults.
 */
import { guid, type Json } from './expressions';
import type { ResourceBody } from './template';

/** A resource the simulator holds. */
export interface StoredResource {
  /** Resource id, case as first written. */
  readonly id: string;
  readonly type: string;
  readonly name: string;
  /** api-version of the last write. */
  apiVersion: string;
  /** The body of the last PUT (expressions evaluated): what what-if compares against. */
  body: ResourceBody;
  /** Properties the provider computes (ids, URIs): stable across updates. */
  readonly runtime: Record<string, Json>;
  provisioningState: string;
  readonly createdAt: string;
  /** Name of the deployment that last wrote it, if any. */
  deployment?: string;
}

/** A soft-deleted workspace or Key Vault. */
export interface SoftDeleted {
  readonly id: string;
  readonly name: string;
  readonly type: 'Microsoft.MachineLearningServices/workspaces' | 'Microsoft.KeyVault/vaults';
  readonly location: string;
  readonly deletedAt: string;
  readonly purgeProtection: boolean;
}

/** Parse a resource id into its type and last name (`{scope}/providers/ns/t1/n1/t2/n2`). */
export function parseId(id: string): { type: string; name: string; parentId?: string } | undefined {
  const at = id.toLowerCase().lastIndexOf('/providers/');
  if (at < 0) return undefined;
  const scope = id.slice(0, at);
  const rest = id.slice(at + '/providers/'.length).split('/');
  if (rest.length < 3 || rest.length % 2 === 0) return undefined;
  const ns = rest[0] as string;
  const types: string[] = [];
  for (let k = 1; k < rest.length; k += 2) types.push(rest[k] as string);
  const name = rest[rest.length - 1] as string;
  const parentId = rest.length > 3 ? `${scope}/providers/${rest.slice(0, -2).join('/')}` : /\/providers\//i.test(scope) || /\/resourceGroups\/[^/]+$/i.test(scope) ? scope : undefined;
  return { type: `${ns}/${types.join('/')}`, name, parentId };
}

/** Resource group of an id (`/subscriptions/s/resourceGroups/rg/...`). */
export function resourceGroupOf(id: string): string | undefined {
  return /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)/i.exec(id)?.[1];
}

/** The id's lower-cased key. */
export function keyOf(id: string): string {
  return id.toLowerCase().replace(/\/$/, '');
}

/** Values the provider would compute for a new resource (deterministic per id). */
export function runtimeProperties(id: string, type: string, name: string, body: ResourceBody, tenantId: string): Record<string, Json> {
  const t = type.toLowerCase();
  const location = typeof body.location === 'string' ? body.location : 'westeurope';
  const parts = id.split('/');
  switch (t) {
    case 'microsoft.managedidentity/userassignedidentities':
      return { principalId: guid(id, 'principal'), clientId: guid(id, 'client'), tenantId };
    case 'microsoft.keyvault/vaults':
      return { vaultUri: `https://${name}.vault.azure.net/` };
    case 'microsoft.keyvault/vaults/keys': {
      const vault = parts[parts.length - 3] as string;
      const uri = `https://${vault}.vault.azure.net/keys/${name}`;
      return { keyUri: uri, keyUriWithVersion: `${uri}/${guid(id, 'version').replace(/-/g, '')}` };
    }
    case 'microsoft.storage/storageaccounts':
      return { primaryEndpoints: { blob: `https://${name}.blob.core.windows.net/`, dfs: `https://${name}.dfs.core.windows.net/`, queue: `https://${name}.queue.core.windows.net/`, table: `https://${name}.table.core.windows.net/`, file: `https://${name}.file.core.windows.net/` } };
    case 'microsoft.machinelearningservices/workspaces':
      return { workspaceId: guid(id, 'workspace'), mlFlowTrackingUri: `azureml://${location}.api.azureml.ms/mlflow/v1.0${id}`, discoveryUrl: `https://${location}.api.azureml.ms/discovery` };
    case 'microsoft.machinelearningservices/workspaces/onlineendpoints':
      return { scoringUri: `https://${name}.${location}.inference.ml.azure.com/score`, swaggerUri: `https://${name}.${location}.inference.ml.azure.com/swagger.json` };
    case 'microsoft.machinelearningservices/workspaces/batchendpoints':
      return { scoringUri: `https://${name}.${location}.inference.ml.azure.com/jobs` };
    case 'microsoft.insights/components':
      return { AppId: guid(id, 'app') };
    case 'microsoft.containerregistry/registries':
      return { loginServer: `${name}.azurecr.io` };
    case 'microsoft.logic/workflows':
      return { accessEndpoint: `https://prod-00.${location}.logic.azure.com:443/workflows/${guid(id, 'wf').replace(/-/g, '')}` };
    default:
      return {};
  }
}

/** The GET view of a stored resource (ARM envelope, provider-computed properties merged). */
export function viewOf(r: StoredResource, tenantId: string): { [key: string]: Json } {
  const v: { [key: string]: Json } = { id: r.id, name: r.name, type: r.type };
  const b = r.body;
  if (b.location !== undefined) v.location = b.location;
  if (b.kind !== undefined) v.kind = b.kind;
  if (b.sku !== undefined) v.sku = b.sku;
  if (b.tags !== undefined) v.tags = b.tags;
  if (b.identity !== undefined && b.identity !== null && typeof b.identity === 'object' && !Array.isArray(b.identity)) {
    const identity: { [key: string]: Json } = { ...b.identity };
    if (String(identity.type ?? '').includes('SystemAssigned')) {
      identity.principalId = guid(r.id, 'system-principal');
      identity.tenantId = tenantId;
    }
    const ua = identity.userAssignedIdentities;
    if (ua !== null && typeof ua === 'object' && !Array.isArray(ua)) {
      identity.userAssignedIdentities = Object.fromEntries(Object.keys(ua).map((k) => [k, { principalId: guid(k, 'principal'), clientId: guid(k, 'client') }]));
    }
    v.identity = identity;
  }
  const props = b.properties !== null && typeof b.properties === 'object' && !Array.isArray(b.properties) ? b.properties : {};
  const merged: { [key: string]: Json } = { ...props, ...r.runtime };
  // Every provider mlplane uses reports `properties.provisioningState` (Azure ML computes, endpoints
  // and deployments included, in their 2022-10-01 shapes).
  merged.provisioningState = r.provisioningState;
  v.properties = merged;
  v.systemData = { createdAt: r.createdAt, createdBy: 'mlplane-simulator', createdByType: 'Application' };
  return v;
}
