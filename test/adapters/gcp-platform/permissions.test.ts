/**
 * Least privilege on gcp: every effective (identity, role, scope) the synthesized documents grant,
 * for both examples, listed in a golden table a person reviews (`__golden__/permissions-*.txt`),
 * and checked by rule: each one must be implied by a model grant or by what a workload needs to
 * run at all, at the narrowest scope GCP offers for it. A project custom role is expanded into its
 * permissions, each checked on its own.
 */
import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from '../../../adapters/gcp';
import type { EnvironmentModel, ResourceModel } from '../../../lib/model/types';
import { example, inputFor } from '../gcp-deploy/support';

/** One effective permission. */
interface Effective {
  readonly identity: string;
  readonly role: string;
  readonly scope: string;
}

/**
 * Roles — or, for a project custom role, permissions — a grant implies, per resource kind and
 * access, and where they may be bound. `resource`: on the granted resource itself (table, feature
 * view, secret). `project`: the API has no resource-level IAM for it (Vertex AI models, endpoints,
 * pipeline jobs, custom jobs, batch prediction jobs, model monitors: only feature online stores /
 * feature views have IAM policies in aiplatform.v1), documented in adapters/gcp/README.md "Least
 * privilege". Vertex AI writes are never `roles/aiplatform.user` (every Vertex AI permission) but
 * the permissions listed here, in a custom role; the names are those of the IAM reference
 * (https://cloud.google.com/iam/docs/roles-permissions/aiplatform).
 */
const IMPLIED: Readonly<Record<ResourceModel['kind'], { readonly read: readonly string[]; readonly write: readonly string[]; readonly at: 'resource' | 'project' }>> = {
  dataset: { read: ['roles/bigquery.dataViewer'], write: ['roles/bigquery.dataEditor'], at: 'resource' },
  featureTable: { read: ['roles/aiplatform.featurestoreDataViewer', 'roles/bigquery.dataViewer'], write: ['roles/aiplatform.featurestoreDataWriter', 'roles/bigquery.dataEditor'], at: 'resource' },
  modelRegistry: { read: ['roles/aiplatform.viewer'], write: ['aiplatform.models.upload', 'aiplatform.models.get', 'aiplatform.models.list', 'aiplatform.models.update'], at: 'project' },
  computePool: { read: ['roles/aiplatform.viewer'], write: ['aiplatform.customJobs.create', 'aiplatform.customJobs.get', 'aiplatform.customJobs.cancel'], at: 'project' },
  pipeline: { read: ['roles/aiplatform.viewer'], write: ['aiplatform.pipelineJobs.create', 'aiplatform.pipelineJobs.get', 'aiplatform.pipelineJobs.cancel'], at: 'project' },
  onlineEndpoint: { read: ['aiplatform.endpoints.predict'], write: ['aiplatform.endpoints.predict', 'aiplatform.endpoints.get', 'aiplatform.endpoints.deploy', 'aiplatform.endpoints.undeploy', 'aiplatform.endpoints.update'], at: 'project' },
  batchInference: { read: ['roles/aiplatform.viewer'], write: ['aiplatform.batchPredictionJobs.create', 'aiplatform.batchPredictionJobs.get', 'aiplatform.batchPredictionJobs.cancel'], at: 'project' },
  driftMonitor: { read: ['roles/aiplatform.viewer'], write: ['aiplatform.modelMonitors.get', 'aiplatform.modelMonitors.update', 'aiplatform.modelMonitoringJobs.create', 'aiplatform.modelMonitoringJobs.get'], at: 'project' },
  secret: { read: ['roles/secretmanager.secretAccessor'], write: ['roles/secretmanager.secretAccessor'], at: 'resource' },
};

