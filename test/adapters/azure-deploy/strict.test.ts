/**
 * The ARM simulator rejects what ARM and the providers reject, with ARM's status and error codes:
 * unknown namespaces, types and api-versions, storage account names, required properties, and
 * bodies that violate the published ARM schema of any provider mlplane emits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AzureSimulator } from '../../../adapters/azure/simulator';
import { simulator } from './support';

let sim: AzureSimulator;
beforeAll(async () => {
  sim = await simulator();
});
afterAll(() => sim.close());

const RG = '/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/rg-strict';

interface ArmErrorBody {
  code: string;
  message: string;
  details?: ArmErrorBody[];
}

/** PUT a template deployment of `resources`; the status and ARM error. */
async function deploy(name: string, resources: unknown[]): Promise<{ status: number; error?: ArmErrorBody }> {
  const res = await fetch(`${sim.url}${RG}/providers/Microsoft.Resources/deployments/${name}?api-version=2022-09-01`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test' },
    body: JSON.stringify({ properties: { mode: 'Incremental', template: { $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#', contentVersion: '1.0.0.0', resources } } }),
  });
  const body = (await res.json()) as { error?: ArmErrorBody };
  return { status: res.status, ...(body.error ? { error: body.error } : {}) };
}

const storage = (extra: Record<string, unknown>) => ({ type: 'Microsoft.Storage/storageAccounts', apiVersion: '2023-05-01', name: 'stgood01', location: 'westeurope', sku: { name: 'Standard_LRS' }, kind: 'StorageV2', properties: {}, ...extra });

describe('ARM registration checks', () => {
  // https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-register-resource-provider
  it('fails if a template names the namespace Microsoft.Foo (InvalidResourceNamespace), with no write', async () => {
    const res = await deploy('foo', [{ type: 'Microsoft.Foo/bars', apiVersion: '2023-01-01', name: 'b', location: 'westeurope' }]);
    expect(res).toEqual({ status: 400, error: { code: 'InvalidResourceNamespace', message: "The resource namespace 'Microsoft.Foo' is invalid." } });
    expect(sim.state.deployments.size).toBe(0);
  });

  it('fails if a type is not in its namespace (InvalidResourceType)', async () => {
    const res = await deploy('bars', [{ type: 'Microsoft.Storage/bars', apiVersion: '2023-05-01', name: 'b', location: 'westeurope' }]);
    expect(res.status).toBe(400);
    expect(res.error?.code).toBe('InvalidResourceType');
    expect(res.error?.message).toBe("The resource type 'bars' could not be found in the namespace 'Microsoft.Storage' for api version '2023-05-01'.");
  });

  it('fails if Storage is asked for apiVersion 1999-99-99 (NoRegisteredProviderFound)', async () => {
    const res = await deploy('old', [storage({ apiVersion: '1999-99-99' })]);
    expect(res.status).toBe(400);
    expect(res.error?.code).toBe('NoRegisteredProviderFound');
    expect(res.error?.message).toMatch(/^No registered resource provider found for location 'westeurope' and API version '1999-99-99' for type 'storageAccounts'\. The supported api-versions are '2023-05-01'/);
  });
});

describe('provider rules', () => {
  // https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftstorage
  it('fails if a storage account is named Invalid_Name-With-CAPS! (AccountNameInvalid in preflight)', async () => {
    const res = await deploy('name', [storage({ name: 'Invalid_Name-With-CAPS!' })]);
    expect(res.status).toBe(400);
    expect(res.error?.code).toBe('InvalidTemplateDeployment');
    const preflight = res.error?.details?.find((d) => d.code === 'PreflightValidationCheckFailed');
    expect(preflight?.details?.[0]).toMatchObject({ code: 'AccountNameInvalid', message: 'Invalid_Name-With-CAPS! is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.' });
  });

  // https://learn.microsoft.com/rest/api/storagerp/storage-accounts/create (sku, kind, location required)
  it('fails if a storage account has no sku, kind or location, naming each', async () => {
    const res = await deploy('bare', [{ type: 'Microsoft.Storage/storageAccounts', apiVersion: '2023-05-01', name: 'stbare01', properties: {} }]);
    expect(res.status).toBe(400);
    expect(res.error?.code).toBe('InvalidTemplateDeployment');
    const messages = (res.error?.details ?? []).map((d) => `${d.code}: ${d.message}`);
    expect(messages).toEqual([
      "InvalidRequestContent: The request content was invalid and could not be deserialized: 'Required property 'sku' not found in JSON. Path ''.'",
      "InvalidRequestContent: The request content was invalid and could not be deserialized: 'Required property 'kind' not found in JSON. Path ''.'",
      'LocationRequired: The location property is required for this definition.',
    ]);
  });

  it('fails if an ML workspace has no location (LocationRequired)', async () => {
    const res = await deploy('ws', [{ type: 'Microsoft.MachineLearningServices/workspaces', apiVersion: '2026-05-01', name: 'ws1', properties: {} }]);
    expect(res.status).toBe(400);
    expect(res.error?.details?.map((d) => d.code)).toContain('LocationRequired');
  });

  // spec-data/azure/arm-schemas/schemas/2023-07-01/Microsoft.KeyVault.json: VaultProperties requires tenantId and sku
  it('fails if a Key Vault body violates its published ARM schema (no tenantId, no sku)', async () => {
    const res = await deploy('kv', [{ type: 'Microsoft.KeyVault/vaults', apiVersion: '2023-07-01', name: 'kv-strict-1', location: 'westeurope', properties: {} }]);
    expect(res.status).toBe(400);
    const detail = res.error?.details?.find((d) => d.code === 'InvalidRequestContent');
    expect(detail?.message).toMatch(/does not match the ARM schema of Microsoft\.KeyVault\/vaults@2023-07-01: .*must have required property '(tenantId|sku)'/);
  });

  it('accepts a valid storage account', async () => {
    const res = await deploy('good', [storage({})]);
    expect(res.status).toBeLessThan(300);
  });
});
