import type { Construct } from 'constructs';
import {
  Alert, ComputePool, Dataset, DriftMonitor, Duration, Field, Input, Metric, MlopsEnvironment, ModelRegistry, OnlineEndpoint, Output,
  Pipeline, Schedule, Schema, ServingContainer,
} from '../lib';

/**
 * A generated environment with `pipelines` six-step pipelines, one dataset, endpoint and drift
 * monitor per ten pipelines (at least one each), for the benchmark.
 */
export function defineGenerated(scope: Construct, pipelines: number): MlopsEnvironment {
  const env = new MlopsEnvironment(scope, 'Bench');
  const cpu = new ComputePool(env, 'Cpu', { maxNodes: 16 });
  const registry = new ModelRegistry(env, 'Registry');
  const groups = Math.max(1, Math.ceil(pipelines / 10));
  for (let g = 0; g < groups; g++) {
    const data = new Dataset(env, `Data${g}`, {
      schema: Schema.of({ id: Field.string({ nullable: false }), f1: Field.float(), f2: Field.float(), f3: Field.string(), ts: Field.timestamp() }),
      partitionBy: { field: 'ts' },
    });
    const model = registry.addModel(`Model${g}`, { serving: ServingContainer.image('ghcr.io/acme/serve:1.0'), aliases: ['champion', 'challenger'] });
    for (let i = g * 10; i < Math.min(pipelines, (g + 1) * 10); i++) {
      const p = new Pipeline(env, `Pipeline${i}`);
      const a = p.addStep('Validate', { image: 'ghcr.io/acme/validate:1.0', command: ['python', '-m', 'validate'], inputs: { data }, outputs: { clean: Output.dataset() }, compute: cpu });
      const b = p.addStep('Features', { image: 'ghcr.io/acme/features:1.0', command: ['python', '-m', 'features'], inputs: { clean: a.output('clean') }, outputs: { features: Output.dataset() }, compute: cpu });
      const c = p.addStep('Train', { image: 'ghcr.io/acme/train:1.0', command: ['python', '-m', 'train'], inputs: { features: b.output('features') }, outputs: { model: Output.model() }, retries: 2, compute: cpu });
      const d = p.addStep('Evaluate', { image: 'ghcr.io/acme/eval:1.0', command: ['python', '-m', 'evaluate'], inputs: { model: Input.model(c.output('model')), features: b.output('features') }, outputs: { metrics: Output.metrics() }, compute: cpu });
      p.addStep('Report', { image: 'ghcr.io/acme/report:1.0', command: ['python', '-m', 'report'], inputs: { metrics: Input.metrics(d.output('metrics')) }, compute: cpu });
      p.addRegisterStep('Register', { artifact: c.output('model'), metrics: d.output('metrics'), model, promoteTo: 'champion', when: Metric.greaterThanAlias('auc', 'champion') });
      p.addSchedule(Schedule.cron({ hour: i % 24, timeZone: 'Europe/Amsterdam' }));
    }
    const endpoint = new OnlineEndpoint(env, `Endpoint${g}`, {
      deployments: [{ name: 'blue', model: model.alias('champion'), maxReplicas: 3 }, { name: 'green', model: model.alias('challenger') }],
      traffic: { blue: 90, green: 10 },
      capture: true,
    });
    new DriftMonitor(env, `Drift${g}`, {
      endpoint, baseline: data, features: ['f1', 'f2', 'f3'], threshold: 0.15, schedule: Schedule.rate(Duration.hours(6)),
      alerts: [Alert.email('oncall@acme.example')],
    });
  }
  return env;
}
