/**
 * Faults the GCP simulator injects on demand: the shared kinds (`adapters/shared/faults.ts`) plus
 * an error in Google's shape, matched by RPC name as well as verb and path.
 */
import { FaultRules, type BaseFaultRule, type BaseFaultTarget, type CommonFaultKind } from '../../shared/faults';

/**
 * What a fault does to a matching request. Throttling answers 429 RESOURCE_EXHAUSTED with
 * `Retry-After` and a `google.rpc.RetryInfo` detail; unavailability answers 503 UNAVAILABLE;
 * slow operations finish after `polls` GetOperation calls.
 */
export type FaultKind =
  | CommonFaultKind
  /** Answer an error with this HTTP status, RPC status and message, without applying the request. */
  | { readonly kind: 'error'; readonly status: number; readonly rpcStatus: string; readonly message?: string };

/** A fault rule: which requests it hits and how many times. */
export interface FaultRule extends BaseFaultRule<FaultKind> {
  /** RPC to hit: a Vertex method (`EndpointService.DeployModel`, or just `DeployModel`) or a BigQuery method id (`bigquery.tables.insert`). */
  readonly rpc?: string;
  /** A query parameter the request must carry to be hit (`filter`: a list's filtered requests only, not its unfiltered ones). @default - any request */
  readonly queryParameter?: string;
}

/** What a request looks like to fault matching. */
export interface FaultTarget extends BaseFaultTarget {
  readonly rpc: string;
  /** The request's query parameters. */
  readonly query: URLSearchParams;
}

/** The fault rules of a running simulator. */
export class Faults extends FaultRules<FaultRule, FaultTarget> {
  constructor() {
    super((rule, t) => (rule.rpc === undefined || t.rpc === rule.rpc || t.rpc.endsWith(`.${rule.rpc}`)) && (rule.queryParameter === undefined || t.query.has(rule.queryParameter)));
  }
}
