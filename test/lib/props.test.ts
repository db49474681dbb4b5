import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import * as lib from '../../lib';
import {
  Alert, BatchInference, ComputePool, Condition, Dataset, DriftMonitor, Encryption, FeatureTable, Field, Metric, MlopsEnvironment, ModelPromotion, ModelRegistry,
  OnlineEndpoint, Output, ParameterType, Pipeline, Schedule, Schema, Secret, ServingContainer, retrain,
} from '../../lib';
import { editDistance, type KnownKeys } from '../../lib/core/props';
import { TestRoot } from '../support/examples';
import { expectProblem, newEnv, problemsOf, smallDataset, smallRegistry } from '../support/fixtures';

/** Props with one extra key, as a JavaScript caller (or tsx, which does not type-check) could pass. */
function withExtra<T extends object>(props: T, key: string, value: unknown = 1): T {
  return { ...props, [key]: value } as T;
}

describe('unknown props keys', () => {
  it('fails if a container step has a misspelt key, and suggests the known one', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    const check = p.addStep('Check', { image: 'ghcr.io/acme/a:1', outputs: { ok: Output.bool() } });
    p.addStep('Fit', withExtra({ image: 'ghcr.io/acme/a:1' }, 'conditon', Condition.output(check.output('ok')).equals(true)));
    expectProblem(
      env,
      'Test/Train/Fit',
      /^unknown property 'conditon' in ContainerStepProps \(known: accelerator, acceleratorCount, args, caching, command, compute, condition, cpu, dependsOn, env, image, inputs, memory, outputs, retries, timeout\); did you mean 'condition'\?$/,
    );
  });

  it("fails if a container step has 'when', and points to condition", () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', withExtra({ image: 'ghcr.io/acme/a:1' }, 'when', Metric.greaterThan('auc', 0.5)));
    expectProblem(env, 'Test/Train/Fit', /^unknown property 'when' in ContainerStepProps \(known: .*\); 'when' is the promotion gate of register steps; to run a container step only when something holds, use condition: /);
  });

  it("accepts 'when' on a register step (the promotion gate)", () => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    const p = new Pipeline(env, 'Train');
    const fit = p.addStep('Fit', { image: 'ghcr.io/acme/a:1', outputs: { model: Output.model(), metrics: Output.metrics() } });
    p.addRegisterStep('Register', { artifact: fit.output('model'), metrics: fit.output('metrics'), model, promoteTo: 'champion', when: Metric.greaterThanAlias('auc', 'champion') });
    expect(problemsOf(env)).toEqual([]);
  });

  it('fails if a register step has an unknown key', () => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    const p = new Pipeline(env, 'Train');
    const fit = p.addStep('Fit', { image: 'ghcr.io/acme/a:1', outputs: { model: Output.model() } });
    p.addRegisterStep('Register', withExtra({ artifact: fit.output('model'), model }, 'promoteto', 'champion'));
    expectProblem(env, 'Test/Train/Register', /^unknown property 'promoteto' in RegisterStepProps \(known: artifact, condition, dependsOn, metrics, model, promoteTo, retries, timeout, when\); did you mean 'promoteTo'\?$/);
  });

  it('fails if a deployment entry has a misspelt key, naming the deployment', () => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    new OnlineEndpoint(env, 'Endpoint', { deployments: [withExtra({ name: 'blue', model: model.alias('champion') }, 'maxReplica', 3)] });
    expectProblem(env, 'Test/Endpoint', /^unknown property 'maxReplica' in DeploymentOptions at deployment 'blue' \(known: accelerator, acceleratorCount, autoscaling, cpu, env, maxReplicas, memory, minReplicas, model, name\); did you mean 'maxReplicas'\?$/);
  });

  it('fails if capture options have an unknown key', () => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    new OnlineEndpoint(env, 'Endpoint', { deployments: [{ name: 'blue', model: model.alias('champion') }], capture: withExtra({ requests: true }, 'sampleRate', 0.5) });
    expectProblem(env, 'Test/Endpoint', /^unknown property 'sampleRate' in CaptureOptions at capture \(known: destination, requests, responses, samplingRate\); did you mean 'samplingRate'\?$/);
  });

  it('fails if cron options of a schedule have an unknown key', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train', { schedules: [Schedule.cron(withExtra({ hour: 2 }, 'timezone', 'UTC'))] });
    p.addStep('Fit', { image: 'ghcr.io/acme/a:1' });
    expectProblem(env, 'Test/Train', /^unknown property 'timezone' in CronOptions \(known: day, hour, minute, month, timeZone, weekDay\); did you mean 'timeZone'\?$/);
  });

  it('fails if expression options of a schedule have an unknown key', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    p.addSchedule(Schedule.expression('0 2 * * *', withExtra({}, 'zone', 'UTC')));
    p.addStep('Fit', { image: 'ghcr.io/acme/a:1' });
    expectProblem(env, 'Test/Train', /^unknown property 'zone' in ExpressionOptions \(known: timeZone\); remove it or check the spelling$/);
  });

  it('fails if a partitionBy object has an unknown key', () => {
    const env = newEnv();
    new Dataset(env, 'Events', { schema: Schema.of({ ts: Field.timestamp() }), partitionBy: withExtra({ field: 'ts' }, 'granularty', 'day') });
    expectProblem(env, 'Test/Events', /^unknown property 'granularty' in PartitionOptions at partitionBy \(known: field, granularity\); did you mean 'granularity'\?$/);
  });

  it('fails if the options of a nested schema field have an unknown key, naming the field path', () => {
    const env = newEnv();
    new Dataset(env, 'Events', { schema: Schema.of({ ts: Field.timestamp(), payload: Field.struct({ tags: Field.array(Field.string(withExtra({}, 'nulable', false))) }) }) });
    expectProblem(env, 'Test/Events', /^unknown property 'nulable' in FieldOptions at field 'payload\.tags\[\]' \(known: description, nullable\); did you mean 'nullable'\?$/);
  });

  it('fails if the options of a promotion gate have an unknown key', () => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    const p = new Pipeline(env, 'Train');
    const fit = p.addStep('Fit', { image: 'ghcr.io/acme/a:1', outputs: { model: Output.model(), metrics: Output.metrics() } });
    p.addRegisterStep('Register', { artifact: fit.output('model'), metrics: fit.output('metrics'), model, promoteTo: 'champion', when: Metric.greaterThanAlias('auc', 'champion', withExtra({}, 'mindelta', 0.1)) });
    expectProblem(env, 'Test/Train/Register', /^unknown property 'mindelta' in GateOptions at when \(known: minDelta\); did you mean 'minDelta'\?$/);
  });

  it('fails if serving container options have an unknown key', () => {
    const env = newEnv();
    const registry = new ModelRegistry(env, 'Registry');
    registry.addModel('M', { serving: ServingContainer.image('ghcr.io/acme/serve:1', withExtra({ port: 8080 }, 'healthPath', '/h')) });
    expectProblem(env, 'Test/Registry/M', /^unknown property 'healthPath' in ServingContainerOptions at serving \(known: env, healthRoute, port, predictRoute\); remove it or check the spelling$/);
  });

  it('fails if retrain options have an unknown key', () => {
    const env = newEnv();
    const data = smallDataset(env);
    const { model } = smallRegistry(env);
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', { image: 'ghcr.io/acme/a:1' });
    const endpoint = new OnlineEndpoint(env, 'Endpoint', { deployments: [{ name: 'blue', model: model.alias('champion') }], capture: true });
    new DriftMonitor(env, 'Drift', { endpoint, baseline: data, features: ['amount'], onDrift: retrain(p, withExtra({ allowUngatedPromotion: true }, 'cooldwn', 1)) });
    expectProblem(env, 'Test/Drift', /^unknown property 'cooldwn' in RetrainOptions at onDrift \(known: allowUngatedPromotion, cooldown, parameters\); did you mean 'cooldown'\?$/);
  });

  it('fails if customer-managed key options have an unknown key', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Test', { encryption: Encryption.customerManagedKey(withExtra({}, 'keyname', 'k')) });
    expectProblem(env, 'Test', /^unknown property 'keyname' in CustomerManagedKeyOptions at encryption \(known: keyName, rotation\); did you mean 'keyName'\?$/);
  });

  it('fails if parameter options have an unknown key, naming the parameter', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    p.addParameter('epochs', ParameterType.INT, withExtra({ default: 3 }, 'descripton', 'x'));
    p.addStep('Fit', { image: 'ghcr.io/acme/a:1' });
    expectProblem(env, 'Test/Train', /^unknown property 'descripton' in ParameterOptions at parameter 'epochs' \(known: default, description\); did you mean 'description'\?$/);
  });
});