/** What a workload that runs as a Vertex pipeline needs whatever it does (no model grant names it). */
const PIPELINE_RUNNER: readonly { role: string; scope: string; why: string }[] = [
  ...['aiplatform.pipelineJobs.create', 'aiplatform.pipelineJobs.get'].map((role) => ({ role, scope: 'project', why: 'runs its pipeline job; pipeline jobs have no resource-level IAM' })),
  ...['aiplatform.customJobs.create', 'aiplatform.customJobs.get', 'aiplatform.customJobs.cancel'].map((role) => ({ role, scope: 'project', why: 'runs the custom jobs of its tasks; custom jobs have no resource-level IAM' })),
  ...[
    'aiplatform.metadataStores.get',
    ...['create', 'get', 'list', 'update'].flatMap((v) => [`aiplatform.artifacts.${v}`, `aiplatform.executions.${v}`, `aiplatform.contexts.${v}`]),
    'aiplatform.executions.addExecutionEvents',
    'aiplatform.contexts.addContextArtifactsAndExecutions',
    'aiplatform.contexts.addContextChildren',
  ].map((role) => ({ role, scope: 'project', why: 'records its ML Metadata (artifacts, executions, contexts, lineage) as the KFP launcher does; the metadata store has no resource-level IAM' })),
  { role: 'roles/bigquery.jobUser', scope: 'project', why: 'runs BigQuery jobs (queries, exports); jobs are project resources' },
  { role: 'roles/storage.objectUser', scope: 'bucket:staging', why: 'its pipeline root on the environment staging bucket' },
];

function identitiesOf(model: EnvironmentModel, p: EnvironmentModel['grants'][number]['principal']): string[] {
  switch (p.kind) {
    case 'step':
      return [p.pipeline];
    case 'deployment':
      return [p.endpoint];
    case 'batchInference':
      return [p.batch];
    case 'driftMonitor': {
      const m = model.resources.find((r) => r.path === p.monitor);
      return ['agent:aiplatform.googleapis.com', ...(m?.kind === 'driftMonitor' && m.onDrift ? [m.onDrift.pipeline] : [])];
    }
  }
}

/** The effective permissions of a synthesized environment, identities named by workload path or service agent. */
function effective(name: string): { model: EnvironmentModel; list: Effective[] } {
  const model = example(name);
  const { documents } = inputFor(model);
  const manifest = documents['manifest.json'] as { entries: ManifestEntry[] };
  const byEmail = new Map(manifest.entries.filter((e) => e.method === 'iam.projects.serviceAccounts.create').map((e) => [`${e.id as string}@acme-ml.iam.gserviceaccount.com`, e.path]));
  const who = (member: string) => (member.startsWith('serviceAgent:') ? `agent:${member.slice('serviceAgent:'.length)}` : (byEmail.get(member.replace(/^serviceAccount:/, '')) ?? `UNKNOWN ${member}`));
  const list: Effective[] = [];
  for (const e of manifest.entries) {
    const body = documents[e.document] as { bindings?: { role: string; members: string[] }[]; access?: { role: string; userByEmail?: string }[] };
    const scope =
      e.method === 'cloudresourcemanager.projects.setIamPolicy' ? 'project'
      : e.method === 'storage.buckets.setIamPolicy' ? 'bucket:staging'
      : e.method === 'cloudkms.projects.locations.keyRings.cryptoKeys.setIamPolicy' ? `key:${e.parent.split('/')[3] as string}`
      : e.method.endsWith('.setIamPolicy') ? `resource:${e.path}${e.method.startsWith('bigquery.') && model.resources.find((r) => r.path === e.path)?.kind === 'featureTable' ? '#view' : ''}`
      : undefined;
    if (scope) {
      for (const b of body.bindings ?? []) {
        for (const m of b.members) {
          const custom = /^projects\/[^/]+\/roles\/([^/]+)$/.exec(b.role);
          if (!custom) {
            list.push({ identity: who(m), role: b.role, scope });
            continue;
          }
          // A custom role counts as each of its permissions.
          const role = documents[`iam/roles/${custom[1] as string}.json`] as { role: { includedPermissions: string[] } } | undefined;
          if (!role) list.push({ identity: who(m), role: `MISSING ${b.role}`, scope });
          for (const permission of role?.role.includedPermissions ?? []) list.push({ identity: who(m), role: permission, scope });
        }
      }
    }
    if (e.method === 'bigquery.datasets.insert') {
      for (const a of body.access ?? []) if (a.userByEmail) list.push({ identity: who(a.userByEmail), role: a.role === 'WRITER' ? 'roles/bigquery.dataEditor' : a.role === 'READER' ? 'roles/bigquery.dataViewer' : 'roles/bigquery.dataOwner', scope: 'dataset:environment' });
    }
  }
  return { model, list };
}

