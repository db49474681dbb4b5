import { describe, expect, it } from 'vitest';
import { FORBIDDEN_ROLE_IDS } from '../../../adapters/azure/roles';
import type { ArmParametersFile, ArmTemplate, RenderedResource } from '../../../adapters/azure/arm';
import { readOnlyViolations, unknownProperties, validators } from './conformance';
import { conformanceModels, synth } from './models';

const ML = 'Microsoft.MachineLearningServices/';

/** Every resource of a template, including those of nested deployments. */
function allResources(template: ArmTemplate): RenderedResource[] {
  const out: RenderedResource[] = [];
  for (const r of template.resources) {
    out.push(r);
    const inner = (r.properties as { template?: { resources?: RenderedResource[] } } | undefined)?.template?.resources;
    if (inner) out.push(...inner);
  }
  return out;
}

const cases = conformanceModels().map(({ label, model }) => {
  const result = synth(model);
  return { label, model, result, template: result.documents['template.json'] as ArmTemplate };
});

describe('the conformance harness', () => {
  it('handles quirk 1 (union bases) and quirk 3 (value-or-expression unions) of the ARM schema', () => {
    const v = validators();
    expect(v.relaxed).toBeGreaterThan(10);
    expect(v.expressionUnions).toBeGreaterThan(100);
  });

  it('rejects a compute whose name breaks the schema pattern', () => {
    const errors = validators().mlResource({
      type: `${ML}workspaces/computes`,
      apiVersion: '2026-05-01',
      name: 'ws/9-bad-name-that-is-far-too-long-for-amlcompute',
      properties: { computeType: 'AmlCompute' },
    });
    expect(errors.join('\n')).toContain('/name');
  });

  it('rejects an AmlCompute vmPriority outside the enum', () => {
    const errors = validators().mlResource({
      type: `${ML}workspaces/computes`,
      apiVersion: '2026-05-01',
      name: 'ws/cpu',
      properties: { computeType: 'AmlCompute', properties: { vmPriority: 'Spot' } },
    });
    expect(errors.length).toBeGreaterThan(0);
  });

  it('flags a property bicep-types does not define', () => {
    expect(
      unknownProperties({ type: `${ML}workspaces/computes`, apiVersion: '2026-05-01', name: 'ws/cpu', properties: { computeType: 'AmlCompute', properties: { vmSise: 'Standard_D2s_v5' } } }),
    ).toEqual([`${ML}workspaces/computes.properties.properties.vmSise`]);
  });

  it('flags a ReadOnly property from bicep-types', () => {
    expect(
      readOnlyViolations({ type: `${ML}workspaces/computes`, apiVersion: '2026-05-01', name: 'ws/cpu', properties: { computeType: 'AmlCompute', provisioningState: 'Succeeded' } }),
    ).toEqual([`${ML}workspaces/computes.properties.provisioningState`]);
  });
});

describe.each(cases)('$label', ({ result, template }) => {
  const resources = allResources(template);
  const mlResources = resources.filter((r) => r.type.startsWith(ML));

  it('has Azure ML resources of at least the workspace, compute, components and schedules', () => {
    const types = new Set(mlResources.map((r) => r.type));
    expect(types).toContain(`${ML}workspaces`);
    expect(types).toContain(`${ML}workspaces/computes`);
    expect(types).toContain(`${ML}workspaces/schedules`);
  });

  it('validates every Microsoft.MachineLearningServices resource against the 2026-05-01 ARM schema', () => {
    const failures = mlResources.flatMap((r) => validators().mlResource(r as unknown as Record<string, unknown>).map((e) => `${r.type} ${r.name}: ${e}`));
    expect(failures).toEqual([]);
  });

  it('uses api-version 2026-05-01 for every Azure ML resource', () => {
    expect(mlResources.filter((r) => r.apiVersion !== '2026-05-01').map((r) => r.name)).toEqual([]);
  });

  it('writes no property bicep-types marks ReadOnly', () => {
    expect(mlResources.flatMap((r) => readOnlyViolations(r as unknown as Record<string, unknown>))).toEqual([]);
  });

  it('writes only properties bicep-types defines (no misspelt property slips through the open ARM schema)', () => {
    expect(mlResources.flatMap((r) => unknownProperties(r as unknown as Record<string, unknown>))).toEqual([]);
  });

  it('validates the template envelope against deploymentTemplate.json', () => {
    expect(validators().template(template)).toEqual([]);
  });

  it('validates the templates of nested deployments against deploymentTemplate.json', () => {
    const nested = template.resources.filter((r) => r.type === 'Microsoft.Resources/deployments');
    for (const n of nested) expect(validators().template((n.properties as { template: unknown }).template), n.name).toEqual([]);
  });

  it('validates the parameters file against deploymentParameters.json and covers every parameter', () => {
    const params = result.documents['parameters.json'] as ArmParametersFile;
    expect(validators().parameters(params)).toEqual([]);
    expect(Object.keys(params.parameters).sort()).toEqual(Object.keys(template.parameters).sort());
  });

  it('depends only on resources of the same template', () => {
    const ids = new Set(
      template.resources.map((r) =>
        r.scope ? `[extensionResourceId(${r.scope.slice(1, -1)}, '${r.type}', '${r.name}')]` : `[resourceId(${[r.type, ...r.name.split('/')].map((x) => `'${x}'`).join(', ')})]`,
      ),
    );
    const dangling = template.resources.flatMap((r) => (r.dependsOn ?? []).filter((d) => !ids.has(d)).map((d) => `${r.name} → ${d}`));
    expect(dangling).toEqual([]);
  });

  it('tags every owned resource with the environment and construct path', () => {
    const untagged = resources.filter((r) => {
      if (r.type === 'Microsoft.Authorization/roleAssignments' || r.type === 'Microsoft.Authorization/roleDefinitions') return false; // no tags on authorization resources
      const tags = r.tags ?? (r.properties?.tags as Record<string, string> | undefined) ?? (r.properties?.metadata as Record<string, string> | undefined);
      const childOnly = ['blobServices', 'managementPolicies', 'accessPolicyAssignments', 'eventSubscriptions', 'workspaces/connections', 'vaults/keys'].some((t) => r.type.includes(t));
      if (childOnly) return false;
      return !tags || !tags['mlplane-path'] || (r.tags !== undefined && !r.tags['mlplane-env']);
    });
    expect(untagged.map((r) => `${r.type} ${r.name}`)).toEqual([]);
  });

  it('assigns only built-in roles scoped to one resource, never Owner/Contributor/User Access Administrator', () => {
    const assignments = resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    expect(assignments.length).toBeGreaterThan(0);
    for (const a of assignments) {
      expect(a.scope).toMatch(/^\[resourceId\('Microsoft\.[A-Za-z]+\/[^']+', '/);
      const roleId = String(a.properties?.roleDefinitionId).match(/'([0-9a-f-]{36})'/)?.[1];
      expect(roleId).toBeDefined();
      expect(FORBIDDEN_ROLE_IDS).not.toContain(roleId);
      expect(a.properties?.principalType).toBe('ServicePrincipal');
    }
  });

  it('writes no secret into any document', () => {
    const all = JSON.stringify(result.documents);
    for (const pattern of [/AccountKey=/i, /SharedAccessSignature/i, /[?&]sig=/i, /adminUserPassword/, /-----BEGIN/, /"password"/i, /listKeys\(/, /listSecrets\(/]) {
      expect(all).not.toMatch(pattern);
    }
  });
});
