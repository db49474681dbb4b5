/**
 * One deploy or destroy per environment at a time, and the journal of its intents, kept in the
 * cloud next to the environment's data: a BigQuery table `_mlplane_lock` in the environment's
 * dataset.
 *
 * - Acquire = `tables.insert` of the lock table: BigQuery refuses a second insert of the same table
 *   (409), which makes it an atomic test-and-set.
 * - The table's `description` holds the holder (host, pid, user, operation, start, lease expiry)
 *   and the pending intents; every journal write is a `tables.patch` conditional on the etag the
 *   holder last saw (`If-Match`), so a holder that lost the lock cannot write (fencing).
 * - Mutations are fenced by the lease: another run may count this one gone only once its lease or
 *   three heartbeats have passed since its last renewal (`holderGone`). While a renewal confirmed
 *   by the table is younger than half of that, a mutation starts at once; after that it waits for
 *   a journal write sent now to land (which finds a takeover). No journal round trip sits before a
 *   mutation while the run keeps renewing (a wide apply writes its done marks all the time).
 * - A holder whose lease expired (a crashed run) is taken over by a conditional patch; its pending
 *   intents are handed to the new run, which settles each by a read.
 * - Release = delete the table. The table also carries an `expirationTime` a week after the lease,
 *   so BigQuery garbage-collects a lock nobody will ever release.
 */
import * as os from 'node:os';
import type { Dataset } from '@google-cloud/bigquery';
import { DeployError } from '../../deploy';
import { cloudError, isAmbiguous, type Calls } from './clients';
import { ENV_LABEL } from './kinds';

/** Table id of the lock (and journal). */
export const LOCK_TABLE = '_mlplane_lock';

/** One intent recorded before a mutation. */
export interface Intent {
  readonly key: string;
  readonly action: string;
  /** Resource name or identity the mutation targets. */
  readonly target: string;
  readonly at: string;
}

/** What the lock table says. */
export interface LockRecord {
  readonly holder: string;
  readonly host: string;
  readonly pid: number;
  readonly user: string;
  readonly operation: 'deploy' | 'destroy';
  readonly startedAt: string;
  readonly expiresAt: string;
  /** Last heartbeat (or journal write). @default - startedAt (older records) */
  readonly renewedAt?: string;
  /** The holder's heartbeat interval; silent for 3 of them means gone. */
  readonly heartbeatMs?: number;
  readonly intents: readonly Intent[];
}

/**
 * Why a holder is gone (its lock may be taken over at once), or undefined while it may be alive:
 * its lease ran out; it ran on this host and its process is dead; or it has not renewed the lease
 * for three of its heartbeats.
 */
export function holderGone(holder: LockRecord, now = Date.now(), host = os.hostname(), alive: (pid: number) => boolean = pidAlive): string | undefined {
  if (Date.parse(holder.expiresAt) < now) return `its lease ran out at ${holder.expiresAt}`;
  if (holder.host === host && !alive(holder.pid)) return `its process ${holder.pid} on this host is gone`;
  const renewed = Date.parse(holder.renewedAt ?? holder.startedAt);
  if (holder.heartbeatMs !== undefined && now - renewed > 3 * holder.heartbeatMs + 1000) return `it has not renewed its lease since ${holder.renewedAt ?? holder.startedAt} (heartbeat every ${Math.round(holder.heartbeatMs / 1000)} s)`;
  return undefined;
}

/** Whether a process of this host is alive (signal 0: EPERM means alive, owned by someone else). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Options of the lock. */
export interface LockOptions {
  /** Lease length; a holder silent longer than this is considered crashed. @default 900000 (15 min) */
  readonly leaseMs?: number;
  /** How long to wait for another holder. @default 0 */
  readonly timeoutMs?: number;
  /** Pause between attempts while waiting. @default 1000 */
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Heartbeat interval. @default - a third of the lease, at most 30 s */
  readonly heartbeatMs?: number;
  /** Called when a waiting run sees the holder. */
  readonly onWait?: (holder: LockRecord) => void;
  /** Called when a gone holder's lock is taken over, with the reason. */
  readonly onTakeOver?: (holder: LockRecord, why: string) => void;
  /**
   * Intents journaled with the acquiring write itself (the plan read before the lock), so that the
   * mutations they announce need no journal write of their own on the critical path.
   */
  readonly intents?: readonly Omit<Intent, 'at'>[];
}

