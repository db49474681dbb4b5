import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AzureSimulator } from '../../../adapters/azure/simulator';
import { engineFor, example, inputFor, settingsFor, simulator, since, SUBSCRIPTION } from './support';

let sim: AzureSimulator;

beforeEach(async () => {
  sim = await simulator();
});
afterEach(() => sim.close());

const rgId = (rg: string) => `/subscriptions/${SUBSCRIPTION}/resourceGroups/${rg}`;
const deletes = (s: AzureSimulator, mark: number) => since(s, mark).filter((r) => r.method === 'DELETE' && r.status < 300);

type Template = { resources: { type: string; name: string; dependsOn?: string[] }[] };
type Verdict = 'deleted before its dependency' | 'dependency retained' | 'went with its deleted parent' | 'dependency deleted first' | 'dependency deleted under a retained dependent';
const OK = new Set<Verdict>(['deleted before its dependency', 'dependency retained', 'went with its deleted parent']);

/** The number of dependsOn entries in the template. */
function dependsOnCount(documents: Record<string, unknown>): number {
  return (documents['template.json'] as Template).resources.reduce((n, r) => n + (r.dependsOn?.length ?? 0), 0);
}

/**
 * A verdict for every dependsOn edge of the template, given the DELETE paths in the order sent and
 * the ids left afterwards (all lower case). A resource is known by the tail `/<type>/<name>` of its id.
 */
