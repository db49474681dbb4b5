import { describe, expect, it } from 'vitest';
import {
  Accelerator, Alert, Autoscaling, BatchInference, ComputePool, Dataset, DriftMonitor, Duration, FeatureTable, Field, Input, Metric, MlopsEnvironment,
  ModelRegistry, OnlineEndpoint, Output, ParameterType, Pipeline, Schedule, Schema, ServingContainer, renderEnvironment, retrain,
} from '../../lib';
import { TestRoot } from '../support/examples';
import { expectProblem, expectProblems, newEnv, problemsOf, smallDataset, smallPipeline, smallRegistry } from '../support/fixtures';

describe('pipelines', () => {
  it('fails if steps form a cycle, and prints the cycle', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    const a = p.addStep('A', { image: 'ghcr.io/acme/a:1', outputs: { x: Output.artifact() } });
    const b = p.addStep('B', { image: 'ghcr.io/acme/b:1', inputs: { x: a.output('x') }, outputs: { y: Output.artifact() } });
    const c = p.addStep('C', { image: 'ghcr.io/acme/c:1', inputs: { y: b.output('y') } });
    a.addDependency(c);
    expectProblem(env, 'Test/Train', /^steps form a cycle: (A → B → C → A|B → C → A → B|C → A → B → C); remove one of these dependencies$/);
  });

  it('fails if an input is wired to an output that does not exist', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    const a = p.addStep('Prep', { image: 'ghcr.io/acme/a:1', outputs: { clean: Output.dataset() } });
    p.addStep('Fit', { image: 'ghcr.io/acme/b:1', inputs: { data: a.output('cleaned') } });
    expectProblem(env, 'Test/Train/Fit', /input 'data' is wired to 'Prep\.cleaned', but step 'Prep' has no output 'cleaned' \(outputs: clean\)/);
  });

  it('fails if an input is wired to an output of another type', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    const a = p.addStep('Prep', { image: 'ghcr.io/acme/a:1', outputs: { clean: Output.dataset() } });
    p.addStep('Eval', { image: 'ghcr.io/acme/b:1', inputs: { model: Input.model(a.output('clean')) } });
    expectProblem(env, 'Test/Train/Eval', /input 'model' expects artifact model but 'Prep\.clean' is artifact dataset/);
  });

  it('fails if two steps share a name', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', { image: 'ghcr.io/acme/a:1' });
    expect(() => p.addStep('Fit', { image: 'ghcr.io/acme/b:1' })).toThrow("[Test/Train/Fit] already has a step named 'Fit'; step names are unique within a pipeline: give one of the two steps a different id");
  });

  it('fails if a pipeline has no steps', () => {
    const env = newEnv();
    new Pipeline(env, 'Empty');
    expectProblem(env, 'Test/Empty', /^pipeline has no steps; add one with addStep/);
  });

  it('fails if an image has no tag, or uses latest', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    p.addStep('A', { image: 'ghcr.io/acme/train' });
    p.addStep('B', { image: 'ghcr.io/acme/train:latest' });
    expectProblems(env, [
      ['Test/Train/A', /image 'ghcr\.io\/acme\/train' has no tag or digest.*pin a tag or digest/],
      ['Test/Train/B', /uses the 'latest' tag/],
    ]);
  });

  it('fails if a placeholder names no input of the step', () => {
    const env = newEnv();
    const data = smallDataset(env);
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', { image: 'ghcr.io/acme/a:1', inputs: { data }, args: ['--in', '{{inputs.dta}}'] });
    expectProblem(env, 'Test/Train/Fit', /placeholder '\{\{inputs\.dta\}\}' names no input of this step \(inputs: data\)/);
  });

  it('fails if a step asks for a GPU on a CPU pool', () => {
    const env = newEnv();
    const cpu = new ComputePool(env, 'Cpu');
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', { image: 'ghcr.io/acme/a:1', compute: cpu, accelerator: Accelerator.NVIDIA_T4 });
    expectProblem(env, 'Test/Train/Fit', /asks for accelerator nvidia-t4 but compute 'Test\/Cpu' has none/);
  });

  it('fails if retries are negative', () => {
    const env = newEnv();
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', { image: 'ghcr.io/acme/a:1', retries: -1 });
    expectProblem(env, 'Test/Train/Fit', /^retries -1 is below 0; give a whole number between 0 and 10, e.g. 0$/);
  });

  it('fails if a parameter default has another type', () => {
    const env = newEnv();
    const p = smallPipeline(env, smallDataset(env));
    p.addParameter('epochs', ParameterType.INT, { default: 'ten' });
    expectProblem(env, 'Test/Train', /parameter 'epochs' is int but its default is 'ten'/);
  });

  it('fails if a step input uses a dataset of another environment', () => {
    const root = new TestRoot();
    const a = new MlopsEnvironment(root, 'Alpha');
    const b = new MlopsEnvironment(root, 'Beta');
    const data = smallDataset(a);
    smallPipeline(b, data);
    expectProblem(b, 'Beta/Train/Fit', /input 'data' dataset 'Alpha\/Data' belongs to environment 'Alpha', not 'Beta'/);
  });
});

