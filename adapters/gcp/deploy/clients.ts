/**
 * The only code in mlplane that talks to Google Cloud: `@google-cloud/aiplatform` (v1 and v1beta1
 * clients over REST), `@google-cloud/bigquery`, `@google-cloud/storage`, `@google-cloud/kms`,
 * `@google-cloud/resource-manager` (v3 `ProjectsClient`), `@google-cloud/secret-manager` (secret IAM
 * policies) and `@googleapis/iam` (IAM v1 service
 * accounts: the GAPIC `@google-cloud/iam` has no service-account admin API), with Application
 * Default Credentials — or, when `MLPLANE_GCP_ENDPOINT=http://127.0.0.1:N` is set, a local
 * simulator with no credentials.
 *
 * Every call goes through `Calls.run`, which counts reads and writes and retries with the shared
 * mechanism (`adapters/shared/retry.ts`) using the GCP classification below.
 */
import { v1, v1beta1 } from '@google-cloud/aiplatform';
import type { ClientOptions } from 'google-gax';
import { BigQuery } from '@google-cloud/bigquery';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { ProjectsClient } from '@google-cloud/resource-manager';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { Storage } from '@google-cloud/storage';
import { iam_v1 } from '@googleapis/iam';
import { GoogleAuth, PassThroughClient } from 'google-auth-library';
import { gcpFetch } from './transport';
import type { Span } from '../../shared/calls';
import { createSettled, parseRetryAfter, RETRYABLE_NETWORK_CODES, RETRYABLE_STATUS, withRetries, type RetryDecision } from '../../shared/retry';

/** The environment variable that points the engine at a simulator. */
export const ENDPOINT_ENV = 'MLPLANE_GCP_ENDPOINT';

/** An HTTP-ish view of any SDK error: status, Google status name, message, Retry-After. */
export interface CloudError {
  readonly status?: number;
  readonly rpcStatus?: string;
  readonly reason?: string;
  readonly message: string;
  readonly retryAfterMs?: number;
  readonly networkCode?: string;
}

/** Read the parts of an SDK error the engine decides on (gaxios, GoogleError, BigQuery ApiError). */
export function cloudError(error: unknown): CloudError {
  if (typeof error !== 'object' || error === null) return { message: String(error) };
  const e = error as Record<string, unknown>;
  let status = typeof e.status === 'number' ? e.status : typeof e.code === 'number' && e.code >= 100 ? e.code : undefined;
  let rpcStatus: string | undefined;
  let reason: string | undefined;
  let message = typeof e.message === 'string' ? e.message : String(error);
  let retryAfterMs: number | undefined;
  // Vertex over REST: gaxios puts the google.rpc.Status JSON in the message.
  if (message.startsWith('{')) {
    try {
      const body = JSON.parse(message) as { error?: { code?: number; message?: string; status?: string; details?: { '@type'?: string; retryDelay?: string; reason?: string }[] } };
      if (body.error) {
        status = body.error.code ?? status;
        rpcStatus = body.error.status;
        message = body.error.message ?? message;
        for (const d of body.error.details ?? []) {
          if (d.retryDelay) retryAfterMs = parseRetryAfter(d.retryDelay.replace(/s$/, ''));
          if (d.reason) reason = d.reason;
        }
      }
    } catch {
      // not JSON: keep the message as is
    }
  }
  const response = e.response as { headers?: unknown } | undefined;
  const headers = response?.headers;
  let header: string | undefined;
  if (headers && typeof (headers as { get?: unknown }).get === 'function') header = (headers as Headers).get('retry-after') ?? undefined;
  else if (headers && typeof headers === 'object') header = (headers as Record<string, string | undefined>)['retry-after'];
  const fromHeader = parseRetryAfter(header);
  if (fromHeader !== undefined) retryAfterMs = fromHeader;
  const errors = e.errors as { reason?: string }[] | undefined;
  if (Array.isArray(errors) && errors[0]?.reason) reason = errors[0].reason;
  const networkCode = typeof e.code === 'string' ? e.code : typeof (e.cause as { code?: unknown } | undefined)?.code === 'string' ? ((e.cause as { code: string }).code) : undefined;
  return { status, rpcStatus, reason, message, retryAfterMs, networkCode };
}

/** Whether an error means "this resource does not exist". */
export function isNotFound(error: unknown): boolean {
  const c = cloudError(error);
  return c.status === 404 || c.rpcStatus === 'NOT_FOUND' || (typeof (error as { code?: unknown }).code === 'number' && (error as { code: number }).code === 5);
}

