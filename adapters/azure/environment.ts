import { ArmExpr, reference, resourceId, resourceKey, type ArmObject } from './arm';
import { API, ML, ML_API, type SynthContext } from './context';
import { shortHash } from './names';
import { assignRole, ROLES } from './roles';

/** Regions without availability zones (no zone-redundant storage). */
const REGIONS_WITHOUT_ZONES: ReadonlySet<string> = new Set([
  'northcentralus', 'westcentralus', 'westus', 'australiasoutheast', 'australiacentral', 'japanwest', 'koreasouth',
  'southindia', 'westindia', 'jioindiawest', 'ukwest', 'canadaeast', 'francesouth', 'germanynorth', 'switzerlandwest',
]);

/** Name of the customer-managed key's Key Vault key resource, when CMK is on. */
export function cmkKeyId(ctx: SynthContext): ArmExpr | undefined {
  const enc = ctx.env.encryption;
  if (enc.kind !== 'customer-managed') return undefined;
  return resourceId('Microsoft.KeyVault/vaults/keys', ctx.core.keyVault, enc.keyName);
}

/**
 * The environment: workspace and its dependencies (identity, storage without hierarchical
 * namespace, Key Vault, Log Analytics + Application Insights, container registry), the network
 * switch and the encryption switch.
 */
