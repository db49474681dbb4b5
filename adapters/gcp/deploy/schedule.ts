/**
 * How many steps the gcp engine runs at once, per API, and what it measures of a run: calls,
 * round trips on the critical path and the parallelism achieved.
 *
 * Concurrency adapts to the API (additive increase, multiplicative decrease): each API (`aiplatform`,
 * `bigquery`, `storage`, …) starts at a high limit; a throttling answer (429 / RESOURCE_EXHAUSTED,
 * 403 rate limit) halves that API's limit, and each success afterwards raises it by one slot per
 * window of `limit` successes, back up to its ceiling. Google documents quota errors as the signal
 * to slow down with exponential backoff: https://cloud.google.com/vertex-ai/docs/quotas and
 * https://cloud.google.com/bigquery/docs/error-messages (rateLimitExceeded).
 */

import type { CallStats } from '../../shared/calls';

/** Default ceiling of steps in flight per API when the caller sets no concurrency. */
export const DEFAULT_CONCURRENCY = 32;

/** Per-API limits that shrink on throttling and grow back on success. */
export class AdaptiveLimits {
  private readonly limits = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly credit = new Map<string, number>();
  private total = 0;
  /** Lowest limit any API was cut to in this run (reported). */
  public lowest: number;

  /**
   * @param ceiling most steps of one API in flight at once
   * @param overall most steps in flight over all APIs
   */
  constructor(
    private readonly ceiling: number,
    private readonly overall: number = ceiling,
  ) {
    this.lowest = ceiling;
  }

  /** The current limit of an API. */
  public limit(api: string): number {
    return this.limits.get(api) ?? this.ceiling;
  }

  /** Whether a step of `api` may start now. */
  public canStart(api: string): boolean {
    return this.total < this.overall && (this.inFlight.get(api) ?? 0) < this.limit(api);
  }

  public started(api: string): void {
    this.total += 1;
    this.inFlight.set(api, (this.inFlight.get(api) ?? 0) + 1);
  }

  /** A step of `api` finished; a success earns credit towards one more slot. */
  public finished(api: string, ok: boolean): void {
    this.total -= 1;
    this.inFlight.set(api, (this.inFlight.get(api) ?? 1) - 1);
    if (!ok) return;
    const limit = this.limit(api);
    if (limit >= this.ceiling) return;
    const credit = (this.credit.get(api) ?? 0) + 1;
    if (credit >= limit) {
      this.limits.set(api, limit + 1);
      this.credit.set(api, 0);
    } else this.credit.set(api, credit);
  }

  /** The API answered with a quota / rate-limit error: halve its limit (at least 1). */
  public throttled(api: string): void {
    const next = Math.max(1, Math.floor(this.limit(api) / 2));
    this.limits.set(api, next);
    this.credit.set(api, 0);
    this.lowest = Math.min(this.lowest, next);
  }
}

/** The API a manifest method belongs to (`aiplatform.projects.…` → `aiplatform`). */
export function apiOfMethod(method: string): string {
  return method.split('.')[0] as string;
}

/** What a run measured of itself. */
export interface RunStats extends CallStats {
  /** Lowest per-API concurrency the run was throttled down to (the ceiling when never throttled). */
  readonly lowestConcurrency: number;
}