function deleteOrder(documents: Record<string, unknown>, sent: string[], left: string[]): { edge: string; verdict: Verdict }[] {
  const tail = (type: string, name: string) => `/${type.split('/').pop() ?? ''}/${name.split('/').pop() ?? ''}`.toLowerCase();
  const position = (t: string) => sent.findIndex((p) => p.endsWith(t));
  const template = documents['template.json'] as Template;
  return template.resources.flatMap((r) => (r.dependsOn ?? []).map((d) => {
    const ref = /^\[resourceId\('([^']+)', (.+)\)\]$/.exec(d);
    const ext = /^\[extensionResourceId\(.*, '(Microsoft\.Authorization\/roleAssignments)', '([^']+)'\)\]$/.exec(d);
    const target = ref ? tail(ref[1] as string, [...(ref[2] as string).matchAll(/'([^']*)'/g)].map((x) => x[1] as string).join('/')) : ext ? tail(ext[1] as string, ext[2] as string) : undefined;
    if (!target) throw new Error(`unexpected dependsOn form ${d}`);
    const self = tail(r.type, r.name);
    const [a, b] = [position(self), position(target)];
    const verdict: Verdict = b < 0 ? 'dependency retained'
      : a >= 0 ? (a < b ? 'deleted before its dependency' : 'dependency deleted first')
      : left.some((id) => id.endsWith(self)) ? 'dependency deleted under a retained dependent' : 'went with its deleted parent';
    return { edge: `${r.type} ${r.name} -> ${d}`, verdict };
  }));
}

describe('azure destroy', () => {
  it('deletes only resources the environment owns, dependents first, and retains data', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-destroy');
    const engine = engineFor(sim);
    // GIVEN resources in the same resource group that mlplane does not own
    const foreign = [
      sim.state.seed({ id: `${rgId('rg-destroy')}/providers/Microsoft.Storage/storageAccounts/someoneelse`, location: 'westeurope', tags: { 'mlplane-env': 'Other' } }),
      sim.state.seed({ id: `${rgId('rg-destroy')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/handmade`, location: 'westeurope' }),
      // a resource of another mlplane environment, of a type destroy deletes (not data)
      sim.state.seed({ id: `${rgId('rg-destroy')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-other-env`, location: 'westeurope', tags: { 'mlplane-env': 'Other' } }),
    ];
    await engine.deploy(inputFor(model, settings));
    const input = { ...inputFor(model, settings), concurrency: 1 };

    // WHEN destroying without --destroy-data, one delete at a time
    const plan = await engine.planDestroy(input, {});
    const mark = sim.requestLog.length;
    const summary = await engine.destroy(input, {});

    // THEN exactly the planned deletes were sent, in the planned order
    const planned = plan.items.filter((i) => i.action === 'delete').map((i) => i.id.toLowerCase());
    const sent = deletes(sim, mark).map((r) => r.path.toLowerCase());
    expect(sent).toEqual(planned);
    expect(summary.deleted).toBe(planned.length);
    expect(planned.length).toBeGreaterThan(5);
    // AND foreign resources are untouched
    for (const f of foreign) expect(sim.state.get(f.id)).toBeDefined();
    expect(sent.filter((p) => /someoneelse|handmade|id-other-env/.test(p))).toEqual([]);
    expect(plan.items.filter((i) => /someoneelse|handmade|id-other-env/.test(i.id))).toEqual([]);
    // AND data-bearing resources (storage, the workspace holding models and data assets) are retained
    const left = [...sim.state.resources.values()].filter((r) => r.id.includes('/resourceGroups/rg-destroy/'));
    expect(left.filter((r) => r.type === 'Microsoft.Storage/storageAccounts').length).toBe(3);
    expect(left.some((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/models')).toBe(true);
    expect(left.some((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/data/versions')).toBe(true);
    // AND serving and scheduling resources are gone
    for (const gone of ['workspaces/onlineEndpoints', 'workspaces/computes', 'workspaces/schedules', 'Microsoft.Logic/workflows']) {
      expect(left.filter((r) => r.type.endsWith(gone))).toEqual([]);
    }
    expect(plan.items.filter((i) => i.action === 'noop').every((i) => i.summary[0]?.startsWith('retain '))).toBe(true);
    // AND every dependsOn edge of the template holds: the dependent is deleted before its dependency,
    // or the dependency is retained, or the dependent went with its deleted parent
    const verdicts = deleteOrder(input.documents, sent, left.map((r) => r.id.toLowerCase()));
    expect(verdicts.filter((v) => !OK.has(v.verdict)), JSON.stringify(verdicts.filter((v) => !OK.has(v.verdict)))).toEqual([]);
    expect(verdicts.length).toBe(dependsOnCount(input.documents));
    expect(verdicts.filter((v) => v.verdict === 'deleted before its dependency').length).toBeGreaterThan(5);
  });

  it('fails if a Key Vault soft-deleted by destroyData blocks the re-deploy, explaining the way out', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-purge');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));

    await engine.destroy(inputFor(model, settings), { destroyData: true });

    expect([...sim.state.resources.values()].filter((r) => r.id.includes('/resourceGroups/rg-purge/'))).toEqual([]);
    expect([...sim.state.softDeleted.values()].map((s) => s.type).sort()).toEqual(['Microsoft.KeyVault/vaults', 'Microsoft.MachineLearningServices/workspaces']);
    const mark = sim.requestLog.length;
    const err = await engine.deploy(inputFor(model, settings)).catch((e: unknown) => e);
    expect(String(err)).toMatch(/^DeployError: \[Churn\] Key Vault 'kv-churn-staging-[0-9a-f]+' is soft-deleted and blocks this deploy.*mlplane destroy --destroy-data --purge/);
    expect(since(sim, mark).filter((r) => r.write)).toEqual([]);
  });

  it('purges soft-deleted workspaces and vaults with purge, so that the re-deploy succeeds', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-purge2');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));
    await engine.destroy(inputFor(model, settings), { destroyData: true });
    expect(sim.state.softDeleted.size).toBe(2);

    await engine.destroy(inputFor(model, settings), { destroyData: true, purge: true });

    expect(sim.state.softDeleted.size).toBe(0);
    await expect(engine.deploy(inputFor(model, settings))).resolves.toMatchObject({ environment: 'Churn' });
  });

  it('fails if a soft-deleted workspace blocks the deploy, naming the construct path and the fix', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-softws');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));
    await engine.destroy(inputFor(model, settings), { destroyData: true });
    // Only the workspace stays soft-deleted (the vault was recovered out of band).
    for (const [k, v] of sim.state.softDeleted) if (v.type === 'Microsoft.KeyVault/vaults') sim.state.softDeleted.delete(k);

    const err = await engine.deploy(inputFor(model, settings)).catch((e: unknown) => e);

    expect(String(err)).toMatch(/^DeployError: \[Churn\] ARM deployment failed: workspace 'churn-staging' \(Churn\): Conflict: .*soft-deleted.*mlplane destroy --destroy-data --purge/);
  });

  it('cannot purge a vault with purge protection and says how to recover it', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-protected');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));
    const input = inputFor(model, settings);

    await engine.destroy(input, { destroyData: true, purge: true });

    expect(input.progress.logs.join('\n')).toMatch(/key vault 'kv-fraud-prod-[0-9a-f]+' is soft-deleted with purge protection.*az keyvault recover/);
    // The customer-managed-key workspace is hard-deleted (no soft delete for CMK workspaces).
    expect([...sim.state.softDeleted.values()].map((s) => s.type)).toEqual(['Microsoft.KeyVault/vaults']);
  });

  it('retries a delete whose response was dropped (deletes are idempotent)', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-dropdelete');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));
    sim.faults.dropAfterApply(1, { method: 'DELETE' });
    // Each delete runs 300 ms: the retry meets the delete in flight and gets its 202 and polling URL again (ARM RPC: DELETE is idempotent).
    sim.faults.lroDurationMs = 300;
    const mark = sim.requestLog.length;

    const summary = await engine.destroy(inputFor(model, settings), {});

    const sent = since(sim, mark).filter((r) => r.method === 'DELETE');
    const dropped = sent.filter((r) => r.status === 0);
    expect(dropped).toHaveLength(1);
    const again = sent.filter((r) => r.path === dropped[0]?.path);
    expect(again.map((r) => r.status)).toEqual([0, 202]);
    expect(summary.deleted).toBe(new Set(sent.map((r) => r.path)).size);
    expect(sim.state.get(dropped[0]?.path ?? '')).toBeUndefined();
  });

  it('deletes in parallel, never before the resources that depend on it are gone', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-parallel');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));
    sim.faults.lroDurationMs = 30;
    const input = { ...inputFor(model, settings), concurrency: 8 };
    const plan = await engine.planDestroy(input, { destroyData: true });
    const mark = sim.requestLog.length;

    await engine.destroy(input, { destroyData: true });

    const log = since(sim, mark);
    const planned = plan.items.filter((i) => i.action === 'delete' && i.id.startsWith('/'));
    expect(new Set(log.filter((r) => r.method === 'DELETE').map((r) => r.path.toLowerCase()))).toEqual(new Set(planned.map((i) => i.id.toLowerCase())));
    // Deletes overlapped: a second DELETE was sent before the first one's operation finished.
    const firstOp = log.findIndex((r) => r.method === 'GET' && /\/operationResults\//.test(r.path));
    expect(log.slice(0, firstOp).filter((r) => r.method === 'DELETE').length).toBeGreaterThan(1);
    // A resource's DELETE comes after the DELETE of every resource that depends on it.
    const sent = log.filter((r) => r.method === 'DELETE').map((r) => r.path.toLowerCase());
    const left = [...sim.state.resources.values()].filter((r) => r.id.includes('/resourceGroups/rg-parallel/')).map((r) => r.id.toLowerCase());
    const verdicts = deleteOrder(input.documents, [...new Set(sent)], left);
    expect(verdicts.filter((v) => !OK.has(v.verdict))).toEqual([]);
    expect(verdicts.length).toBe(dependsOnCount(input.documents));
    expect(verdicts.filter((v) => v.verdict === 'deleted before its dependency').length).toBeGreaterThan(3);
  });
});
