/**
 * AWS: the register task rolls the ECS services that serve the alias it promotes, from the
 * synthesized CloudFormation; the diff blind spot is announced.
 */
import { execFileSync } from 'node:child_process';
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { REGISTER_SCRIPT } from '../../../adapters/aws/pipelines';
import type { EnvironmentModel } from '../../../lib/model/types';
import { examples, nagErrors, synth, template } from './support';

type Env = { Name: string; Value: unknown }[];
type TaskDef = { Properties: { ContainerDefinitions: { Environment?: Env }[]; TaskRoleArn?: { 'Fn::GetAtt': [string, string] } } };

function registerTask(t: Template): { env: Record<string, unknown>; role: string } {
  const task = Object.values(t.findResources('AWS::ECS::TaskDefinition')).find((r) => JSON.stringify(r).includes('MLPLANE_REGISTER_SCRIPT')) as TaskDef;
  const env = Object.fromEntries((task.Properties.ContainerDefinitions[0]?.Environment ?? []).map((e) => [e.Name, e.Value]));
  return { env, role: task.Properties.TaskRoleArn?.['Fn::GetAtt'][0] as string };
}

function policyActions(t: Template, role: string): string[] {
  const policies = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes(role));
  return policies.flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }).Properties.PolicyDocument.Statement.flatMap((s) => [s.Action].flat()));
}

function pinAll(model: EnvironmentModel): EnvironmentModel {
  const copy = structuredClone(model) as unknown as { resources: { kind: string; deployments?: { model: Record<string, string> }[] }[] };
  for (const e of copy.resources.filter((r) => r.kind === 'onlineEndpoint')) for (const d of e.deployments ?? []) d.model = { registry: d.model.registry as string, model: d.model.model as string, version: '1' };
  return copy as unknown as EnvironmentModel;
}

describe('aws: a deployment bound to an alias follows promotions', () => {
  it('gives the register task promoting champion the alias URI its followers serve, the cluster, and ecs:UpdateService', () => {
    const s = synth(examples().fraud);
    const t = template(s);
    const { env, role } = registerTask(t);
    expect(env.MLPLANE_ROLLOUT_MODEL_URI).toBe('models:/fraud@champion');
    expect(env.MLPLANE_CLUSTER).toBeDefined();
    expect(policyActions(t, role)).toEqual(expect.arrayContaining(['ecs:UpdateService', 'ecs:ListServices', 'ecs:DescribeServices', 'ecs:DescribeTaskDefinition']));
    // The followers' task definitions carry exactly that URI (what the script matches on).
    const serving = Object.values(t.findResources('AWS::ECS::TaskDefinition')).map((r) => Object.fromEntries(((r as TaskDef).Properties.ContainerDefinitions[0]?.Environment ?? []).map((e) => [e.Name, e.Value])));
    expect(serving.filter((e) => e.MLPLANE_DEPLOYMENT !== undefined).map((e) => [e.MLPLANE_DEPLOYMENT, e.MLPLANE_MODEL_URI])).toEqual(
      expect.arrayContaining([
        ['blue', 'models:/fraud@champion'],
        ['green', 'models:/fraud@challenger'],
      ]),
    );
    expect(nagErrors(s.app)).toEqual([]);
  });

  it('forces a new ECS deployment of each matching service after moving the alias, in valid Python', () => {
    expect(REGISTER_SCRIPT).toMatch(/c\.set_registered_model_alias\(name, alias, v\.version\)\n[^\n]*\nuri = e\.get\('MLPLANE_ROLLOUT_MODEL_URI'\)/);
    expect(REGISTER_SCRIPT).toMatch(/if env\.get\('MLPLANE_MODEL_URI'\) == uri:\n\s+ecs\.update_service\(cluster=cluster, service=svc\['serviceArn'\], forceNewDeployment=True\)/);
    const script = `import ast, sys\nast.parse(sys.stdin.read())\nprint('ok')`;
    expect(execFileSync('python3', ['-c', script], { input: REGISTER_SCRIPT }).toString().trim()).toBe('ok');
  });

  it('rolls nothing when every deployment is pinned to a version, and announces nothing', () => {
    const s = synth(pinAll(examples().fraud));
    const { env, role } = registerTask(template(s));
    expect(env.MLPLANE_ROLLOUT_MODEL_URI).toBeUndefined();
    expect(policyActions(template(s), role)).not.toContain('ecs:UpdateService');
    expect(s.warnings.filter((w) => w.id === 'mlplane:aws:alias-drift-invisible')).toEqual([]);
  });

  it('announces that cdk diff cannot see an alias moved outside mlplane, per following deployment', () => {
    const s = synth(examples().fraud);
    expect(s.warnings.filter((w) => w.id === 'mlplane:aws:alias-drift-invisible').map((w) => w.path)).toEqual(['Fraud/Scoring/blue', 'Fraud/Scoring/green']);
  });
});
