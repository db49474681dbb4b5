import { PassThrough } from 'node:stream';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/mlplane';
import { registerEngine } from '../../adapters/engines';
import { registerTarget, unregisterTarget } from '../../adapters/registry';
import { PlanChangedError, type DeployEngine, type DeployInput, type DeploySummary, type Plan } from '../../adapters/deploy';
import { FEATURES, type Capabilities, type DocumentAdapter } from '../../lib';

const calls: string[] = [];
let nextPlan: (input: DeployInput) => Plan;
/** What the next deploy does (default: one update); the inputs deploys received. */
let nextDeploy: ((input: DeployInput) => DeploySummary) | undefined;
const deployInputs: DeployInput[] = [];

const fakeAdapter: DocumentAdapter<{ region: string }> = {
  kind: 'documents',
  target: 'fake',
  description: 'test double',
  docs: 'none',
  capabilities: Object.fromEntries(Object.keys(FEATURES).map((f) => [f, { level: 'native' }])) as unknown as Capabilities,
  parseSettings: () => ({ region: 'r' }),
  synth: (model) => ({ documents: { 'env.json': { name: model.environment.name } }, warnings: [] }),
};

const fakeEngine: DeployEngine = {
  target: 'fake',
  async diff(input) {
    calls.push(`diff ${input.model.environment.name}`);
    return nextPlan(input);
  },
  async deploy(input) {
    calls.push(`deploy ${input.model.environment.name}`);
    deployInputs.push(input);
    if (nextDeploy) return nextDeploy(input);
    input.progress.event({ id: 'x', path: `${input.model.environment.name}/Scoring`, action: 'update', state: 'done', elapsedMs: 5 });
    return { target: 'fake', environment: input.model.environment.name, created: 0, updated: 1, replaced: 0, deleted: 0, unchanged: 3, writes: 1, reads: 4, durationMs: 5 };
  },
  async planDestroy(input) {
    calls.push(`planDestroy ${input.model.environment.name}`);
    return { target: 'fake', environment: input.model.environment.name, items: [] };
  },
  async destroy(input) {
    calls.push(`destroy ${input.model.environment.name}`);
    throw new Error('not expected');
  },
};

const trafficShift = (input: DeployInput): Plan => ({
  target: 'fake',
  environment: input.model.environment.name,
  items: [{ id: 'ep', type: 'Endpoint', path: `${input.model.environment.name}/Scoring`, action: 'update', changes: [], summary: ['traffic blue 90% → 80%, green 10% → 20%'] }],
});

