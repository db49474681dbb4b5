import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { PassThroughClient } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyGcp, isAmbiguous, makeClients } from '../../../adapters/gcp/deploy/clients';
import { gcpFetch } from '../../../adapters/gcp/deploy/transport';

/** A server that answers by path: `/echo` (the request back), `/drop` (closes the socket), `/gzip`, `/redirect`, `/hang`. */
let server: http.Server;
let base: string;
const connections: number[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/drop') {
        req.socket.destroy();
      } else if (req.url === '/gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(zlib.gzipSync(JSON.stringify({ zipped: true })));
      } else if (req.url === '/redirect') {
        res.writeHead(307, { location: '/echo' });
        res.end();
      } else if (req.url === '/hang') {
        // never answered
      } else {
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json', 'x-answer': 'yes' });
        res.end(JSON.stringify({ method: req.method, url: req.url, body, contentLength: req.headers['content-length'] ?? null, header: req.headers['x-mine'] ?? null }));
      }
    });
  });
  server.on('connection', () => connections.push(1));
  server.keepAliveTimeout = 0;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** An auth client like the SDKs' (its gaxios `transporterOptions`), on this transport. */
const gaxios = () => new PassThroughClient({ transporterOptions: { fetchImplementation: gcpFetch as unknown as typeof fetch } });

describe('the SDKs’ HTTP transport', () => {
  it('sends a request through gaxios and answers with its status, headers and body', async () => {
    const res = await gaxios().request<{ method: string; url: string; body: string; contentLength: string; header: string }>({ url: `${base}/echo?a=1`, method: 'POST', data: { x: 1 }, headers: { 'x-mine': 'm' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-answer')).toBe('yes');
    expect(res.data).toEqual({ method: 'POST', url: '/echo?a=1', body: '{"x":1}', contentLength: '7', header: 'm' });
  });

  it('hands google-gax the whole body as a stream and as bytes (responseType stream, then arrayBuffer)', async () => {
    const res = await gaxios().request<NodeJS.ReadableStream>({ url: `${base}/echo`, responseType: 'stream' });
    const parts: Buffer[] = [];
    for await (const c of res.data) parts.push(Buffer.from(c as Buffer));
    expect(JSON.parse(Buffer.concat(parts).toString('utf8'))).toMatchObject({ method: 'GET' });
    const bytes = await (res as unknown as { arrayBuffer(): Promise<ArrayBuffer> }).arrayBuffer();
    expect(JSON.parse(Buffer.from(bytes).toString('utf8'))).toMatchObject({ url: '/echo' });
  });

  it('fails a 404 with the server’s answer in the error, as gaxios does', async () => {
    const e = (await gaxios().request({ url: `${base}/missing` }).catch((x: unknown) => x)) as { status?: number; response?: { data?: unknown } };
    expect(e.status).toBe(404);
    expect(e.response?.data).toMatchObject({ url: '/missing' });
  });

  it('reuses keep-alive connections', async () => {
    const before = connections.length;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) await gaxios().request({ url: `${base}/echo`, agent });
    expect(connections.length - before).toBe(1);
    agent.destroy();
  });

  it('fails a dropped connection with the socket’s error, which the engine retries and settles as ambiguous', async () => {
    const e = await gaxios().request({ url: `${base}/drop`, method: 'POST', data: {} }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ECONNRESET' });
    expect(classifyGcp(e).retry).toBe(true);
    expect(isAmbiguous(e)).toBe(true);
  });

  it('rejects with an AbortError when the request is aborted', async () => {
    const controller = new AbortController();
    const pending = gcpFetch(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('decodes a gzip-encoded answer', async () => {
    const res = await gaxios().request({ url: `${base}/gzip` });
    expect(res.data).toEqual({ zipped: true });
  });

  it('follows a redirect', async () => {
    const res = await gaxios().request<{ url: string }>({ url: `${base}/redirect` });
    expect(res.data.url).toBe('/echo');
  });
});

describe('the SDK clients of a run', () => {
  const fetchOf = (auth: unknown) => (auth as { transporter?: { defaults?: { fetchImplementation?: unknown } } }).transporter?.defaults?.fetchImplementation;

  it('send their requests through the transport, against the simulator', () => {
    const clients = makeClients('transport-p', 'europe-west4', { MLPLANE_GCP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(fetchOf(clients.endpoints.auth)).toBe(gcpFetch);
    expect(fetchOf(clients.kms.auth)).toBe(gcpFetch);
    expect(fetchOf((clients.iam as unknown as { context: { _options: { auth: unknown } } }).context._options.auth)).toBe(gcpFetch);
  });

  it('send their requests through the transport, against Google Cloud (the auth clients made from Application Default Credentials)', () => {
    const clients = makeClients('transport-p', 'europe-west4', {});
    const options = (auth: unknown) => (auth as { clientOptions?: { transporterOptions?: { fetchImplementation?: unknown } } }).clientOptions?.transporterOptions?.fetchImplementation;
    expect(options(clients.endpoints.auth)).toBe(gcpFetch);
    expect(options(clients.projects.auth)).toBe(gcpFetch);
    expect(options((clients.iam as unknown as { context: { _options: { auth: unknown } } }).context._options.auth)).toBe(gcpFetch);
  });

  it('hand the transport to the credential Application Default Credentials find (a service-account key here)', async () => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-adc-'));
    const keyFile = path.join(dir, 'key.json');
    fs.writeFileSync(keyFile, JSON.stringify({ type: 'service_account', project_id: 'transport-adc', client_email: 'deployer@transport-adc.iam.gserviceaccount.com', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }) }));
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = keyFile;
    try {
      const clients = makeClients('transport-adc', 'europe-west4', {});
      const client = await (clients.endpoints.auth as unknown as { getClient(): Promise<unknown> }).getClient();
      expect(fetchOf(client)).toBe(gcpFetch);
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
