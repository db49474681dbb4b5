/**
 * The contract every deploy engine implements (`adapters/<target>/deploy/`), so that `mlplane
 * diff | deploy | destroy` share one mechanism for plans, progress, `--json` summaries, retries
 * and exit codes whatever the target.
 *
 * Engines are the only code with side effects; they are loaded lazily by `bin/` and nowhere else.
 */
import { createHash } from 'node:crypto';
import type { EnvironmentModel } from '../lib/model/types';
import type { CallStats } from './shared/calls';

/** What a deploy would do to one resource. */
export type PlanAction = 'create' | 'update' | 'replace' | 'delete' | 'noop';

/** One changed property of a resource (dotted path into its document). */
export interface PropertyChange {
  readonly property: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** One resource in a plan. */
export interface PlanItem {
  /** Engine-specific id of the resource (its document path, or its ARM resource id). */
  readonly id: string;
  /** Resource type in the cloud's words (`Endpoint`, `Microsoft.MachineLearningServices/workspaces/onlineEndpoints`). */
  readonly type: string;
  /** Construct path of the mlplane construct it comes from. */
  readonly path: string;
  readonly action: PlanAction;
  readonly changes: readonly PropertyChange[];
  /**
   * The change in ML terms, one line each: `traffic blue 90% → 80%, green 10% → 20%`,
   * `alias champion → version 4`, `threshold amount 0.10 → 0.15`, `schedule '0 2 * * *' → '0 3 * * *'`.
   */
  readonly summary: readonly string[];
}

/** What a deploy or destroy would do. Applying a plan does exactly this. */
export interface Plan {
  readonly target: string;
  readonly environment: string;
  readonly items: readonly PlanItem[];
  /**
   * Digest of the live state the plan was computed from, as the plan sees it (every item's action
   * and its before/after values): {@link planDigest}. A deploy given this plan as
   * `DeployInput.approvedPlan` re-reads under its lock and applies only if the digest is the same.
   */
  readonly liveDigest?: string;
  /**
   * Live health problems of what the plan covers (a deployment marked Failed, an endpoint not
   * serving), one `[construct/path] message` each. `diff --fail` exits non-zero when there are any.
   */
  readonly health?: readonly string[];
  /** Requests the plan took to compute (reads; ARM what-if counts as a read). */
  readonly reads?: number;
}

/**
 * The digest of a plan's view of the live state: sha256 over every item's id, action, changed
 * properties with their before and after values, and summary. Two reads of an unchanged
 * environment give the same digest; anything that would change what the deploy does changes it.
 */
export function planDigest(items: readonly PlanItem[]): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
    return v;
  };
  const rows = items.map((i) => [i.id.toLowerCase(), i.type.toLowerCase(), i.action, canonical(i.changes), i.summary]).sort((a, b) => String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1])));
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex').slice(0, 32);
}

/** A plan with its live digest set. */
export function withDigest(plan: Plan): Plan {
  return { ...plan, liveDigest: planDigest(plan.items) };
}

/** Deletes and replacements in `current` that `approved` did not have (same id and action). */
export function newDestructive(approved: Plan, current: Plan): PlanItem[] {
  const had = new Set(approved.items.filter((i) => i.action === 'delete' || i.action === 'replace').map((i) => `${i.id.toLowerCase()} ${i.action}`));
  return current.items.filter((i) => (i.action === 'delete' || i.action === 'replace') && !had.has(`${i.id.toLowerCase()} ${i.action}`));
}

/**
 * Thrown by a deploy whose re-read (under the lock) gives a different plan from the approved one:
 * nothing was applied. Carries the new plan, for the CLI to show.
 */
export class PlanChangedError extends Error {
  constructor(
    public readonly plan: Plan,
    public readonly added: readonly PlanItem[],
  ) {
    super(
      `[${plan.environment}] the live state changed after the plan was shown; nothing was applied${added.length > 0 ? ` (the plan now also ${added.map((i) => `${i.action}s ${i.path} (${i.type})`).join(', ')})` : ''}: review the new plan and run the command again`,
    );
    this.name = 'PlanChangedError';
  }
}

/**
 * The check every engine makes after re-reading the live state under its lock, before its first
 * write: the plan about to be applied must be the approved one (same digest). Unattended
 * (`--require-approval never`) a changed plan is applied only when it deletes or replaces nothing
 * the approved one did not.
 *
 * @throws PlanChangedError when the plan changed and may not be applied.
 */
export function checkApprovedPlan(input: Pick<DeployInput, 'approvedPlan' | 'unattended' | 'progress'>, current: Plan): void {
  const approved = input.approvedPlan;
  if (!approved) return;
  const digest = current.liveDigest ?? planDigest(current.items);
  if (approved.liveDigest === digest) return;
  const added = newDestructive(approved, current);
  if (input.unattended === true && added.length === 0) {
    input.progress.log(`${current.environment}: the live state changed after the plan was shown; the new plan deletes or replaces nothing more, applying it (--require-approval never)`);
    return;
  }
  throw new PlanChangedError(current, added);
}

