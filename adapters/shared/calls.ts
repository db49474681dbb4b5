/**
 * What a deploy engine measures of its own API calls: how many it sent, how many of them had to
 * wait for one another (round trips on the critical path), and how many were in flight at once.
 *
 * Both engines record one {@link Span} per request on the wire (the gcp engine around each SDK
 * call, the azure engine in its clients' pipeline) and report {@link callStats} in the deploy
 * summary and on the live view.
 */

/** One request's time on the wire, in ms since some origin. */
export interface Span {
  readonly start: number;
  readonly end: number;
  /** What the request was for (the engine's name of the call), for {@link criticalChain}. */
  readonly what?: string;
}

/** Calls, round trips on the critical path and parallelism of a run. */
export interface CallStats {
  /** Requests sent (reads + writes, retries and polls included). */
  readonly calls: number;
  /** The longest chain of requests each sent after the previous one was answered: round trips on the critical path. */
  readonly criticalPathRoundTrips: number;
  /** Requests in flight on average: busy time of all requests over the run's wall time. */
  readonly parallelism: number;
  /** The requests of the critical path, first to last, in ms since the run's first request. */
  readonly criticalPath: readonly { readonly what: string; readonly startMs: number; readonly endMs: number }[];
}

/**
 * Round trips on the critical path of a run: the longest chain of requests in which each was sent
 * after the one before it was answered (longest chain of an interval order, by dynamic programming
 * over the requests sorted by their ends).
 */
export function criticalRoundTrips(spans: readonly Span[]): number {
  return criticalChain(spans).length;
}

/**
 * The requests of the critical path, first to last: a longest chain in which each was sent after
 * the one before it was answered (what `bench/gcp-deploy.bench.ts --critical` prints).
 */
export function criticalChain(spans: readonly Span[]): Span[] {
  const byStart = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  const byEnd = [...byStart].sort((a, b) => a.end - b.end);
  const chain = new Map<Span, { length: number; previous: Span | undefined }>();
  let ended = 0;
  let best: Span | undefined; // the span ending the longest chain among those answered so far
  let last: Span | undefined;
  const lengthOf = (s: Span | undefined): number => (s ? (chain.get(s)?.length ?? 0) : 0);
  for (const s of byStart) {
    // Every span answered by the time `s` was sent started before it, so its chain is known.
    while (ended < byEnd.length && (byEnd[ended] as Span).end <= s.start) {
      const e = byEnd[ended] as Span;
      if (lengthOf(e) > lengthOf(best)) best = e;
      ended++;
    }
    chain.set(s, { length: lengthOf(best) + 1, previous: best });
    if (lengthOf(s) > lengthOf(last)) last = s;
  }
  const path: Span[] = [];
  for (let s = last; s; s = chain.get(s)?.previous) path.push(s);
  return path.reverse();
}

/** The stats of a run's spans (one per request sent). */
export function callStats(spans: readonly Span[]): CallStats {
  let first = Infinity;
  let last = -Infinity;
  let busy = 0;
  for (const s of spans) {
    first = Math.min(first, s.start);
    last = Math.max(last, s.end);
    busy += s.end - s.start;
  }
  const path = criticalChain(spans);
  const at = (ms: number): number => Math.round(ms - first);
  return {
    calls: spans.length,
    criticalPathRoundTrips: path.length,
    criticalPath: path.map((s) => ({ what: s.what ?? '?', startMs: at(s.start), endMs: at(s.end) })),
    parallelism: spans.length === 0 ? 0 : last > first ? Math.round((busy / (last - first)) * 10) / 10 : 1,
  };
}

/** The live view's line of a run's stats. */
export function describeCallStats(stats: CallStats): string {
  return `${stats.calls} calls, ${stats.criticalPathRoundTrips} round trips on the critical path, parallelism ${stats.parallelism}`;
}
