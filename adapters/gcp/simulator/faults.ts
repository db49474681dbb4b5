/**
 * Faults the simulator injects on demand: throttling, unavailability, dropped responses, slow
 * long-running operations, arbitrary error statuses.
 */

/** What a fault does to a matching request. */
export type FaultKind =
  /** Answer 429 RESOURCE_EXHAUSTED with `Retry-After` (and a `google.rpc.RetryInfo` detail). */
  | { readonly kind: 'throttle'; readonly retryAfterSeconds?: number }
  /** Answer 503 UNAVAILABLE (with `Retry-After` when given). */
  | { readonly kind: 'unavailable'; readonly retryAfterSeconds?: number }
  /** Apply the request, then destroy the socket instead of answering. */
  | { readonly kind: 'drop' }
  /** Long-running operations started by the request finish only after `polls` GetOperation calls. */
  | { readonly kind: 'slow'; readonly polls: number }
  /** Answer an error with this HTTP status, RPC status and message, without applying the request. */
  | { readonly kind: 'error'; readonly status: number; readonly rpcStatus: string; readonly message?: string };

/** A fault rule: which requests it hits and how many times. */
export interface FaultRule {
  /** RPC to hit: a Vertex method (`EndpointService.DeployModel`, or just `DeployModel`) or a BigQuery method id (`bigquery.tables.insert`). */
  readonly rpc?: string;
  /** HTTP verb to hit (`POST`). */
  readonly verb?: string;
  /** URL path to hit: a substring or a RegExp. */
  readonly path?: string | RegExp;
  /** How many matching requests it hits. @default 1 */
  readonly count?: number;
  readonly fault: FaultKind;
}

/** What a request looks like to fault matching. */
export interface FaultTarget {
  readonly rpc: string;
  readonly verb: string;
  readonly path: string;
}

/** The fault rules of a running simulator. */
export class Faults {
  private readonly rules: { rule: FaultRule; left: number }[] = [];

  /** Add a rule; returns a function that removes it. */
  public add(rule: FaultRule): () => void {
    const entry = { rule, left: rule.count ?? 1 };
    this.rules.push(entry);
    return () => {
      const i = this.rules.indexOf(entry);
      if (i >= 0) this.rules.splice(i, 1);
    };
  }

  /** Remove every rule. */
  public clear(): void {
    this.rules.length = 0;
  }

  /** Rules that still have hits left. */
  public pending(): number {
    return this.rules.filter((r) => r.left > 0).length;
  }

  /** The first matching rule with hits left (consuming one hit), or undefined. */
  public take(target: FaultTarget): FaultKind | undefined {
    for (const entry of this.rules) {
      if (entry.left <= 0 || !matches(entry.rule, target)) continue;
      entry.left -= 1;
      return entry.rule.fault;
    }
    return undefined;
  }
}

function matches(rule: FaultRule, t: FaultTarget): boolean {
  if (rule.rpc !== undefined && t.rpc !== rule.rpc && !t.rpc.endsWith(`.${rule.rpc}`)) return false;
  if (rule.verb !== undefined && rule.verb.toUpperCase() !== t.verb) return false;
  if (rule.path !== undefined) {
    if (typeof rule.path === 'string' ? !t.path.includes(rule.path) : !rule.path.test(t.path)) return false;
  }
  return true;
}