describe('models and promotion', () => {
  it('fails if promoteTo names an alias the model does not declare', () => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    const p = new Pipeline(env, 'Train');
    const fit = p.addStep('Fit', { image: 'ghcr.io/acme/a:1', outputs: { model: Output.model(), metrics: Output.metrics() } });
    p.addRegisterStep('Register', { artifact: fit.output('model'), metrics: fit.output('metrics'), model, promoteTo: 'production', when: Metric.greaterThanAlias('auc', 'champion') });
    expectProblem(env, 'Test/Train/Register', /promoteTo 'production' is not an alias of model 'm' \(aliases: champion, challenger\)/);
  });

  it('fails if a promotion gate has no metrics to read', () => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    const p = new Pipeline(env, 'Train');
    const fit = p.addStep('Fit', { image: 'ghcr.io/acme/a:1', outputs: { model: Output.model() } });
    p.addRegisterStep('Register', { artifact: fit.output('model'), model, promoteTo: 'champion', when: Metric.greaterThanAlias('auc', 'champion') });
    expectProblem(env, 'Test/Train/Register', /the promotion gate reads metric 'auc' but no metrics output is wired/);
  });

  it('fails if promoteTo is used without a gate', () => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    const p = new Pipeline(env, 'Train');
    const fit = p.addStep('Fit', { image: 'ghcr.io/acme/a:1', outputs: { model: Output.model() } });
    p.addRegisterStep('Register', { artifact: fit.output('model'), model, promoteTo: 'champion' });
    expectProblem(env, 'Test/Train/Register', /promoteTo 'champion' without a gate would promote every candidate/);
  });

  it('fails if the registered artifact is not a model', () => {
    const env = newEnv();
    const { model } = smallRegistry(env);
    const p = new Pipeline(env, 'Train');
    const fit = p.addStep('Fit', { image: 'ghcr.io/acme/a:1', outputs: { model: Output.dataset() } });
    p.addRegisterStep('Register', { artifact: fit.output('model'), model });
    expectProblem(env, 'Test/Train/Register', /artifact 'Fit\.model' is artifact dataset; it must be artifact model/);
  });

  it('fails if two models of a registry share a name', () => {
    const env = newEnv();
    const registry = new ModelRegistry(env, 'Registry');
    registry.addModel('A', { modelName: 'fraud', serving: ServingContainer.image('ghcr.io/acme/s:1') });
    registry.addModel('B', { modelName: 'fraud', serving: ServingContainer.image('ghcr.io/acme/s:1') });
    expectProblem(env, 'Test/Registry', /models 'A' and 'B' share the name 'fraud'/);
  });
});

