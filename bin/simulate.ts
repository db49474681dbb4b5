#!/usr/bin/env node
/**
 * `npm run simulate -- <target> [options]` (or `npx mlplane-simulate <target>` in a project that
 * installed mlplane): start a target's cloud simulator on 127.0.0.1 and print its URL, to dry-run
 * `mlplane deploy` offline (see README, "Dry-run against a simulator").
 *
 *   npm run simulate -- gcp --port 8089      then MLPLANE_GCP_ENDPOINT=http://127.0.0.1:8089
 *   npm run simulate -- azure --port 8443    then MLPLANE_AZURE_ENDPOINT=<printed URL>
 *
 * The simulators read only what ships in the package (their spec data is in `spec-data/`).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const SIMULATORS: Record<string, string> = {
  gcp: 'adapters/gcp/simulator/main',
  azure: 'adapters/azure/simulator/main',
};

const [target, ...rest] = process.argv.slice(2);
const file = target ? SIMULATORS[target] : undefined;
if (!file) {
  process.stderr.write(`usage: npm run simulate -- <${Object.keys(SIMULATORS).join('|')}> [--port N] [options]\n`);
  process.exit(2);
}
// The same layout from source (bin/simulate.ts) and compiled (dist/bin/simulate.js): the
// simulator is next to this file's folder, with this file's extension.
const self = fileURLToPath(import.meta.url);
const ext = path.extname(self);
const main = path.join(path.dirname(self), '..', `${file}${ext}`);
const child = spawn(process.execPath, [...(ext === '.ts' ? ['--import', 'tsx'] : []), main, ...rest], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 1));
