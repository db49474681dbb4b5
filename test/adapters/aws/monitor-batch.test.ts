/**
 * AWS drift task and batch inference, from the synthesized CloudFormation: every deployment
 * compared on its own, drift against the window before, skew against the baseline, batch monitors
 * on the batch input, the run timeout on the state machine and retries announced.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { awsAdapter } from '../../../adapters/aws';
import { BatchInference, DriftMonitor, Duration, MonitorKind, Schedule, renderEnvironment } from '../../../lib';
import { parityApp, type ParityApp } from '../../parity/catalogue';

const SETTINGS = awsAdapter.parseSettings({ account: '123456789012', region: 'eu-west-1' });

function synth(app: ParityApp): { t: Template; warnings: readonly { id: string; path: string; message: string }[] } {
  const cdk = new App();
  const { warnings } = awsAdapter.synth(cdk, renderEnvironment(app.env), SETTINGS);
  const stack = cdk.node.children.find((c): c is Stack => Stack.isStack(c)) as Stack;
  return { t: Template.fromStack(stack), warnings };
}

function driftEnv(t: Template): Record<string, unknown> {
  const task = Object.values(t.findResources('AWS::ECS::TaskDefinition')).find((r) => JSON.stringify(r).includes('MLPLANE_SIGNALS')) as { Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] } };
  return Object.fromEntries((task.Properties.ContainerDefinitions[0]?.Environment ?? []).map((e) => [e.Name, e.Value]));
}

describe('aws drift monitors', () => {
  it("compares only the named deployment's captured inputs when narrowed", () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, deployment: 'model-v2', baseline: app.training, features: ['amount'], kinds: [MonitorKind.SKEW] });
    const { t } = synth(app);
    const targets = JSON.stringify(driftEnv(t).MLPLANE_TARGETS);
    expect(targets).toContain('model-v2');
    expect(targets).not.toContain('model-v1');
    expect(Object.keys(t.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(1);
  });

  it('reads the input of a batch target (the features it scores), not its predictions', () => {
    const app = parityApp();
    const scores = new BatchInference(app.env, 'Scores', { model: app.model.alias('champion'), input: app.requests, output: app.predictions, compute: app.pool });
    new DriftMonitor(app.env, 'Watch', { batch: scores, baseline: app.training, features: ['amount'], schedule: Schedule.rate(Duration.days(1)) });
    const targets = JSON.stringify(driftEnv(synth(app).t).MLPLANE_TARGETS);
    expect(targets).toContain('/datasets/requests/');
    expect(targets).not.toContain('/datasets/predictions/');
  });
});

describe('aws batch inference', () => {
  it('bounds the whole run with the state machine timeout', () => {
    const app = parityApp();
    new BatchInference(app.env, 'Scores', { model: app.model.alias('champion'), input: app.requests, output: app.predictions, timeout: Duration.hours(2), retries: 0 });
    const { t } = synth(app);
    const machine = Object.entries(t.findResources('AWS::StepFunctions::StateMachine')).find(([id]) => id.startsWith('Scores'))?.[1] as { Properties: { DefinitionString: unknown } };
    // Top level of the state machine (next to Comment), not only on the shard task.
    expect(JSON.stringify(machine.Properties.DefinitionString)).toContain('\\"TimeoutSeconds\\":7200,\\"Comment\\":\\"mlplane batch inference Par/Scores');
  });

  it('announces that retries re-run a shard, not a mini-batch', () => {
    const app = parityApp();
    new BatchInference(app.env, 'Scores', { model: app.model.alias('champion'), input: app.requests, output: app.predictions, retries: 2, instanceCount: 4 });
    expect(synth(app).warnings).toContainEqual({ id: 'mlplane:aws:batch-retries-per-shard', path: 'Par/Scores', message: expect.stringContaining('re-run a failed shard (1/4 of the input)') });
  });
});