describe('online endpoints', () => {
  function endpoint(props: Partial<ConstructorParameters<typeof OnlineEndpoint>[2]> & { deploymentsFor?: (m: ReturnType<typeof smallRegistry>['model']) => NonNullable<ConstructorParameters<typeof OnlineEndpoint>[2]>['deployments'] }) {
    const env = newEnv();
    const { model } = smallRegistry(env);
    const { deploymentsFor, ...rest } = props;
    new OnlineEndpoint(env, 'Scoring', {
      deployments: deploymentsFor ? deploymentsFor(model) : [{ name: 'blue', model: model.alias('champion') }, { name: 'green', model: model.alias('challenger') }],
      ...rest,
    });
    return env;
  }

  it('fails if traffic does not sum to 100', () => {
    expectProblem(endpoint({ traffic: { blue: 60, green: 30 } }), 'Test/Scoring', /^traffic must sum to 100, got 90 \(blue=60, green=30\); adjust one deployment$/);
  });

  it('fails if traffic sums to more than 100', () => {
    expectProblem(endpoint({ traffic: { blue: 60, green: 50 } }), 'Test/Scoring', /^traffic must sum to 100, got 110 \(blue=60, green=50\); adjust one deployment$/);
  });

  it('fails if traffic names an unknown deployment', () => {
    expectProblem(endpoint({ traffic: { blue: 90, red: 10 } }), 'Test/Scoring', /traffic names deployment 'red', which does not exist \(deployments: blue, green\)/);
  });

  it('fails if more than 50% of traffic is mirrored', () => {
    expectProblem(endpoint({ traffic: { blue: 100 }, mirrorTraffic: { green: 60 } }), 'Test/Scoring', /mirrorTraffic for 'green' is 60; mirror at most 50 percent of traffic/);
  });

  it('fails if the mirrored shares of several deployments total more than 50%, once', () => {
    const env = endpoint({
      deploymentsFor: (m) => ['blue', 'green', 'red'].map((name) => ({ name, model: m.alias('champion') })),
      traffic: { blue: 100, green: 0, red: 0 },
      mirrorTraffic: { green: 30, red: 30 },
    });
    expectProblem(env, 'Test/Scoring', /^mirrorTraffic totals 60%; at most 50% of traffic can be mirrored$/);
  });

  it('fails if traffic is mirrored to a deployment that already serves live traffic', () => {
    expectProblem(endpoint({ traffic: { blue: 90, green: 10 }, mirrorTraffic: { green: 10 } }), 'Test/Scoring', /deployment 'green' receives 10% live traffic and 10% mirrored traffic/);
  });

  it('fails if minReplicas is greater than maxReplicas', () => {
    const env = endpoint({ deploymentsFor: (m) => [{ name: 'blue', model: m.alias('champion'), minReplicas: 4, maxReplicas: 2 }] });
    expectProblem(env, 'Test/Scoring', /deployment 'blue': minReplicas 4 is greater than maxReplicas 2/);
  });

  it('fails if two deployments share a name', () => {
    const env = endpoint({ deploymentsFor: (m) => [{ name: 'blue', model: m.alias('champion') }, { name: 'blue', model: m.alias('challenger') }], traffic: { blue: 100 } });
    expectProblem(env, 'Test/Scoring', /deployment name 'blue' is used twice/);
  });

  it('fails if a deployment serves an alias the model does not declare', () => {
    const env = endpoint({ deploymentsFor: (m) => [{ name: 'blue', model: m.alias('production') }] });
    expectProblem(env, 'Test/Scoring', /deployment 'blue': model 'm' has no alias 'production' \(aliases: champion, challenger\)/);
  });

  it('fails if an endpoint has no deployments', () => {
    const env = newEnv();
    new OnlineEndpoint(env, 'Scoring');
    expectProblem(env, 'Test/Scoring', /^endpoint has no deployments/);
  });

  it('fails if the autoscaling target is outside 10-95%', () => {
    const env = endpoint({ deploymentsFor: (m) => [{ name: 'blue', model: m.alias('champion'), autoscaling: Autoscaling.cpu(120) }] });
    expectProblem(env, 'Test/Scoring', /deployment 'blue': autoscaling CPU target 120 must be a whole percentage between 10 and 95/);
  });
});