const GC_GRACE_MS = 7 * 24 * 3600 * 1000;

/** A held lock with its journal. */
export class EnvironmentLock {
  private etag: string;
  private pending = new Map<string, Intent>();
  private chain: Promise<void> = Promise.resolve();
  /** The next journal write, collecting marks while the one before it is on the wire. */
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lost: DeployError | undefined;
  private releasing = false;
  /** Keys of the intents in the record as last written. */
  private written = new Set<string>();
  /** When the last renewal the table confirmed was sent (this host's clock). */
  private renewed: number;
  /** How long after a confirmed renewal a mutation may start without another: half the time after which others may count this holder gone. */
  private readonly freshMs: number;

  private constructor(
    private readonly dataset: Dataset,
    private readonly calls: Calls,
    private record: LockRecord,
    etag: string,
    private readonly leaseMs: number,
    private readonly heartbeatMs: number,
    /** Intents a crashed previous holder left behind. */
    public readonly inherited: readonly Intent[],
  ) {
    this.etag = etag;
    this.renewed = Date.parse(record.renewedAt ?? record.startedAt);
    this.freshMs = Math.min(leaseMs, 3 * heartbeatMs + 1000) / 2;
    for (const i of record.intents) this.pending.set(i.key, i);
    this.written = new Set(record.intents.map((i) => i.key));
  }

  /**
   * Acquire the lock of the environment whose dataset is `dataset`.
   *
   * @throws DeployError naming the holder when another run holds it past `timeoutMs`.
   */
  public static async acquire(dataset: Dataset, calls: Calls, envLabel: string, operation: 'deploy' | 'destroy', options: LockOptions = {}): Promise<EnvironmentLock> {
    const leaseMs = options.leaseMs ?? 900_000;
    const heartbeatMs = options.heartbeatMs ?? Math.max(10, Math.min(30_000, Math.floor(leaseMs / 3)));
    const deadline = Date.now() + (options.timeoutMs ?? 0);
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const table = dataset.table(LOCK_TABLE);
    const where = `${dataset.id}.${LOCK_TABLE}`;
    let tryInsert = true;
    const at = new Date().toISOString();
    const planned = (options.intents ?? []).map((i) => ({ ...i, at }));
    for (;;) {
      const record = { ...newRecord(operation, leaseMs, heartbeatMs), intents: planned };
      if (tryInsert) {
        try {
          const [created] = await calls.run('write', `lock ${where}`, () =>
            dataset.createTable(LOCK_TABLE, {
              description: JSON.stringify(record),
              labels: { [ENV_LABEL]: envLabel, 'mlplane-lock': 'true' },
              expirationTime: String(Date.parse(record.expiresAt) + GC_GRACE_MS),
            }),
          );
          return new EnvironmentLock(dataset, calls, record, String(created.metadata.etag), leaseMs, heartbeatMs, []).start();
        } catch (e) {
          if (isAmbiguous(e)) {
            // The response was lost: read the table to learn whether this run holds the lock.
            const mine = await readLock(table, calls, where).catch(() => undefined);
            if (mine && parseRecord(mine.description)?.holder === record.holder) {
              return new EnvironmentLock(dataset, calls, record, String(mine.etag), leaseMs, heartbeatMs, []).start();
            }
            continue;
          }
          if (cloudError(e).status !== 409) throw e;
        }
      }
      // Held by someone: read (not write) until it is released, its lease runs out, or we give up.
      const current = await readLock(table, calls, where);
      if (!current) {
        tryInsert = true;
        continue; // released meanwhile
      }
      const holder = parseRecord(current.description);
      const gone = holder ? holderGone(holder) : 'its record is unreadable';
      if (!holder || gone) {
        // The holder is gone (a crashed or killed run): take over, conditional on its etag.
        try {
          const [md] = await calls.run('write', `take over lock ${where}`, () =>
            table.setMetadata({ description: JSON.stringify(record), expirationTime: String(Date.parse(record.expiresAt) + GC_GRACE_MS), etag: current.etag }),
          );
          if (holder && gone) options.onTakeOver?.(holder, gone);
          return new EnvironmentLock(dataset, calls, record, String((md as { etag?: string }).etag), leaseMs, heartbeatMs, holder?.intents ?? []).start();
        } catch (e) {
          if (cloudError(e).status === 412 || cloudError(e).status === 404) {
            tryInsert = cloudError(e).status === 404;
            continue; // someone else won the race, or it was released
          }
          throw e;
        }
      }
      options.onWait?.(holder);
      if (Date.now() >= deadline) {
        throw new DeployError(
          `environment '${envLabel}' is locked by another ${holder.operation}: holder ${holder.holder} (user ${holder.user} on ${holder.host}, pid ${holder.pid}), started ${holder.startedAt}, lease until ${holder.expiresAt}; wait for it to finish, pass --lock-timeout with a unit (e.g. --lock-timeout 5m) to wait, or, if that run is gone, run 'mlplane unlock ${envLabel}'`,
          `${dataset.id}/${LOCK_TABLE}`,
        );
      }
      tryInsert = false;
      await sleep(Math.min(options.pollMs ?? 1000, Math.max(1, deadline - Date.now())));
    }
  }

