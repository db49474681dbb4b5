/**
 * The run record of `mlplane run`: `.mlplane/runs/<runId>/run.json`, and what `--json` prints.
 */
import type { GateDecision } from '../shared/gate';

/** Format id of the run record. */
export const RUN_RECORD_FORMAT = 'mlplane.run/1';

/** A step state change, as printed (one line each). */
export type StepEventState = 'queued' | 'running' | 'retried' | 'done' | 'cached' | 'reused' | 'failed' | 'skipped' | 'not-run' | 'interrupted';

/** Final state of a step in a run. */
export type StepFinalState = 'done' | 'cached' | 'reused' | 'failed' | 'skipped' | 'not-run' | 'interrupted';

/** One state change of one step. */
export interface StepEvent {
  readonly step: string;
  readonly state: StepEventState;
  /** Attempt number (running, retried, failed, done). */
  readonly attempt?: number;
  readonly elapsedMs?: number;
  /** Why (skipped, failed, retried, not-run) or what (cached from run …). */
  readonly message?: string;
  /** Log of the attempt (failed, retried). */
  readonly log?: string;
}

/** One attempt of a step. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly interrupted: boolean;
  /** Why the attempt failed, when the exit code alone does not say. */
  readonly error?: string;
  /** Log file, relative to the app directory. */
  readonly log: string;
}

/** An output of a step in this run. */
export type OutputRecord =
  | { readonly kind: 'artifact'; readonly path: string }
  | { readonly kind: 'parameter'; readonly path: string; readonly value?: string };

/** A register step's outcome. */
export interface RegistrationRecord {
  readonly model: string;
  readonly version: number;
  readonly gate: GateDecision;
  readonly promotedTo?: string;
  readonly previous?: number;
}

/** One step of a run. */
export interface StepRecord {
  readonly name: string;
  readonly kind: 'container' | 'register';
  state: StepFinalState;
  /** Cache key of the execution (also what `--resume` compares). */
  cacheKey?: string;
  cacheHit: boolean;
  /** The run whose outputs were reused (cached, reused). */
  reusedFrom?: string;
  attempts: AttemptRecord[];
  durationMs: number;
  outputs: Record<string, OutputRecord>;
  /** Metrics output name → its metrics.json. */
  metrics?: Record<string, Record<string, number>>;
  /** Conditions evaluated, with their outcome. */
  conditions?: Array<{ readonly text: string; readonly holds: boolean }>;
  /** Why it was skipped, not run, or failed. */
  reason?: string;
  registration?: RegistrationRecord;
}

/** A dataset given to the run. */
export interface DatasetRecord {
  /** The `--data` (or configured) source, as given. */
  readonly source: string;
  /** The directory the steps receive. */
  readonly dir: string;
  readonly version: string;
  readonly digest: string;
}

/** The record of one run. */
export interface RunRecord {
  readonly format: typeof RUN_RECORD_FORMAT;
  readonly runId: string;
  readonly environment: string;
  /** Pipeline path (`Fraud/Train`). */
  readonly pipeline: string;
  status: 'running' | 'succeeded' | 'failed' | 'interrupted';
  readonly executor: 'process' | 'container';
  readonly concurrency: number;
  readonly cache: boolean;
  readonly startedAt: string;
  endedAt?: string;
  durationMs?: number;
  /** Pipeline parameter → value text. */
  readonly parameters: Readonly<Record<string, string>>;
  /** Dataset path → local source. */
  readonly datasets: Readonly<Record<string, DatasetRecord>>;
  /** The run this one resumes. */
  readonly resumedFrom?: string;
  steps: StepRecord[];
  /** The first failed step, its reason and last log. */
  failed?: { readonly step: string; readonly reason: string; readonly log?: string };
}