describe('compute', () => {
  it('fails if minNodes is greater than maxNodes', () => {
    const env = newEnv();
    new ComputePool(env, 'Gpu', { minNodes: 5, maxNodes: 2 });
    expectProblem(env, 'Test/Gpu', /^minNodes 5 is greater than maxNodes 2; lower minNodes or raise maxNodes$/);
  });

  it('fails if minNodes is negative', () => {
    const env = newEnv();
    new ComputePool(env, 'Gpu', { minNodes: -1 });
    expectProblem(env, 'Test/Gpu', /^minNodes -1 is below 0; give a whole number ≥ 0; use 0 to scale to zero$/);
  });

  it('fails if an accelerator count is not a power of two', () => {
    const env = newEnv();
    new ComputePool(env, 'Gpu', { accelerator: Accelerator.NVIDIA_A100, acceleratorCount: 3 });
    expectProblem(env, 'Test/Gpu', /acceleratorCount 3 is not allowed; use 1, 2, 4, 8 or 16/);
  });
});

describe('schedules', () => {
  it('fails if a cron expression has six fields', () => {
    const env = newEnv();
    const p = smallPipeline(env, smallDataset(env));
    p.addSchedule(Schedule.expression('0 0 2 * * *'));
    expectProblem(env, 'Test/Train', /cron '0 0 2 \* \* \*' has 6 fields; use five: minute hour day-of-month month day-of-week/);
  });

  it('fails if a cron field is out of range', () => {
    const env = newEnv();
    const p = smallPipeline(env, smallDataset(env));
    p.addSchedule(Schedule.cron({ hour: 25 }));
    expectProblem(env, 'Test/Train', /cron '0 25 \* \* \*': hour '25' is not valid; use \*, a number 0-23/);
  });

  it('fails if the time zone is not an IANA name', () => {
    const env = newEnv();
    const p = smallPipeline(env, smallDataset(env));
    p.addSchedule(Schedule.cron({ hour: 2, timeZone: 'Amsterdam' }));
    expectProblem(env, 'Test/Train', /time zone 'Amsterdam' is not an IANA time zone name; use 'UTC' or an Area\/Location name such as 'Europe\/Amsterdam'/);
  });

  it('fails if the time zone is shaped like an IANA name but unknown to the runtime, on every schedule that names it', () => {
    // Whether the runtime knows a zone is asked once per name (lib/schedule.ts); the answer must hold for every use.
    const env = newEnv();
    const data = smallDataset(env);
    const p = smallPipeline(env, data);
    p.addSchedule(Schedule.cron({ hour: 2, timeZone: 'Europe/Atlantis' }));
    p.addSchedule(Schedule.cron({ hour: 3, timeZone: 'Europe/Atlantis' }));
    const problems = problemsOf(env).filter((x) => x.path === 'Test/Train' && x.message.includes("'Europe/Atlantis'"));
    expect(problems.map((x) => x.message)).toEqual([
      expect.stringMatching(/^time zone 'Europe\/Atlantis' is not an IANA time zone name; use 'UTC' or an Area\/Location name/),
      expect.stringMatching(/^time zone 'Europe\/Atlantis' is not an IANA time zone name; use 'UTC' or an Area\/Location name/),
    ]);
  });

  it('accepts zones the runtime knows but does not list as canonical (current names and links such as Asia/Kolkata, US/Pacific)', () => {
    // The runtime's list of canonical zones answers first (lib/schedule.ts); a name it leaves out is
    // asked of Intl.DateTimeFormat, so these stay accepted as they were before the list was used.
    const env = newEnv();
    const p = smallPipeline(env, smallDataset(env));
    const names = ['Asia/Kolkata', 'US/Pacific', 'Europe/Kyiv', 'Europe/Amsterdam'];
    expect(names.filter((z) => !Intl.supportedValuesOf('timeZone').includes(z)).length).toBeGreaterThan(0);
    for (const [i, timeZone] of names.entries()) p.addSchedule(Schedule.cron({ hour: i, timeZone }));
    expect(problemsOf(env).filter((x) => x.message.includes('time zone'))).toEqual([]);
  });

  it('fails if a rate is shorter than a minute', () => {
    const env = newEnv();
    const p = smallPipeline(env, smallDataset(env));
    p.addSchedule(Schedule.rate(Duration.seconds(30)));
    expectProblem(env, 'Test/Train', /schedule rate 30 seconds must be a whole number of minutes, at least 1 minute/);
  });
});

