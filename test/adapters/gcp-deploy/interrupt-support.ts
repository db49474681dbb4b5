/**
 * Interrupting the real CLI: `mlplane deploy` runs in a child process against a simulator in the
 * test process; the test signals it after some journal writes, then deploys again in-process and
 * checks that the environment converges.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'vitest';
import { main } from '../../../bin/mlplane';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { countBy } from './support';

const root = path.resolve(__dirname, '../../..');

/** The lock table of Fraud in the project of cdk.json. */
export const LOCK = 'bigquery/projects/mlplane-examples/datasets/Fraud_prod/tables/_mlplane_lock';

/** Journal writes (lock record patches) seen so far. */
export function journalWrites(sim: GcpSimulator): number {
  return sim.requestLog.filter((r) => r.rpc === 'bigquery.tables.patch' && r.path.endsWith('/_mlplane_lock')).length;
}

/** Writes to anything but the lock table (the changes a deploy makes), seen so far. */
export function resourceWrites(sim: GcpSimulator): number {
  return sim.requestLog.filter((r) => r.write && !r.path.includes('/_mlplane_lock') && !(r.rpc === 'bigquery.tables.insert' && JSON.stringify(r.body).includes('_mlplane_lock'))).length;
}

/** Start `mlplane deploy Fraud --target gcp` in a child process against the simulator. */
export function spawnDeploy(sim: GcpSimulator): { child: ChildProcess; stderr: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-interrupt-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/mlplane.ts', 'deploy', 'Fraud', '--target', 'gcp', '--require-approval', 'never', '--concurrency', '1', '--out', out], {
    cwd: root,
    env: { ...process.env, MLPLANE_GCP_ENDPOINT: sim.url, CDK_DISABLE_VERSION_CHECK: '1', METADATA_SERVER_DETECTION: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout?.on('data', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => err, exited };
}

/** Wait until the child has made `n` journal writes (or fail after `timeoutMs`). */
export async function untilJournal(sim: GcpSimulator, n: number, run: { child: ChildProcess; stderr: () => string }, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (journalWrites(sim) < n) {
    if (run.child.exitCode !== null) throw new Error(`the child exited (${run.child.exitCode}) after ${journalWrites(sim)} journal writes: ${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`the child made only ${journalWrites(sim)} journal writes in ${timeoutMs} ms: ${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Run the CLI in-process. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c) => (stdout += c));
  err.on('data', (c) => (stderr += c));
  const code = await main([...argv, '--out', fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-interrupt-'))], out, err);
  return { code, stdout, stderr };
}

/** After the rerun: nothing left to do, no duplicates, no lock. */
export async function expectConverged(sim: GcpSimulator): Promise<void> {
  const diff = await cli('diff', 'Fraud', '--target', 'gcp', '--fail');
  expect(diff.code, diff.stdout + diff.stderr).toBe(0);
  for (const type of ['.Endpoint', '.Tensorboard', '.Model', '.FeatureOnlineStore', '.Schedule', '.ModelDeploymentMonitoringJob']) {
    for (const [name, n] of Object.entries(countBy(sim, type))) expect(n, `${type} ${name}`).toBe(1);
  }
  const endpoint = [...sim.state.resources.entries()].find(([n, r]) => r.type.endsWith('.Endpoint') && n.endsWith('/endpoints/fraud-prod-scoring'))?.[1];
  expect((endpoint?.body.deployedModels as unknown[]).length).toBe(2);
  expect(sim.state.get(LOCK)).toBeUndefined();
}
