/**
 * The gcp simulator in its own process for the deploy benchmark, so that its CPU is not the
 * engine's: `fork('bench/gcp-sim-worker.ts', ['--latency-ms', '20', '--operation-polls', '1'])`.
 * It sends `{ url }` once listening, and answers `'stats'` with `{ reads, writes, cpuMs, byRpc }` (requests it
 * answered since the last `'reset'`, by rpc, and the CPU time of its process).
 */
import { parseSimulatorArgs } from '../adapters/gcp/simulator/main';
import { startGcpSimulator } from '../adapters/gcp/simulator';

const args = parseSimulatorArgs(process.argv.slice(2));
const sim = await startGcpSimulator(args);
let from = 0;
process.on('message', (m: unknown) => {
  if (m === 'reset') {
    from = sim.requestLog.length;
    process.send?.({ reset: true });
  } else if (m === 'stats') {
    const log = sim.requestLog.slice(from);
    const cpu = process.cpuUsage();
    const byRpc: Record<string, number> = {};
    for (const r of log) byRpc[r.rpc] = (byRpc[r.rpc] ?? 0) + 1;
    process.send?.({ reads: log.filter((r) => !r.write).length, writes: log.filter((r) => r.write).length, cpuMs: Math.round((cpu.user + cpu.system) / 1000), byRpc });
  } else if (m === 'stop') {
    void sim.close().then(() => process.exit(0));
  }
});
process.send?.({ url: sim.url });
