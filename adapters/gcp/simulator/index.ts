/**
 * A Vertex AI v1 + BigQuery v2 REST simulator on 127.0.0.1 that the real SDK clients talk to
 * (REST fallback over http, `PassThroughClient` auth). It stores resources, runs long-running
 * operations, checks every request body against the aiplatform protos and the BigQuery discovery
 * document, and injects faults on demand.
 *
 * @example
 * const sim = await startGcpSimulator({ port: 0 });
 * process.env.MLPLANE_GCP_ENDPOINT = sim.url;
 * // … mlplane deploy …
 * await sim.close();
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleBigQuery, matchBigQuery } from './bigquery';
import { loadBigQueryDiscovery, type DiscoveryDocument } from './discovery';
import { keepIdleConnections } from '../../shared/keep-alive';
import { ApiError } from './errors';
import { Faults, type FaultKind } from './faults';
import { SimulatorState, type Json } from './state';
import { handleVertex, matchVertex, prepareVertex, type SimRequest, type SimResponse } from './vertex';
import { matchPlatform } from './platform';
import { PlatformDiscovery } from './platform-discovery';

export { Faults, type FaultKind, type FaultRule } from './faults';
export { SimulatorState, type Json, type StoredResource } from './state';

/** Options of `startGcpSimulator`. */
export interface GcpSimulatorOptions {
  /** Port on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** Fixed latency added to every call, in milliseconds. @default 0 */
  readonly latencyMs?: number;
  /** GetOperation polls before an operation is done, unless a `slow` fault says otherwise. @default 0 */
  readonly operationPolls?: number;
  /**
   * Requests kept in `requestLog`, the latest ones (each holds its body: a long-running dry-run
   * simulator would otherwise grow with every request). @default - all of them (tests read the whole log)
   */
  readonly requestLogLimit?: number;
  /**
   * Folder holding `gcp/bigquery.v2.discovery.json`.
   *
   * @default - the spec data shipped in the package (`spec-data/`)
   */
  readonly conformanceDir?: string;
}

/** One request the simulator answered. */
export interface LoggedRequest {
  readonly verb: string;
  readonly path: string;
  /** `EndpointService.DeployModel`, `bigquery.tables.insert`, or `unknown`. */
  readonly rpc: string;
  readonly status: number;
  /** The request body. */
  readonly body: unknown;
  /** Whether the request changes state (anything but GET and Get/List RPCs). */
  readonly write: boolean;
  /** The partial-response selector sent (`fields` / `X-Goog-FieldMask`), if any. */
  readonly fieldMask?: string;
}

/** A running simulator. */
export interface GcpSimulator {
  /** `http://127.0.0.1:<port>` — the value of `MLPLANE_GCP_ENDPOINT`. */
  readonly url: string;
  readonly port: number;
  readonly faults: Faults;
  readonly state: SimulatorState;
  readonly requestLog: LoggedRequest[];
  /** TCP connections accepted since the simulator started (a client that reuses keep-alive sockets opens few). */
  readonly connections: number;
  /** Stop listening and close open connections. */
  close(): Promise<void>;
}

/**
 * Start the simulator.
 *
 * @throws Error when the port is taken or the BigQuery discovery document cannot be found.
 */