  private start(): this {
    this.timer = setInterval(() => void this.write().catch(() => undefined), this.heartbeatMs);
    this.timer.unref();
    return this;
  }

  /** The holder's record. */
  public get holder(): LockRecord {
    return this.record;
  }

  /**
   * Make sure an intent is journaled before its mutation: one journaled with the lock (or by an
   * earlier write) costs no request while the lease is fresh; any other is written now (writes in
   * flight are coalesced).
   *
   * @throws DeployError once the lock is known to be lost (a journal write or heartbeat was refused).
   */
  public async intend(intent: Omit<Intent, 'at'>): Promise<void> {
    if (this.lost) throw this.lost;
    const known = this.pending.get(intent.key);
    if (known && known.action === intent.action && known.target === intent.target && this.written.has(intent.key)) {
      // Fencing by the lease: nobody can have taken the lock over while the last confirmed renewal
      // is fresh. Past that (a run frozen or cut off longer than half its lease), the mutation
      // waits for a renewal sent now, which is refused if the lock was taken over.
      if (Date.now() - this.renewed >= this.freshMs) {
        const since = Math.round((Date.now() - this.renewed) / 1000);
        await this.write().catch((e: unknown) => {
          if (this.lost) throw this.lost;
          throw new DeployError(`could not renew the environment lock before ${intent.action} of ${intent.key} (its lease was last confirmed ${since} s ago): ${cloudError(e).message}; this change was not sent`, `${this.dataset.id}/${LOCK_TABLE}`, true);
        });
      }
      if (this.lost) throw this.lost;
      return;
    }
    this.pending.set(intent.key, { ...intent, at: new Date().toISOString() });
    await this.write();
  }

  /**
   * Mark an intent done. The journal is rewritten in the background (one write in flight, later
   * marks coalesced into the next): a crash before it lands leaves the intent in the journal, which
   * the next run settles by a read like any other. A refused write marks the lock lost, and no
   * further intent passes `intend`.
   */
  public done(key: string): void {
    this.pending.delete(key);
    void this.write().catch(() => undefined);
  }

  /** Wait for the journal writes in flight (a durable journal before the lock is released or the run stops). */
  public async flush(): Promise<void> {
    await this.chain;
    if (this.lost) throw this.lost;
  }

