/**
 * SDK clients for the azure deploy engine: credentials, request counting, and (only when
 * `MLPLANE_AZURE_ENDPOINT` is set) a transport that redirects the SDK to the ARM simulator.
 *
 * Why a redirecting transport and not loopback TLS: the Azure SDK refuses bearer tokens over
 * `http://` (core-rest-pipeline's bearer policy, whatever `allowInsecureConnection` says), and
 * loopback TLS would need a private key in the repository plus a trust store change
 * (`NODE_EXTRA_CA_CERTS` is read at process start only). Keeping the real
 * `https://management.azure.com` URLs in the SDK and swapping only the `HttpClient` leaves every
 * policy (auth, LRO polling, paging) exactly as in production; the simulator builds absolute URLs
 * from `X-Forwarded-Proto`/`X-Forwarded-Host`, so LRO headers point at the public host too.
 */
import { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import { ResourceManagementClient } from '@azure/arm-resources';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
} from '@azure/core-rest-pipeline';
import type { Span } from '../../shared/calls';

/** The public ARM endpoint the SDK clients are configured with (also against the simulator). */
export const ARM_ENDPOINT = 'https://management.azure.com';

/** Environment variable that points the deployer at an ARM simulator (and nothing else does). */
export const ENDPOINT_ENV = 'MLPLANE_AZURE_ENDPOINT';

/** Counts of API calls sent, and each one's time on the wire (for the run's `callStats`, `adapters/shared/calls.ts`). */
export interface CallCounter {
  writes: number;
  reads: number;
  /** Each request's time on the wire, with its method and URL (no query). */
  readonly spans: Span[];
}

/**
 * Whether a request may change state: PUT, PATCH, DELETE and POST, except what-if (a POST that
 * only computes a plan) and `list*` actions.
 */
export function isWrite(method: string, url: string): boolean {
  const path = url.split('?')[0] ?? '';
  if (method === 'GET' || method === 'HEAD') return false;
  if (method === 'POST' && (/\/whatIf$/i.test(path) || /\/list[A-Za-z]*$/.test(path))) return false;
  return true;
}

function countingPolicy(counter: CallCounter): PipelinePolicy {
  return {
    name: 'mlplaneCallCounter',
    sendRequest(request, next) {
      if (isWrite(request.method, request.url)) counter.writes += 1;
      else counter.reads += 1;
      const start = performance.now();
      return next(request).finally(() => counter.spans.push({ start, end: performance.now(), what: `${request.method} ${request.url.split('?')[0] ?? ''}` }));
    },
  };
}

/** Blob storage hosts (`<account>.blob.core.windows.net`): the deployer uploads feature set specs there. */
const BLOB_HOST = /^[a-z0-9]{3,24}\.blob\.core\.windows\.net$/;

/**
 * An `HttpClient` that sends `https://management.azure.com/...` (and blob storage) requests to
 * `endpoint` instead, telling it the original host in `X-Forwarded-Host`.
 */
export function redirectingHttpClient(endpoint: string): HttpClient {
  const inner = createDefaultHttpClient();
  const target = new URL(endpoint);
  return {
    sendRequest(request) {
      const url = new URL(request.url);
      if (url.origin === ARM_ENDPOINT || (url.protocol === 'https:' && BLOB_HOST.test(url.host))) {
        request.url = `${target.origin}${url.pathname}${url.search}`;
        request.headers.set('x-forwarded-proto', 'https');
        request.headers.set('x-forwarded-host', url.host);
        request.allowInsecureConnection = target.protocol === 'http:';
      }
      return inner.sendRequest(request);
    },
  };
}

/** A credential for the simulator: a fixed fake token, never a real one. */
export const simulatorCredential: TokenCredential = {
  getToken: async () => ({ token: 'mlplane-simulator', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** Options of {@link createClients}. */
export interface ClientOptions {
  readonly subscriptionId: string;
  /** ARM simulator URL. @default - `process.env.MLPLANE_AZURE_ENDPOINT`; the real ARM when unset */
  readonly endpoint?: string;
  /** @default - DefaultAzureCredential, or a fake token against the simulator */
  readonly credential?: TokenCredential;
}

/** The SDK clients of one engine run and their request counter. */
export interface AzureClients {
  readonly resources: ResourceManagementClient;
  readonly ml: AzureMachineLearningWorkspaces;
  /** Pipeline for the blob data plane (token scope `https://storage.azure.com/.default`). */
  readonly blob: { readonly pipeline: Pipeline; readonly httpClient: HttpClient };
  readonly counter: CallCounter;
  /** The credential the clients authenticate with. */
  readonly credential: TokenCredential;
  /** Where requests go: the simulator's URL, or the real ARM endpoint. */
  readonly target: string;
}

/**
 * Build the clients. Retries are mlplane's (`adapters/shared/retry.ts`), so the SDK's own retry
 * policies get `maxRetries: 0`.
 */
export function createClients(options: ClientOptions): AzureClients {
  const endpoint = options.endpoint ?? process.env[ENDPOINT_ENV];
  const simulated = endpoint !== undefined && endpoint !== '';
  if (simulated && !/^https?:\/\/[^/\s]+\/?$/.test(endpoint)) {
    throw new Error(`${ENDPOINT_ENV} must be the simulator's base URL, like http://127.0.0.1:8443, got ${JSON.stringify(endpoint)}; unset it to deploy to Azure`);
  }
  const credential = options.credential ?? (simulated ? simulatorCredential : new DefaultAzureCredential());
  const httpClient = simulated ? redirectingHttpClient(endpoint) : undefined;
  const counter: CallCounter = { writes: 0, reads: 0, spans: [] };
  const common = { endpoint: ARM_ENDPOINT, $host: ARM_ENDPOINT, retryOptions: { maxRetries: 0 }, ...(httpClient ? { httpClient } : {}) };
  const resources = new ResourceManagementClient(credential, options.subscriptionId, common);
  const ml = new AzureMachineLearningWorkspaces(credential, options.subscriptionId, common);
  for (const c of [resources, ml]) c.pipeline.addPolicy(countingPolicy(counter), { phase: 'Retry' });
  const blobPipeline = createEmptyPipeline();
  blobPipeline.addPolicy(countingPolicy(counter));
  blobPipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential, scopes: 'https://storage.azure.com/.default' }));
  const blob = { pipeline: blobPipeline, httpClient: httpClient ?? createDefaultHttpClient() };
  return { resources, ml, blob, counter, credential, target: simulated ? endpoint : ARM_ENDPOINT };
}
