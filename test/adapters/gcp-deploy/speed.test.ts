import { Construct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../../adapters/gcp';
import { UNMANAGED } from '../../../adapters/gcp/deploy/run';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { renderEnvironment } from '../../../lib';
import { defineGenerated } from '../../../bench/generate';
import { engineFor, inputFor, Recorder, resetSimulator, startSimulator, writes } from './support';

class Root extends Construct {
  constructor() {
    super(undefined as unknown as Construct, '');
  }
}

/** A generated environment of 12 pipelines (two datasets, models, endpoints with two deployments each; 12 schedules): 35 resources. */
const model = renderEnvironment(defineGenerated(new Root(), 12));
const LOCK_PATH = '/tables/_mlplane_lock';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});

describe('deploying at the speed of the critical path', () => {
  it('journals the plan with the lock, slows down an API that throttles, and reports calls, critical-path round trips and parallelism', { timeout: 120_000 }, async () => {
    sim.faults.add({ rpc: 'CreateSchedule', count: 3, fault: { kind: 'throttle', retryAfterSeconds: 0 } });
    const progress = new Recorder();
    const input = inputFor(model, progress);
    const summary = await engineFor(sim).deploy(input);
    const manifest = input.documents['manifest.json'] as Manifest;
    const resources = manifest.entries.filter((e) => !UNMANAGED.test(e.method)).length;
    const changed = summary.created + summary.updated;
    expect(changed).toBeGreaterThan(resources * 0.9);

    // The plan's intents went out with the lock itself; the journal was rewritten in the background far fewer times than there were mutations.
    const lockInsert = sim.requestLog.find((r) => r.rpc === 'bigquery.tables.insert' && JSON.stringify(r.body).includes('_mlplane_lock'));
    const record = JSON.parse(String((lockInsert?.body as { description?: string }).description)) as { intents: { key: string }[] };
    expect(record.intents.length).toBe(changed);
    const journal = sim.requestLog.filter((r) => r.rpc === 'bigquery.tables.patch' && r.path.endsWith(LOCK_PATH));
    expect(journal.length).toBeGreaterThan(0);
    expect(journal.length).toBeLessThan(resources / 2);
    // Each rewrite asks for the new etag only: the record is not sent back.
    for (const r of journal) expect(r.fieldMask).toBe('etag');

    // Throttled schedules halved the aiplatform limit; the deploy went on.
    expect(summary.stats?.lowestConcurrency).toBeLessThan(32);
    expect(progress.lines.some((l) => /throttled down to \d+ in flight/.test(l))).toBe(true);

    const stats = summary.stats!;
    expect(stats.calls).toBe(summary.reads + summary.writes);
    expect(stats.criticalPathRoundTrips).toBeGreaterThan(4);
    expect(stats.criticalPathRoundTrips).toBeLessThan(stats.calls / 4);
    expect(stats.parallelism).toBeGreaterThan(2);
    expect(progress.lines).toContain(`${stats.calls} calls, ${stats.criticalPathRoundTrips} round trips on the critical path, parallelism ${stats.parallelism}, throttled down to ${stats.lowestConcurrency} in flight`);
  });

  it('makes zero writes and fewer reads than resources on a no-op redeploy, counted at the simulator', { timeout: 120_000 }, async () => {
    const input = inputFor(model);
    const resources = (input.documents['manifest.json'] as Manifest).entries.filter((e) => !UNMANAGED.test(e.method)).length;
    const before = sim.requestLog.length;
    const summary = await engineFor(sim).deploy(input);
    const sent = sim.requestLog.slice(before);
    expect(writes({ ...sim, requestLog: sent })).toEqual([]);
    expect(summary.writes).toBe(0);
    expect(sent.length).toBeLessThanOrEqual(summary.reads);
    expect(sent.length).toBeLessThan(resources);
    // One list per collection, no get per resource. Deployments that follow an alias resolve it
    // from one list of the model's versions per model, not one get per deployment and alias.
    const gets = sent.filter((r) => /\.Get(Endpoint|Model|Schedule|Dataset|Tensorboard|FeatureOnlineStore|ModelDeploymentMonitoringJob)$/.test(r.rpc));
    expect(gets).toEqual([]);
    const models = (input.documents['manifest.json'] as Manifest).entries.filter((e) => e.method === 'aiplatform.projects.locations.models.upload').length;
    const followers = (input.documents['manifest.json'] as Manifest).entries.filter((e) => e.method === 'aiplatform.projects.locations.endpoints.deployModel').length;
    expect(followers).toBeGreaterThan(models);
    expect(sent.filter((r) => r.rpc === 'ModelService.ListModelVersions').length).toBe(models);
  });

  it('sends the reads of a first plan together: one list per collection, no get per resource', { timeout: 120_000 }, async () => {
    const fresh = await startSimulator();
    try {
      const input = inputFor(model);
      const plan = await engineFor(fresh).diff(input);
      expect(plan.items.filter((i) => i.action === 'create').length).toBeGreaterThan(25);
      const gets = fresh.requestLog.filter((r) => /\.Get(Endpoint|Model|Schedule|Dataset|Tensorboard|FeatureOnlineStore|ModelDeploymentMonitoringJob)$/.test(r.rpc));
      expect(gets).toEqual([]);
      // + the platform reads: one list of the project's service accounts, one of its custom roles, the staging bucket, the project policy.
      expect(fresh.requestLog.length).toBeLessThan(16 + 4);
    } finally {
      await fresh.close();
    }
  });

  it('asks a create answered by the resource itself (schedules, monitoring jobs) for its name only', { timeout: 120_000 }, async () => {
    resetSimulator(sim);
    await engineFor(sim).deploy(inputFor(renderEnvironment(defineGenerated(new Root(), 2))));
    const creates = sim.requestLog.filter((r) => r.rpc === 'ScheduleService.CreateSchedule' || r.rpc === 'JobService.CreateModelDeploymentMonitoringJob');
    expect(creates.length).toBeGreaterThan(2);
    for (const r of creates) expect(r.fieldMask, r.rpc).toBe('name');
    // A long-running create's operation is read whole (its result is decoded from it).
    const lro = sim.requestLog.filter((r) => r.rpc === 'EndpointService.CreateEndpoint');
    expect(lro.length).toBeGreaterThan(0);
    for (const r of lro) expect(r.fieldMask).toBeUndefined();
  });
});

