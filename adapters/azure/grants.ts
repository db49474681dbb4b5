import type { GrantModel, PrincipalModel, ResourceModel } from '../../lib/model/types';
import { ownedIdentity, type OwnedIdentity } from './common';
import { computeName } from './compute';
import { ML, type SynthContext } from './context';
import { dataRef } from './data';
import { featureStoreNames } from './feature-store';
import { assignRole, AZUREML_CONTAINERS_ONLY, CUSTOM_ROLES, ROLES, type Role } from './roles';
import { keyVaultSecretOf } from './secrets';
import { batchEndpointName, endpointName } from './serving';

/** The construct whose identity a principal uses. */
function principalOwner(p: PrincipalModel): string {
  switch (p.kind) {
    case 'step':
      return p.pipeline; // steps of a pipeline share the pipeline's identity
    case 'deployment':
      return p.endpoint; // Azure ML deployments run as their endpoint's identity
    case 'batchInference':
      return p.batch;
    case 'driftMonitor':
      return p.monitor;
    default: {
      const never: never = p;
      throw new Error(`unhandled principal ${JSON.stringify(never)}`);
    }
  }
}

interface Scoped {
  readonly scopeType: string;
  readonly scopeNames: readonly string[];
  readonly role: Role;
  readonly condition?: string;
}

/**
 * The narrowest role for an access on a resource, scoped to that resource: container-level blob
 * data roles, compute- and endpoint-level ML roles, and custom roles (roles.ts) where the only
 * built-in role is AzureML Data Scientist. Two documented exceptions reach a whole storage account,
 * each limited by an ABAC condition to the Azure ML default containers: reading registered model
 * files (they live in the workspace's `azureml-blobstore-<id>` container, named at workspace
 * creation) — the README's permission table lists both.
 */
function rolesFor(ctx: SynthContext, r: ResourceModel, access: GrantModel['access'], path: string): Scoped[] {
  const writes = access !== 'read';
  const ws = { scopeType: `${ML}/workspaces`, scopeNames: [ctx.core.workspace] };
  const storage = { scopeType: 'Microsoft.Storage/storageAccounts', scopeNames: [ctx.core.storage] };
  switch (r.kind) {
    case 'dataset': {
      if (r.source.kind === 'external') {
        ctx.warn('external-grant', path, `grant on external dataset ${r.path} (${r.source.uri}) is not applied: the azure target only assigns roles on storage it manages; grant the identity access on that store yourself`);
        return [];
      }
      const ref = dataRef(ctx, r);
      return [{ scopeType: 'Microsoft.Storage/storageAccounts/blobServices/containers', scopeNames: [ctx.core.storage, 'default', ref.container as string], role: writes ? ROLES.storageBlobDataContributor : ROLES.storageBlobDataReader }];
    }
    case 'featureTable': {
      const fs = featureStoreNames(ctx);
      return [
        { scopeType: `${ML}/workspaces`, scopeNames: [fs.workspace], role: writes ? CUSTOM_ROLES.jobSubmitter : ROLES.reader },
        { scopeType: 'Microsoft.Storage/storageAccounts/blobServices/containers', scopeNames: [fs.offlineAccount, 'default', 'offline'], role: writes ? ROLES.storageBlobDataContributor : ROLES.storageBlobDataReader },
      ];
    }
    case 'computePool':
      return [{ scopeType: `${ML}/workspaces/computes`, scopeNames: [ctx.core.workspace, computeName(ctx, r)], role: ROLES.azureMlComputeOperator }];
    case 'pipeline':
      return [{ ...ws, role: writes ? CUSTOM_ROLES.jobSubmitter : ROLES.reader }];
    case 'modelRegistry':
      // Register steps register job outputs in place (no blob write); servers read model files
      // from the workspace's default container only.
      return writes
        ? [{ ...ws, role: CUSTOM_ROLES.modelRegistrar }]
        : [{ ...ws, role: ROLES.reader }, { ...storage, role: ROLES.storageBlobDataReader, condition: AZUREML_CONTAINERS_ONLY }];
    case 'onlineEndpoint':
      return [{ scopeType: `${ML}/workspaces/onlineEndpoints`, scopeNames: [ctx.core.workspace, endpointName(ctx, r.path)], role: writes ? ROLES.azureMlDataScientist : ROLES.reader }];
    case 'batchInference':
      return [{ scopeType: `${ML}/workspaces/batchEndpoints`, scopeNames: [ctx.core.workspace, batchEndpointName(ctx, r.path)], role: writes ? ROLES.azureMlDataScientist : ROLES.reader }];

    case 'driftMonitor':
      return [{ ...ws, role: ROLES.reader }];
    case 'secret': {
      // Read only, on that one secret (Key Vault RBAC scopes down to a secret).
      const kv = keyVaultSecretOf(ctx, r);
      if (r.azure.vaultName !== undefined) {
        ctx.warn('secret-vault-outside', path, `reads secret ${kv.url} of vault '${kv.vault}': the role assignment is made on that vault in the deployment's resource group (${ctx.settings.resourceGroup}); the vault must be there, use Azure RBAC, and hold the secret before deploy`);
      }
      return [{ scopeType: 'Microsoft.KeyVault/vaults/secrets', scopeNames: [kv.vault, kv.name], role: ROLES.keyVaultSecretsUser }];
    }
    default: {
      const never: never = r;
      throw new Error(`unhandled resource ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Grants → `Microsoft.Authorization/roleAssignments` with the narrowest built-in role, scoped to
 * the granted resource (a blob container, a compute, an endpoint, the workspace for workspace
 * assets), assigned to the user-assigned identity of the principal's owner.
 */
export function mapGrants(ctx: SynthContext, grants: readonly GrantModel[]): void {
  for (const g of grants) {
    const owner = principalOwner(g.principal);
    const path = g.principal.kind === 'step' ? g.principal.step : g.principal.kind === 'deployment' ? `${g.principal.endpoint}/${g.principal.deployment}` : owner;
    const target = ctx.resource(g.resource);
    if (target === undefined) {
      ctx.problem(path, `is granted ${g.access} on '${g.resource}', which is not a resource of this environment`);
      continue;
    }
    if (ctx.resource(owner) === undefined) {
      ctx.problem(path, `grant principal '${owner}' is not a resource of this environment`);
      continue;
    }
    const identity: OwnedIdentity = ownedIdentity(ctx, owner);
    for (const s of rolesFor(ctx, target, g.access, path)) {
      assignRole(ctx, { ...s, principalId: identity.principalId, principalKey: identity.name, description: `${owner} ${g.access} ${g.resource} (${g.origin})` });
    }
  }
}
