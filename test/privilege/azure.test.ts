import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { azureAdapter } from '../../adapters/azure';
import type { EnvironmentModel } from '../../lib';
import { exampleModels } from '../support/examples';

/**
 * Every role assignment the azure target makes for the examples (identity, role, scope, ABAC
 * condition) as a table reviewed by a person (golden), plus the rules each row must keep, and the
 * actions of every custom role.
 */

const CONTEXT = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../cdk.json'), 'utf8')).context['mlplane:azure'] as Record<string, unknown> & { environments?: Record<string, object> };

interface Assignment {
  readonly identity: string;
  readonly role: string;
  readonly scope: string;
  readonly conditioned: boolean;
  readonly purpose: string;
}

interface Resource {
  readonly type: string;
  readonly name: string;
  readonly scope?: string;
  readonly properties: Record<string, unknown>;
}

function synthOf(model: EnvironmentModel): Resource[] {
  const { environments, ...shared } = CONTEXT;
  const own = environments?.[model.environment.name] ?? {};
  const out = azureAdapter.synth(model, azureAdapter.parseSettings({ ...shared, ...own }));
  return (out.documents['template.json'] as { resources: Resource[] }).resources;
}

function assignments(resources: readonly Resource[]): Assignment[] {
  return resources
    .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
    .map((r) => {
      const p = r.properties;
      const [role, purpose] = String(p.description).split(' — ') as [string, string];
      const identity = /userAssignedIdentities', '([^']+)'/.exec(String(p.principalId))?.[1] ?? String(p.principalId);
      const scope = (r.scope ?? '').replace(/^\[resourceId\(/, '').replace(/\)\]$/, '').replace(/'/g, '');
      return { identity, role, scope, conditioned: p.condition !== undefined, purpose };
    })
    .sort((a, b) => (`${a.identity}${a.role}${a.scope}` < `${b.identity}${b.role}${b.scope}` ? -1 : 1));
}

/** Purposes of assignments that come from no model grant: the environment's and workloads' own needs. */
const OWN_PURPOSES: ReadonlyArray<readonly [RegExp, RegExp]> = [
  [/^AcrPull$/, /: environment identity pulls images$/],
  [/^Key Vault Crypto Service Encryption User$/, /: environment identity unwraps the customer-managed key$/],
  [/^Storage Blob Data Contributor$/, /: materialization writes the offline feature store$/],
  [/^Storage Blob Data Reader$/, /: materialization reads /],
  [/^Storage Blob Data Reader$/, / reads production data$/],
  [/^mlplane Job Submitter$/, / submits retraining of /],
  [/^mlplane Run Publisher$/, /^condition evaluators of /],
  [/^AzureML Data Scientist$/, /: scheduled invocation of its batch endpoint$/],
  [/^Reader$/, /: reads the input data asset when invoking$/],
];

/** Every problem of the rules, one line per offending assignment. */
function violations(model: EnvironmentModel, rows: readonly Assignment[]): string[] {
  const out: string[] = [];
  for (const a of rows) {
    const where = `${a.identity}: ${a.role} on ${a.scope}`;
    const scopeType = a.scope.split(',')[0] ?? '';
    if (['Owner', 'Contributor', 'User Access Administrator'].includes(a.role)) out.push(`privileged role: ${where}`);
    if (a.role === 'AzureML Data Scientist' && scopeType === 'Microsoft.MachineLearningServices/workspaces') out.push(`workspace-wide AzureML Data Scientist: ${where}`);
    if (a.role.startsWith('Storage Blob Data') && scopeType === 'Microsoft.Storage/storageAccounts' && !(a.role === 'Storage Blob Data Reader' && a.conditioned)) out.push(`account-wide blob data role: ${where}`);
    const granted = /^(\S+) (read|write|readWrite) (\S+) \((explicit|wiring)\)$/.exec(a.purpose);
    if (granted) {
      const [, owner, access, resource] = granted;
      const ownerOf = (p: (typeof model.grants)[number]['principal']) => (p.kind === 'step' ? p.pipeline : p.kind === 'deployment' ? p.endpoint : p.kind === 'batchInference' ? p.batch : p.monitor);
      if (!model.grants.some((g) => ownerOf(g.principal) === owner && g.access === access && g.resource === resource)) out.push(`no model grant implies it: ${where} (${a.purpose})`);
      if (access === 'read' && /Contributor|Data Scientist|Registrar|Submitter/.test(a.role)) out.push(`write role for a read grant: ${where}`);
    } else if (!OWN_PURPOSES.some(([role, purpose]) => role.test(a.role) && purpose.test(a.purpose))) {
      out.push(`neither a model grant nor a known purpose: ${where} (${a.purpose})`);
    }
  }
  return out;
}

describe('azure effective permissions', () => {
  const [fraud, churn] = exampleModels();
  for (const [name, model] of [['fraud', fraud], ['churn', churn]] as const) {
    it(`${name}: every role assignment is implied by a model grant or the identity's own purpose (golden table + rules)`, async () => {
      const resources = synthOf(model as EnvironmentModel);
      const rows = assignments(resources);
      expect(violations(model as EnvironmentModel, rows)).toEqual([]);
      const roles = resources
        .filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions')
        .map((r) => `${(r.properties as { roleName: string }).roleName}: ${((r.properties as { permissions: Array<{ actions: string[] }> }).permissions[0]?.actions ?? []).join(' ')}`);
      for (const r of roles) expect(r, 'custom roles name actions, never wildcards').not.toMatch(/\*/);
      const table = [...rows.map((a) => `${a.identity} | ${a.role} | ${a.scope}${a.conditioned ? ' | azureml containers only' : ''} | ${a.purpose}`), '', ...roles.sort()].join('\n');
      await expect(`${table}\n`).toMatchFileSnapshot(`__golden__/azure-${name}.txt`);
    });
  }

  it('fails if an identity gets a workspace-wide Data Scientist, an account-wide write or an ungranted role (the rule bites)', () => {
    const model = fraud as EnvironmentModel;
    expect(violations(model, [
      { identity: 'id-train', role: 'AzureML Data Scientist', scope: 'Microsoft.MachineLearningServices/workspaces,fraud', conditioned: false, purpose: 'Fraud/Train write Fraud/Registry (wiring)' },
      { identity: 'id-train', role: 'Storage Blob Data Contributor', scope: 'Microsoft.Storage/storageAccounts,st', conditioned: false, purpose: 'Fraud/Train write Fraud/Registry (wiring)' },
      { identity: 'id-scoring', role: 'Storage Blob Data Reader', scope: 'Microsoft.Storage/storageAccounts/blobServices/containers,st,default,ds-x', conditioned: false, purpose: 'Fraud/Scoring read Fraud/Transactions (wiring)' },
    ])).toEqual([
      'workspace-wide AzureML Data Scientist: id-train: AzureML Data Scientist on Microsoft.MachineLearningServices/workspaces,fraud',
      'account-wide blob data role: id-train: Storage Blob Data Contributor on Microsoft.Storage/storageAccounts,st',
      'no model grant implies it: id-scoring: Storage Blob Data Reader on Microsoft.Storage/storageAccounts/blobServices/containers,st,default,ds-x (Fraud/Scoring read Fraud/Transactions (wiring))',
    ]);
  });
});