async function cli(...argv: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c) => (stdout += c));
  err.on('data', (c) => (stderr += c));
  const code = await main([...argv, '--out', fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-deploy-'))], out, err);
  return { code, stdout, stderr };
}

describe('diff / deploy / destroy verbs', () => {
  beforeAll(() => {
    registerTarget('fake', async () => fakeAdapter);
    registerEngine('fake', async () => fakeEngine);
  });
  afterAll(() => unregisterTarget('fake'));

  it('diff prints the plan in ML terms and exits 3 with --fail when something changes', async () => {
    calls.length = 0;
    nextPlan = trafficShift;
    const r = await cli('diff', '--target', 'fake', '--fail', 'Fraud');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Fraud (fake): 0 to create, 1 to update, 0 to replace, 0 to delete, 0 unchanged');
    expect(r.stdout).toContain('~ update   Fraud/Scoring  (Endpoint)');
    expect(r.stdout).toContain('traffic blue 90% → 80%, green 10% → 20%');
    expect(calls).toEqual(['diff Fraud']);
  });

  it('diff --fail exits 0 when nothing changes', async () => {
    nextPlan = (input) => ({ target: 'fake', environment: input.model.environment.name, items: [{ id: 'ep', type: 'Endpoint', path: 'Fraud/Scoring', action: 'noop', changes: [], summary: [] }] });
    expect((await cli('diff', '--target', 'fake', '--fail')).code).toBe(0);
  });

  it('deploy applies the plan and prints a --json summary; progress goes to stderr', async () => {
    calls.length = 0;
    nextPlan = trafficShift;
    const r = await cli('deploy', 'Fraud', '--target', 'fake', '--json', '--stage', 'prod');
    expect(r.code).toBe(0);
    expect(calls).toEqual(['diff Fraud', 'deploy Fraud']);
    expect(JSON.parse(r.stdout).summaries).toEqual([{ target: 'fake', environment: 'Fraud', created: 0, updated: 1, replaced: 0, deleted: 0, unchanged: 3, writes: 1, reads: 4, durationMs: 5 }]);
    expect(r.stderr).toMatch(/✔ update +Fraud\/Scoring done \(0\.0 s\)/);
  });

  it('fails if a destructive deploy needs approval and stdin is not a terminal (it never prompts)', async () => {
    calls.length = 0;
    nextPlan = (input) => ({ target: 'fake', environment: input.model.environment.name, items: [{ id: 'ep', type: 'Endpoint', path: 'Churn/Old', action: 'delete', changes: [], summary: [] }] });
    const r = await cli('deploy', '--target', 'fake', 'Churn');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('approval required (deploy Churn (fake) deletes or replaces resources) but stdin is not a terminal; rerun with --require-approval never');
    expect(calls).toEqual(['diff Churn']);
  });

  it('fails on a usage error before touching any engine', async () => {
    calls.length = 0;
    const r = await cli('deploy', '--target', 'fake', '--require-approval', 'sometimes');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--require-approval 'sometimes' is not allowed; use never, destructive or any-change");
    expect(calls).toEqual([]);
  });

  it('fails if an environment name is unknown', async () => {
    const r = await cli('diff', '--target', 'fake', 'Frod');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no environment named 'Frod'; environments: Churn, Fraud");
  });

  it('deploy hands the engine the plan it showed, and a no-op deploy still runs the engine and prints a summary with zeros', async () => {
    calls.length = 0;
    deployInputs.length = 0;
    nextPlan = (input) => ({ target: 'fake', environment: input.model.environment.name, items: [{ id: 'ep', type: 'Endpoint', path: 'Fraud/Scoring', action: 'noop', changes: [], summary: [] }], liveDigest: 'abc', reads: 3 });
    nextDeploy = (input) => ({ target: 'fake', environment: input.model.environment.name, created: 0, updated: 0, replaced: 0, deleted: 0, unchanged: 1, writes: 0, reads: 2, durationMs: 1 });
    try {
      const r = await cli('deploy', '--target', 'fake', 'Fraud', '--require-approval', 'never', '--lock-timeout', '30s', '--lock-lease', '2m');
      expect(r.code).toBe(0);
      expect(calls).toEqual(['diff Fraud', 'deploy Fraud']);
      expect(deployInputs[0]?.approvedPlan?.liveDigest).toBe('abc');
      expect(deployInputs[0]).toMatchObject({ unattended: true, lockTimeoutMs: 30_000, lockLeaseMs: 120_000 });
      // The diff's reads are counted with the deploy's.
      expect(r.stdout).toContain('Fraud (fake): 0 created, 0 updated, 0 replaced, 0 deleted, 1 unchanged — 0 writes, 5 reads');
    } finally {
      nextDeploy = undefined;
    }
  });

  it('fails if the live state changed after the plan was shown, printing the new plan and applying nothing', async () => {
    nextPlan = trafficShift;
    nextDeploy = (input) => {
      throw new PlanChangedError({ target: 'fake', environment: input.model.environment.name, items: [{ id: 'stray', type: 'Endpoint', path: 'Fraud/Stray', action: 'delete', changes: [], summary: ['delete endpoint stray'] }] }, []);
    };
    try {
      const r = await cli('deploy', '--target', 'fake', 'Fraud', '--require-approval', 'never');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('[Fraud] the live state changed after the plan was shown; nothing was applied');
      expect(r.stdout).toContain('The plan now:\nFraud (fake): 0 to create, 0 to update, 0 to replace, 1 to delete, 0 unchanged');
      expect(r.stdout).toContain('- delete   Fraud/Stray  (Endpoint)');
    } finally {
      nextDeploy = undefined;
    }
  });

  it('fails if a duration option has no unit, saying which units it takes', async () => {
    calls.length = 0;
    const r = await cli('deploy', '--target', 'fake', '--lock-timeout', '30');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--lock-timeout '30' has no unit; give a unit: ms, s, m or h (e.g. 30s, 5m, 1500ms)");
    expect((await cli('deploy', '--target', 'fake', '--lock-lease', 'soon')).stderr).toContain("--lock-lease 'soon' is not a duration");
    expect(calls).toEqual([]);
  });

  it('fails with diff --fail if a live resource of the plan is unhealthy, naming it', async () => {
    nextPlan = (input) => ({ target: 'fake', environment: input.model.environment.name, items: [], health: ["[Fraud/Scoring] deployment 'blue' of endpoint 'scoring' is Failed, expected Succeeded"] });
    const r = await cli('diff', '--target', 'fake', '--fail', 'Fraud');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("! unhealthy  [Fraud/Scoring] deployment 'blue' of endpoint 'scoring' is Failed");
    expect(r.stderr).toContain('live resources are unhealthy');
    expect((await cli('diff', '--target', 'fake', 'Fraud')).code).toBe(0);
  });
});
