/**
 * The metric catalogue (lib/monitor-metrics.ts) against the definitions the clouds publish, and
 * the construct-level refusals it drives.
 */
import { describe, expect, it } from 'vitest';
import { AWS_METRICS } from '../../adapters/aws/capabilities';
import { AZURE_METRICS } from '../../adapters/azure/capabilities';
import { GCP_METRICS } from '../../adapters/gcp/capabilities';
import {
  DRIFT_METRICS, DriftMetric, DriftMonitor, featureKind, jensenShannonDivergenceOf, metricSupport, renderEnvironment, resolveSignalFeatures,
  type DriftMetricName, type FeatureKind,
} from '../../lib';
import { expectProblem } from '../support/fixtures';
import { parityApp } from './catalogue';

/** Base-2 Jensen-Shannon divergence of two distributions (the TFDV definition, anomalies/metrics.cc). */
function jsDivergence(p: number[], q: number[]): number {
  const kl = (a: number[], b: number[]) => a.reduce((s, x, i) => (x > 0 ? s + x * Math.log2(x / (b[i] as number)) : s), 0);
  const m = p.map((x, i) => (x + (q[i] as number)) / 2);
  return (kl(p, m) + kl(q, m)) / 2;
}

describe('the metric catalogue', () => {
  it('defines the Jensen-Shannon distance as the square root of the base-2 divergence, so d² is the same decision', () => {
    const p = [0.5, 0.3, 0.2];
    const q = [0.2, 0.3, 0.5];
    const divergence = jsDivergence(p, q);
    const distance = Math.sqrt(divergence);
    for (const d of [distance - 1e-6, distance + 1e-6]) expect(distance > d).toBe(divergence > jensenShannonDivergenceOf(d));
    expect(jensenShannonDivergenceOf(0.15)).toBe(0.0225);
    expect(DRIFT_METRICS.jensenShannonDistance).toMatchObject({ logBase: 2, range: [0, 1], appliesTo: ['numeric', 'categorical'] });
  });

  it('puts L-infinity on categorical features and the Wasserstein distance on numeric ones only', () => {
    expect(DRIFT_METRICS.lInfinity.appliesTo).toEqual(['categorical']);
    expect(DRIFT_METRICS.normalizedWassersteinDistance.appliesTo).toEqual(['numeric']);
    expect(DRIFT_METRICS.populationStabilityIndex.range).toEqual([0, undefined]);
  });

  it('types int and float as numeric, string and bool as categorical, nothing else', () => {
    expect(['int', 'float', 'string', 'bool', 'timestamp', 'date'].map((type) => featureKind({ type } as never))).toEqual(['numeric', 'numeric', 'categorical', 'categorical', undefined, undefined]);
  });

  it('says for every target, metric and feature kind whether it is exact, converted with a warning, or refused', () => {
    for (const table of [AZURE_METRICS, GCP_METRICS, AWS_METRICS]) {
      for (const metric of Object.keys(DRIFT_METRICS) as DriftMetricName[]) {
        for (const kind of ['numeric', 'categorical'] as FeatureKind[]) {
          const s = metricSupport(table, metric, kind);
          if (DRIFT_METRICS[metric].appliesTo.includes(kind)) {
            expect(s, `${metric} ${kind}`).toBeDefined();
            if (s?.level === 'converted') expect(s.warning).toMatch(/^mlplane:[a-z]+:[a-z-]+$/);
          } else expect(s).toBeUndefined();
        }
      }
    }
  });

  it('converts a Jensen-Shannon distance threshold for Vertex numeric features to the divergence, and refuses PSI', () => {
    const js = GCP_METRICS.jensenShannonDistance.numeric;
    expect(js?.level === 'converted' && js.convert(0.2)).toBe(0.04);
    expect(GCP_METRICS.populationStabilityIndex.numeric?.level).toBe('refused');
    expect(AZURE_METRICS.lInfinity.categorical?.level).toBe('refused');
    expect(AWS_METRICS.lInfinity.categorical).toEqual({ level: 'exact', as: 'lInfinity' });
  });

  it('resolves the categorical metric for categorical features and the metric for the rest', () => {
    const features = resolveSignalFeatures(
      { metric: 'jensenShannonDistance', categoricalMetric: 'lInfinity', thresholds: [{ feature: 'amount', threshold: 0.1 }, { feature: 'channel', threshold: 0.2 }] },
      [{ name: 'amount', type: 'float', nullable: true }, { name: 'channel', type: 'string', nullable: true }],
    );
    expect(features).toEqual([
      { feature: 'amount', threshold: 0.1, kind: 'numeric', metric: 'jensenShannonDistance' },
      { feature: 'channel', threshold: 0.2, kind: 'categorical', metric: 'lInfinity' },
    ]);
  });
});

describe('DriftMonitor metrics', () => {
  it('renders categoricalMetric into each signal', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: ['amount', 'channel'], categoricalMetric: DriftMetric.L_INFINITY });
    const m = renderEnvironment(app.env).resources.find((r) => r.kind === 'driftMonitor');
    expect(m?.kind === 'driftMonitor' && m.signals[0]).toMatchObject({ metric: 'jensenShannonDistance', categoricalMetric: 'lInfinity' });
  });

  it('fails if L-infinity is asked for a numeric feature, naming the feature and the fix', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: ['amount'], metric: DriftMetric.L_INFINITY });
    expectProblem(app.env, 'Par/Drift', /^metric 'lInfinity' \(L-infinity distance\) is defined on categorical features only, but feature 'amount' is numeric \(float\); set metric to 'jensenShannonDistance' \(or another numeric metric\) and categoricalMetric: 'lInfinity'$/);
  });

  it('fails if the Wasserstein distance is asked for a categorical feature', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: ['channel'], categoricalMetric: DriftMetric.WASSERSTEIN });
    expectProblem(app.env, 'Par/Drift', /feature 'channel' is categorical \(string\); set categoricalMetric to 'jensenShannonDistance' or 'lInfinity'$/);
  });

  it('fails if a timestamp feature is monitored', () => {
    const app = parityApp();
    new DriftMonitor(app.env, 'Drift', { endpoint: app.endpoint, baseline: app.training, features: ['ts'] });
    expectProblem(app.env, 'Par/Drift', /^feature 'ts' has type timestamp; only numeric \(int, float\) and categorical \(string, bool\) features can be monitored/);
  });

  it('accepts a PSI threshold above 1 (PSI is unbounded) and fails if a Jensen-Shannon threshold is', () => {
    const ok = parityApp();
    new DriftMonitor(ok.env, 'Drift', { endpoint: ok.endpoint, baseline: ok.training, features: { amount: 1.5 }, metric: DriftMetric.PSI });
    expect(() => renderEnvironment(ok.env)).not.toThrow();
    const bad = parityApp();
    new DriftMonitor(bad.env, 'Drift', { endpoint: bad.endpoint, baseline: bad.training, features: { amount: 1.5 } });
    expectProblem(bad.env, 'Par/Drift', /^threshold for feature 'amount' is 1\.5, outside \[0, 1\]; use e\.g\. 0\.15$/);
  });
});
