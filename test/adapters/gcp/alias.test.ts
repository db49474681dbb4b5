import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../../adapters/gcp';
import { twinId } from '../../../adapters/gcp/alias';
import { REGISTER_SOURCE } from '../../../adapters/gcp/python-components';
import { exampleModels } from '../../support/examples';

const fraud = exampleModels().find((m) => m.environment.path === 'Fraud');
if (!fraud) throw new Error('no Fraud example');
const documents = gcpAdapter.synth(fraud, gcpAdapter.parseSettings({ project: 'acme-fraud-prod', region: 'europe-west4' })).documents;

/** Every register component configuration in the synthesized pipeline documents. */
function registerConfigs(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string' && v.startsWith('{') && v.includes('"promote_to"')) out.push(JSON.parse(v) as Record<string, unknown>);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(documents['vertex/schedules/fraud-prod-train.json']);
  return out;
}

describe('gcp: the register step rolls the deployments that follow the alias it promotes', () => {
  it('lists blue (bound to champion) as the rollout target of the register step promoting champion, with the ids the engine uses', () => {
    const [config] = registerConfigs();
    expect(config?.promote_to).toBe('champion');
    const manifest = documents['manifest.json'] as { entries: { key: string; id: string; parent: string }[] };
    const blue = manifest.entries.find((e) => e.key === 'vertex.deployedModel/Fraud/Scoring/blue');
    expect(config?.rollout).toEqual([{ endpoint: blue?.parent, deployed_model_id: blue?.id, twin_id: twinId(blue?.id as string), deployment: 'blue' }]);
  });

  it('calls the rollout after moving the alias, and the component source is valid Python', () => {
    expect(REGISTER_SOURCE).toMatch(/registry\.add_version_aliases\(\[cfg\['promote_to'\]\], version=uploaded\.version_id\)\n\s+# [^\n]*\n\s+roll_out\(cfg, uploaded\.versioned_resource_name, uploaded\.version_id\)/);
    expect(REGISTER_SOURCE).toMatch(/deploy_model\(endpoint=target\['endpoint'\], deployed_model=deployed, traffic_split=split\)/);
    const script = `import ast, sys\nast.parse(sys.stdin.read())\nprint('ok')`;
    expect(execFileSync('python3', ['-c', script], { input: REGISTER_SOURCE }).toString().trim()).toBe('ok');
  });
});