/** Whether an error means "already exists". */
export function isAlreadyExists(error: unknown): boolean {
  const c = cloudError(error);
  return c.status === 409 && c.rpcStatus !== 'ABORTED' && c.reason !== 'operationInProgress';
}

/**
 * GCP's retry classification on top of the shared statuses: 429, 5xx and connection resets, plus
 * 409 `operationInProgress` / ABORTED and 403 per-minute quota errors.
 */
export function classifyGcp(error: unknown): RetryDecision {
  const c = cloudError(error);
  if (c.networkCode && RETRYABLE_NETWORK_CODES.has(c.networkCode)) return { retry: true, reason: c.networkCode };
  if (c.status !== undefined && RETRYABLE_STATUS.has(c.status)) return { retry: true, reason: `HTTP ${c.status}`, ...(c.retryAfterMs !== undefined ? { retryAfterMs: c.retryAfterMs } : {}) };
  if (c.status === 409 && (c.reason === 'operationInProgress' || c.rpcStatus === 'ABORTED' || /operation.*in progress/i.test(c.message))) return { retry: true, reason: '409 operationInProgress' };
  if (c.status === 403 && (c.reason === 'rateLimitExceeded' || c.reason === 'RATE_LIMIT_EXCEEDED' || /per minute|rate limit/i.test(c.message))) return { retry: true, reason: '403 per-minute quota', ...(c.retryAfterMs !== undefined ? { retryAfterMs: c.retryAfterMs } : {}) };
  if (/socket hang up|ECONNRESET|other side closed/i.test(c.message)) return { retry: true, reason: 'connection reset' };
  return { retry: false };
}

/** Whether an error is a quota or rate-limit answer (429 / RESOURCE_EXHAUSTED, 403 rate limit): a signal to send less at once. */
export function isThrottle(error: unknown): boolean {
  const c = cloudError(error);
  return c.status === 429 || c.rpcStatus === 'RESOURCE_EXHAUSTED' || (c.status === 403 && classifyGcp(error).retry);
}

/** Whether the outcome of a failed write is unknown (the request may have been applied). */
export function isAmbiguous(error: unknown): boolean {
  const c = cloudError(error);
  if (c.networkCode && RETRYABLE_NETWORK_CODES.has(c.networkCode)) return true;
  if (/socket hang up|ECONNRESET|other side closed|timeout|aborted/i.test(c.message)) return true;
  return c.status === 504 || (c.status === 500 && c.rpcStatus !== 'INVALID_ARGUMENT');
}

