/**
 * The simulators leave idle keep-alive connections to the client (adapters/shared/keep-alive.ts):
 * a server closing them after Node's default 5 s races a client that reuses the socket, and the
 * engines then print `retrying … ECONNRESET` lines.
 * @see https://nodejs.org/docs/latest-v20.x/api/http.html#serverkeepalivetimeout
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureSimulator, type AzureSimulator } from '../../../adapters/azure/simulator';
import { startGcpSimulator, type GcpSimulator } from '../../../adapters/gcp/simulator';
import { lineProgress } from '../../../bin/progress';
import { conformancePath } from '../../support/conformance';
import { engineFor, example, inputFor } from '../gcp-deploy/support';

/** Node's default `server.keepAliveTimeout` (5 s), the 1 s Node adds to it, and a margin. */
const IDLE_MS = 6_600;

/** GET `url` twice on one keep-alive agent, idle `IDLE_MS` in between; whether the second reused the socket and whether the server closed it. */
async function idleThenReuse(url: string, headers: Record<string, string> = {}): Promise<{ reused: boolean; closedWhileIdle: boolean }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<{ reused: boolean; socket: import('node:net').Socket }>((resolve, reject) => {
      const req = http.get(url, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ reused: req.reusedSocket, socket: req.socket as import('node:net').Socket }));
      });
      req.on('error', reject);
    });
  const first = await get();
  let closedWhileIdle = false;
  first.socket.once('close', () => (closedWhileIdle = true));
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const second = await get();
  agent.destroy();
  return { reused: second.reused, closedWhileIdle };
}

let gcp: GcpSimulator;
let azure: AzureSimulator;
beforeAll(async () => {
  gcp = await startGcpSimulator({ conformanceDir: conformancePath() });
  azure = await startAzureSimulator({ conformanceDir: conformancePath('azure') });
});
afterAll(async () => {
  await gcp.close();
  await azure.close();
});

describe('idle keep-alive connections of the simulators', () => {
  it('the gcp and azure simulators keep an idle connection open past the default 5 s (+1 s) idle timeout of Node, so the client reuses it', async () => {
    const [g, a] = await Promise.all([
      idleThenReuse(`${gcp.url}/v1/projects/p/locations/europe-west4/endpoints`),
      idleThenReuse(`${azure.url}/subscriptions/s/resourcegroups/rg/providers/Microsoft.Storage/storageAccounts/acct?api-version=2023-05-01`, { authorization: 'Bearer t' }),
    ]);
    expect(g).toEqual({ reused: true, closedWhileIdle: false });
    expect(a).toEqual({ reused: true, closedWhileIdle: false });
  }, 20_000);

  it('a clean gcp deploy prints no ECONNRESET retry line, even when the client stalls past the idle timeout between calls', async () => {
    let out = '';
    const sink = lineProgress({ write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream);
    const engine = engineFor(gcp);
    await engine.diff(inputFor(example('Churn'), sink));
    // A CPU-bound stall (what parsing the aiplatform protos under load looks like to the event loop).
    const until = Date.now() + IDLE_MS;
    while (Date.now() < until) {
      // busy
    }
    await engine.deploy(inputFor(example('Churn'), sink));
    expect(out).toContain('done');
    expect(out).not.toMatch(/ECONNRESET|connection reset|socket hang up/);
  }, 60_000);
});