/** Each exported construct, defined with `extra` merged into its props. */
const defineWithExtra: Record<string, (extra: Record<string, unknown>) => { env: MlopsEnvironment; path: string; props: string }> = {
  MlopsEnvironment: (extra) => ({ env: new MlopsEnvironment(new TestRoot(), 'Test', { ...extra }), path: 'Test', props: 'MlopsEnvironmentProps' }),
  Dataset: (extra) => {
    const env = newEnv();
    new Dataset(env, 'D', { schema: Schema.of({ id: Field.string() }), ...extra });
    return { env, path: 'Test/D', props: 'DatasetProps' };
  },
  FeatureTable: (extra) => {
    const env = newEnv();
    new FeatureTable(env, 'F', { source: smallDataset(env), keys: ['id'], features: ['amount'], ...extra });
    return { env, path: 'Test/F', props: 'FeatureTableProps' };
  },
  ComputePool: (extra) => {
    const env = newEnv();
    new ComputePool(env, 'Pool', { ...extra });
    return { env, path: 'Test/Pool', props: 'ComputePoolProps' };
  },
  Pipeline: (extra) => {
    const env = newEnv();
    new Pipeline(env, 'P', { ...extra }).addStep('A', { image: 'ghcr.io/acme/a:1' });
    return { env, path: 'Test/P', props: 'PipelineProps' };
  },
  ContainerStep: (extra) => {
    const env = newEnv();
    new Pipeline(env, 'P').addStep('A', { image: 'ghcr.io/acme/a:1', ...extra });
    return { env, path: 'Test/P/A', props: 'ContainerStepProps' };
  },
  RegisterStep: (extra) => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    const p = new Pipeline(env, 'P');
    const fit = p.addStep('Fit', { image: 'ghcr.io/acme/a:1', outputs: { model: Output.model() } });
    p.addRegisterStep('R', { artifact: fit.output('model'), model, ...extra });
    return { env, path: 'Test/P/R', props: 'RegisterStepProps' };
  },
  ModelRegistry: (extra) => {
    const env = newEnv();
    new ModelRegistry(env, 'Reg', { ...extra });
    return { env, path: 'Test/Reg', props: 'ModelRegistryProps' };
  },
  RegisteredModel: (extra) => {
    const env = newEnv();
    new ModelRegistry(env, 'Reg').addModel('M', { serving: ServingContainer.image('ghcr.io/acme/s:1'), ...extra });
    return { env, path: 'Test/Reg/M', props: 'RegisteredModelProps' };
  },
  OnlineEndpoint: (extra) => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    new OnlineEndpoint(env, 'E', { deployments: [{ name: 'blue', model: model.alias('champion') }], ...extra });
    return { env, path: 'Test/E', props: 'OnlineEndpointProps' };
  },
  BatchInference: (extra) => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    new BatchInference(env, 'B', { model: model.alias('champion'), input: smallDataset(env, 'In'), output: smallDataset(env, 'Out'), ...extra });
    return { env, path: 'Test/B', props: 'BatchInferenceProps' };
  },
  ModelPromotion: (extra) => {
    const env = new MlopsEnvironment(new TestRoot(), 'Test', { stages: { staging: {}, prod: {} } });
    const { model } = smallRegistry(env);
    new ModelPromotion(env, 'Promote', { model, from: 'staging', to: 'prod', ...extra });
    return { env, path: 'Test/Promote', props: 'ModelPromotionProps' };
  },
  DriftMonitor: (extra) => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    const batch = new BatchInference(env, 'B', { model: model.alias('champion'), input: smallDataset(env, 'In'), output: smallDataset(env, 'Out') });
    new DriftMonitor(env, 'Mon', { batch, baseline: smallDataset(env), features: ['amount'], alerts: [Alert.email('a@b.example')], ...extra });
    return { env, path: 'Test/Mon', props: 'DriftMonitorProps' };
  },
  Secret: (extra) => {
    const env = newEnv();
    new Secret(env, 'Key', { ...extra });
    return { env, path: 'Test/Key', props: 'SecretProps' };
  },
};

