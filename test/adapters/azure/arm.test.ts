import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { azureAdapter } from '../../../adapters/azure';
import { ArmExpr, armNumber, concat, renderArm, resourceId } from '../../../adapters/azure/arm';
import { stableGuid } from '../../../adapters/azure/roles';
import type { ArmTemplate } from '../../../adapters/azure/arm';
import { FEATURES } from '../../../lib/model/capabilities';
import { fraudModel } from './fixtures';
import { conformanceModels, synth } from './models';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('ARM values', () => {
  it('renders expressions in brackets and escapes user strings that start with a bracket', () => {
    expect(renderArm({ a: resourceId('Microsoft.Storage/storageAccounts', 'st1'), b: '[not an expression]', c: 'x[y]' })).toEqual({
      a: "[resourceId('Microsoft.Storage/storageAccounts', 'st1')]",
      b: '[[not an expression]',
      c: 'x[y]',
    });
  });

  it("quotes literals inside expressions by doubling single quotes", () => {
    expect(concat("it's", new ArmExpr('x')).text).toBe("concat('it''s', x)");
  });

  it('passes fractional numbers through json() so integer-typed ML schema fields accept them', () => {
    expect(renderArm(armNumber(0.15))).toBe("[json('0.15')]");
    expect(renderArm(armNumber(2))).toBe(2);
  });

  it('derives role assignment names as well-formed, stable GUIDs', () => {
    const a = stableGuid(['scope', 'principal', 'role']);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stableGuid(['scope', 'principal', 'role'])).toBe(a);
    expect(stableGuid(['scope', 'principal', 'other'])).not.toBe(a);
  });
});

describe('rendered templates', () => {
  it('hold plain JSON data in memory: each template equals its own JSON round trip (no undefined members, no undefined list items)', () => {
    // renderResources builds the resources without a JSON round trip (adapters/azure/index.ts); deploy
    // engines and tests that read the documents in memory see what a reader of template.json sees.
    for (const { label, model } of conformanceModels()) {
      const template = synth(model).documents['template.json'] as ArmTemplate;
      expect(template, label).toStrictEqual(JSON.parse(JSON.stringify(template)));
    }
  });

  it('renders an undefined list item as null and leaves undefined members out', () => {
    expect(renderArm({ a: [1, undefined as unknown as null, 'x'], b: undefined })).toStrictEqual({ a: [1, null, 'x'] });
  });
});

describe('dependsOn', () => {
  const t = synth(fraudModel()).documents['template.json'] as ArmTemplate;

  it('makes a versioned asset depend on the workspace when its container is not in the template', () => {
    const c = t.resources.find((r) => r.type.endsWith('/components/versions')) as ArmTemplate['resources'][number];
    expect(c.dependsOn).toContain("[resourceId('Microsoft.MachineLearningServices/workspaces', 'fraud')]");
  });

  it('makes a component depend on the environment version its spec names as an asset string', () => {
    const c = t.resources.find((r) => r.name.includes('/train_fit/')) as ArmTemplate['resources'][number];
    expect(c.dependsOn?.some((d) => d.includes("workspaces/environments/versions', 'fraud', 'img-acme-train'"))).toBe(true);
  });

  it('makes a role assignment depend on its scope and on the identity it names', () => {
    const a = t.resources.find(
      (r) => r.type === 'Microsoft.Authorization/roleAssignments' && String(r.scope).includes('ds-transactions') && String(r.properties?.principalId).includes("'id-train'"),
    ) as ArmTemplate['resources'][number];
    expect(a.dependsOn).toEqual([
      "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-train')]",
      "[resourceId('Microsoft.Storage/storageAccounts/blobServices/containers', 'stfraudaf3ab6', 'default', 'ds-transactions')]",
    ]);
  });
});

describe('the azure adapter', () => {
  it('declares every model feature and documents itself', () => {
    expect(Object.keys(azureAdapter.capabilities).sort()).toEqual(Object.keys(FEATURES).sort());
    for (const [feature, support] of Object.entries(azureAdapter.capabilities)) {
      if (support.level === 'emulated') expect(support.how.length, feature).toBeGreaterThan(20);
    }
    expect(azureAdapter.target).toBe('azure');
    expect(azureAdapter.kind).toBe('documents');
    expect(existsSync(path.join(root, azureAdapter.docs))).toBe(true);
  });

  it('lists in its README every warning id it emits', () => {
    const readme = readFileSync(path.join(root, azureAdapter.docs), 'utf8');
    const ids = new Set(conformanceModels().flatMap(({ model }) => synth(model).warnings.map((w) => w.id)));
    expect(ids.size).toBeGreaterThan(3);
    for (const id of ids) expect(readme, id).toContain(`\`${id}\``);
  });
});
