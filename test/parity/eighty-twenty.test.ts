/**
 * The ported-sample check: an 80/20 endpoint (two deployments) with a skew and a drift monitor
 * gives the same meaning on all three targets — each deployment monitored on its own, skew
 * against the training data, drift against the previous production window, thresholds in the
 * same unit — read from each target's synthesized documents.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws';
import { azureAdapter } from '../../adapters/azure';
import { gcpAdapter } from '../../adapters/gcp';
import { DriftMonitor, Duration, MonitorKind, Schedule, renderEnvironment } from '../../lib';
import { parityApp } from './catalogue';

function eightyTwenty() {
  const app = parityApp();
  new DriftMonitor(app.env, 'Monitor', {
    endpoint: app.endpoint,
    baseline: app.training,
    kinds: [MonitorKind.SKEW, MonitorKind.DRIFT],
    features: { amount: 0.2, count: 0.1 },
    lookback: Duration.days(2),
    schedule: Schedule.rate(Duration.hours(6)),
  });
  return renderEnvironment(app.env);
}

const model = eightyTwenty();

describe('an 80/20 endpoint with skew and drift monitors', () => {
  it('azure: per deployment, a skew signal against the training data and a drift signal against the window before', () => {
    const { documents } = azureAdapter.synth(model, azureAdapter.parseSettings({ subscriptionId: '00000000-1111-2222-3333-444444444444', resourceGroup: 'rg', location: 'westeurope' }));
    const template = documents['template.json'] as { resources: { type: string; name: string; properties?: any }[] };
    const schedule = JSON.stringify(template).includes('CreateMonitor') ? findMonitor(template) : undefined;
    const signals = schedule?.properties.action.monitorDefinition.signals as Record<string, any>;
    const byDeployment = (dep: string, kind: string) => Object.values(signals).filter((s) => s.properties['mlplane-deployment'] === dep && s.properties['mlplane-signal'] === kind);
    for (const dep of ['model-v1', 'model-v2']) {
      const [skew] = byDeployment(dep, 'skew');
      const [drift] = byDeployment(dep, 'drift');
      expect(skew.productionData).toMatchObject({ inputDataType: 'Rolling', uri: expect.stringMatching(new RegExp(`-${dep}-model_inputs:1$`)), windowSize: 'P2D', windowOffset: 'P0D' });
      expect(skew.referenceData).toMatchObject({ inputDataType: 'Fixed', dataContext: 'training', uri: expect.stringMatching(/^azureml:training:/) });
      expect(drift.referenceData).toMatchObject({ inputDataType: 'Rolling', uri: skew.productionData.uri, windowSize: 'P2D', windowOffset: 'P2D' });
      expect(skew.metricThresholds).toEqual([{ dataType: 'Numerical', metric: 'JensenShannonDistance', threshold: expect.anything() }]);
    }
    // Two deployments × (skew, drift) × two threshold groups (0.1, 0.2).
    expect(Object.keys(signals)).toHaveLength(8);
  });

  it('gcp: one objective per deployed model, skew against the training table, drift (Vertex: vs recent production), divergence d²', () => {
    const { documents } = gcpAdapter.synth(model, gcpAdapter.parseSettings({ project: 'acme-parity', region: 'europe-west4' }));
    const job = Object.entries(documents).find(([p]) => p.startsWith('vertex/modelDeploymentMonitoringJobs/'))?.[1] as any;
    expect(job.modelDeploymentMonitoringObjectiveConfigs).toHaveLength(2);
    for (const o of job.modelDeploymentMonitoringObjectiveConfigs) {
      expect(o.objectiveConfig.trainingDataset).toEqual({ bigquerySource: { inputUri: 'bq://acme-parity.Par_dev.Training' } });
      expect(o.objectiveConfig.trainingPredictionSkewDetectionConfig.skewThresholds).toEqual({ amount: { value: 0.04 }, count: { value: 0.01 } });
      expect(o.objectiveConfig.predictionDriftDetectionConfig.driftThresholds).toEqual({ amount: { value: 0.04 }, count: { value: 0.01 } });
    }
    expect(job.modelDeploymentMonitoringScheduleConfig.monitorWindow).toBe('172800s');
  });

  it('aws: per deployment and feature, skew and drift alarms on the distance itself, the task told which reference each uses', () => {
    const app = new App();
    awsAdapter.synth(app, model, awsAdapter.parseSettings({ account: '123456789012', region: 'eu-west-1' }));
    const stack = app.node.children.find((c): c is Stack => Stack.isStack(c)) as Stack;
    const t = Template.fromStack(stack);
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')) as { Properties: { MetricName: string; Threshold: number; Dimensions: { Name: string; Value: string }[] } }[];
    const dims = alarms.map((a) => `${a.Properties.MetricName} ${a.Properties.Dimensions.find((d) => d.Name === 'Deployment')?.Value} ${a.Properties.Dimensions.find((d) => d.Name === 'Feature')?.Value} ${a.Properties.Threshold}`).sort();
    expect(dims).toEqual([
      'drift_jensenShannonDistance model-v1 amount 0.2',
      'drift_jensenShannonDistance model-v1 count 0.1',
      'drift_jensenShannonDistance model-v2 amount 0.2',
      'drift_jensenShannonDistance model-v2 count 0.1',
      'skew_jensenShannonDistance model-v1 amount 0.2',
      'skew_jensenShannonDistance model-v1 count 0.1',
      'skew_jensenShannonDistance model-v2 amount 0.2',
      'skew_jensenShannonDistance model-v2 count 0.1',
    ]);
    const task = Object.values(t.findResources('AWS::ECS::TaskDefinition')).find((r: any) => JSON.stringify(r).includes('MLPLANE_SIGNALS')) as any;
    const env = Object.fromEntries((task.Properties.ContainerDefinitions[0].Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
    expect(JSON.parse(env.MLPLANE_SIGNALS as string)).toEqual([
      { kind: 'skew', features: [{ name: 'amount', kind: 'numeric', metric: 'jensenShannonDistance' }, { name: 'count', kind: 'numeric', metric: 'jensenShannonDistance' }] },
      { kind: 'drift', features: [{ name: 'amount', kind: 'numeric', metric: 'jensenShannonDistance' }, { name: 'count', kind: 'numeric', metric: 'jensenShannonDistance' }] },
    ]);
    expect(JSON.stringify(env.MLPLANE_TARGETS)).toMatch(/model-v1.*capture\/.*model-v1\/.*model-v2.*capture\/.*model-v2\//);
    // The script: drift's reference is the window before the production window; skew's the baseline.
    expect(env.MLPLANE_DRIFT_SCRIPT).toContain("previous = load(t['uri'], now - timedelta(days=2 * days), now - timedelta(days=days))");
    expect(env.MLPLANE_DRIFT_SCRIPT).toContain('ref = base');
  });
});

function findMonitor(template: { resources: { type: string; properties?: any }[] }) {
  return template.resources.find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/schedules' && r.properties?.action?.actionType === 'CreateMonitor');
}