export function mapEnvironment(ctx: SynthContext, imageHosts: readonly string[], externalHosts: readonly string[], jobIdentities: readonly ArmExpr[]): void {
  const env = ctx.env;
  const path = env.path;
  const tags = ctx.tags(path);
  const location = ctx.settings.location;
  const isPrivate = env.network.mode === 'private';
  const enc = env.encryption;
  const core = ctx.core;
  const identityId = ctx.identityId();

  ctx.add({ type: 'Microsoft.ManagedIdentity/userAssignedIdentities', apiVersion: API.identity, name: core.identity, location, tags });

  // Customer-managed key: a key with a rotation policy, readable by the environment identity only.
  let keyId: ArmExpr | undefined;
  let keyRoleKey: string | undefined;
  if (enc.kind === 'customer-managed') {
    keyId = cmkKeyId(ctx);
    ctx.add({
      type: 'Microsoft.KeyVault/vaults/keys',
      apiVersion: API.keyVault,
      name: `${core.keyVault}/${enc.keyName}`,
      tags,
      properties: {
        kty: 'RSA',
        keySize: 3072,
        keyOps: ['wrapKey', 'unwrapKey'],
        rotationPolicy: {
          lifetimeActions: [{ trigger: { timeAfterCreate: `P${enc.rotationDays}D` }, action: { type: 'rotate' } }],
        },
      },
    });
    keyRoleKey = assignRole(ctx, {
      scopeType: 'Microsoft.KeyVault/vaults/keys',
      scopeNames: [core.keyVault, enc.keyName],
      role: ROLES.keyVaultCryptoServiceEncryptionUser,
      principalId: reference(identityId, API.identity, 'principalId'),
      principalKey: core.identity,
      description: `${path}: environment identity unwraps the customer-managed key`,
    });
  }

  const privateAcls: ArmObject | undefined = isPrivate ? { defaultAction: 'Deny', bypass: 'AzureServices' } : undefined;
  ctx.add({
    type: 'Microsoft.Storage/storageAccounts',
    apiVersion: API.storage,
    name: core.storage,
    location,
    kind: 'StorageV2',
    // Production data survives a zone outage where the region has availability zones.
    sku: { name: env.stage === 'prod' && !REGIONS_WITHOUT_ZONES.has(location) ? 'Standard_ZRS' : 'Standard_LRS' },
    tags: { ...tags, 'mlplane-retain': 'true' },
    identity: { type: 'UserAssigned', userAssignedIdentities: { [`[${identityId.text}]`]: {} } },
    properties: {
      // Azure ML rejects a default storage account with hierarchical namespace.
      isHnsEnabled: false,
      accessTier: 'Hot',
      allowBlobPublicAccess: false,
      minimumTlsVersion: 'TLS1_2',
      supportsHttpsTrafficOnly: true,
      publicNetworkAccess: isPrivate ? 'Disabled' : 'Enabled',
      networkAcls: privateAcls,
      encryption:
        enc.kind === 'customer-managed'
          ? {
              keySource: 'Microsoft.Keyvault',
              identity: { userAssignedIdentity: identityId },
              keyvaultproperties: { keyname: enc.keyName, keyvaulturi: reference(resourceId('Microsoft.KeyVault/vaults', core.keyVault), API.keyVault, 'vaultUri') },
              services: { blob: { enabled: true, keyType: 'Account' }, file: { enabled: true, keyType: 'Account' } },
            }
          : { keySource: 'Microsoft.Storage', services: { blob: { enabled: true, keyType: 'Account' }, file: { enabled: true, keyType: 'Account' } } },
    },
    extraDependsOn: [resourceKey('Microsoft.ManagedIdentity/userAssignedIdentities', core.identity), ...(keyRoleKey ? [keyRoleKey] : [])],
  });
  ctx.add({
    type: 'Microsoft.Storage/storageAccounts/blobServices',
    apiVersion: API.storage,
    name: `${core.storage}/default`,
    properties: { deleteRetentionPolicy: { enabled: true, days: 7 }, containerDeleteRetentionPolicy: { enabled: true, days: 7 } },
    extraDependsOn: [resourceKey('Microsoft.Storage/storageAccounts', core.storage)],
  });

  ctx.add({
    type: 'Microsoft.KeyVault/vaults',
    apiVersion: API.keyVault,
    name: core.keyVault,
    location,
    tags,
    properties: {
      tenantId: new ArmExpr('subscription().tenantId'),
      sku: { family: 'A', name: 'standard' },
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      softDeleteRetentionInDays: 90,
      // Purge protection is irreversible; customer-managed keys require it.
      enablePurgeProtection: enc.kind === 'customer-managed' ? true : undefined,
      publicNetworkAccess: isPrivate ? 'Disabled' : 'Enabled',
      networkAcls: privateAcls,
    },
  });

  ctx.add({
    type: 'Microsoft.OperationalInsights/workspaces',
    apiVersion: API.logAnalytics,
    name: core.logAnalytics,
    location,
    tags,
    properties: { sku: { name: 'PerGB2018' }, retentionInDays: env.stage === 'prod' ? 90 : 30 },
  });
  if (enc.kind === 'customer-managed') {
    // https://learn.microsoft.com/en-us/azure/azure-monitor/logs/customer-managed-keys
    ctx.warn(
      'cmk-not-supported',
      path,
      `the Log Analytics workspace ${core.logAnalytics} (and the Application Insights component ${core.appInsights} that stores into it) cannot take the customer-managed key '${enc.keyName}': Azure Monitor takes customer-managed keys only on a dedicated cluster (a commitment tier of at least 100 GB/day), which mlplane does not create; logs and metrics are encrypted at rest with a platform-managed key; link the workspace to such a cluster yourself if logs must be under your key`,
    );
  }
  ctx.add({
    type: 'Microsoft.Insights/components',
    apiVersion: API.appInsights,
    name: core.appInsights,
    location,
    kind: 'web',
    tags,
    properties: {
      Application_Type: 'web',
      WorkspaceResourceId: resourceId('Microsoft.OperationalInsights/workspaces', core.logAnalytics),
      publicNetworkAccessForIngestion: 'Enabled',
      publicNetworkAccessForQuery: isPrivate ? 'Disabled' : 'Enabled',
    },
  });

  ctx.add({
    type: 'Microsoft.ContainerRegistry/registries',
    apiVersion: API.containerRegistry,
    name: core.registry,
    location,
    tags,
    // Private endpoints need the Premium tier.
    sku: { name: isPrivate || enc.kind === 'customer-managed' ? 'Premium' : 'Standard' },
    identity: enc.kind === 'customer-managed' ? { type: 'UserAssigned', userAssignedIdentities: { [`[${identityId.text}]`]: {} } } : undefined,
    properties: {
      adminUserEnabled: false,
      publicNetworkAccess: isPrivate ? 'Disabled' : 'Enabled',
      networkRuleBypassOptions: 'AzureServices',
      encryption:
        enc.kind === 'customer-managed'
          ? {
              status: 'enabled',
              keyVaultProperties: {
                identity: reference(identityId, API.identity, 'clientId'),
                keyIdentifier: reference(keyId as ArmExpr, API.keyVault, 'keyUri'),
              },
            }
          : undefined,
    },
    extraDependsOn: keyRoleKey ? [keyRoleKey, resourceKey('Microsoft.ManagedIdentity/userAssignedIdentities', core.identity)] : undefined,
  });

  // Managed network: outbound only to approved destinations; the workspace's own storage, Key
  // Vault and registry get private endpoints automatically. Images and external data need rules.
  const outboundRules: Record<string, ArmObject> = {};
  const fqdns = [...new Set([...imageHosts, ...externalHosts])].sort();
  for (const host of fqdns) {
    // Stable rule names (a host's rule keeps its name when others are added).
    outboundRules[`fqdn-${host.replace(/[^a-zA-Z0-9]/g, '-').slice(0, 20)}-${shortHash([host], 4)}`] = {
      type: 'FQDN',
      category: 'UserDefined',
      destination: host,
    };
  }

  ctx.add({
    type: `${ML}/workspaces`,
    apiVersion: ML_API,
    name: core.workspace,
    location,
    kind: 'Default',
    sku: { name: 'Basic', tier: 'Basic' },
    tags,
    // Jobs on serverless compute (and serverless Spark monitors) can only use identities attached to the workspace.
    identity: { type: 'SystemAssigned,UserAssigned', userAssignedIdentities: Object.fromEntries([identityId, ...jobIdentities].map((id) => [`[${id.text}]`, {}])) },
    properties: {
      friendlyName: env.name,
      description: env.description,
      storageAccount: resourceId('Microsoft.Storage/storageAccounts', core.storage),
      keyVault: resourceId('Microsoft.KeyVault/vaults', core.keyVault),
      applicationInsights: resourceId('Microsoft.Insights/components', core.appInsights),
      containerRegistry: resourceId('Microsoft.ContainerRegistry/registries', core.registry),
      publicNetworkAccess: isPrivate ? 'Disabled' : 'Enabled',
      managedNetwork: isPrivate
        ? {
            isolationMode: 'AllowOnlyApprovedOutbound',
            firewallSku: fqdns.length > 0 ? 'Standard' : undefined,
            outboundRules: Object.keys(outboundRules).length > 0 ? outboundRules : undefined,
          }
        : undefined,
      provisionNetworkNow: isPrivate ? true : undefined,
      hbiWorkspace: enc.kind === 'customer-managed' ? true : undefined,
      encryption:
        enc.kind === 'customer-managed'
          ? {
              status: 'Enabled',
              identity: { userAssignedIdentity: identityId },
              keyVaultProperties: {
                keyVaultArmId: resourceId('Microsoft.KeyVault/vaults', core.keyVault),
                keyIdentifier: reference(keyId as ArmExpr, API.keyVault, 'keyUriWithVersion'),
              },
            }
          : undefined,
      v1LegacyMode: false,
    },
    extraDependsOn: [resourceKey('Microsoft.ManagedIdentity/userAssignedIdentities', core.identity), ...(keyRoleKey ? [keyRoleKey] : [])],
  });

  // The environment identity pulls images for computes and endpoints.
  assignRole(ctx, {
    scopeType: 'Microsoft.ContainerRegistry/registries',
    scopeNames: [core.registry],
    role: ROLES.acrPull,
    principalId: reference(identityId, API.identity, 'principalId'),
    principalKey: core.identity,
    description: `${path}: environment identity pulls images`,
  });

  ctx.outputs.workspaceName = { type: 'string', value: core.workspace };
  ctx.outputs.workspaceId = { type: 'string', value: ctx.workspaceId() };
  ctx.outputs.mlflowTrackingUri = { type: 'string', value: reference(ctx.workspaceId(), ML_API, 'mlFlowTrackingUri') };
  ctx.outputs.environmentIdentityClientId = { type: 'string', value: reference(identityId, API.identity, 'clientId') };
}
