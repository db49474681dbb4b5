import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { startGcpSimulator } from '../../../adapters/gcp/simulator';
import { conformancePath } from '../../support/conformance';
import { cli, expectConverged, LOCK, spawnDeploy, untilJournal } from './interrupt-support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startGcpSimulator({ port: 0, conformanceDir: conformancePath(), operationPolls: 0, latencyMs: 15 });
  process.env.MLPLANE_GCP_ENDPOINT = sim.url;
});
afterAll(async () => {
  delete process.env.MLPLANE_GCP_ENDPOINT;
  await sim.close();
});

describe('kill -9 during mlplane deploy', () => {
  it('leaves the lock of a dead process, which the next deploy takes over at once (no lease wait) and converges', { timeout: 180_000 }, async () => {
    const run = spawnDeploy(sim);
    await untilJournal(sim, 2, run);
    run.child.kill('SIGKILL');
    await run.exited;
    // The killed run could not release its lock: its record (15-minute lease) is still there.
    expect(sim.state.get(LOCK)).toBeDefined();

    const started = Date.now();
    const again = await cli('deploy', 'Fraud', '--target', 'gcp', '--require-approval', 'never');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`took over the environment lock of .*/${run.child.pid}/.* \\(deploy by .* pid ${run.child.pid}, since .*\\): its process ${run.child.pid} on this host is gone`));
    expect(again.stderr).toContain('settled interrupted');
    expect(Date.now() - started).toBeLessThan(30_000);
    await expectConverged(sim);
  });
});