describe('datasets and feature tables', () => {
  it('fails if a column name is invalid', () => {
    const env = newEnv();
    new Dataset(env, 'Data', { schema: Schema.of({ 'amount-eur': Field.float() }) });
    expectProblem(env, 'Test/Data', /schema field 'amount-eur' is not a valid column name/);
  });

  it('fails if two columns differ only in case', () => {
    const env = newEnv();
    new Dataset(env, 'Data', { schema: Schema.of({ amount: Field.float(), Amount: Field.float() }) });
    expectProblem(env, 'Test/Data', /schema field 'Amount' duplicates 'amount' \(column names are compared case-insensitively\)/);
  });

  it('fails if a nested struct field duplicates another', () => {
    const env = newEnv();
    new Dataset(env, 'Data', { schema: Schema.of({ geo: Field.struct({ lat: Field.float(), LAT: Field.float() }) }) });
    expectProblem(env, 'Test/Data', /schema field 'geo\.LAT' duplicates 'geo\.lat'/);
  });

  it('fails if a dataset is partitioned by a non-time column', () => {
    const env = newEnv();
    new Dataset(env, 'Data', { schema: Schema.of({ amount: Field.float() }), partitionBy: { field: 'amount' } });
    expectProblem(env, 'Test/Data', /partitionBy field 'amount' has type float; partition by a timestamp or date column/);
  });

  it('fails if clusterBy names an unknown column', () => {
    const env = newEnv();
    new Dataset(env, 'Data', { schema: Schema.of({ id: Field.string() }), clusterBy: ['customer'] });
    expectProblem(env, 'Test/Data', /clusterBy column 'customer' is not in the schema \(columns: id\)/);
  });

  it('fails if a feature table key is not a column of its source', () => {
    const env = newEnv();
    const data = smallDataset(env);
    new FeatureTable(env, 'Features', { source: data, keys: ['customerId'], features: ['amount'] });
    expectProblem(env, 'Test/Features', /key 'customerId' is not a column of 'Test\/Data' \(columns: id, amount, category, ts, tags\)/);
  });
});

