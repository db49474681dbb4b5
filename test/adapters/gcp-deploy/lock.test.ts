import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeployError } from '../../../adapters/deploy';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { holderGone, LOCK_TABLE, parseRecord, type LockRecord } from '../../../adapters/gcp/deploy';
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

/** Writes to anything but the environment dataset and its lock table. */
function resourceWrites() {
  return sim.requestLog.filter((r) => r.write && !r.path.includes(LOCK_TABLE) && r.rpc !== 'bigquery.datasets.insert' && !(r.rpc === 'bigquery.tables.insert' && JSON.stringify(r.body).includes(LOCK_TABLE)));
}

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

  it('fails if another run took the lock over while this one was frozen past half its lease, writing nothing more', async () => {
    // A 1 s lease: others may count the holder gone 1 s after its last renewal; it renews before a mutation once 0.5 s have passed.
    const engine = engineFor(sim, {
      hooks: {
        beforeMutation: (p) => {
          if (p.index !== 3) return;
          // The run is frozen (no heartbeat, nothing sent) for longer than half its lease, and
          // meanwhile someone else's takeover changes the lock table (and its etag).
          sim.state.get(LOCK)!.body.etag = 'someone-else';
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 700);
        },
      },
    });
    const progress = new Recorder();
    const input = inputFor(example('Fraud'), progress, { concurrency: 1, lockLeaseMs: 1000 });
    await expect(engine.deploy(input)).rejects.toThrow(/lost the environment lock/);
    // Mutations 0..3 finished (3 had started before the freeze); the next one's renewal was refused and it was never sent.
    expect(progress.events.filter((e) => e.state === 'done' && e.elapsedMs !== undefined)).toHaveLength(4);
    const failed = progress.events.filter((e) => e.state === 'failed');
    expect(failed).toHaveLength(1);
    // Each of those four is one create call; nothing else reached the APIs.
    expect(resourceWrites()).toHaveLength(4);
  });

  it('stops at its next journal write when its lock is taken over while its lease is fresh (a forced unlock of a live run)', async () => {
    const engine = engineFor(sim, {
      hooks: {
        beforeMutation: (p) => {
          if (p.index === 3) sim.state.get(LOCK)!.body.etag = 'someone-else';
        },
      },
    });
    const input = inputFor(example('Fraud'), new Recorder(), { concurrency: 1 });
    await expect(engine.deploy(input)).rejects.toThrow(/lost the environment lock/);
    // Mutation 3's done mark is refused; at most the mutation started while that write was on the wire goes out after it.
    expect(resourceWrites().length).toBeGreaterThanOrEqual(4);
    expect(resourceWrites().length).toBeLessThanOrEqual(5);
  });

  it('extends the lease with every journal write', async () => {
    const seen: LockRecord[] = [];
    const look = () => void seen.push(parseRecord(String(sim.state.get(LOCK)?.body.description)) as LockRecord);
    await engineFor(sim, { hooks: { afterMutation: look } }).deploy(inputFor(example('Fraud')));
    expect(seen.length).toBeGreaterThan(10);
    // Each mutation's intent was journalled first, moving the lease to a full lease after that write.
    for (const r of seen) expect(Date.parse(r.expiresAt) - Date.parse(r.renewedAt ?? '')).toBe(900_000);
    const expiries = seen.map((r) => Date.parse(r.expiresAt));
    expect(expiries).toEqual([...expiries].sort((a, b) => a - b));
    expect(expiries.at(-1)).toBeGreaterThan(expiries[0] as number);
  });

  it('carries on when a journal write loses its response but was applied', async () => {
    sim.faults.add({ rpc: 'bigquery.tables.patch', path: LOCK_TABLE, count: 1, fault: { kind: 'drop' } });
    const summary = await engineFor(sim).deploy(inputFor(example('Fraud')));
    expect(summary.created).toBeGreaterThan(10);
    expect(sim.state.get(LOCK)).toBeUndefined();
  });

  it('takes over at once the lock of a run whose process on this host is gone, settling its journal', async () => {
    const crash = (p: { index: number }) => {
      if (p.index === 2) throw new Error('simulated kill -9');
    };
    await expect(engineFor(sim, { hooks: { afterMutation: crash } }).deploy(inputFor(example('Fraud'), undefined, { concurrency: 1 }))).rejects.toThrow('simulated kill -9');
    // The crashed run was this process: give its record the pid of a process that has exited (as after kill -9).
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const stored = sim.state.get(LOCK);
    const record = parseRecord(String(stored?.body.description)) as LockRecord;
    if (stored) stored.body.description = JSON.stringify({ ...record, pid: dead });
    const progress = new Recorder();
    await engineFor(sim).deploy({ ...inputFor(example('Fraud'), progress), lockTimeoutMs: 0 });
    expect(progress.lines).toContainEqual(expect.stringMatching(new RegExp(`^took over the environment lock of .* \\(deploy by .* on ${os.hostname()}, pid ${dead}, since .*\\): its process ${dead} on this host is gone$`)));
    expect(progress.lines.some((l) => l.startsWith('settled interrupted'))).toBe(true);
    expect(sim.state.get(LOCK)).toBeUndefined();
  });

  it('counts the environment dataset as created by the one run that created it when two start together', async () => {
    const both = await Promise.all([0, 1].map(() => engineFor(sim).deploy({ ...inputFor(example('Fraud')), lockTimeoutMs: 50_000 })));
    expect(sim.requestLog.filter((r) => r.rpc === 'bigquery.datasets.insert').map((r) => r.status).sort()).toEqual([200, 409]);
    const created = both.map((s) => s.created).sort((a, b) => a - b);
    // The second run found everything done by the first: it created nothing, the dataset included.
    expect(created[0]).toBe(0);
    expect(created[1]).toBeGreaterThan(10);
  });

  it('names the holder and removes the lock on unlock (mlplane unlock)', async () => {
    await expect(engineFor(sim, { hooks: { afterMutation: () => { throw new Error('simulated crash'); } } }).deploy(inputFor(example('Fraud')))).rejects.toThrow('simulated crash');
    const engine = engineFor(sim);
    const holder = await engine.lockHolder?.(inputFor(example('Fraud')));
    expect(holder).toMatch(new RegExp(`^deploy by .* on ${os.hostname()} \\(pid ${process.pid}\\), started .*, lease until .*; \\d+ change\\(s\\) it had started \\(create .*\\) are settled by reads on the next deploy$`));
    expect(await engine.unlock?.(inputFor(example('Fraud')))).toBe(holder);
    expect(sim.state.get(LOCK)).toBeUndefined();
    expect(await engine.lockHolder?.(inputFor(example('Fraud')))).toBeUndefined();
  });
});

