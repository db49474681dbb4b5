/**
 * `npm run simulate -- gcp --port N`: start the Vertex AI + BigQuery simulator on 127.0.0.1 and
 * print its URL, for dry-running `mlplane deploy` offline:
 *
 * ```
 * MLPLANE_GCP_ENDPOINT=http://127.0.0.1:8089 npx mlplane deploy -c mlplane:target=gcp
 * ```
 *
 * Options: `--port N` (default 0: any free port), `--latency-ms N` (fixed latency per call),
 * `--operation-polls N` (polls before a long-running operation is done).
 */
import { startGcpSimulator } from './index';

/** Requests the command-line simulator keeps in its log (each with its body). */
export const DRY_RUN_REQUEST_LOG = 1000;

/** Parse `--name value` options. */
export function parseSimulatorArgs(argv: readonly string[]): { port: number; latencyMs: number; operationPolls: number } {
  const out = { port: 0, latencyMs: 0, operationPolls: 0 };
  const names: Record<string, keyof typeof out> = { '--port': 'port', '--latency-ms': 'latencyMs', '--operation-polls': 'operationPolls' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === 'gcp') continue;
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    const key = names[flag];
    if (!key) throw new Error(`unknown option '${arg}'; use --port N, --latency-ms N, --operation-polls N`);
    const raw = inline ?? argv[++i];
    const n = Number(raw);
    if (raw === undefined || !Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number, got '${raw ?? ''}'`);
    out[key] = n;
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseSimulatorArgs(process.argv.slice(2));
  // A dry-run simulator runs as long as the user likes: keep the latest requests only.
  const sim = await startGcpSimulator({ ...args, requestLogLimit: DRY_RUN_REQUEST_LOG });
  process.stdout.write(`${sim.url}\n`);
  process.stderr.write(`mlplane gcp simulator (Vertex AI v1/v1beta1 + BigQuery v2) listening; set MLPLANE_GCP_ENDPOINT=${sim.url}; Ctrl-C to stop\n`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && /simulator[\\/]main\.(ts|js|mjs)$/.test(process.argv[1])) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  });
}
