/**
 * Azure monitors and batch inference, from the synthesized template: every deployment monitored,
 * skew and drift with their own references, metric refusals, and the batch fields' real meaning.
 */
import { describe, expect, it } from 'vitest';
import { azureAdapter } from '../../../adapters/azure';
import { BatchInference, Dataset, DataFormat, DataSource, DriftMetric, DriftMonitor, Duration, Field, MonitorKind, Schedule, Schema, ValidationErrors, renderEnvironment } from '../../../lib';
import { parityApp, type ParityApp } from '../../parity/catalogue';

const SETTINGS = azureAdapter.parseSettings({ subscriptionId: '00000000-1111-2222-3333-444444444444', resourceGroup: 'rg', location: 'westeurope' });

function synth(app: ParityApp) {
  const { documents, warnings } = azureAdapter.synth(renderEnvironment(app.env), SETTINGS);
  const resources = (documents['template.json'] as { resources: { type: string; name: string; properties?: any }[] }).resources;
  return { resources, warnings, documents };
}

function problems(app: ParityApp): { path: string; message: string }[] {
  try {
    azureAdapter.synth(renderEnvironment(app.env), SETTINGS);
    return [];
  } catch (e) {
    if (!ValidationErrors.isValidationErrors(e)) throw e;
    return [...e.problems];
  }
}

const monitorOf = (resources: { type: string; properties?: any }[]) =>
  resources.find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/schedules' && r.properties?.action?.actionType === 'CreateMonitor')?.properties.action.monitorDefinition;

describe('azure drift monitors', () => {
  it('monitors every deployment of the endpoint unless narrowed, and collects inputs on each', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: ['amount'] });
    const { resources } = synth(app);
    const signals = monitorOf(resources).signals as Record<string, any>;
    expect(Object.values(signals).map((s) => s.properties['mlplane-deployment']).sort()).toEqual(['model-v1', 'model-v2']);
    const deployments = resources.filter((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments');
    for (const d of deployments) expect(Object.keys(d.properties.dataCollector.collections)).toContain('model_inputs');
  });

  it('monitors only the named deployment when narrowed', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, deployment: 'model-v2', baseline: app.training, features: ['amount'] });
    const signals = monitorOf(synth(app).resources).signals as Record<string, any>;
    expect(Object.values(signals).map((s) => s.properties['mlplane-deployment'])).toEqual(['model-v2']);
  });

  it('gives skew the training data as reference and drift the production window before, never the same inputs', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, deployment: 'model-v1', baseline: app.training, features: ['amount'], kinds: [MonitorKind.SKEW, MonitorKind.DRIFT], lookback: Duration.days(3) });
    const signals = Object.values(monitorOf(synth(app).resources).signals as Record<string, any>);
    const skew = signals.find((s) => s.properties['mlplane-signal'] === 'skew');
    const drift = signals.find((s) => s.properties['mlplane-signal'] === 'drift');
    expect(skew.referenceData).toEqual({ inputDataType: 'Fixed', jobInputType: 'uri_folder', uri: 'azureml:training:1', dataContext: 'training' });
    expect(drift.referenceData).toEqual({ ...drift.productionData, windowOffset: 'P3D' });
    expect(drift.productionData).toMatchObject({ windowSize: 'P3D', windowOffset: 'P0D' });
    expect(skew.referenceData).not.toEqual(drift.referenceData);
  });

  it('pins each feature to the kind the catalogue gives it', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, deployment: 'model-v1', baseline: app.training, features: ['amount', 'channel'] });
    const signals = Object.values(monitorOf(synth(app).resources).signals as Record<string, any>);
    expect(signals.map((s) => s.featureDataTypeOverride)).toEqual([{ channel: 'Categorical' }, { amount: 'Numerical' }]);
  });

  it('fails if L-infinity is asked for categorical features, naming the monitor and the alternative', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: ['channel'], categoricalMetric: DriftMetric.L_INFINITY });
    expect(problems(app)).toEqual([{
      path: 'Par/Drift',
      message: expect.stringMatching(/^target 'azure' cannot honour L-infinity distance threshold on categorical features \(monitor\.metric\.lInfinity\.categorical\); .*set categoricalMetric: DriftMetric\.JENSEN_SHANNON or DriftMetric\.PSI$/),
    }]);
  });
});

describe('azure batch inference', () => {
  it('maps retries to the mini-batch retry count and keeps the mini-batch timeout apart from the run timeout', () => {
    const app = parityApp();
    new BatchInference(app.env, 'Scores', { model: app.model.alias('champion'), input: app.requests, output: app.predictions, compute: app.pool, retries: 4, timeout: Duration.hours(3) });
    const d = synth(app).resources.find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments');
    expect(d?.properties.retrySettings).toEqual({ maxRetries: 4, timeout: 'PT5M' });
  });

  it('bounds a scheduled run by the timeout: the invoking step waits for the job and cancels it, and says so with a warning', () => {
    const app = parityApp();
    new BatchInference(app.env, 'Scores', {
      model: app.model.alias('champion'), input: app.requests, output: app.predictions, compute: app.pool, timeout: Duration.hours(3),
      schedules: [Schedule.cron({ weekDay: 'MON', hour: 3, minute: 0, timeZone: 'Europe/Amsterdam' })],
    });
    const { resources, warnings } = synth(app);
    const component = resources.find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/components/versions');
    const command = component?.properties.componentSpec.command as string;
    expect(command).toContain('timeout 10800 az ml job stream --name "$job"');
    expect(command).toContain('az ml job cancel --name "$job"');
    expect(warnings.map((w) => w.id)).toContain('mlplane:azure:batch-timeout-scheduled-only');
  });

  it("writes predictions into the output dataset's own folder", () => {
    const app = parityApp();
    new BatchInference(app.env, 'Scores', {
      model: app.model.alias('champion'), input: app.requests, output: app.predictions, compute: app.pool,
      schedules: [Schedule.cron({ weekDay: 'MON', hour: 3, minute: 0, timeZone: 'Europe/Amsterdam' })],
    });
    const { resources } = synth(app);
    const command = resources.find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/components/versions')?.properties.componentSpec.command as string;
    const data = resources.find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces/data/versions' && r.name.includes('predictions'));
    const assetPath = String(data?.properties.dataUri);
    expect(assetPath).toMatch(/^azureml:\/\/datastores\/[a-z0-9_]+\/paths\/csv\/$/);
    expect(command).toContain(`--output-path ${assetPath}`);
  });

  it('fails if the output is external data Azure ML cannot write to, naming the batch and the fix', () => {
    const app = parityApp();
    const external = new Dataset(app.env, 'External', { schema: Schema.of({ score: Field.float() }), source: DataSource.external('https://acme.blob.core.windows.net/preds/'), format: DataFormat.CSV });
    new BatchInference(app.env, 'Scores', { model: app.model.alias('champion'), input: app.requests, output: external, compute: app.pool });
    expect(problems(app)).toEqual([{
      path: 'Par/Scores',
      message: "output 'Par/External' is external data at 'https://acme.blob.core.windows.net/preds/', where Azure ML batch jobs cannot write (they write to a datastore path); use a managed output dataset or an azureml://datastores/<datastore>/paths/<path> URI",
    }]);
  });
});
