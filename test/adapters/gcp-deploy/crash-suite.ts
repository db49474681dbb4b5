import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { countBy, engineFor, example, inputFor, inventory, Recorder, resetSimulator, startSimulator } from './support';

const SINGLETONS = ['.Endpoint', '.Tensorboard', '.Dataset', '.ModelDeploymentMonitoringJob', '.Schedule', '.Model', '.FeatureView', '.FeatureOnlineStore'];

/**
 * Crash every mutation point of a Fraud deploy (before or after the mutation), rerun, and check
 * convergence: the same inventory as an uninterrupted deploy, no duplicates, the crashed run's
 * journal settled, then zero writes. (Four files, one per `when` and half of the mutation points,
 * so they run in parallel and each stays well inside its timeout.)
 */
export function crashSuite(when: 'before' | 'after', half: 0 | 1): void {
  let sim: GcpSimulator;
  let reference: Record<string, string>;
  let mutations: number;

  beforeAll(async () => {
    sim = await startSimulator({ operationPolls: 0 });
    // The reference: one uninterrupted deploy, and how many mutations it makes.
    let n = 0;
    await engineFor(sim, { hooks: { beforeMutation: () => void n++ } }).deploy(inputFor(example('Fraud'), undefined, { concurrency: 1 }));
    reference = inventory(sim);
    mutations = n;
  });
  afterAll(async () => {
    await sim.close();
  });

  describe(`a crash ${when} every mutation, then a rerun`, () => {
    it('has mutation points to crash at', () => {
      expect(mutations).toBeGreaterThan(15);
    });

    it(`converges with no duplicates when the run dies ${when} each ${half === 0 ? 'even' : 'odd'}-numbered mutation`, { timeout: 150_000 }, async () => {
      for (let at = half; at < mutations; at += 2) {
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
        // The crashed run's journal (its pending intent) was settled by a read.
        expect(progress.lines.some((l) => l.startsWith('settled interrupted')), `journal settled after crash at ${at}`).toBe(true);
        expect(inventory(sim), `crash ${when} mutation ${at}`).toEqual(reference);
        for (const type of SINGLETONS) for (const [name, n] of Object.entries(countBy(sim, type))) expect(n, `${type} ${name} after crash at ${at}`).toBe(1);
        const endpoint = sim.state.get('projects/acme-ml/locations/europe-west4/endpoints/fraud-prod-scoring');
        expect((endpoint?.body.deployedModels as unknown[]).length).toBe(2);
        // Converged: a third run changes nothing.
        const again = await rerun.deploy(input);
        expect(again.writes, `writes after convergence (crash at ${at})`).toBe(0);
      }
    });
  });
}
