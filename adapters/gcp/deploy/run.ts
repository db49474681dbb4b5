/**
 * What the gcp engine's plan, observe and apply steps share: options, the run, plan steps,
 * delete ranks and small helpers.
 */
import type { DeployInput, PlanAction, PlanItem, PropertyChange } from '../../deploy';
import type { GcpSettings, Manifest } from '../index';
import { Calls, isNotFound, type GcpClients, type RetryTuning } from './clients';
import type { KindContext } from './kinds';
import type { Json } from './proto-json';
import type { Dataset } from '@google-cloud/bigquery';

/** Where a simulated crash is injected (tests). */
export interface MutationPoint {
  /** 0-based index of the mutation in this run. */
  readonly index: number;
  readonly key: string;
  readonly action: PlanAction;
}

/** Options of the GCP deploy engine. */
export interface GcpEngineOptions {
  /** Retry tuning of every SDK call. */
  readonly retry?: RetryTuning;
  /** First pause between long-running operation polls: short, since most operations finish fast; it grows ×1.5 up to 10 s (Google's guidance for polling operations is a short first poll with exponential backoff). @default 250 */
  readonly pollIntervalMs?: number;
  /** Long-running operation timeout per type (`Endpoint`, `DeployedModel`, …), overriding the defaults. */
  readonly timeouts?: Readonly<Record<string, number>>;
  /** Lease of the environment lock. @default 900000 */
  readonly lockLeaseMs?: number;
  /** Pause between lock attempts while waiting. @default 1000 */
  readonly lockPollMs?: number;
  /** Interval of the lock holder's heartbeat; a holder silent for 3 heartbeats is taken over. @default - a third of the lease, at most 30 s */
  readonly heartbeatMs?: number;
  /** Environment variables (for `MLPLANE_GCP_ENDPOINT`). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Test hooks around each mutation; a throw simulates a crash (no cleanup, lock kept). */
  readonly hooks?: {
    readonly beforeMutation?: (point: MutationPoint) => void;
    readonly afterMutation?: (point: MutationPoint) => void;
  };
}

/** A step of a plan with what it takes to apply it. */
export interface Step {
  readonly item: PlanItem;
  /** Keys of steps that must finish first. */
  readonly deps: readonly string[];
  readonly phase: 'apply' | 'delete';
  readonly rank: number;
  /** Resource name or identity (journal). */
  readonly target: string;
  readonly run?: (rc: RunContext) => Promise<void>;
  /** How to apply a no-op step again when a resource it depends on is replaced (and takes it down). */
  readonly recreate?: (rc: RunContext) => Promise<void>;
}

/** State of one plan computation. */
export interface Observed {
  readonly manifest: Manifest;
  readonly steps: Step[];
  /** Whether the lock table exists (a run in progress, or a crashed one's journal). */
  readonly lockPresent: boolean;
  /** Whether the environment dataset exists (and is owned). */
  readonly datasetPresent: boolean;
}

/** What a running apply shares. */
export interface RunContext extends KindContext {
  readonly dataset: Dataset;
}

/** Marks an error thrown by a test hook: the run stops as if the process died (lock kept). */
export const SIMULATED_CRASH = Symbol.for('mlplane.gcp.crash');

/** Manifest methods of the platform APIs (KMS, Cloud Storage, IAM admin, project IAM), applied by `platform.ts`. */
export const UNMANAGED = /^(cloudkms|storage|iam\.projects|cloudresourcemanager)\./;

/** Delete order: lower ranks are deleted first (dependents before what they depend on). */
export const RANK = {
  monitoringJob: 5,
  schedule: 10,
  deployedModel: 15,
  modelMonitor: 20,
  featureView: 30,
  endpoint: 60,
  featureStore: 70,
  model: 75,
  dataBearing: 80,
  view: 85,
  table: 90,
  dataset: 100,
} as const;

/** Everything one engine call works with. */
export interface Run {
  readonly input: DeployInput<GcpSettings>;
  readonly options: GcpEngineOptions;
  readonly manifest: Manifest;
  readonly bodies: ReadonlyMap<string, Json>;
  readonly clients: GcpClients;
  readonly calls: Calls;
  readonly ctx: KindContext;
  readonly started: number;
  /** Notes already logged in this run (said once, not once per read of the live state). */
  readonly said: Set<string>;
  /**
   * Collections (`<list method>|<parent>`) that an earlier read of the live state in this run had
   * to list unfiltered (a named entry missing from the owned list): the read under the lock sends
   * their first pages with its first round and reads on from them without waiting for the owned lists.
   */
  readonly listedUnfiltered: Set<string>;
  /** Steps being applied, by key (for `retrying` progress events). */
  readonly running: Map<string, { path: string; action: PlanAction; started: number }>;
}

/** The last segment of a resource name. */
export function lastSegment(name: string): string {
  return name.split('/').pop() as string;
}

/** A plan item. */
export function item(id: string, type: string, path: string, action: PlanAction, changes: readonly PropertyChange[] = [], summary: readonly string[] = []): PlanItem {
  return { id, type, path, action, changes, summary };
}

/** The long-running operation timeout of a type (option `timeouts`, else `fallback`). */
export function timeoutFor(run: Run, type: string, fallback: number): number {
  return run.options.timeouts?.[type] ?? fallback;
}

/** The same promise, with a handler attached so that a rejection before it is awaited is not reported as unhandled. */
export function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** Rethrow anything but NOT_FOUND (a delete of something already gone is done). */
export function ignoreNotFound(e: unknown): void {
  if (!isNotFound(e)) throw e;
}

/** `o` without its undefined values. */
export function stripUndefined(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The given top-level keys of `o` that are set. */
export function pickTop(o: Json, keys: readonly string[]): Json {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}