/** Retry tuning (tests shrink it). */
export interface RetryTuning {
  /** @default 6 */
  readonly maxAttempts?: number;
  /** @default 500 */
  readonly baseMs?: number;
  /** @default 30000 */
  readonly capMs?: number;
  /** Cap on a server's Retry-After, so a misbehaving server cannot stall a deploy. @default 120000 */
  readonly maxRetryAfterMs?: number;
  /** Sleep implementation. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The SDK clients of one run. */
export interface GcpClients {
  readonly project: string;
  readonly endpoints: v1.EndpointServiceClient;
  readonly models: v1.ModelServiceClient;
  readonly datasets: v1.DatasetServiceClient;
  readonly tensorboards: v1.TensorboardServiceClient;
  readonly featureStores: v1.FeatureOnlineStoreAdminServiceClient;
  readonly metadata: v1.MetadataServiceClient;
  readonly schedules: v1.ScheduleServiceClient;
  readonly jobs: v1.JobServiceClient;
  readonly schedulesBeta: v1beta1.ScheduleServiceClient;
  readonly monitorsBeta: v1beta1.ModelMonitoringServiceClient;
  readonly bigquery: BigQuery;
  readonly storage: Storage;
  readonly kms: KeyManagementServiceClient;
  readonly projects: ProjectsClient;
  readonly iam: iam_v1.Iam;
  /** Secret Manager v1: secret reads and secret IAM policies only (mlplane never reads or writes secret values). */
  readonly secrets: SecretManagerServiceClient;
  /**
   * `cloudkms…cryptoKeys.getIamPolicy`, a GET: the KMS client's `getIamPolicy` over REST sends a
   * POST the service does not serve (googleapis/gax-nodejs#1462), so this one call goes through the
   * KMS client's own auth client to the method and path of the discovery document.
   */
  kmsGetIamPolicy(resource: string): Promise<{ bindings?: { role: string; members?: string[] }[]; etag?: string; version?: number }>;
}

/**
 * The clients for a project and region (made on first use, kept for the process): Application Default Credentials against
 * `<region>-aiplatform.googleapis.com`, or the simulator named by `MLPLANE_GCP_ENDPOINT`.
 *
 * @throws Error when `MLPLANE_GCP_ENDPOINT` is set to anything but `http://127.0.0.1:<port>` / `http://localhost:<port>`.
 */
export function makeClients(project: string, region: string, env: NodeJS.ProcessEnv = process.env): GcpClients {
  const endpoint = env[ENDPOINT_ENV];
  let vertexOpts: ClientOptions;
  let bqOpts: ConstructorParameters<typeof BigQuery>[0];
  let platformOpts: ClientOptions;
  let storageOpts: ConstructorParameters<typeof Storage>[0];
  let iamOpts: iam_v1.Options;
  let kmsRoot: string;
  if (endpoint) {
    const m = /^http:\/\/(127\.0\.0\.1|localhost):(\d+)\/?$/.exec(endpoint);
    if (!m) throw new Error(`${ENDPOINT_ENV} must be http://127.0.0.1:<port> (a local simulator), got '${endpoint}'; unset it to deploy to Google Cloud`);
    const auth = new PassThroughClient({ transporterOptions: TRANSPORT });
    vertexOpts = { apiEndpoint: m[1], port: Number(m[2]), protocol: 'http', fallback: 'rest', authClient: auth as unknown as ClientOptions['authClient'] };
    bqOpts = { apiEndpoint: `http://${m[1]}:${m[2]}`, projectId: project, authClient: auth, autoRetry: false, maxRetries: 0 };
    platformOpts = vertexOpts;
    storageOpts = { apiEndpoint: `http://${m[1]}:${m[2]}`, projectId: project, authClient: auth as never, retryOptions: { autoRetry: false, maxRetries: 0 } };
    iamOpts = { version: 'v1', rootUrl: `http://${m[1]}:${m[2]}/`, auth: auth as never };
    kmsRoot = `http://${m[1]}:${m[2]}`;
  } else {
    vertexOpts = { apiEndpoint: `${region}-aiplatform.googleapis.com`, fallback: 'rest', clientOptions: { transporterOptions: TRANSPORT } };
    bqOpts = { projectId: project, autoRetry: false, maxRetries: 0 };
    platformOpts = { fallback: 'rest', clientOptions: { transporterOptions: TRANSPORT } };
    storageOpts = { projectId: project, retryOptions: { autoRetry: false, maxRetries: 0 } };
    iamOpts = { version: 'v1', auth: new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'], clientOptions: { transporterOptions: TRANSPORT } }) as never };
    kmsRoot = 'https://cloudkms.googleapis.com';
  }
  const key = JSON.stringify(endpoint ? { endpoint, project } : { project, region });
  const cached = CLIENT_CACHE.get(key);
  if (cached) return cached;
  // Each aiplatform client parses the 4 MB proto JSON when constructed: make them on first use
  // and keep them for the process.
  const made = new Map<string, unknown>();
  const lazy = <T>(name: string, make: () => T): T => {
    if (!made.has(name)) made.set(name, make());
    return made.get(name) as T;
  };
  const clients: GcpClients = {
    project,
    get endpoints() {
      return lazy('endpoints', () => new v1.EndpointServiceClient(vertexOpts));
    },
    get models() {
      return lazy('models', () => new v1.ModelServiceClient(vertexOpts));
    },
    get datasets() {
      return lazy('datasets', () => new v1.DatasetServiceClient(vertexOpts));
    },
    get tensorboards() {
      return lazy('tensorboards', () => new v1.TensorboardServiceClient(vertexOpts));
    },
    get featureStores() {
      return lazy('featureStores', () => new v1.FeatureOnlineStoreAdminServiceClient(vertexOpts));
    },
    get metadata() {
      return lazy('metadata', () => new v1.MetadataServiceClient(vertexOpts));
    },
    get schedules() {
      return lazy('schedules', () => new v1.ScheduleServiceClient(vertexOpts));
    },
    get jobs() {
      return lazy('jobs', () => new v1.JobServiceClient(vertexOpts));
    },
    get schedulesBeta() {
      return lazy('schedulesBeta', () => new v1beta1.ScheduleServiceClient(vertexOpts));
    },
    get monitorsBeta() {
      return lazy('monitorsBeta', () => new v1beta1.ModelMonitoringServiceClient(vertexOpts));
    },
    get bigquery() {
      return lazy('bigquery', () => new BigQuery(bqOpts));
    },
    get storage() {
      return lazy('storage', () => new Storage(storageOpts));
    },
    get kms() {
      return lazy('kms', () => new KeyManagementServiceClient(platformOpts));
    },
    get projects() {
      return lazy('projects', () => new ProjectsClient(platformOpts));
    },
    get iam() {
      return lazy('iam', () => new iam_v1.Iam(iamOpts));
    },
    get secrets() {
      return lazy('secrets', () => new SecretManagerServiceClient(platformOpts));
    },
    async kmsGetIamPolicy(resource) {
      // `auth` is a GoogleAuth (ADC) or, against the simulator, the PassThroughClient itself.
      type Requester = { request<T>(o: object): Promise<{ data: T }> };
      const a = this.kms.auth as unknown as Requester & { getClient?: () => Promise<Requester> };
      const auth = typeof a.getClient === 'function' ? await a.getClient() : a;
      const res = await auth.request<{ bindings?: { role: string; members?: string[] }[]; etag?: string; version?: number }>({
        url: `${kmsRoot}/v1/${resource}:getIamPolicy`,
        method: 'GET',
        params: { 'options.requestedPolicyVersion': 3 },
        retry: false,
      });
      return res.data;
    },
  };
  CLIENT_CACHE.set(key, clients);
  return clients;
}

const CLIENT_CACHE = new Map<string, GcpClients>();

/**
 * The gaxios options of every auth client: requests on Node's `http`/`https` (`transport.ts`)
 * rather than node-fetch. BigQuery and Cloud Storage send theirs through teeny-request, which
 * takes no transport; their token requests come here too.
 */
const TRANSPORT = { fetchImplementation: gcpFetch as unknown as typeof fetch };

/** Counts and retries every SDK call of a run. */
export class Calls {
  public reads = 0;
  public writes = 0;
  /** Each request's time on the wire (for the run's critical path and parallelism). */
  public readonly spans: Span[] = [];
  /** Told of every quota / rate-limit answer, with the call's `what` (the scheduler slows that API down). */
  public onThrottle: ((what: string) => void) | undefined;

  constructor(
    private readonly tuning: RetryTuning,
    private readonly onRetry?: (what: string, attempt: number, waitMs: number, reason: string) => void,
  ) {}

  /**
   * A create settled by a read (`adapters/shared/retry.ts` `createSettled`): `create` is one
   * attempt (its throttling and 503s are retried inside by `run`); an unknown outcome or a 409 is
   * read with `exists`, and the create sent again after a backoff only when the read finds nothing.
   */
  public async create(what: string, create: () => Promise<void>, exists: () => Promise<boolean>): Promise<void> {
    await createSettled(create, exists, {
      classify: classifyGcp,
      ambiguous: isAmbiguous,
      conflict: isAlreadyExists,
      maxAttempts: this.tuning.maxAttempts ?? 6,
      baseMs: this.tuning.baseMs ?? 500,
      capMs: this.tuning.capMs ?? 30_000,
      ...(this.tuning.sleep ? { sleep: this.tuning.sleep } : {}),
      onRetry: (attempt, wait, reason) => this.onRetry?.(what, attempt, wait, reason),
    });
  }

  /**
   * Run one SDK call with retries. Writes are retried only when `retryWrites` says the call is
   * idempotent or its outcome was settled; otherwise an ambiguous failure propagates so the caller
   * can settle it by a read.
   */
  public async run<T>(kind: 'read' | 'write', what: string, fn: () => Promise<T>, options: { retryAmbiguous?: boolean; noRetry?: (error: unknown) => boolean } = {}): Promise<T> {
    return withRetries(
      async () => {
        if (kind === 'read') this.reads += 1;
        else this.writes += 1;
        const start = performance.now();
        try {
          return await fn();
        } finally {
          this.spans.push({ start, end: performance.now(), what });
        }
      },
      {
        classify: (e) => {
          if (options.noRetry?.(e)) return { retry: false };
          const d = classifyGcp(e);
          if (!d.retry) return d;
          if (isThrottle(e)) this.onThrottle?.(what);
          if (kind === 'write' && !options.retryAmbiguous && isAmbiguous(e)) return { retry: false };
          const cap = this.tuning.maxRetryAfterMs ?? 120_000;
          return d.retryAfterMs !== undefined ? { ...d, retryAfterMs: Math.min(d.retryAfterMs, cap) } : d;
        },
        maxAttempts: this.tuning.maxAttempts ?? 6,
        baseMs: this.tuning.baseMs ?? 500,
        capMs: this.tuning.capMs ?? 30_000,
        ...(this.tuning.sleep ? { sleep: this.tuning.sleep } : {}),
        onRetry: (attempt, wait, reason) => this.onRetry?.(what, attempt, wait, reason),
      },
    );
  }
}