describe('starting the longest chain first', () => {
  it('with one slot, starts the endpoints and models (each → deployed models → traffic → monitor) before the pipelines\' service accounts, roles and schedules listed before them', { timeout: 120_000 }, async () => {
    resetSimulator(sim);
    const order: string[] = [];
    await engineFor(sim, { hooks: { beforeMutation: (p) => void order.push(p.key) } }).deploy(inputFor(model, new Recorder(), { concurrency: 1 }));
    const keys = (inputFor(model).documents['manifest.json'] as Manifest).entries.map((e) => e.key);
    const heads = (k: string) => k.startsWith('vertex.endpoint/') || k.startsWith('vertex.model/');
    const short = (k: string) => k.startsWith('iam.serviceAccount/Bench/Pipeline') || k.startsWith('iam.role/') || k.startsWith('vertex.schedule/');
    // The manifest lists the short work first…
    expect(keys.findIndex(short)).toBeLessThan(keys.findIndex(heads));
    // …the run starts every endpoint and model before any of it.
    const lastHead = order.reduce((last, k, i) => (heads(k) ? i : last), -1);
    expect(order.filter(heads)).toHaveLength(keys.filter(heads).length);
    expect(lastHead).toBeLessThan(order.findIndex(short));
  });
});

describe('reading the live state in rounds', () => {
  it('looks for named resources missing from their owned lists in one round: the unfiltered lists of models and endpoints are in flight together', { timeout: 120_000 }, async () => {
    // GIVEN a fresh simulator (no model or endpoint exists, so both collections are listed unfiltered)
    const fresh = await startSimulator();
    const { makeClients } = await import('../../../adapters/gcp/deploy/clients');
    const input = inputFor(renderEnvironment(defineGenerated(new Root(), 2)));
    const clients = makeClients(input.settings.project, input.settings.region, { MLPLANE_GCP_ENDPOINT: fresh.url });
    // Each unfiltered list is held until the other one has been sent too (or 3 s pass).
    const sent = new Set<string>();
    let together = false;
    let timedOut = false;
    let release: () => void = () => undefined;
    const both = new Promise<void>((r) => (release = r));
    const hold = (client: object, rpc: string) => {
      const original = (client as Record<string, (...a: unknown[]) => Promise<unknown>>)[rpc] as (...a: unknown[]) => Promise<unknown>;
      Object.defineProperty(client, rpc, {
        configurable: true,
        value: async (request: { filter?: string }, ...rest: unknown[]) => {
          if (!request.filter) {
            sent.add(rpc);
            if (sent.size === 2 && !timedOut) {
              together = true;
              release();
            }
            await Promise.race([both, new Promise((r) => setTimeout(r, 3_000)).then(() => (timedOut = true))]);
          }
          return original.call(client, request, ...rest);
        },
      });
    };
    hold(clients.models, 'listModels');
    hold(clients.endpoints, 'listEndpoints');
    try {
      // WHEN a first plan is computed
      await engineFor(fresh).diff(input);
      // THEN the two unfiltered lists were sent before either was answered
      expect([...sent].sort()).toEqual(['listEndpoints', 'listModels']);
      expect(together).toBe(true);
    } finally {
      delete (clients.models as unknown as Record<string, unknown>).listModels;
      delete (clients.endpoints as unknown as Record<string, unknown>).listEndpoints;
      await fresh.close();
    }
  });
});

