/**
 * `npm run simulate -- <target> [options]`: start a target's cloud simulator on 127.0.0.1 and print
 * its URL, to dry-run `mlplane deploy` offline (see README, "Dry-run against a simulator").
 *
 *   npm run simulate -- gcp --port 8089      then MLPLANE_GCP_ENDPOINT=http://127.0.0.1:8089
 *   npm run simulate -- azure --port 8443    then MLPLANE_AZURE_ENDPOINT=<printed URL>
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const SIMULATORS: Record<string, string> = {
  gcp: 'adapters/gcp/simulator/main.ts',
  azure: 'adapters/azure/simulator/main.ts',
};

const [target, ...rest] = process.argv.slice(2);
const file = target ? SIMULATORS[target] : undefined;
if (!file) {
  process.stderr.write(`usage: npm run simulate -- <${Object.keys(SIMULATORS).join('|')}> [--port N] [options]\n`);
  process.exit(2);
}
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, file), ...rest], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 1));
