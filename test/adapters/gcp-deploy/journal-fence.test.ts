import type { Dataset } from '@google-cloud/bigquery';
import { describe, expect, it } from 'vitest';
import { Calls } from '../../../adapters/gcp/deploy/clients';
import { EnvironmentLock } from '../../../adapters/gcp/deploy/lock';

/** A lock table whose journal writes (PATCH) are answered when the test says, in order, each with a new etag or refused. */
function lockTable() {
  type Reply = 'etag' | 'refuse' | 'fail';
  const waiting: ((reply: Reply) => void)[] = [];
  let etags = 0;
  const table = {
    request: (_o: unknown, cb: (err: unknown, resp?: { etag: string }) => void) =>
      waiting.push((reply) => {
        if (reply === 'refuse') cb(Object.assign(new Error('Precondition Failed'), { code: 412 }));
        else if (reply === 'fail') cb(Object.assign(new Error('Service Unavailable'), { code: 503 }));
        else cb(null, { etag: `e${++etags}` });
      }),
    delete: async () => [{}],
  };
  const dataset = {
    id: 'Env',
    createTable: async () => [{ metadata: { etag: 'e0' } }],
    table: () => table,
  } as unknown as Dataset;
  return {
    dataset,
    /** Journal writes sent and not answered yet. */
    get pending() {
      return waiting.length;
    },
    /** Answer the oldest journal write (a new etag), or refuse it (412: the lock was taken over). */
    answer: (refuse = false) => waiting.shift()?.(refuse ? 'refuse' : 'etag'),
    /** Fail the oldest journal write with a server error (503). */
    fail: () => waiting.shift()?.('fail'),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));
const intents = (...keys: string[]) => keys.map((key) => ({ key, action: 'create', target: key }));

/**
 * A lock on `t` whose lease is 1 s (others may count it gone 1 s after its last renewal), with
 * `keys` planned, left silent (no journal write, no heartbeat) for longer than half of it.
 */
async function silentLock(t: ReturnType<typeof lockTable>, ...keys: string[]): Promise<EnvironmentLock> {
  const lock = await EnvironmentLock.acquire(t.dataset, new Calls({ maxAttempts: 1 }), 'env', 'deploy', { intents: intents(...keys), leaseMs: 1000, heartbeatMs: 3_600_000 });
  await new Promise((r) => setTimeout(r, 600));
  return lock;
}

describe('the journal fence (by the lease)', () => {
  it('starts a mutation at once while the lease is fresh, with journal writes in flight and queued', async () => {
    // GIVEN a lock with three planned intents, just renewed; a done mark's write is in flight and another is queued behind it
    const t = lockTable();
    const lock = await EnvironmentLock.acquire(t.dataset, new Calls({}), 'env', 'deploy', { intents: intents('a', 'b', 'c'), heartbeatMs: 3_600_000 });
    lock.done('a');
    await settle();
    lock.done('b');
    await settle();
    expect(t.pending).toBe(1);
    // WHEN the next mutation asks to start
    let started = false;
    const intend = lock.intend({ key: 'c', action: 'create', target: 'c' }).then(() => (started = true));
    await settle();
    // THEN it starts without a journal round trip, and sends none of its own
    expect(started).toBe(true);
    expect(t.pending).toBe(1);
    await intend;
    t.answer();
    await settle();
    t.answer();
    await lock.release();
  });

  it('once half the lease has passed without a confirmed renewal, holds a mutation until a renewal sent after it has landed', async () => {
    // GIVEN a lock silent for longer than half its 1 s lease
    const t = lockTable();
    const lock = await silentLock(t, 'a', 'b');
    // WHEN the next mutation asks to start
    let started = false;
    const intend = lock.intend({ key: 'a', action: 'create', target: 'a' }).then(() => (started = true));
    await settle();
    // THEN a renewal goes out and the mutation waits for it…
    expect(t.pending).toBe(1);
    expect(started).toBe(false);
    t.answer();
    await intend;
    // …and the next one, right after that renewal, starts at once
    let next = false;
    await lock.intend({ key: 'b', action: 'create', target: 'b' }).then(() => (next = true));
    expect(next).toBe(true);
    expect(t.pending).toBe(0);
    await lock.release();
  });

  it('refuses the mutation when that renewal finds the lock taken over', async () => {
    // GIVEN a lock silent for longer than half its 1 s lease
    const t = lockTable();
    const lock = await silentLock(t, 'a');
    // WHEN the mutation asks to start and its renewal is refused (another run took the lock over)
    const intend = lock.intend({ key: 'a', action: 'create', target: 'a' });
    await settle();
    t.answer(true);
    // THEN the mutation does not start
    await expect(intend).rejects.toThrow(/lost the environment lock/);
    await lock.release();
  });

  it('does not start the mutation when that renewal fails, saying why', async () => {
    // GIVEN a lock silent for longer than half its 1 s lease
    const t = lockTable();
    const lock = await silentLock(t, 'a');
    // WHEN its renewal fails (the service is unavailable)
    const intend = lock.intend({ key: 'a', action: 'create', target: 'a' });
    await settle();
    t.fail();
    // THEN the mutation is refused with the reason, retryable
    await expect(intend).rejects.toThrow(/could not renew the environment lock before create of a \(its lease was last confirmed \d+ s ago\): .*Service Unavailable.*; this change was not sent/);
    await lock.release();
  });
});
