import { afterAll, describe, expect, it } from 'vitest';
import { countBy, engineFor, example, inputFor, inventory, Recorder, resetSimulator, startSimulator } from './support';

const SINGLETONS = ['.Endpoint', '.Tensorboard', '.Dataset', '.ModelDeploymentMonitoringJob', '.Schedule', '.Model', '.FeatureView', '.FeatureOnlineStore'];

/**
 * Crash every mutation point of a Fraud deploy (before or after the mutation), rerun, and check
 * convergence: the same inventory as an uninterrupted deploy, no duplicates, the crashed run's
 * journal settled by a read (as still to do when the run died before the mutation, as completed
 * when it died after), then zero writes.
 *
 * Each mutation point is its own test (three deploys, well inside the default timeout on a loaded
 * machine); four files, one per `when` and half of the points, let vitest run them in parallel.
 * The points are counted at collection by one uninterrupted deploy, which is also the reference.
 */
export async function crashSuite(when: 'before' | 'after', half: 0 | 1): Promise<void> {
  const sim = await startSimulator({ operationPolls: 0 });
  let mutations = 0;
  await engineFor(sim, { hooks: { beforeMutation: () => void mutations++ } }).deploy(inputFor(example('Fraud'), undefined, { concurrency: 1 }));
  const reference = inventory(sim);
  afterAll(async () => {
    await sim.close();
  });
  const points = Array.from({ length: mutations }, (_, at) => at).filter((at) => at % 2 === half);

  describe(`a crash ${when} a mutation, then a rerun`, () => {
    it('has mutation points to crash at', () => {
      expect(mutations).toBeGreaterThan(15);
    });

    it.each(points)(`converges with no duplicates when the run dies ${when} mutation %i`, async (at) => {
      resetSimulator(sim);
      const crash = (p: { index: number }) => {
        if (p.index === at) throw new Error(`simulated crash ${when} mutation ${at}`);
      };
      const crashing = engineFor(sim, { lockLeaseMs: 30, hooks: when === 'before' ? { beforeMutation: crash } : { afterMutation: crash } });
      const input = inputFor(example('Fraud'), undefined, { concurrency: 1 });
      await expect(crashing.deploy(input)).rejects.toThrow(`simulated crash ${when} mutation ${at}`);

      const rerun = engineFor(sim, { lockLeaseMs: 30 });
      const progress = new Recorder();
      await rerun.deploy({ ...input, progress, lockTimeoutMs: 5_000 });
      // Intents are journaled with the lock, so every change the crashed run had not finished is
      // pending: each is settled by a read, as what really happened — the one that died after its
      // write as completed, all others as still to do.
      const settled = progress.lines.filter((l) => l.startsWith('settled interrupted'));
      expect(settled.length).toBe(mutations - at);
      const completed = settled.filter((l) => / by a read: completed \(found live, adopted\)$/.test(l));
      const toDo = settled.filter((l) => / by a read: still to do \(\w+\)$/.test(l));
      expect(completed.length).toBe(when === 'after' ? 1 : 0);
      expect(toDo.length).toBe(settled.length - completed.length);
      expect(inventory(sim)).toEqual(reference);
      for (const type of SINGLETONS) for (const [name, n] of Object.entries(countBy(sim, type))) expect(n, `${type} ${name}`).toBe(1);
      const endpoint = sim.state.get('projects/acme-ml/locations/europe-west4/endpoints/fraud-prod-scoring');
      expect((endpoint?.body.deployedModels as unknown[]).length).toBe(2);
      // Converged: a third run changes nothing.
      const again = await rerun.deploy(input);
      expect(again.writes).toBe(0);
    });
  });
}
