/**
 * One retry mechanism for every deploy engine: capped exponential backoff with full jitter,
 * honouring a server's `Retry-After` (seconds or an HTTP date).
 */

/** How a failed call is treated. */
export type RetryDecision = { readonly retry: false } | { readonly retry: true; readonly retryAfterMs?: number; readonly reason: string };

/** Options of `withRetries`. */
export interface RetryOptions {
  /** Decide whether an error is worth retrying (and after how long the server asked). */
  readonly classify: (error: unknown) => RetryDecision;
  /** Attempts in all, the first included. @default 6 */
  readonly maxAttempts?: number;
  /** First backoff. @default 500 */
  readonly baseMs?: number;
  /** Longest single wait. @default 30000 */
  readonly capMs?: number;
  /** Called before each wait (progress display, logs). */
  readonly onRetry?: (attempt: number, waitMs: number, reason: string) => void;
  /** Sleep implementation (tests pass a fake). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Random source in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** Parse a `Retry-After` header value (seconds, or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before attempt `attempt + 1`: the server's `Retry-After` if given, else capped exponential backoff with full jitter. */
export function backoffMs(attempt: number, options: { baseMs?: number; capMs?: number; retryAfterMs?: number; random?: () => number } = {}): number {
  const cap = options.capMs ?? 30_000;
  if (options.retryAfterMs !== undefined) return Math.min(options.retryAfterMs, cap * 4);
  const exp = Math.min(cap, (options.baseMs ?? 500) * 2 ** (attempt - 1));
  return Math.round(exp / 2 + (options.random ?? Math.random)() * (exp / 2));
}

/**
 * Call `fn` until it succeeds, the error is not retryable, or attempts run out; the last error is
 * rethrown.
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const max = options.maxAttempts ?? 6;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const decision = options.classify(error);
      if (!decision.retry || attempt >= max) throw error;
      const wait = backoffMs(attempt, { baseMs: options.baseMs, capMs: options.capMs, retryAfterMs: decision.retryAfterMs, random: options.random });
      options.onRetry?.(attempt, wait, decision.reason);
      await sleep(wait);
    }
  }
}

/** HTTP statuses every engine retries: throttling and transient server errors. */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** Network error codes every engine retries (connection reset, refused during restarts, timeouts). */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);

/** Options of {@link createSettled}. */
export interface SettledCreateOptions extends Omit<RetryOptions, 'classify'> {
  /** Retry classification of the create's errors (throttling, 5xx, dropped connections). */
  readonly classify: (error: unknown) => RetryDecision;
  /** Whether the request may have been applied although it failed (no answer, 500, 504). */
  readonly ambiguous: (error: unknown) => boolean;
  /** Whether the error says the resource already exists (409). */
  readonly conflict: (error: unknown) => boolean;
}

/**
 * A create that is never re-sent blindly: after an error whose outcome is unknown (a dropped
 * response, a 500) or a 409, the resource is read; it exists → done (`exists` must refuse a
 * resource that is not ours by throwing); absent → the create is sent again after the backoff
 * (honouring `Retry-After`), up to `maxAttempts` in all. Errors that retrying cannot fix are
 * rethrown at once.
 */
export async function createSettled(create: () => Promise<void>, exists: () => Promise<boolean>, options: SettledCreateOptions): Promise<void> {
  const max = options.maxAttempts ?? 6;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      await create();
      return;
    } catch (error) {
      if (options.conflict(error)) {
        if (await exists()) return;
        throw error;
      }
      const decision = options.classify(error);
      const unknown = options.ambiguous(error);
      if (!decision.retry && !unknown) throw error;
      // The outcome is unknown: settle it by a read before anything is sent again.
      if (unknown && (await exists())) return;
      if (attempt >= max) throw error;
      const wait = backoffMs(attempt, { baseMs: options.baseMs, capMs: options.capMs, retryAfterMs: decision.retry ? decision.retryAfterMs : undefined, random: options.random });
      options.onRetry?.(attempt, wait, decision.retry ? decision.reason : 'outcome unknown, not created');
      await sleep(wait);
    }
  }
}
