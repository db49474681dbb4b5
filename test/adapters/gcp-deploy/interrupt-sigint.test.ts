import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { startGcpSimulator } from '../../../adapters/gcp/simulator';
import { conformancePath } from '../../support/conformance';
import { cli, expectConverged, LOCK, resourceWrites, spawnDeploy, untilJournal } from './interrupt-support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startGcpSimulator({ port: 0, conformanceDir: conformancePath(), operationPolls: 0, latencyMs: 15 });
  process.env.MLPLANE_GCP_ENDPOINT = sim.url;
});
afterAll(async () => {
  delete process.env.MLPLANE_GCP_ENDPOINT;
  await sim.close();
});

describe('Ctrl-C during mlplane deploy', () => {
  it('stops new writes, lets the call in flight finish, releases the lock, says how to continue; the next deploy converges at once', { timeout: 180_000 }, async () => {
    const run = spawnDeploy(sim);
    await untilJournal(sim, 3, run);
    const before = resourceWrites(sim);
    run.child.kill('SIGINT');
    const { code } = await run.exited;
    const after = resourceWrites(sim);
    expect(code, run.stderr()).toBe(130);
    expect(run.stderr()).toContain('SIGINT received: starting no new changes, waiting for those in flight to finish, then releasing the lock');
    expect(run.stderr()).toMatch(/\[Fraud\] interrupted \(SIGINT\): \d+ change\(s\) applied, \d+ not started \(.+\); in-flight calls finished and the lock was released\. Run 'mlplane deploy Fraud' to continue/);
    expect(sim.state.get(LOCK)).toBeUndefined();
    // No new change after the interruption (concurrency 1): at most the call on its way when the
    // signal was sent and one started before the child got to handle it (a continuing deploy would send dozens).
    expect(after - before).toBeLessThanOrEqual(2);

    const again = await cli('deploy', 'Fraud', '--target', 'gcp', '--require-approval', 'never');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('waiting for the environment lock');
    await expectConverged(sim);
  });
});