  /** Stop the heartbeat without releasing (a crash). */
  public abandon(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Release the lock (delete the table). */
  public async release(): Promise<void> {
    this.abandon();
    // The journal goes with the table: a queued rewrite is dropped, one in flight is not waited for
    // before the delete (it lands first, or finds the table gone), only before returning.
    this.releasing = true;
    const inFlight = this.chain.catch(() => undefined);
    if (this.lost) return;
    const removed = this.calls.run('write', `unlock ${this.dataset.id}.${LOCK_TABLE}`, () => this.dataset.table(LOCK_TABLE).delete(), { retryAmbiguous: true }).catch((e: unknown) => {
      if (cloudError(e).status !== 404) throw e;
    });
    await Promise.all([removed, inFlight]);
  }

  /**
   * Write the record, conditional on the last etag. Writes are serialised and grouped: callers
   * arriving while a write is in flight share the next one (group commit), so a wide apply does
   * not queue one journal round trip per mutation.
   */
  private write(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.chain.then(() => {
      this.queued = undefined;
      return this.writeNow();
    });
    this.queued = next;
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async writeNow(): Promise<void> {
    if (this.lost) throw this.lost;
    if (this.releasing) return;
    const now = Date.now(); // one clock reading: the lease is exactly leaseMs from the renewal
    this.record = { ...this.record, expiresAt: new Date(now + this.leaseMs).toISOString(), renewedAt: new Date(now).toISOString(), intents: [...this.pending.values()] };
    try {
      const md = await this.calls.run(
        'write',
        `journal ${this.dataset.id}.${LOCK_TABLE}`,
        () => patchLock(this.dataset.table(LOCK_TABLE), { description: JSON.stringify(this.record), expirationTime: String(Date.parse(this.record.expiresAt) + GC_GRACE_MS), etag: this.etag }),
        { retryAmbiguous: false },
      );
      this.etag = String(md.etag);
      this.written = new Set(this.record.intents.map((i) => i.key));
      this.renewed = now;
    } catch (e) {
      if (isAmbiguous(e)) {
        // The response was lost: read the record back; if it is what we wrote, carry on with its etag.
        const back = await readLock(this.dataset.table(LOCK_TABLE), this.calls, `${this.dataset.id}.${LOCK_TABLE}`).catch(() => undefined);
        if (back && back.description === JSON.stringify(this.record)) {
          this.etag = String(back.etag);
          this.written = new Set(this.record.intents.map((i) => i.key));
          this.renewed = now;
          return;
        }
      }
      if (cloudError(e).status === 412 || cloudError(e).status === 404) {
        this.lost = new DeployError(`lost the environment lock (another run took it over after this run's lease expired); stopping without further changes`, `${this.dataset.id}/${LOCK_TABLE}`);
        throw this.lost;
      }
      throw e;
    }
  }
}

/**
 * Patch the lock table, conditional on `etag` (the SDK sends it as `If-Match`), through the table's
 * own SDK request, asking for the new etag only (a partial response, `fields=etag`): the record,
 * all pending intents (hundreds of KB at a few thousand resources), is not sent back and decoded
 * for every journal write.
 */
function patchLock(table: ReturnType<Dataset['table']>, body: { description: string; expirationTime: string; etag: string }): Promise<{ etag?: string }> {
  return new Promise((resolve, reject) => {
    table.request({ method: 'PATCH', uri: '', json: body, qs: { fields: 'etag' } }, (err, resp) => (err ? reject(err) : resolve((resp ?? {}) as { etag?: string })));
  });
}

/** The lock record of an environment, or undefined when nobody holds it. */
export async function currentHolder(dataset: Dataset, calls: Calls): Promise<LockRecord | undefined> {
  const md = await readLock(dataset.table(LOCK_TABLE), calls, `${dataset.id}.${LOCK_TABLE}`);
  return md ? (parseRecord(md.description) ?? { holder: '(unreadable record)', host: '?', pid: 0, user: '?', operation: 'deploy', startedAt: '?', expiresAt: '?', intents: [] }) : undefined;
}

/** Remove the lock whatever its holder (`mlplane unlock`): the next run settles its journal by reads like any crashed run's. */
export async function breakLock(dataset: Dataset, calls: Calls): Promise<void> {
  await calls.run('write', `unlock ${dataset.id}.${LOCK_TABLE}`, () => dataset.table(LOCK_TABLE).delete(), { retryAmbiguous: true }).catch((e: unknown) => {
    if (cloudError(e).status !== 404) throw e;
  });
}

async function readLock(table: ReturnType<Dataset['table']>, calls: Calls, where: string): Promise<{ description?: string; etag?: string } | undefined> {
  try {
    const [md] = await calls.run('read', `lock ${where}`, () => table.getMetadata());
    return md as { description?: string; etag?: string };
  } catch (e) {
    if (cloudError(e).status === 404) return undefined;
    throw e;
  }
}

function newRecord(operation: 'deploy' | 'destroy', leaseMs: number, heartbeatMs: number): LockRecord {
  const user = (() => {
    try {
      return os.userInfo().username;
    } catch {
      return 'unknown';
    }
  })();
  const now = Date.now();
  return {
    holder: `${os.hostname()}/${process.pid}/${Math.random().toString(36).slice(2, 8)}`,
    host: os.hostname(),
    pid: process.pid,
    user,
    operation,
    startedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + leaseMs).toISOString(),
    renewedAt: new Date(now).toISOString(),
    heartbeatMs,
    intents: [],
  };
}

/** Parse the lock table's description; undefined when it is not a lock record. */
export function parseRecord(description: string | undefined): LockRecord | undefined {
  if (!description) return undefined;
  try {
    const r = JSON.parse(description) as LockRecord;
    return typeof r.holder === 'string' && typeof r.expiresAt === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}
