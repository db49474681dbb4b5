/**
 * The contract every deploy engine implements (`adapters/<target>/deploy/`), so that `mlplane
 * diff | deploy | destroy` share one mechanism for plans, progress, `--json` summaries, retries
 * and exit codes whatever the target.
 *
 * Engines are the only code with side effects; they are loaded lazily by `bin/` and nowhere else.
 */
import type { EnvironmentModel } from '../lib/model/types';

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
   * Mutating API calls sent (PUT/PATCH/DELETE, and POSTs that change something), retries included.
   * POSTs that only compute a result (ARM what-if) count as reads.
   */
  readonly writes: number;
  /** Reading API calls sent. */
  readonly reads: number;
  readonly durationMs: number;
}

/** A progress event for one resource. */
export interface ProgressEvent {
  readonly id: string;
  readonly path: string;
  readonly action: PlanAction;
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