describe('every exported construct rejects an unknown props key', () => {
  const constructs = Object.entries(lib)
    .filter(([, v]) => typeof v === 'function' && v.prototype instanceof Construct && !Object.is(v, lib.MlResource))
    .map(([name]) => name)
    .sort();

  it('has a case for every exported construct', () => {
    expect(Object.keys(defineWithExtra).sort()).toEqual(constructs);
  });

  for (const name of Object.keys(defineWithExtra)) {
    it(`fails if ${name} props hold an unknown key`, () => {
      const valid = defineWithExtra[name]({});
      expect(problemsOf(valid.env), `${name} without the extra key`).toEqual([]);
      const { env, path, props } = defineWithExtra[name]({ notAProp: true });
      expectProblem(env, path, new RegExp(`^unknown property 'notAProp' in ${props} \\(known: [a-zA-Z, ]+\\); remove it or check the spelling$`));
    });
  }
});

describe('known-key lists', () => {
  it('are checked against the interface by the compiler', () => {
    interface Sample {
      readonly a?: number;
      readonly b: string;
    }
    // @ts-expect-error a key of the interface is missing from the list
    const missing: KnownKeys<Sample> = { a: true };
    // @ts-expect-error the list names a key the interface does not have
    const extra: KnownKeys<Sample> = { a: true, b: true, c: true };
    const exact: KnownKeys<Sample> = { a: true, b: true };
    expect([missing, extra, exact].map((k) => Object.keys(k).length)).toEqual([1, 3, 2]);
  });

  it('suggest by edit distance, counting a swap of neighbours as one edit', () => {
    expect(editDistance('conditon', 'condition')).toBe(1);
    expect(editDistance('maxreplcia', 'maxreplica')).toBe(1);
    expect(editDistance('when', 'env')).toBe(3);
    expect(editDistance('samplerate', 'samplingrate')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
