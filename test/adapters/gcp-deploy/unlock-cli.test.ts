import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { startSimulator } from './support';
import { cli, LOCK } from './interrupt-support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
  process.env.MLPLANE_GCP_ENDPOINT = sim.url;
});
afterAll(async () => {
  delete process.env.MLPLANE_GCP_ENDPOINT;
  await sim.close();
});

/** The lock a run on another machine left (its process cannot be checked from here). */
function strandedLock(): void {
  const record = { holder: 'ci-7/9218/abc', host: 'ci-7', pid: 9218, user: 'runner', operation: 'deploy', startedAt: '2026-01-01T00:00:00Z', expiresAt: '2999-01-01T00:00:00Z', intents: [] };
  sim.state.put('bigquery/projects/mlplane-examples/datasets/Fraud_prod', 'bigquery#dataset', { kind: 'bigquery#dataset', id: 'mlplane-examples:Fraud_prod', datasetReference: { projectId: 'mlplane-examples', datasetId: 'Fraud_prod' }, labels: { 'mlplane-env': 'fraud-prod' }, location: 'europe-west4', etag: 'd1' });
  sim.state.put(LOCK, 'bigquery#table', { kind: 'bigquery#table', id: 'mlplane-examples:Fraud_prod._mlplane_lock', tableReference: { projectId: 'mlplane-examples', datasetId: 'Fraud_prod', tableId: '_mlplane_lock' }, type: 'TABLE', labels: { 'mlplane-env': 'fraud-prod', 'mlplane-lock': 'true' }, description: JSON.stringify(record), etag: 'l1' });
}

describe('mlplane unlock', () => {
  it('fails without --yes when stdin is not a terminal, naming the holder and leaving the lock', async () => {
    strandedLock();
    const r = await cli('unlock', 'Fraud', '--target', 'gcp');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Fraud (gcp): locked by deploy by runner on ci-7 (pid 9218), started 2026-01-01T00:00:00Z');
    expect(r.stderr).toContain('the lock of Fraud (gcp) was left in place; rerun with --yes to remove it without asking');
    expect(sim.state.get(LOCK)).toBeDefined();
  });

  it('removes the lock with --yes, after which a deploy needs no lease wait', async () => {
    strandedLock();
    const r = await cli('unlock', 'Fraud', '--target', 'gcp', '--yes');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Fraud (gcp): unlocked; the next 'mlplane deploy Fraud' settles the interrupted run's changes by reading the live state");
    expect(sim.state.get(LOCK)).toBeUndefined();
    expect((await cli('unlock', 'Fraud', '--target', 'gcp')).stdout).toContain('Fraud (gcp): not locked');
  });

  it('fails if no environment or an unknown one is named', async () => {
    expect((await cli('unlock', '--target', 'gcp')).stderr).toContain('unlock takes one environment name, e.g. mlplane unlock Fraud --target gcp (got none)');
    expect((await cli('unlock', 'Frod', '--target', 'gcp')).code).toBe(2);
  });
});
