import type { Dataset } from '@google-cloud/bigquery';
import { describe, expect, it } from 'vitest';
import { Calls } from '../../../adapters/gcp/deploy/clients';
import { EnvironmentLock } from '../../../adapters/gcp/deploy/lock';

/** A lock table whose journal writes (PATCH) are answered when the test says, in order, each with a new etag. */
function lockTable() {
  const answers: ((etag: string) => void)[] = [];
  let etags = 0;
  const table = {
    request: (_o: unknown, cb: (err: unknown, resp?: { etag: string }) => void) => answers.push((etag) => cb(null, { etag })),
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
      return answers.length;
    },
    /** Answer the oldest journal write. */
    answer: () => answers.shift()?.(`e${++etags}`),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('the journal fence', () => {
  it('holds a mutation until the journal write in flight has landed, not the one queued behind it', async () => {
    // GIVEN a lock with three planned intents; a done mark's write is in flight and another is queued behind it
    const t = lockTable();
    const lock = await EnvironmentLock.acquire(t.dataset, new Calls({}), 'env', 'deploy', { intents: ['a', 'b', 'c'].map((key) => ({ key, action: 'create', target: key })), heartbeatMs: 3_600_000 });
    lock.done('a');
    await settle();
    lock.done('b');
    await settle();
    expect(t.pending).toBe(1);
    // WHEN the next mutation asks to start
    let started = false;
    const intend = lock.intend({ key: 'c', action: 'create', target: 'c' }).then(() => (started = true));
    await settle();
    // THEN it waits for the write in flight…
    expect(started).toBe(false);
    t.answer();
    await settle();
    // …and starts once it has landed, while the queued write is only now on the wire
    expect(t.pending).toBe(1);
    expect(started).toBe(true);
    await intend;
    t.answer();
    await lock.release();
  });
});
