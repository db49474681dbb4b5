/**
 * One fault-injection mechanism for every simulator: rules that hit the next N matching requests
 * with throttling, unavailability, a dropped response, a slow long-running operation, or an error
 * in the cloud's own shape.
 */

/** Faults every simulator injects the same way. */
export type CommonFaultKind =
  /** Answer 429 with `Retry-After` (seconds). */
  | { readonly kind: 'throttle'; readonly retryAfterSeconds?: number }
  /** Answer 503 (with `Retry-After` when given). */
  | { readonly kind: 'unavailable'; readonly retryAfterSeconds?: number }
  /** Apply the request, then destroy the socket instead of answering. */
  | { readonly kind: 'drop' }
  /** Long-running operations the request starts finish only after `polls` polls. */
  | { readonly kind: 'slow'; readonly polls: number }
  /**
   * Someone else changes the cloud just before this request is served (`change` edits the
   * simulator's state); the request is then answered normally. Models a change made between two
   * reads of a deploy (between the plan shown and its apply).
   */
  | { readonly kind: 'outside-change'; readonly change: () => void };

/** A fault rule: which requests it hits, how many times, and with what. */
export interface BaseFaultRule<K> {
  /** HTTP verb to hit (`PUT`). @default - any */
  readonly verb?: string;
  /** URL path to hit: a substring or a RegExp. @default - any */
  readonly path?: string | RegExp;
  /** How many matching requests it hits. @default 1 */
  readonly count?: number;
  readonly fault: K;
}

/** What a request looks like to fault matching. */
export interface BaseFaultTarget {
  readonly verb: string;
  readonly path: string;
}

/**
 * The rules of a running simulator. `extra` lets a simulator match on more than verb and path
 * (the GCP simulator matches RPC names).
 */
export class FaultRules<R extends BaseFaultRule<unknown>, T extends BaseFaultTarget = BaseFaultTarget> {
  private readonly rules: { rule: R; left: number }[] = [];

  constructor(private readonly extra: (rule: R, target: T) => boolean = () => true) {}

  /** Add a rule; returns a function that removes it. */
  public add(rule: R): () => void {
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
  public take(target: T): R['fault'] | undefined {
    for (const entry of this.rules) {
      if (entry.left <= 0 || !this.matches(entry.rule, target)) continue;
      entry.left -= 1;
      return entry.rule.fault;
    }
    return undefined;
  }

  private matches(rule: R, t: T): boolean {
    if (rule.verb !== undefined && rule.verb.toUpperCase() !== t.verb.toUpperCase()) return false;
    if (rule.path !== undefined && (typeof rule.path === 'string' ? !t.path.includes(rule.path) : !rule.path.test(t.path))) return false;
    return this.extra(rule, t);
  }
}