/** Thrown when a deploy or destroy stopped on SIGINT/SIGTERM: in-flight calls finished, the lock was released. */
export class InterruptedError extends Error {
  constructor(
    message: string,
    public readonly path: string,
  ) {
    super(`[${path}] ${message}`);
    this.name = 'InterruptedError';
  }
}

/** Whether a plan changes anything. */
export function planHasChanges(plan: Plan): boolean {
  return plan.items.some((i) => i.action !== 'noop');
}

/** What a deploy or destroy did; printed by `--json`. */
export interface DeploySummary {
  readonly target: string;
  readonly environment: string;
  readonly created: number;
  readonly updated: number;
  readonly replaced: number;
  readonly deleted: number;
  readonly unchanged: number;
  /**
   * Mutating API calls sent (PUT/PATCH/DELETE, and POSTs that change something), retries and the
   * lock's own writes (acquire, journal, heartbeat, release) included. POSTs that only compute a
   * result (ARM what-if) count as reads. Every request is either a write or a read.
   */
  readonly writes: number;
  /** Reading API calls sent (the CLI adds the reads of the plan it showed). */
  readonly reads: number;
  readonly durationMs: number;
  /**
   * What the engine measured of the run (gcp, azure): calls, round trips on the critical path,
   * parallelism achieved, and, where concurrency adapts to throttling (gcp), the lowest it went.
   */
  readonly stats?: CallStats & { readonly lowestConcurrency?: number };
}

/** A progress event for one resource. */
export interface ProgressEvent {
  readonly id: string;
  readonly path: string;
  readonly action: PlanAction;
  /** The cloud resource, in the cloud's words (`vertex Endpoint fraud-prod-scoring`). */
  readonly resource?: string;
  readonly state: 'pending' | 'running' | 'retrying' | 'done' | 'failed';
  readonly message?: string;
  readonly elapsedMs?: number;
}

/** Where engines report progress: a live display on a TTY, plain log lines otherwise. */
export interface ProgressSink {
  event(e: ProgressEvent): void;
  log(message: string): void;
}

/** Everything an engine needs for one environment. */
export interface DeployInput<S = unknown> {
  readonly model: EnvironmentModel;
  /** The adapter's synthesized documents for this environment (document targets). */
  readonly documents: Readonly<Record<string, unknown>>;
  /** The target's parsed settings for this environment. */
  readonly settings: S;
  readonly progress: ProgressSink;
  /** Most mutations in flight at once. @default 8 */
  readonly concurrency?: number;
  /** How long to wait for another deploy's lock before giving up. @default 0 (fail at once) */
  readonly lockTimeoutMs?: number;
  /** Lease of the environment lock (a holder silent longer than this is taken over). @default - the engine's (15 min) */
  readonly lockLeaseMs?: number;
  /**
   * The plan that was shown (and approved). The deploy re-reads the live state under its lock and
   * applies only this plan ({@link checkApprovedPlan}). @default - no check (library use)
   */
  readonly approvedPlan?: Plan;
  /** Whether nobody approves (`--require-approval never`): see {@link checkApprovedPlan}. @default false */
  readonly unattended?: boolean;
  /** Aborted on SIGINT/SIGTERM: the engine starts no new write, lets in-flight calls finish, releases its lock. */
  readonly signal?: AbortSignal;
}

/** Options of destroy. */
export interface DestroyOptions {
  /** Also delete data-bearing resources (datasets, tables, registries, storage). @default false */
  readonly destroyData?: boolean;
  /** Purge soft-deleted resources that would block a re-deploy (azure). @default false */
  readonly purge?: boolean;
}

/** A deploy engine. */
export interface DeployEngine<S = unknown> {
  readonly target: string;
  /** The plan of a deploy: desired (documents) vs live (read through the SDKs). Writes nothing. */
  diff(input: DeployInput<S>): Promise<Plan>;
  /** Apply the plan of a deploy. */
  deploy(input: DeployInput<S>): Promise<DeploySummary>;
  /** The plan of a destroy (only owned resources; data retained unless `destroyData`). */
  planDestroy(input: DeployInput<S>, options: DestroyOptions): Promise<Plan>;
  /** Delete owned resources in reverse dependency order. */
  destroy(input: DeployInput<S>, options: DestroyOptions): Promise<DeploySummary>;
  /**
   * Who holds the environment's deploy lock, in words, or undefined when nobody does. @default - the engine has no lock of its own
   */
  lockHolder?(input: DeployInput<S>): Promise<string | undefined>;
  /** Remove the environment's deploy lock (`mlplane unlock`); returns what was removed. */
  unlock?(input: DeployInput<S>): Promise<string | undefined>;
}

/**
 * A deploy failure that names the resource and the cloud's message.
 *
 * `retryable` is false for errors that retrying cannot fix (4xx other than throttling).
 */
export class DeployError extends Error {
  constructor(
    message: string,
    public readonly path: string,
    public readonly retryable = false,
  ) {
    super(`[${path}] ${message}`);
    this.name = 'DeployError';
  }
}
