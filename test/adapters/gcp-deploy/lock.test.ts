import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeployError } from '../../../adapters/deploy';
import { LOCK_TABLE, parseRecord } from '../../../adapters/gcp/deploy';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { engineFor, example, inputFor, Recorder, resetSimulator, startSimulator } from './support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
beforeEach(() => resetSimulator(sim));
afterAll(async () => {
  await sim.close();
});

const LOCK = `bigquery/projects/acme-ml/datasets/Fraud_prod/tables/${LOCK_TABLE}`;

/** An engine whose deploys hold the lock for seconds: real sleeps between polls of slow deployments. */
function slowEngine() {
  return engineFor(sim, { pollIntervalMs: 10, retry: { baseMs: 1 } });
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error('condition never held');
}

describe('one deploy per environment at a time', () => {
  it('fails if another deploy holds the lock, naming the holder', async () => {
    sim.faults.add({ rpc: 'DeployModel', count: 2, fault: { kind: 'slow', polls: 9 } });
    const first = slowEngine().deploy(inputFor(example('Fraud')));
    await until(() => sim.state.get(LOCK) !== undefined);
    const holder = parseRecord(String(sim.state.get(LOCK)?.body.description));
    expect(holder?.operation).toBe('deploy');

    const second = await engineFor(sim).deploy(inputFor(example('Fraud'))).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DeployError);
    expect((second as DeployError).message).toContain(`environment 'fraud-prod' is locked by another deploy: holder ${holder?.holder} (user ${holder?.user} on ${holder?.host}, pid ${holder?.pid})`);
    expect((second as DeployError).message).toContain('--lock-timeout');
    await first;
    expect(sim.state.get(LOCK)).toBeUndefined();
  });

  it('waits up to lockTimeoutMs for the holder to finish, then deploys', async () => {
    sim.faults.add({ rpc: 'DeployModel', count: 2, fault: { kind: 'slow', polls: 9 } });
    const first = slowEngine().deploy(inputFor(example('Fraud')));
    await until(() => sim.state.get(LOCK) !== undefined);
    const waiting = inputFor(example('Fraud'), undefined, { lockTimeoutMs: 30_000 });
    const [a, b] = await Promise.all([first, engineFor(sim).deploy(waiting)]);
    expect(a.created).toBeGreaterThan(10);
    // The waiting run found everything done: it only took and released the lock.
    expect(b).toMatchObject({ created: 0, updated: 0, deleted: 0 });
    expect(b.writes).toBeLessThanOrEqual(3);
    const lines = (waiting.progress as unknown as { lines: string[] }).lines;
    expect(lines.some((l) => l.startsWith('waiting for the environment lock held by'))).toBe(true);
  });

  it('fails if a destroy starts while a deploy holds the lock', async () => {
    await engineFor(sim).deploy(inputFor(example('Fraud')));
    const record = { holder: 'ci-42/7/abc', host: 'ci-42', pid: 7, user: 'runner', operation: 'deploy', startedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString(), intents: [] };
    sim.state.put(LOCK, 'bigquery#table', { kind: 'bigquery#table', id: `acme-ml:Fraud_prod.${LOCK_TABLE}`, tableReference: { projectId: 'acme-ml', datasetId: 'Fraud_prod', tableId: LOCK_TABLE }, type: 'TABLE', description: JSON.stringify(record), labels: { 'mlplane-env': 'fraud-prod' }, etag: 'held' });
    await expect(engineFor(sim).destroy(inputFor(example('Fraud')), {})).rejects.toThrow(/locked by another deploy: holder ci-42\/7\/abc \(user runner on ci-42, pid 7\)/);
    expect(sim.state.get('projects/acme-ml/locations/europe-west4/endpoints/fraud-prod-scoring')).toBeDefined();
  });

  it('fails if another run took the lock over mid-deploy, writing nothing more (fencing by etag)', async () => {
    const engine = engineFor(sim, {
      hooks: {
        beforeMutation: (p) => {
          // Someone else's takeover changes the lock table (and its etag).
          if (p.index === 3) sim.state.get(LOCK)!.body.etag = 'someone-else';
        },
      },
    });
    const progress = new Recorder();
    const input = inputFor(example('Fraud'), progress, { concurrency: 1 });
    await expect(engine.deploy(input)).rejects.toThrow(/lost the environment lock/);
    // Mutations 0..3 finished; the next one could not journal its intent and was never sent.
    expect(progress.events.filter((e) => e.state === 'done' && e.elapsedMs !== undefined)).toHaveLength(4);
    const failed = progress.events.filter((e) => e.state === 'failed');
    expect(failed).toHaveLength(1);
    // Each of those four is one create call; nothing else reached the APIs.
    const resourceWrites = sim.requestLog.filter((r) => r.write && !r.path.includes(LOCK_TABLE) && r.rpc !== 'bigquery.datasets.insert' && !(r.rpc === 'bigquery.tables.insert' && JSON.stringify(r.body).includes(LOCK_TABLE)));
    expect(resourceWrites).toHaveLength(4);
  });

  it('carries on when a journal write loses its response but was applied', async () => {
    sim.faults.add({ rpc: 'bigquery.tables.patch', path: LOCK_TABLE, count: 1, fault: { kind: 'drop' } });
    const summary = await engineFor(sim).deploy(inputFor(example('Fraud')));
    expect(summary.created).toBeGreaterThan(10);
    expect(sim.state.get(LOCK)).toBeUndefined();
  });
});