describe('reading the live state of a first deploy', () => {
  it('reads it in one round: the environment dataset, the first write, follows one round of reads on the critical path', { timeout: 120_000 }, async () => {
    // GIVEN a fresh simulator (every named model and endpoint is missing) answering each call after 300 ms, so that rounds of requests stand apart even on a loaded machine
    const fresh = await startSimulator({ latencyMs: 300 });
    try {
      const input = inputFor(renderEnvironment(defineGenerated(new Root(), 2)));
      const datasetKey = (input.documents['manifest.json'] as Manifest).entries.find((e) => e.method === 'bigquery.datasets.insert')?.key;
      // WHEN it deploys
      const summary = await engineFor(fresh).deploy(input);
      // THEN the critical path holds a single read before the dataset's create: the owned lists and
      // the first pages of the unfiltered lists went out together, not one round after the other
      const path = summary.stats!.criticalPath.map((s) => s.what);
      expect(path.indexOf(datasetKey as string), path.join(' → ')).toBe(1);
      expect(path[2]).toMatch(/^lock /);
    } finally {
      await fresh.close();
    }
  });
});

describe('reading the project number', () => {
  it('asks for the project number (service agents in policies) with the first round, not after the bucket it grants on has been read', { timeout: 120_000 }, async () => {
    // GIVEN a fresh simulator, and a bucket read that is held until the project has been asked for (or 3 s pass)
    const fresh = await startSimulator();
    const { makeClients } = await import('../../../adapters/gcp/deploy/clients');
    const input = inputFor(renderEnvironment(defineGenerated(new Root(), 2)));
    const clients = makeClients(input.settings.project, input.settings.region, { MLPLANE_GCP_ENDPOINT: fresh.url });
    let asked: () => void = () => undefined;
    const projectAsked = new Promise<void>((r) => (asked = r));
    let projectBeforeBucket = false;
    let bucketAnswered = false;
    const getProject = clients.projects.getProject.bind(clients.projects);
    Object.defineProperty(clients.projects, 'getProject', {
      configurable: true,
      value: (...a: Parameters<typeof getProject>) => {
        projectBeforeBucket ||= !bucketAnswered;
        asked();
        return getProject(...a);
      },
    });
    const bucket = clients.storage.bucket.bind(clients.storage);
    Object.defineProperty(clients.storage, 'bucket', {
      configurable: true,
      value: (...a: Parameters<typeof bucket>) => {
        const b = bucket(...a);
        const getMetadata = b.getMetadata.bind(b);
        Object.defineProperty(b, 'getMetadata', {
          value: async (...m: unknown[]) => {
            await Promise.race([projectAsked, new Promise((r) => setTimeout(r, 3_000))]);
            try {
              return await (getMetadata as (...x: unknown[]) => Promise<unknown>)(...m);
            } finally {
              bucketAnswered = true;
            }
          },
        });
        return b;
      },
    });
    try {
      // WHEN a first plan is computed
      await engineFor(fresh).diff(input);
      // THEN the project was asked for before the bucket's read was answered
      expect(projectBeforeBucket).toBe(true);
    } finally {
      delete (clients.projects as unknown as Record<string, unknown>).getProject;
      delete (clients.storage as unknown as Record<string, unknown>).bucket;
      await fresh.close();
    }
  });
});

describe('reading the live state again under the lock', () => {
  it('sends the unfiltered lists the first read needed with the first round of the read under the lock', { timeout: 120_000 }, async () => {
    // GIVEN a fresh simulator: the first read of a deploy lists models unfiltered (none is ours yet)
    const fresh = await startSimulator();
    const { makeClients } = await import('../../../adapters/gcp/deploy/clients');
    const input = inputFor(renderEnvironment(defineGenerated(new Root(), 2)));
    const clients = makeClients(input.settings.project, input.settings.region, { MLPLANE_GCP_ENDPOINT: fresh.url });
    // The second owned (filtered) list of models is held until a second unfiltered one has been sent (or 3 s pass).
    let owned = 0;
    let unfiltered = 0;
    let heldUntilSent = false;
    let sent: () => void = () => undefined;
    const secondUnfiltered = new Promise<void>((r) => (sent = r));
    const listModels = clients.models.listModels.bind(clients.models) as (...a: unknown[]) => Promise<unknown>;
    Object.defineProperty(clients.models, 'listModels', {
      configurable: true,
      value: async (request: { filter?: string }, ...rest: unknown[]) => {
        if (request.filter) {
          owned += 1;
          if (owned === 2) heldUntilSent = await Promise.race([secondUnfiltered.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3_000))]);
        } else if (++unfiltered === 2) sent();
        return listModels(request, ...rest);
      },
    });
    try {
      // WHEN it deploys (read, lock, read again)
      await engineFor(fresh).deploy(input);
      // THEN the read under the lock asked for the unfiltered list without waiting for the owned one
      expect(owned).toBe(2);
      expect(heldUntilSent).toBe(true);
    } finally {
      delete (clients.models as unknown as Record<string, unknown>).listModels;
      await fresh.close();
    }
  });
});
