/**
 * The gcp simulator in its own process for the deploy benchmark, so that its CPU is not the
 * engine's: `fork('bench/gcp-sim-worker.ts', ['--latency-ms', '20', '--operation-polls', '1'])`.
 * It sends `{ url }` once listening, and answers `'stats'` with `{ reads, writes, cpuMs, connections, byRpc }` (requests it
 * answered since the last `'reset'`, by rpc, and the CPU time of its process). `'profile'` starts a
 * CPU profile of the simulator and `'profile-stop'` writes it to the temp folder and answers
 * `{ profile: file }` (the bench's `--profile`).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseSimulatorArgs } from '../adapters/gcp/simulator/main';
import { startGcpSimulator } from '../adapters/gcp/simulator';

const args = parseSimulatorArgs(process.argv.slice(2));
const sim = await startGcpSimulator(args);
let from = 0;
let connectionsFrom = 0;
let session: Session | undefined;
process.on('message', (m: unknown) => {
  if (m === 'reset') {
    from = sim.requestLog.length;
    connectionsFrom = sim.connections;
    process.send?.({ reset: true });
  } else if (m === 'stats') {
    const log = sim.requestLog.slice(from);
    const cpu = process.cpuUsage();
    const byRpc: Record<string, number> = {};
    for (const r of log) byRpc[r.rpc] = (byRpc[r.rpc] ?? 0) + 1;
    process.send?.({ reads: log.filter((r) => !r.write).length, writes: log.filter((r) => r.write).length, cpuMs: Math.round((cpu.user + cpu.system) / 1000), connections: sim.connections - connectionsFrom, byRpc });
  } else if (m === 'profile') {
    session = new Session();
    session.connect();
    void session.post('Profiler.enable').then(() => session?.post('Profiler.start')).then(() => process.send?.({ profiling: true }));
  } else if (m === 'profile-stop' && session) {
    const s = session;
    void s.post('Profiler.stop').then(({ profile }) => {
      const file = path.join(tmpdir(), `gcp-sim-${Date.now()}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      s.disconnect();
      process.send?.({ profile: file });
    });
  } else if (m === 'stop') {
    void sim.close().then(() => process.exit(0));
  }
});
process.send?.({ url: sim.url });
