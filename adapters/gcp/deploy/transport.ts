/**
 * The HTTP transport handed to the Google SDKs that go through gaxios (google-gax's REST fallback
 * for Vertex AI, KMS, Resource Manager and Secret Manager; googleapis-common for IAM; the auth
 * clients' token requests), as gaxios's own `fetchImplementation` option.
 *
 * gaxios's default, node-fetch, builds a WHATWG `Request`, a pipeline of streams with an
 * `AbortController` per response, and validates every header; on the gcp engine's requests
 * (small JSON bodies, answered in full) that was most of the SDK's CPU per call. This is the same
 * request on Node's `http` / `https` with the caller's agent (gax passes its keep-alive agent;
 * without one, Node's global agent, as node-fetch does), the response read whole.
 *
 * What it does not do itself, it hands to node-fetch unchanged: a body that is a stream, `Blob`
 * or `FormData`, a URL other than http(s), and following a redirect. Errors keep node-fetch's
 * shape where the engine reads them: a network failure rejects with the socket's error (`code`
 * `ECONNRESET`, message `socket hang up`: retried, and an ambiguous write settled by a read); an
 * aborted request rejects with an `AbortError`.
 *
 * The SDKs stay the SDKs: requests are built, signed, retried and decoded by them.
 */
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import * as zlib from 'node:zlib';

/** The part of a fetch `init` gaxios passes (its prepared options). */
interface FetchInit {
  readonly method?: string;
  readonly headers?: Headers | Record<string, string> | [string, string][];
  readonly body?: unknown;
  readonly agent?: http.Agent | ((url: URL) => http.Agent | undefined);
  readonly signal?: AbortSignal | null;
  readonly redirect?: 'follow' | 'manual' | 'error';
  /** Response size limit in bytes (gaxios's `maxContentLength`); 0 for none. */
  readonly size?: number;
  /** Decode a compressed response. @default true */
  readonly compress?: boolean;
}

/** The response gaxios and google-gax read: node-fetch's, for a body held in memory. */
export interface TransportResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly redirected: boolean;
  readonly url: string;
  readonly headers: Headers;
  readonly bodyUsed: boolean;
  readonly body: Readable;
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * `fetch` for gaxios (`transporterOptions: { fetchImplementation: gcpFetch }`).
 *
 * @throws (rejects) the socket's error on a network failure; an `AbortError` when `init.signal` aborts.
 */
export async function gcpFetch(input: string | URL, init: FetchInit = {}): Promise<TransportResponse> {
  const url = input instanceof URL ? input : new URL(String(input));
  const body = bufferOf(init.body);
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || body === UNSUPPORTED) return nodeFetch(input, init);
  const response = await send(url, init, body);
  if (REDIRECTS.has(response.status) && init.redirect !== 'manual') return nodeFetch(input, init);
  return response;
}

const UNSUPPORTED = Symbol('unsupported body');

/** The request body as bytes, `undefined` for none, or `UNSUPPORTED` (a stream, Blob, FormData: left to node-fetch). */
function bufferOf(body: unknown): Buffer | undefined | typeof UNSUPPORTED {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  return UNSUPPORTED;
}

function send(url: URL, init: FetchInit, body: Buffer | undefined): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const headers = headersOf(init.headers);
    headers.accept ??= '*/*';
    const agent = typeof init.agent === 'function' ? init.agent(url) : init.agent;
    const request = (url.protocol === 'https:' ? https : http).request(url, { method: (init.method ?? 'GET').toUpperCase(), headers, ...(agent ? { agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (init.size && size > init.size) {
          request.destroy(new Error(`content size at ${url.href} over limit: ${init.size}`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        let data: Buffer;
        try {
          data = decoded(Buffer.concat(chunks), String(res.headers['content-encoding'] ?? ''), init.compress ?? true);
        } catch (e) {
          reject(e);
          return;
        }
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
        resolve(responseOf(url, res.statusCode ?? 0, res.statusMessage ?? '', responseHeaders, data));
      });
    });
    function fail(e: Error): void {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    }
    function onAbort(): void {
      request.destroy(abortError());
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    request.on('error', fail);
    // One write of the whole body: Node sends it with its Content-Length.
    request.end(body);
  });
}

function headersOf(h: FetchInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  if (h instanceof Headers) h.forEach((v, k) => (out[k] = v));
  else if (Array.isArray(h)) for (const [k, v] of h) out[k.toLowerCase()] = v;
  else for (const k of Object.keys(h)) out[k.toLowerCase()] = h[k] as string;
  return out;
}

/** The body decoded as node-fetch decodes it (`gzip`, `deflate`, `br`), unless `compress` is off. */
function decoded(data: Buffer, encoding: string, compress: boolean): Buffer {
  if (!compress || data.length === 0) return data;
  switch (encoding.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'deflate':
      // Raw or zlib-wrapped, as servers send both (node-fetch looks at the first byte too).
      return ((data[0] as number) & 0x0f) === 0x08 ? zlib.inflateSync(data) : zlib.inflateRawSync(data);
    case 'br':
      return zlib.brotliDecompressSync(data);
    default:
      return data;
  }
}

function responseOf(url: URL, status: number, statusText: string, headers: Headers, data: Buffer): TransportResponse {
  let used = false;
  let stream: Readable | undefined;
  const take = (): Buffer => {
    used = true;
    return data;
  };
  return {
    status,
    statusText,
    ok: status >= 200 && status < 300,
    redirected: false,
    url: url.href,
    headers,
    get bodyUsed() {
      return used;
    },
    get body() {
      stream ??= Readable.from(data.length > 0 ? [data] : []);
      return stream;
    },
    text: async () => take().toString('utf8'),
    json: async () => JSON.parse(take().toString('utf8')) as unknown,
    arrayBuffer: async () => {
      const b = take();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}

/** What node-fetch rejects with when a request is aborted. */
function abortError(): Error {
  const e = new Error('The operation was aborted.');
  e.name = 'AbortError';
  return Object.assign(e, { type: 'aborted' });
}

type Fetch = (input: string | URL, init: FetchInit) => Promise<unknown>;
let defaultFetch: Promise<Fetch> | undefined;

/**
 * The requests this transport leaves to node-fetch, gaxios's default, as they were: the node-fetch
 * that the gaxios of google-auth-library (a dependency of mlplane) resolves.
 */
async function nodeFetch(input: string | URL, init: FetchInit): Promise<TransportResponse> {
  defaultFetch ??= (async () => {
    const gaxios = createRequire(createRequire(import.meta.url).resolve('google-auth-library')).resolve('gaxios');
    const mod = (await import(pathToFileURL(createRequire(gaxios).resolve('node-fetch')).href)) as { default: Fetch };
    return mod.default;
  })();
  return (await (await defaultFetch)(input, init)) as TransportResponse;
}