describe('whether a lock holder is gone', () => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  const record = (o: Partial<LockRecord>): LockRecord => ({ holder: 'h', host: 'ci-1', pid: 42, user: 'u', operation: 'deploy', startedAt: '2026-06-01T11:59:00Z', expiresAt: '2026-06-01T12:14:00Z', renewedAt: '2026-06-01T11:59:50Z', heartbeatMs: 30_000, intents: [], ...o });
  const alive = () => true;
  it('is not gone while its lease runs, it renews it, and its process lives', () => {
    expect(holderGone(record({}), now, 'ci-1', alive)).toBeUndefined();
    // Another host's pid cannot be checked: only the lease and the heartbeat count.
    expect(holderGone(record({}), now, 'laptop', () => false)).toBeUndefined();
  });
  it('is gone when its lease ran out, its process on this host died, or it stopped renewing', () => {
    expect(holderGone(record({ expiresAt: '2026-06-01T11:59:59Z' }), now, 'ci-1', alive)).toBe('its lease ran out at 2026-06-01T11:59:59Z');
    expect(holderGone(record({}), now, 'ci-1', () => false)).toBe('its process 42 on this host is gone');
    expect(holderGone(record({ renewedAt: '2026-06-01T11:58:00Z' }), now, 'laptop', alive)).toBe('it has not renewed its lease since 2026-06-01T11:58:00Z (heartbeat every 30 s)');
  });
});