/** Why an effective permission is allowed, or undefined when nothing in the model implies it. */
function reason(model: EnvironmentModel, p: Effective): string | undefined {
  const workload = model.resources.find((r) => r.path === p.identity);
  if (workload && (workload.kind === 'pipeline' || workload.kind === 'batchInference')) {
    const base = PIPELINE_RUNNER.find((b) => b.role === p.role && b.scope === p.scope);
    if (base) return `runs as a pipeline: ${base.why}`;
  }
  if (workload?.kind === 'batchInference' && p.role === 'roles/bigquery.dataEditor' && p.scope === 'dataset:environment') return 'batch prediction creates its output table in the environment dataset';
  if (p.role === 'roles/cloudkms.cryptoKeyEncrypterDecrypter' && p.identity.startsWith('agent:') && p.scope.startsWith('key:') && model.environment.encryption.kind === 'customer-managed') {
    return 'the service encrypts the environment\'s data with its customer-managed key';
  }
  for (const g of model.grants) {
    if (!identitiesOf(model, g.principal).includes(p.identity)) continue;
    const target = model.resources.find((r) => r.path === g.resource);
    if (!target) continue;
    const rule = IMPLIED[target.kind];
    const roles = g.access === 'read' ? rule.read : g.access === 'write' ? rule.write : [...rule.read, ...rule.write];
    if (!roles.includes(p.role)) continue;
    const scopeOk = rule.at === 'project' ? p.scope === 'project' : p.scope === `resource:${target.path}` || p.scope === `resource:${target.path}#view`;
    if (scopeOk) return `grant ${g.access} on ${g.resource}`;
  }
  return undefined;
}

describe.each(['Fraud', 'Churn'])('%s', (name) => {
  const { model, list } = effective(name);

  it('lists every effective (identity, role, scope): the reviewed golden table', async () => {
    const lines = list.map((p) => `${p.identity} | ${p.role} | ${p.scope} | ${reason(model, p) ?? 'NOT IMPLIED'}`).sort();
    await expect(`${lines.join('\n')}\n`).toMatchFileSnapshot(`__golden__/permissions-${name.toLowerCase()}.txt`);
  });

  it('grants nothing a model grant (or running as a pipeline) does not imply', () => {
    expect(list.length).toBeGreaterThan(3);
    expect(list.filter((p) => reason(model, p) === undefined)).toEqual([]);
  });

  it('binds at project level only roles whose API has no resource-level IAM, and never roles/aiplatform.user', () => {
    const projectRoles = new Set(list.filter((p) => p.scope === 'project').map((p) => p.role));
    // Custom role permissions are Vertex AI ones; the predefined roles are read-only Vertex AI and BigQuery jobs.
    expect([...projectRoles].filter((r) => !r.startsWith('aiplatform.') && !['roles/aiplatform.viewer', 'roles/bigquery.jobUser'].includes(r))).toEqual([]);
    expect(list.filter((p) => p.role === 'roles/aiplatform.user')).toEqual([]);
  });

  it('defines one custom role per identity that needs Vertex AI writes, bound only to that identity', () => {
    const { documents } = inputFor(model);
    const project = documents['iam/policies/project.json'] as { bindings: { role: string; members: string[] }[] };
    const custom = project.bindings.filter((b) => b.role.startsWith('projects/'));
    expect(custom.length).toBeGreaterThan(0);
    for (const b of custom) expect(b.members).toHaveLength(1);
    const manifest = documents['manifest.json'] as { entries: ManifestEntry[] };
    const roles = manifest.entries.filter((e) => e.method === 'iam.projects.roles.create');
    expect(roles.map((e) => `projects/acme-ml/roles/${e.id as string}`).sort()).toEqual(custom.map((b) => b.role).sort());
    // The project policy is applied after the roles it binds.
    const policy = manifest.entries.find((e) => e.method === 'cloudresourcemanager.projects.setIamPolicy');
    for (const r of roles) expect(policy?.dependsOn).toContain(r.key);
  });
});

it('fails the rule check on a grant the model does not imply (the check can fail)', () => {
  const model = example('Fraud');
  expect(reason(model, { identity: 'Fraud/Train', role: 'roles/storage.admin', scope: 'project' })).toBeUndefined();
  expect(reason(model, { identity: 'Fraud/Train', role: 'roles/bigquery.dataViewer', scope: 'project' })).toBeUndefined();
  // Scoring only reads the registry: no Vertex AI write permission is implied for it.
  expect(reason(model, { identity: 'Fraud/Scoring', role: 'aiplatform.models.upload', scope: 'project' })).toBeUndefined();
  expect(reason(model, { identity: 'Fraud/Train', role: 'roles/aiplatform.user', scope: 'project' })).toBeUndefined();
});
