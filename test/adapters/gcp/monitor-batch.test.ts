/**
 * GCP monitors and batch inference, from the synthesized documents: one objective per deployed
 * model, thresholds converted to Vertex's units with a warning, refusals, v2 batch monitors with
 * distinct skew and drift baselines, and batch retries announced.
 */
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../../adapters/gcp';
import { BatchInference, DriftMetric, DriftMonitor, MonitorKind, Schedule, ValidationErrors, renderEnvironment } from '../../../lib';
import { parityApp, type ParityApp } from '../../parity/catalogue';

const SETTINGS = gcpAdapter.parseSettings({ project: 'acme-parity', region: 'europe-west4' });

function synth(app: ParityApp) {
  return gcpAdapter.synth(renderEnvironment(app.env), SETTINGS);
}

function problems(app: ParityApp): { path: string; message: string }[] {
  try {
    synth(app);
    return [];
  } catch (e) {
    if (!ValidationErrors.isValidationErrors(e)) throw e;
    return [...e.problems];
  }
}

const job = (documents: Record<string, unknown>) => Object.entries(documents).find(([p]) => p.startsWith('vertex/modelDeploymentMonitoringJobs/'))?.[1] as any;

describe('gcp endpoint monitors (Model Monitoring v1)', () => {
  it('writes one objective per deployed model unless narrowed', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: ['amount'], schedule: Schedule.cron({ hour: 1, minute: 0, timeZone: 'UTC' }) });
    expect(job(synth(app).documents).modelDeploymentMonitoringObjectiveConfigs).toHaveLength(2);
  });

  it('writes a Jensen-Shannon distance threshold d as the divergence d², with a warning naming the features', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: { amount: 0.3, count: 0.1 } });
    const { documents, warnings } = synth(app);
    expect(job(documents).modelDeploymentMonitoringObjectiveConfigs[0].objectiveConfig.predictionDriftDetectionConfig.driftThresholds).toEqual({ amount: { value: 0.09 }, count: { value: 0.01 } });
    expect(warnings).toContainEqual({ id: 'mlplane:gcp:js-distance-as-divergence', path: 'Par/Drift', message: expect.stringContaining('(features amount, count)') });
  });

  it('applies an L-infinity threshold on categorical features unchanged and without warning', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: { channel: 0.25 }, categoricalMetric: DriftMetric.L_INFINITY, kinds: [MonitorKind.SKEW] });
    const { documents, warnings } = synth(app);
    expect(job(documents).modelDeploymentMonitoringObjectiveConfigs[0].objectiveConfig.trainingPredictionSkewDetectionConfig.skewThresholds).toEqual({ channel: { value: 0.25 } });
    expect(warnings.map((w) => w.id)).not.toContain('mlplane:gcp:categorical-js-as-linf');
  });

  it('announces a Jensen-Shannon threshold on categorical features as L-infinity', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: { channel: 0.25 } });
    expect(synth(app).warnings).toContainEqual({ id: 'mlplane:gcp:categorical-js-as-linf', path: 'Par/Drift', message: expect.stringContaining('set categoricalMetric: DriftMetric.L_INFINITY') });
  });

  it('fails if the Wasserstein distance is asked for, naming the monitor and the alternative', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: ['amount'], metric: DriftMetric.WASSERSTEIN });
    expect(problems(app)).toEqual([
      {
        path: 'Par/Drift',
        message:
          "target 'gcp' cannot honour normalized Wasserstein distance threshold on numeric features (monitor.metric.normalizedWassersteinDistance.numeric); Vertex AI Model Monitoring computes Jensen-Shannon divergence on numeric features and L-infinity distance on categorical features only; use metric: DriftMetric.JENSEN_SHANNON and categoricalMetric: DriftMetric.L_INFINITY",
      },
    ]);
  });
});

describe('gcp batch monitors (Model Monitoring v2)', () => {
  it('runs skew against the training table and drift against the input table one lookback earlier, as two scheduled jobs', () => {
    const app = parityApp();
    const scores = new BatchInference(app.env, 'Scores', { model: app.model.alias('champion'), input: app.requests, output: app.predictions, compute: app.pool });
    new DriftMonitor(app.env, 'Watch', { batch: scores, baseline: app.training, features: { amount: 0.2 }, kinds: [MonitorKind.SKEW, MonitorKind.DRIFT], schedule: Schedule.cron({ hour: 6, minute: 0, timeZone: 'UTC' }) });
    const { documents } = synth(app);
    const schedules = Object.entries(documents).filter(([p]) => p.startsWith('vertex-v1beta1/schedules/')).map(([, d]) => (d as any).createModelMonitoringJobRequest.modelMonitoringJob.modelMonitoringSpec.objectiveSpec);
    expect(schedules).toHaveLength(2);
    const [skew, drift] = schedules;
    expect(skew.baselineDataset).toEqual({ columnizedDataset: { bigquerySource: { tableUri: 'bq://acme-parity.Par_dev.Training' } } });
    expect(drift.baselineDataset).toEqual({ columnizedDataset: { bigquerySource: { tableUri: 'bq://acme-parity.Par_dev.Requests' } }, timeOffset: { offset: '1d', window: '1d' } });
    expect(drift.targetDataset).toEqual({ columnizedDataset: { bigquerySource: { tableUri: 'bq://acme-parity.Par_dev.Requests' } }, timeOffset: { offset: '0d', window: '1d' } });
    expect(skew.tabularObjective.featureDriftSpec.featureAlertConditions).toEqual({ amount: { threshold: 0.04 } });
  });
});

describe('gcp batch inference', () => {
  it('announces that retries re-run the whole batch prediction job', () => {
    const app = parityApp();
    new BatchInference(app.env, 'Scores', { model: app.model.alias('champion'), input: app.requests, output: app.predictions, compute: app.pool, retries: 3 });
    expect(synth(app).warnings).toContainEqual({ id: 'mlplane:gcp:batch-retries-whole-job', path: 'Par/Scores', message: expect.stringContaining('re-runs the whole batch prediction job up to 3 times') });
  });

  it('does not warn about retries when there are none', () => {
    const app = parityApp();
    new BatchInference(app.env, 'Scores', { model: app.model.alias('champion'), input: app.requests, output: app.predictions, compute: app.pool, retries: 0 });
    expect(synth(app).warnings.map((w) => w.id)).not.toContain('mlplane:gcp:batch-retries-whole-job');
  });
});
