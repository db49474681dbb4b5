import { createHash } from 'node:crypto';
import { ArmExpr, armLiteral, resourceId, resourceKey } from './arm';
import { API, type SynthContext } from './context';

/** A built-in Azure role. */
export interface BuiltInRole {
  readonly name: string;
  /** Role definition GUID (the same in every tenant). */
  readonly id: string;
}

/**
 * The built-in roles the adapter assigns — each the narrowest built-in role for its purpose, and
 * always scoped to one resource (never the subscription or the resource group).
 */
export const ROLES = {
  reader: { name: 'Reader', id: 'acdd72a7-3385-48ef-bd42-f606fba81ae7' },
  storageBlobDataReader: { name: 'Storage Blob Data Reader', id: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1' },
  storageBlobDataContributor: { name: 'Storage Blob Data Contributor', id: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' },
  azureMlDataScientist: { name: 'AzureML Data Scientist', id: 'f6c7c914-8db3-469d-8ca1-694a8f32e121' },
  azureMlComputeOperator: { name: 'AzureML Compute Operator', id: 'e503ece1-11d0-4e8e-8e2c-7a6c3bf38815' },
  azureMlMetricsWriter: { name: 'AzureML Metrics Writer (preview)', id: '635dd51f-9968-44d3-b7fb-6d9a6bd613ae' },
  keyVaultSecretsUser: { name: 'Key Vault Secrets User', id: '4633458b-17de-408a-b874-0445c86b69e6' },
  keyVaultCryptoServiceEncryptionUser: { name: 'Key Vault Crypto Service Encryption User', id: 'e147488a-f6f5-4113-8e2d-b22465e65bf6' },
  acrPull: { name: 'AcrPull', id: '7f951dda-4ed3-4680-a7ca-43fe172d538d' },
} as const satisfies Record<string, BuiltInRole>;

/** Roles that must never be assigned by mlplane. */
export const FORBIDDEN_ROLE_IDS: readonly string[] = [
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635', // Owner
  'b24988ac-6180-42a0-ab88-20f7382dd24c', // Contributor
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9', // User Access Administrator
];

/** One role assignment to add. */
export interface RoleAssignmentSpec {
  /** Type of the resource the role is scoped to. */
  readonly scopeType: string;
  /** Name segments of that resource. */
  readonly scopeNames: readonly string[];
  readonly role: BuiltInRole;
  /** Principal (object) id, usually `reference(identity).principalId`. */
  readonly principalId: ArmExpr;
  /** Stable key of the principal (identity name), for the assignment's GUID name. */
  readonly principalKey: string;
  readonly description: string;
}

/** A deterministic GUID from `parts` (role assignment names must be GUIDs). */
export function stableGuid(parts: readonly string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest('hex');
  // RFC 4122 layout, version 5-like and variant bits set, so the value is a well-formed GUID.
  const v = `5${h.slice(13, 16)}`;
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16) + h.slice(17, 20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${v}-${variant}-${h.slice(20, 32)}`;
}

/**
 * Add a role assignment scoped to one resource; returns its resource key (for dependsOn).
 * The same assignment requested twice is added once.
 */
export function assignRole(ctx: SynthContext, spec: RoleAssignmentSpec): string {
  const name = stableGuid([ctx.settings.subscriptionId, ctx.settings.resourceGroup, spec.scopeType, ...spec.scopeNames, spec.principalKey, spec.role.id]);
  const type = 'Microsoft.Authorization/roleAssignments';
  const key = resourceKey(type, name);
  if (ctx.has(key)) return key;
  const scope = resourceId(spec.scopeType, ...spec.scopeNames);
  ctx.add({
    type,
    apiVersion: API.roleAssignments,
    name,
    scope,
    properties: {
      roleDefinitionId: new ArmExpr(`subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ${armLiteral(spec.role.id)})`),
      principalId: spec.principalId,
      principalType: 'ServicePrincipal',
      description: `${spec.role.name} — ${spec.description}`,
    },
  });
  return key;
}
