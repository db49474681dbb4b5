/**
 * The CPU the Vertex AI SDK itself spends per call, with nothing of mlplane's engine around it:
 * `createSchedule` with the generated environment's pipeline schedules (a ~19 KB pipeline spec
 * each) and `getEndpoint` (a small answer), 32 in flight, against servers in another process that
 * answer at once without reading what they are sent. Two transports of the same client:
 *
 * - `rest`: the REST fallback (`fallback: 'rest'`) on mlplane's transport (`transport.ts`), as the
 *   gcp deploy engine sends its Vertex calls;
 * - `grpc`: the client's default gRPC transport (`@grpc/grpc-js`, through google-gax).
 *
 * It is the floor under the engine's CPU per call (`gcp-deploy.bench.ts` prints that): no engine,
 * no journal, no retries. `node --import tsx bench/sdk-floor.bench.ts [--pipelines 42] [--rounds 3]`.
 */
import { fork } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Construct } from 'constructs';
import { v1 } from '@google-cloud/aiplatform';
import { PassThroughClient } from 'google-auth-library';
import { grpc, GrpcClient } from 'google-gax';
import { gcpAdapter, type Manifest } from '../adapters/gcp';
import { jsonToObject, messageType, type Json } from '../adapters/gcp/deploy/proto-json';
import { gcpFetch } from '../adapters/gcp/deploy/transport';
import { renderEnvironment } from '../lib';
import { recordBenchResults, type BenchRow } from './chart';
import { defineGenerated } from './generate';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const IN_FLIGHT = 32;
const GETS = 200;

class Root extends Construct {
  constructor() {
    super(undefined as unknown as Construct, '');
  }
}

/** Both servers, in this process (the child): they answer every call at once with a fixed name. */
async function serve(): Promise<{ restPort: number; grpcPort: number }> {
  const rest = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(req.url?.includes('/endpoints/') ? '{"name":"projects/p/locations/l/endpoints/e","displayName":"e"}' : '{"name":"projects/p/locations/l/schedules/s"}');
    });
  });
  await new Promise<void>((r) => rest.listen(0, '127.0.0.1', r));
  const protos = path.resolve(here, '../node_modules/@google-cloud/aiplatform/build/protos');
  const pkg = new GrpcClient({ grpc }).loadProto(protos, ['google/cloud/aiplatform/v1/schedule_service.proto', 'google/cloud/aiplatform/v1/endpoint_service.proto']) as unknown as {
    google: { cloud: { aiplatform: { v1: Record<string, { service: grpc.ServiceDefinition }> } } };
  };
  const server = new grpc.Server();
  const api = pkg.google.cloud.aiplatform.v1;
  server.addService(api.ScheduleService!.service, { CreateSchedule: (_call: unknown, done: grpc.sendUnaryData<Json>) => done(null, { name: 'projects/p/locations/l/schedules/s' }) });
  server.addService(api.EndpointService!.service, { GetEndpoint: (_call: unknown, done: grpc.sendUnaryData<Json>) => done(null, { name: 'projects/p/locations/l/endpoints/e', displayName: 'e' }) });
  const grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));
  return { restPort: (rest.address() as { port: number }).port, grpcPort };
}

/** Run `n` calls of `call`, `IN_FLIGHT` at a time. */
async function pool(n: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) await call(next++);
    }),
  );
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function main(): Promise<void> {
  const pipelines = opt('pipelines', 42);
  const rounds = opt('rounds', 3);
  const model = renderEnvironment(defineGenerated(new Root(), pipelines));
  const { documents } = gcpAdapter.synth(model, gcpAdapter.parseSettings({ project: 'bench-project', region: 'europe-west4' }));
  const entries = (documents['manifest.json'] as Manifest).entries.filter((e) => e.method === 'aiplatform.projects.locations.schedules.create' && e.schema.kind === 'proto' && !e.schema.message.includes('v1beta1'));
  const schedules = entries.map((e) => ({ parent: e.parent, body: documents[e.document] as Json }));
  const scheduleType = messageType('google.cloud.aiplatform.v1.Schedule');
  console.log(`Vertex AI SDK CPU per call, no engine: ${schedules.length} createSchedule (pipeline spec ${JSON.stringify(schedules[0]?.body).length} B of JSON each) and ${GETS} getEndpoint, ${IN_FLIGHT} in flight, servers in another process; node ${process.version}`);

  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'] });
  try {
    const { restPort, grpcPort } = await new Promise<{ restPort: number; grpcPort: number }>((resolve) => child.once('message', resolve as never));
    const auth = new PassThroughClient({ transporterOptions: { fetchImplementation: gcpFetch as unknown as typeof fetch } });
    const transports = {
      rest: { apiEndpoint: '127.0.0.1', port: restPort, protocol: 'http', fallback: 'rest' as const, authClient: auth as never },
      grpc: { apiEndpoint: '127.0.0.1', port: grpcPort, sslCreds: grpc.credentials.createInsecure(), authClient: auth as never },
    };
    const medians = new Map<string, { create: number; get: number }>();
    for (const [name, options] of Object.entries(transports)) {
      const scheduleClient = new v1.ScheduleServiceClient(options);
      const endpointClient = new v1.EndpointServiceClient(options);
      const round = async () => {
        const c0 = process.cpuUsage();
        await pool(schedules.length, (i) => scheduleClient.createSchedule({ parent: schedules[i]?.parent, schedule: jsonToObject(scheduleType, schedules[i]?.body) as never }));
        const create = cpuMs(c0) / schedules.length;
        const c1 = process.cpuUsage();
        await pool(GETS, () => endpointClient.getEndpoint({ name: 'projects/p/locations/l/endpoints/e' }));
        return { create, get: cpuMs(c1) / GETS };
      };
      // Two warm-up rounds: the clients build their request types' code on first use.
      await round();
      await round();
      const measured: { create: number; get: number }[] = [];
      for (let i = 0; i < rounds; i++) measured.push(await round());
      const list = (f: (r: { create: number; get: number }) => number) => measured.map((r) => f(r).toFixed(2)).join(', ');
      console.log(`  ${name.padEnd(5)} createSchedule ${list((r) => r.create)} ms CPU per call; getEndpoint ${list((r) => r.get)} ms CPU per call`);
      const median = (f: (r: { create: number; get: number }) => number) => [...measured.map(f)].sort((a, b) => a - b)[Math.floor(measured.length / 2)] as number;
      medians.set(name, { create: median((r) => r.create), get: median((r) => r.get) });
      await scheduleClient.close();
      await endpointClient.close();
    }
    const rest = medians.get('rest') as { create: number; get: number };
    const g = medians.get('grpc') as { create: number; get: number };
    console.log(`  grpc / rest, medians: createSchedule ${(g.create / rest.create).toFixed(2)}×, getEndpoint ${(g.get / rest.get).toFixed(2)}×`);
    const rows: BenchRow[] = [
      { label: 'createSchedule, grpc vs rest (CPU per call)', value: round2(g.create), baseline: round2(rest.create), unit: 'ms' },
      { label: 'getEndpoint, grpc vs rest (CPU per call)', value: round2(g.get), baseline: round2(rest.get), unit: 'ms' },
    ];
    console.log(`  chart: ${recordBenchResults('sdk-floor', rows, { title: 'Vertex AI SDK CPU per call, gRPC vs the REST fallback' }).svg}`);
  } finally {
    child.kill();
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

if (args.includes('--serve')) void serve().then((ports) => process.send?.(ports));
else
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