describe('monitors', () => {
  function monitorEnv(props: Record<string, unknown>, capture = true) {
    const env = newEnv();
    const data = smallDataset(env);
    const { model } = smallRegistry(env);
    const endpoint = new OnlineEndpoint(env, 'Scoring', { deployments: [{ name: 'blue', model: model.alias('champion') }], capture });
    new DriftMonitor(env, 'Drift', { endpoint, baseline: data, features: ['amount'], ...props } as never);
    return { env, data, model };
  }

  it('fails if a threshold is outside [0, 1]', () => {
    const { env } = monitorEnv({ features: { amount: 1.5 } });
    expectProblem(env, 'Test/Drift', /^threshold for feature 'amount' is 1\.5, outside \[0, 1\]; use e\.g\. 0\.15$/);
  });

  it('fails if the baseline schema lacks a monitored feature', () => {
    const { env } = monitorEnv({ features: ['amount', 'merchant'] });
    expectProblem(env, 'Test/Drift', /feature 'merchant' is not in the schema of baseline 'Test\/Data' \(columns: id, amount, category, ts, tags\)/);
  });

  it('fails if the monitored endpoint does not capture requests', () => {
    const { env } = monitorEnv({}, false);
    expectProblem(env, 'Test/Drift', /endpoint 'Test\/Scoring' does not capture requests, so there is no production data to monitor; set capture: true/);
  });

  it('fails if the retrain target is a pipeline of another environment', () => {
    const root = new TestRoot();
    const other = new MlopsEnvironment(root, 'Other');
    const otherPipeline = smallPipeline(other, smallDataset(other));
    const env = new MlopsEnvironment(root, 'Test');
    const data = smallDataset(env);
    const { model } = smallRegistry(env);
    const endpoint = new OnlineEndpoint(env, 'Scoring', { deployments: [{ name: 'blue', model: model.alias('champion') }], capture: true });
    new DriftMonitor(env, 'Drift', { endpoint, baseline: data, features: ['amount'], onDrift: retrain(otherPipeline) });
    expectProblem(env, 'Test/Drift', /onDrift retrains 'Other\/Train' of environment 'Other'; retrain a pipeline of 'Test'/);
  });

  it('fails if the retrain pipeline has no gated register step', () => {
    const env = newEnv();
    const data = smallDataset(env);
    const train = smallPipeline(env, data);
    const { model } = smallRegistry(env);
    const endpoint = new OnlineEndpoint(env, 'Scoring', { deployments: [{ name: 'blue', model: model.alias('champion') }], capture: true });
    new DriftMonitor(env, 'Drift', { endpoint, baseline: data, features: ['amount'], onDrift: retrain(train) });
    expectProblem(env, 'Test/Drift', /onDrift retrains 'Test\/Train', which has no register step with a promotion gate/);
  });

  it('fails if a webhook URL carries a credential', () => {
    const { env } = monitorEnv({ alerts: [Alert.webhook('https://hooks.example.com/x?token=s3cr3t')] });
    const problems = problemsOf(env).filter((p) => p.path === 'Test/Drift');
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/alert webhook URL for host 'hooks\.example\.com' carries credentials/)]);
    expect(JSON.stringify(problems)).not.toContain('s3cr3t');
  });

  it('fails if both an endpoint and a batch job are monitored', () => {
    const env = newEnv();
    const data = smallDataset(env);
    const out = smallDataset(env, 'Out');
    const { model } = smallRegistry(env);
    const endpoint = new OnlineEndpoint(env, 'Scoring', { deployments: [{ name: 'blue', model: model.alias('champion') }], capture: true });
    const batch = new BatchInference(env, 'Batch', { model: model.alias('champion'), input: data, output: out });
    new DriftMonitor(env, 'Drift', { endpoint, batch, baseline: data, features: ['amount'] });
    expectProblem(env, 'Test/Drift', /set exactly one of endpoint and batch \(got 2\)/);
  });
});

describe('batch inference and environments', () => {
  it('fails if a batch job writes to its input', () => {
    const env = newEnv();
    const data = smallDataset(env);
    const { model } = smallRegistry(env);
    new BatchInference(env, 'Batch', { model: model.alias('champion'), input: data, output: data });
    expectProblem(env, 'Test/Batch', /input and output are the same dataset 'Test\/Data'; write predictions to a separate dataset/);
  });

  it('fails if a tag uses the reserved mlplane prefix', () => {
    const env = newEnv('Test', { tags: { 'mlplane-env': 'x' } });
    expectProblem(env, 'Test', /tag key 'mlplane-env' uses the reserved prefix 'mlplane'/);
  });

  it('reports every problem of the tree at once, sorted by path', () => {
    const env = newEnv();
    new ComputePool(env, 'Gpu', { minNodes: 5, maxNodes: 2 });
    new Pipeline(env, 'Empty');
    new Dataset(env, 'Data', { schema: Schema.of({ 'bad name': Field.string() }) });
    let message = '';
    try {
      renderEnvironment(env);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'Validation failed with 3 problems:',
      expect.stringMatching(/^ {2}\[Test\/Data\] schema field 'bad name'/),
      expect.stringMatching(/^ {2}\[Test\/Empty\] pipeline has no steps/),
      expect.stringMatching(/^ {2}\[Test\/Gpu\] minNodes 5 is greater than maxNodes 2/),
    ]);
  });
});
