/**
 * Google's error shapes: `google.rpc.Status` over HTTP for Vertex AI, and the BigQuery v2 error
 * envelope (`errors[].reason`).
 */
import type { BodyProblem } from './protos';
import type { Json } from './state';

/** gRPC status name of each HTTP status the simulator answers with. */
const RPC_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
};

/** BigQuery `errors[].reason` of each HTTP status. */
const BQ_REASON: Readonly<Record<number, string>> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'accessDenied',
  404: 'notFound',
  409: 'duplicate',
  412: 'conditionNotMet',
  429: 'rateLimitExceeded',
  500: 'backendError',
  501: 'notImplemented',
  503: 'backendError',
};

/** An error answer. */
export class ApiError extends Error {
  constructor(
    public readonly status: number,
    message: string,
    public readonly rpcStatus: string = RPC_STATUS[status] ?? 'UNKNOWN',
    public readonly violations: readonly BodyProblem[] = [],
    public readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** The Vertex AI (google.rpc.Status) body. */
  public vertexBody(): Json {
    const details: Json[] = [];
    if (this.violations.length > 0) {
      details.push({
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: this.violations.map((v) => ({ field: v.field, description: v.message })),
      });
    }
    if (this.retryAfterSeconds !== undefined) {
      details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${this.retryAfterSeconds}s` });
    }
    return { error: { code: this.status, message: this.message, status: this.rpcStatus, ...(details.length > 0 ? { details } : {}) } };
  }

  /** The BigQuery v2 body. */
  public bigQueryBody(): Json {
    const reason = BQ_REASON[this.status] ?? 'backendError';
    const errors =
      this.violations.length > 0
        ? this.violations.map((v) => ({ reason: 'invalid', domain: 'global', location: v.field, message: `${v.field}: ${v.message}` }))
        : [{ reason, domain: 'global', message: this.message }];
    return { error: { code: this.status, message: this.message, errors, status: this.rpcStatus } };
  }
}

/** A 400 listing every body problem. */
export function invalidBody(what: string, problems: readonly BodyProblem[]): ApiError {
  const first = problems.slice(0, 5).map((p) => `${p.field}: ${p.message}`).join('; ');
  return new ApiError(400, `Invalid ${what}: ${first}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`, 'INVALID_ARGUMENT', problems);
}