export async function startGcpSimulator(options: GcpSimulatorOptions = {}): Promise<GcpSimulator> {
  const discovery = loadBigQueryDiscovery(options.conformanceDir);
  // What every request is checked with is built before the first one arrives.
  prepareVertex();
  const platforms = new PlatformDiscovery(options.conformanceDir);
  const state = new SimulatorState();
  const faults = new Faults();
  const requestLog: LoggedRequest[] = [];
  const limit = options.requestLogLimit ?? Infinity;
  const logRequest = (entry: LoggedRequest): void => {
    requestLog.push(entry);
    if (requestLog.length > limit) requestLog.splice(0, requestLog.length - limit);
  };
  const sockets = new Set<import('node:net').Socket>();
  let connections = 0;
  const latency = options.latencyMs ?? 0;
  let pendingSlowPolls: number | undefined;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (latency > 0) await new Promise((r) => setTimeout(r, latency));
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const verb = (req.method ?? 'GET').toUpperCase();
        const raw = Buffer.concat(chunks).toString('utf8');
        const isBq = url.pathname.startsWith('/bigquery/') || url.pathname.startsWith('/storage/');
        const send = (status: number, body: Json, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
          res.end(status === 204 ? '' : JSON.stringify(body));
        };
        let rpc = 'unknown';
        let write = verb !== 'GET';
        let parsed: unknown;
        try {
          parsed = raw === '' ? undefined : (JSON.parse(raw) as unknown);
        } catch {
          logRequest({ verb, path: url.pathname, rpc, status: 400, body: raw, write });
          const e = new ApiError(400, 'Invalid JSON payload received.');
          send(400, isBq ? e.bigQueryBody() : e.vertexBody());
          return;
        }
        const ifMatch = req.headers['if-match'];
        const request: SimRequest = { verb, path: url.pathname, query: url.searchParams, body: parsed, ...(typeof ifMatch === 'string' ? { ifMatch } : {}) };
        let status = 500;
        // The partial-response mask asked for (the `fields` system parameter, or its header form), logged on every answer.
        const mask = url.searchParams.get('fields') ?? url.searchParams.get('$fields') ?? req.headers['x-goog-fieldmask'];
        try {
          let run: () => SimResponse;
          const platform = matchPlatform(platforms, state, request);
          if (platform) {
            ({ rpc, write, run } = platform);
          } else if (isBq) {
            const m = matchBigQuery(verb, url.pathname);
            if (!m) throw new ApiError(404, `No BigQuery route for ${verb} ${url.pathname}`);
            rpc = m.rpc;
            write = !/\.(get|list|getIamPolicy|getServiceAccount)$/.test(rpc);
            run = () => handleBigQuery(state, discovery, request, m.rpc, m.parts);
          } else {
            const m = matchVertex(verb, url.pathname);
            if (!m) throw new ApiError(404, `No Vertex AI route for ${verb} ${url.pathname}`);
            rpc = m.rpc;
            write = !/\.(Get|List)[A-Za-z]*$/.test(rpc) && !rpc.endsWith('GetIamPolicy');
            run = () => handleVertex(state, request, m, { pollsBeforeDone: () => pendingSlowPolls ?? options.operationPolls ?? 0 });
          }
          const fault: FaultKind | undefined = faults.take({ rpc, verb, path: url.pathname, query: url.searchParams });
          if (fault?.kind === 'throttle' || fault?.kind === 'unavailable') {
            const code = fault.kind === 'throttle' ? 429 : 503;
            const after = fault.retryAfterSeconds;
            throw new ApiError(code, fault.kind === 'throttle' ? 'Quota exceeded: too many requests per minute' : 'The service is currently unavailable.', undefined, [], after);
          }
          if (fault?.kind === 'error') throw new ApiError(fault.status, fault.message ?? `injected ${fault.rpcStatus}`, fault.rpcStatus);
          if (fault?.kind === 'outside-change') fault.change();
          if (fault?.kind === 'slow') pendingSlowPolls = fault.polls;
          let out: SimResponse;
          try {
            out = run();
          } finally {
            pendingSlowPolls = undefined;
          }
          status = out.status;
          logRequest({ verb, path: url.pathname, rpc, status, body: parsed, write, ...(typeof mask === 'string' ? { fieldMask: mask } : {}) });
          if (fault?.kind === 'drop') {
            req.socket.destroy();
            return;
          }
          // Partial response (the `fields` system parameter, or its header form `X-Goog-FieldMask`).
          send(out.status, typeof mask === 'string' && out.status < 300 ? partialResponse(out.body, mask) : out.body);
        } catch (e) {
          const err = e instanceof ApiError ? e : new ApiError(500, `simulator error: ${e instanceof Error ? e.message : String(e)}`);
          status = err.status;
          logRequest({ verb, path: url.pathname, rpc, status, body: parsed, write, ...(typeof mask === 'string' ? { fieldMask: mask } : {}) });
          const headers: Record<string, string> = err.retryAfterSeconds !== undefined ? { 'retry-after': String(err.retryAfterSeconds) } : {};
          send(err.status, isBq ? err.bigQueryBody() : err.vertexBody(), headers);
        }
      })();
    });
  });
  keepIdleConnections(server);
  server.on('connection', (s) => {
    connections += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    faults,
    state,
    requestLog,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The discovery document type, for callers that validate bodies themselves. */
export type { DiscoveryDocument };

/**
 * The fields of `body` a partial-response selector names: comma-separated paths of dotted field
 * names (`name`, `pipelineJob.name`, `schedules.name,nextPageToken`), a path through a list
 * applying to each element; `*` keeps everything. Google APIs' system parameter `fields` / header
 * `X-Goog-FieldMask` ("Selector specifying which fields to include in a partial response", the
 * discovery documents' `parameters.fields`).
 */
export function partialResponse(body: Json, mask: string): Json {
  const paths = mask.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (paths.length === 0 || paths.includes('*')) return body;
  const pick = (value: unknown, path: readonly string[]): unknown => {
    if (path.length === 0) return value;
    if (Array.isArray(value)) return value.map((v) => pick(v, path));
    if (typeof value !== 'object' || value === null) return undefined;
    const [head, ...rest] = path as [string, ...string[]];
    const v = (value as Json)[head];
    return v === undefined ? undefined : { [head]: pick(v, rest) };
  };
  const merge = (a: unknown, b: unknown): unknown => {
    if (a === undefined) return b;
    if (b === undefined) return a;
    if (Array.isArray(a) && Array.isArray(b)) return a.map((x, i) => merge(x, b[i]));
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      const out: Json = { ...(a as Json) };
      for (const [k, v] of Object.entries(b as Json)) out[k] = merge(out[k], v);
      return out;
    }
    return b;
  };
  let out: unknown = {};
  for (const p of paths) out = merge(out, pick(body, p.split('.')));
  return out as Json;
}
