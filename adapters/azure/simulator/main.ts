/**
 * Run the ARM simulator from the command line: `node --import tsx adapters/azure/simulator/main.ts --port 8443`.
 *
 * Prints the URL (and how to point `mlplane` at it), then serves until interrupted. `bin/` wires it
 * as `npm run simulate -- azure --port N`.
 */
import { startAzureSimulator, type AzureSimulator } from './index';
import { ENDPOINT_ENV } from '../deploy/transport';

/** Parsed command line of the simulator. */
export interface SimulatorArgs {
  readonly port: number;
  readonly conformanceDir?: string;
  readonly validate: boolean;
  /** How long each resource of a template deployment takes, in ms. */
  readonly resourceMs: number;
  /** How long a direct long-running operation (an Azure ML PUT, a DELETE, what-if) takes, in ms. */
  readonly lroMs: number;
}

/** Per-resource deployment time of the command-line simulator: slow enough to watch a deploy progress. */
export const CLI_RESOURCE_MS = 200;

/** Duration of a direct long-running operation in the command-line simulator. */
export const CLI_LRO_MS = 200;

function msArg(name: string, v: string | undefined, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 3_600_000) throw new Error(`${name} must be an integer from 0 to 3600000 (${what}), got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Parse `--port N`, `--conformance DIR`, `--no-validate`, `--resource-ms N` (how long each resource
 * of a template deployment takes; default {@link CLI_RESOURCE_MS}), `--lro-ms N` (how long a direct
 * long-running operation takes; default {@link CLI_LRO_MS}).
 *
 * @throws Error naming the bad argument and what is allowed.
 */
export function parseSimulatorArgs(argv: readonly string[]): SimulatorArgs {
  let port = 0;
  let conformanceDir: string | undefined;
  let validate = true;
  let resourceMs = CLI_RESOURCE_MS;
  let lroMs = CLI_LRO_MS;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--port' || a.startsWith('--port=')) {
      const v = a.includes('=') ? a.split('=')[1] : argv[++i];
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be an integer from 0 to 65535, got ${JSON.stringify(v)}`);
      port = n;
    } else if (a === '--conformance') {
      conformanceDir = argv[++i];
      if (!conformanceDir) throw new Error('--conformance needs a folder (the conformance/azure folder of the shared specifications)');
    } else if (a === '--no-validate') {
      validate = false;
    } else if (a === '--resource-ms' || a.startsWith('--resource-ms=')) {
      resourceMs = msArg('--resource-ms', a.includes('=') ? a.split('=')[1] : argv[++i], 'milliseconds each resource of a deployment takes');
    } else if (a === '--lro-ms' || a.startsWith('--lro-ms=')) {
      lroMs = msArg('--lro-ms', a.includes('=') ? a.split('=')[1] : argv[++i], 'milliseconds a direct long-running operation takes');
    } else {
      throw new Error(`unknown argument ${JSON.stringify(a)}; allowed: --port N, --conformance DIR, --no-validate, --resource-ms N, --lro-ms N`);
    }
  }
  return { port, conformanceDir, validate, resourceMs, lroMs };
}

/** Start the simulator for a command line and print where it listens. */
export async function main(argv: readonly string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<AzureSimulator> {
  const args = parseSimulatorArgs(argv);
  const sim = await startAzureSimulator({ port: args.port, conformanceDir: args.validate ? args.conformanceDir : false, resourceDurationMs: args.resourceMs, lroDurationMs: args.lroMs });
  out(sim.url);
  out(`ARM simulator listening on ${sim.url} (request bodies ${sim.validating ? 'checked against the ARM schemas' : 'NOT checked: conformance data not found or --no-validate'})`);
  out(`template deployments run in time: each resource takes ${args.resourceMs} ms once what it depends on is deployed (--resource-ms N)`);
  out(`direct operations (Azure ML PUTs, deletes, what-if) run in time too: each takes ${args.lroMs} ms (--lro-ms N)`);
  out(`point mlplane at it: ${ENDPOINT_ENV}=${sim.url} mlplane deploy -c mlplane:target=azure`);
  return sim;
}

const invokedDirectly = process.argv[1] !== undefined && /adapters[\\/]azure[\\/]simulator[\\/]main\.[cm]?[tj]s$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (sim) => {
      const stop = () => void sim.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(2);
    },
  );
}
