import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exampleModels } from '../../support/examples';
import { synth } from './models';

const fraud = exampleModels().find((m) => m.environment.path === 'Fraud');
if (!fraud) throw new Error('no Fraud example');
const { documents } = synth(fraud);

/** The register step's Python program, as the pipeline component's command writes it. */
function registerProgram(): string {
  const found: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string' && v.includes("<<'MLPLANE_PY'") && v.includes('mlplane_register.py')) found.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(documents['template.json']);
  const command = found[0] as string;
  return command.slice(command.indexOf("<<'MLPLANE_PY'\n") + "<<'MLPLANE_PY'\n".length, command.indexOf('\nMLPLANE_PY'));
}

function scoringNames(): { endpoint: string; deployments: string[] } {
  const template = documents['template.json'] as { resources: { type: string; name: string }[] };
  const all = JSON.stringify(template);
  const endpoint = Object.keys(documents).find((d) => /^azureml\/endpoints\/[^/]+\/endpoint\.yml$/.test(d))?.split('/')[2] as string;
  expect(all).toContain(endpoint);
  return { endpoint, deployments: Object.keys(documents).filter((d) => d.startsWith(`azureml/endpoints/${endpoint}/`) && !d.endsWith('endpoint.yml')).map((d) => d.split('/')[3]?.replace('.yml', '') as string) };
}

describe('azure: the register step rolls the deployments that follow the alias it promotes', () => {
  it('names blue (bound to champion) of the scoring endpoint, and not green (bound to challenger)', () => {
    const program = registerProgram();
    const { endpoint, deployments } = scoringNames();
    expect(deployments.sort()).toEqual(['blue', 'green']);
    expect(program).toContain(`ROLLOUT = json.loads(${JSON.stringify(JSON.stringify([[endpoint, 'blue']]))})`);
  });

  it('updates each deployment to the promoted version right after moving the alias tag, in valid Python', () => {
    const program = registerProgram();
    expect(program).toMatch(/'--set', 'tags\.%s=true' % tag\)\n.*promoted to[^\n]*\n[^\n]*#[^\n]*\n\s+for endpoint, deployment in ROLLOUT:\n\s+az\('ml', 'online-deployment', 'update', '--name', deployment, '--endpoint-name', endpoint, '--set', 'model=azureml:%s:%s' % \(MODEL, version\)\)/);
    const script = `import ast, sys\nast.parse(sys.stdin.read())\nprint('ok')`;
    expect(execFileSync('python3', ['-c', script], { input: program }).toString().trim()).toBe('ok');
  });
});
