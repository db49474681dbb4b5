import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import { createClients } from '../../../adapters/azure/deploy/transport';
import { deploymentNameOf } from '../../../adapters/azure/deploy';
import type { AzureSimulator } from '../../../adapters/azure/simulator';
import type { OnlineEndpointModel } from '../../../lib/model/types';
import { azureExamples, engineFor, example, inputFor, settingsFor, simulator, since, SUBSCRIPTION } from './support';

let sim: AzureSimulator;
let ml: AzureMachineLearningWorkspaces;

beforeAll(async () => {
  sim = await simulator();
  ml = createClients({ subscriptionId: SUBSCRIPTION, endpoint: sim.url }).ml;
});
afterAll(() => sim.close());

describe('azure deploy through the real SDKs against the ARM simulator', () => {
  it.each(azureExamples().map((m) => [m.environment.name, m] as const))('deploys the %s example and every compute, endpoint and deployment reaches Succeeded', async (_name, model) => {
    const engine = engineFor(sim);
    const input = inputFor(model);
    const summary = await engine.deploy(input);

    // One deployment per environment, under its deterministic name; a first deploy of a feature
    // store takes two passes around the upload of its feature set specifications.
    const specs = Object.keys(input.documents).filter((d) => d.endsWith('/FeaturesetSpec.yaml'));
    const deployments = sim.requestLog.filter((r) => r.method === 'PUT' && r.path.endsWith(`/deployments/${deploymentNameOf(model.environment)}`));
    expect(deployments).toHaveLength(specs.length > 0 ? 2 : 1);
    expect(summary.writes).toBe(deployments.length + specs.length);
    expect(summary.created).toBeGreaterThan(10);
    for (const spec of specs) expect([...sim.state.blobs.entries()].some(([k, v]) => k.endsWith(spec.toLowerCase()) && v === input.documents[spec])).toBe(true);
    expect(summary.reads).toBeGreaterThan(0);
    const rg = input.settings.resourceGroup;
    const workspaces = [...sim.state.resources.values()].filter((r) => r.type === 'Microsoft.MachineLearningServices/workspaces' && r.id.includes(`/resourceGroups/${rg}/`));
    expect(workspaces.length).toBeGreaterThan(0);
    // Read back through @azure/arm-machinelearning (api-version 2022-10-01).
    const ws = workspaces.find((w) => w.body.kind !== 'FeatureStore');
    const computes = [];
    for await (const c of ml.computeOperations.list(rg, ws?.name ?? '')) computes.push(c);
    expect(computes.length).toBeGreaterThan(0);
    expect(computes.every((c) => c.properties?.provisioningState === 'Succeeded')).toBe(true);
    expect(input.progress.events.filter((e) => e.state === 'failed')).toEqual([]);
    // Verification read every compute, endpoint and deployment back through Azure ML (2022-10-01).
    const template = input.documents['template.json'] as { resources: { type: string; name: string }[] };
    const verified = template.resources.filter((r) => /\/workspaces\/(computes|onlineEndpoints|onlineEndpoints\/deployments|batchEndpoints|batchEndpoints\/deployments|schedules)$/.test(r.type));
    expect(verified.length).toBeGreaterThan(0);
    for (const r of verified) {
      const tail = r.type.split('/').slice(2).map((t, i) => `${t}/${r.name.split('/')[i + 1] ?? ''}`).join('/');
      expect(sim.requestLog.some((x) => x.method === 'GET' && x.status === 200 && x.query.includes('api-version=2022-10-01') && x.path.endsWith(`/workspaces/${r.name.split('/')[0] ?? ''}/${tail}`))).toBe(true);
    }
  });

  it('reports its calls, round trips on the critical path and parallelism, as the simulator counted them', async () => {
    const model = example('Fraud');
    const input = inputFor(model, settingsFor(model, 'rg-stats'));
    const mark = sim.requestLog.length;
    const summary = await engineFor(sim).deploy(input);
    const sent = since(sim, mark);

    const stats = summary.stats!;
    expect(stats.calls).toBe(sent.length);
    expect(stats.calls).toBe(summary.reads + summary.writes);
    // Reads that do not wait for one another go out together (verification, plan reads), so the chain is shorter than the calls.
    expect(stats.criticalPathRoundTrips).toBeGreaterThan(0);
    expect(stats.criticalPathRoundTrips).toBeLessThan(stats.calls);
    expect(stats.parallelism).toBeGreaterThan(0);
    expect(input.progress.logs).toContain(`${stats.calls} calls, ${stats.criticalPathRoundTrips} round trips on the critical path, parallelism ${stats.parallelism}`);
  });

  it.each(['Churn', 'Fraud'])('sends the reads of an unchanged %s redeploy that do not wait for one another together', async (name) => {
    const model = example(name);
    await engineFor(sim).deploy(inputFor(model, settingsFor(model, `rg-chain-${name}`)));
    // With this much latency on every answer, requests answered less than LATENCY apart were in
    // flight together: one sent after another was answered is answered at least LATENCY later.
    const LATENCY = 150;
    const mark = sim.requestLog.length;
    sim.faults.latencyMs = LATENCY;
    let summary;
    try {
      summary = await engineFor(sim).deploy(inputFor(model, settingsFor(model, `rg-chain-${name}`)));
    } finally {
      sim.faults.latencyMs = 0;
    }
    const sent = since(sim, mark);
    const matching = (re: RegExp) => sent.filter((r) => re.test(`${r.method} ${r.path}`));
    const together = (group: typeof sent) => {
      expect(group.length).toBeGreaterThan(1);
      expect(Math.max(...group.map((r) => r.at)) - Math.min(...group.map((r) => r.at))).toBeLessThan(LATENCY);
    };
    const whatIf = matching(/^POST .*\/whatIf$/)[0]!;
    // Model aliases (one version list per model and alias tag) and the live traffic of endpoints, before what-if.
    const first = [...matching(/^GET .*\/models\/[^/]+\/versions$/), ...matching(/^GET .*\/onlineEndpoints\/[^/]+$/).filter((r) => r.at < whatIf.at)];
    expect(first).toHaveLength(name === 'Fraud' ? 3 : 1); // Fraud: two aliases of one model and one endpoint's traffic
    if (first.length > 1) together(first);
    // What-if alongside the owned resources of the group; then every identity at once.
    together([whatIf, ...matching(/^GET .*\/resourceGroups\/[^/]+\/resources$/)]);
    together(matching(/^GET .*\/userAssignedIdentities\/[^/]+$/));
    // Verification: every compute, endpoint, deployment and schedule at once, after the plan.
    const planned = Math.max(...matching(/\/roleAssignments$/).map((r) => r.at));
    together(sent.filter((r) => r.at > planned && /^\/subscriptions\/.*\/workspaces\/[^/]+\/(computes|onlineEndpoints|batchEndpoints|schedules)\//.test(r.path)));
    expect(summary.writes).toBe(0);
    // Sent one after another these would be 1 + 2 + 2 × identities + verification round trips.
    expect(summary.stats!.criticalPathRoundTrips).toBeLessThan(sent.length / 2);
  });

  it('routes live traffic as the Fraud endpoint defines it', async () => {
    const model = example('Fraud');
    const engine = engineFor(sim);
    const input = inputFor(model);
    await engine.deploy(input);
    const scoring = model.resources.find((r): r is OnlineEndpointModel => r.kind === 'onlineEndpoint') as OnlineEndpointModel;
    const endpoint = [...sim.state.resources.values()].find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints' && r.id.includes(`/resourceGroups/${input.settings.resourceGroup}/`));
    const names = endpoint?.id.split('/') ?? [];
    const live = await ml.onlineEndpoints.get(input.settings.resourceGroup, names[8] as string, names[10] as string);
    expect(live.properties.traffic).toEqual(Object.fromEntries(scoring.deployments.map((d) => [d.name, d.traffic])));
    expect(live.properties.provisioningState).toBe('Succeeded');
  });

  it.each(['Churn', 'Fraud'])('makes zero writes when redeploying the unchanged %s environment', async (name) => {
    const model = example(name);
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settingsFor(model, `rg-again-${name}`)));
    const mark = sim.requestLog.length;

    const again = inputFor(model, settingsFor(model, `rg-again-${name}`));
    const summary = await engine.deploy(again);

    expect(summary.writes).toBe(0);
    expect(since(sim, mark).filter((r) => r.write)).toEqual([]);
    expect(summary.created + summary.updated + summary.replaced + summary.deleted).toBe(0);
    expect(summary.unchanged).toBeGreaterThan(10);
    expect(again.progress.logs.join('\n')).toMatch(/no changes \(ARM what-if\)/);
  });

  it('shows a traffic shift as a traffic shift, and deploying applies exactly that', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-traffic');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));

    // GIVEN the definition moves 10 points from blue to green
    const shifted = structuredClone(model);
    const ep = shifted.resources.find((r): r is OnlineEndpointModel => r.kind === 'onlineEndpoint') as OnlineEndpointModel;
    const before = Object.fromEntries(ep.deployments.map((d) => [d.name, d.traffic]));
    const [blue, green] = ep.deployments as [OnlineEndpointModel['deployments'][number], OnlineEndpointModel['deployments'][number]];
    (ep as { deployments: unknown }).deployments = [
      { ...blue, traffic: blue.traffic - 10 },
      { ...green, traffic: green.traffic + 10 },
    ];

    // WHEN diffing
    const plan = await engine.diff(inputFor(shifted, settings));

    // THEN the only change is the endpoint, summarised as a traffic shift
    const changed = plan.items.filter((i) => i.action !== 'noop');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ action: 'update', path: ep.path, type: 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints' });
    expect(changed[0]?.summary).toEqual([`traffic ${blue.name} ${before[blue.name]}% → ${blue.traffic - 10}%, ${green.name} ${before[green.name]}% → ${green.traffic + 10}%`]);

    // AND deploying it changes live traffic to exactly that
    const summary = await engine.deploy(inputFor(shifted, settings));
    expect(summary.updated).toBe(1);
    const endpointId = changed[0]?.id.split('/') ?? [];
    const live = await ml.onlineEndpoints.get(settings.resourceGroup, endpointId[8] as string, endpointId[10] as string);
    expect(live.properties.traffic).toEqual({ [blue.name]: blue.traffic - 10, [green.name]: green.traffic + 10 });
  });

  it('applies exactly the plan it shows: the resources it creates are the plan\'s creates', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-planned');
    const engine = engineFor(sim);
    const plan = await engine.diff(inputFor(model, settings));

    await engine.deploy(inputFor(model, settings));

    const planned = plan.items.filter((i) => i.action === 'create').map((i) => i.id.toLowerCase()).sort();
    const written = [...sim.state.resources.values()].filter((r) => r.deployment !== undefined && r.id.includes('/resourceGroups/rg-planned/')).map((r) => r.id.toLowerCase()).sort();
    expect(written).toEqual(planned);
    expect(plan.items.every((i) => i.action === 'create')).toBe(true);
  });

  it('leaves resources the template does not declare out of the plan (what-if Ignore)', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-ignore');
    const foreign = sim.state.seed({ id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-ignore/providers/Microsoft.Storage/storageAccounts/notours`, location: 'centralus', tags: { owner: 'someone-else' } });

    const plan = await engineFor(sim).diff(inputFor(model, settings));

    expect(plan.items.length).toBeGreaterThan(10);
    expect(plan.items.every((i) => i.action === 'create')).toBe(true);
    expect(plan.items.some((i) => i.id === foreign.id)).toBe(false);
    expect(plan.items.every((i) => i.path === 'Churn' || i.path.startsWith('Churn/'))).toBe(true);
  });

  it('renders alias moves, drift thresholds and scale changes in ML terms', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-mlterms');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));
    // GIVEN version 2 of the model now holds the alias 'champion' (set by the promotion step) ...
    sim.state.seed({ id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/${settings.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/fraud-prod/models/fraud/versions/2`, properties: { tags: { 'mlplane-alias-champion': 'true' } } });
    // ... and the definition raises a drift threshold and the GPU pool's ceiling
    const changed = structuredClone(model) as unknown as { resources: Record<string, unknown>[] };
    const drift = changed.resources.find((r) => r.kind === 'driftMonitor') as { signals: { thresholds: { feature: string; threshold: number }[] }[] };
    const amount = drift.signals[0]?.thresholds.find((t) => t.feature === 'amount') as { threshold: number };
    const was = amount.threshold;
    amount.threshold = 0.12;
    const gpu = changed.resources.find((r) => r.kind === 'computePool' && r.id === 'Gpu') as { maxNodes: number };
    const maxBefore = gpu.maxNodes;
    gpu.maxNodes = maxBefore + 2;

    const plan = await engine.diff(inputFor(changed as unknown as typeof model, settings));

    const byPath = Object.fromEntries(plan.items.filter((i) => i.action !== 'noop').map((i) => [i.path, i.summary]));
    expect(byPath).toEqual({
      'Fraud/Scoring/blue': ['model fraud version 1 → 2', 'alias champion: v1 → v2', "rolls to version 2 (the alias moved outside mlplane's register step)"],
      'Fraud/Drift': [`threshold amount JensenShannonDistance ${was} → 0.12`],
      'Fraud/Gpu': [`max nodes ${maxBefore} → ${maxBefore + 2}`],
    });
  });

  it('keeps live traffic through a redeploy when the endpoint takes it as an mlplane:liveTraffic parameter', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-livetraffic');
    const engine = engineFor(sim);
    type Resource = { type: string; name: string; properties?: Record<string, unknown> };
    type Template = { parameters: Record<string, unknown>; resources: Resource[] };
    // GIVEN a template whose endpoint declaration carries the live traffic (a proposal for the synth adapter)
    const withLiveTraffic = (traffic: Record<string, number> | undefined) => {
      const input = inputFor(model, settings);
      const t = structuredClone(input.documents['template.json']) as Template;
      const endpoint = t.resources.find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints') as Resource;
      t.parameters.liveTraffic_scoring = { type: 'object', defaultValue: {}, metadata: { 'mlplane:liveTraffic': { endpoint: endpoint.name } } };
      endpoint.properties = { ...endpoint.properties, traffic: "[parameters('liveTraffic_scoring')]" };
      const nested = t.resources.find((r) => r.type === 'Microsoft.Resources/deployments') as unknown as { properties: { template: Template } };
      const inner = nested.properties.template.resources[0] as Resource;
      if (traffic) inner.properties = { ...inner.properties, traffic };
      return { input: { ...input, documents: { ...input.documents, 'template.json': t } }, endpointName: endpoint.name, before: inner.properties?.traffic };
    };
    const first = withLiveTraffic(undefined);
    await engine.deploy(first.input);
    const mark = sim.state.writes.length;

    // WHEN the traffic shifts
    await engine.deploy(withLiveTraffic({ blue: 80, green: 20 }).input);

    // THEN every write of the endpoint during the deploy kept traffic on a deployment
    const endpointId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-livetraffic/providers/Microsoft.MachineLearningServices/workspaces/${first.endpointName.replace('/', '/onlineEndpoints/')}`;
    const seen = sim.state.writes.slice(mark).filter((w) => w.id.toLowerCase() === endpointId.toLowerCase()).map((w) => (w.body.properties as { traffic?: unknown }).traffic);
    expect(seen).toEqual([first.before, { blue: 80, green: 20 }]);
  });

  it('fails if a deployment does not reach Succeeded, naming its construct path', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-failing');
    sim.faults.failResource(/rg-failing\/.*onlineEndpoints\/[^/]+\/deployments\/green$/i, { code: 'ResourceOperationFailure', message: 'The deployment green failed to provision: image pull failed.' });
    try {
      const err = await engineFor(sim).deploy(inputFor(model, settings)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as { path?: string }).path).toBe('Fraud/Scoring/green');
      expect(String(err)).toMatch(/\[Fraud\/Scoring\/green\].*image pull failed/);
    } finally {
      sim.faults.reset();
    }
  });
});
