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

const MLS = 'Microsoft.MachineLearningServices/workspaces';

/**
 * A custom role: only the actions one purpose needs, where every built-in role is broader
 * (AzureML Data Scientist may create computes, deploy endpoints, and read and write every asset of
 * the workspace). Defined once per environment — and stage, when the definition declares its
 * stages — in the resource group (`Microsoft.Authorization/roleDefinitions`, assignable there
 * only) and assigned at the narrowest scope, like a built-in role.
 *
 * @see https://learn.microsoft.com/en-us/azure/machine-learning/how-to-assign-roles#create-custom-role
 * @see https://learn.microsoft.com/en-us/azure/role-based-access-control/permissions/ai-machine-learning
 */
export interface CustomRole {
  /** Stable key (the definition's GUID is derived from it). */
  readonly key: string;
  /** Role name shown in Azure (the resource group and the environment, with its stage when declared, are appended: role names are unique per tenant). */
  readonly name: string;
  readonly description: string;
  readonly actions: readonly string[];
}

/** The custom roles the adapter may define. */
export const CUSTOM_ROLES = {
  /** Register model versions from job outputs and move alias tags (register steps). */
  modelRegistrar: {
    key: 'model-registrar',
    name: 'mlplane Model Registrar',
    description: 'Registers model versions from pipeline job outputs and updates their tags (aliases); nothing else in the workspace',
    actions: [`${MLS}/read`, `${MLS}/models/read`, `${MLS}/models/write`, `${MLS}/models/versions/read`, `${MLS}/models/versions/write`, `${MLS}/jobs/read`, `${MLS}/datastores/read`],
  },
  /** Submit a pipeline job from registered components (retraining, running a pipeline). */
  jobSubmitter: {
    key: 'job-submitter',
    name: 'mlplane Job Submitter',
    description: 'Submits pipeline jobs from the registered components and reads their state; cannot change assets, computes or endpoints',
    actions: [
      `${MLS}/read`, `${MLS}/jobs/read`, `${MLS}/jobs/write`, `${MLS}/experiments/runs/submit/action`, `${MLS}/experiments/runs/read`,
      `${MLS}/components/read`, `${MLS}/components/versions/read`, `${MLS}/environments/read`, `${MLS}/environments/versions/read`,
      `${MLS}/data/read`, `${MLS}/data/versions/read`, `${MLS}/datastores/read`, `${MLS}/computes/read`,
    ],
  },
  /** Write the properties of its own run (condition evaluators publish a control output). */
  runPublisher: {
    key: 'run-publisher',
    name: 'mlplane Run Publisher',
    description: 'Reads and updates pipeline runs (condition evaluators publish their control output as a run property)',
    actions: [`${MLS}/read`, `${MLS}/jobs/read`, `${MLS}/experiments/runs/read`, `${MLS}/experiments/runs/write`],
  },
} as const satisfies Record<string, CustomRole>;

/** A role to assign: built-in, or defined by the adapter. */
export type Role = BuiltInRole | CustomRole;

function isCustom(role: Role): role is CustomRole {
  return 'actions' in role;
}

/** Define a custom role in the resource group (once); returns its definition GUID. */
function defineRole(ctx: SynthContext, role: CustomRole): string {
  // One definition per environment and stage (its destroy removes it), named uniquely in the tenant.
  // A single-stage environment keeps the GUID it always had; with declared stages the stage is part of it.
  const owner = ctx.staged([ctx.env.path]);
  const name = stableGuid([ctx.settings.subscriptionId, ctx.settings.resourceGroup, ...owner, 'mlplane-role', role.key]);
  const type = 'Microsoft.Authorization/roleDefinitions';
  if (!ctx.has(resourceKey(type, name))) {
    ctx.add({
      type,
      apiVersion: API.roleAssignments,
      name,
      properties: {
        // Role names are unique in the tenant: the resource group's name (from where it is deployed) tells them apart.
        roleName: new ArmExpr(`format('${role.name} ({0}/${ctx.stagedName})', resourceGroup().name)`),
        description: role.description,
        type: 'CustomRole',
        permissions: [{ actions: [...role.actions], notActions: [] }],
        assignableScopes: [new ArmExpr('resourceGroup().id')],
      },
    });
  }
  return name;
}

/**
 * An ABAC condition (on a Storage Blob Data role assigned on an account) that limits blob reads to
 * the containers Azure ML creates for the workspace's default datastores (`azureml-blobstore-<id>`,
 * whose id is known only after the workspace exists), so the dataset containers of the same account
 * stay out of reach.
 *
 * @see https://learn.microsoft.com/en-us/azure/storage/blobs/storage-auth-abac-examples
 */
export const AZUREML_CONTAINERS_ONLY = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringStartsWith 'azureml-blobstore-'))";

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
  readonly role: Role;
  /**
   * ABAC condition narrowing the assignment (storage data roles).
   *
   * @default - none
   */
  readonly condition?: string;
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
  const roleId = isCustom(spec.role) ? defineRole(ctx, spec.role) : spec.role.id;
  const name = stableGuid([ctx.settings.subscriptionId, ctx.settings.resourceGroup, spec.scopeType, ...spec.scopeNames, spec.principalKey, roleId]);
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
      // Role definition ids are subscription-level, custom ones too; a custom one is defined in this template first.
      roleDefinitionId: new ArmExpr(
        `subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ${armLiteral(roleId)})`,
        isCustom(spec.role) ? [resourceKey('Microsoft.Authorization/roleDefinitions', roleId)] : [],
      ),
      principalId: spec.principalId,
      principalType: 'ServicePrincipal',
      description: `${spec.role.name} — ${spec.description}`,
      condition: spec.condition,
      conditionVersion: spec.condition !== undefined ? '2.0' : undefined,
    },
  });
  return key;
}
