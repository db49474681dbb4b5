import type { Construct } from 'constructs';
import {
  Condition, Dataset, Field, Input, Metric, MlopsEnvironment, ModelRegistry, Output, ParameterType, Pipeline, Schema, ServingContainer, renderEnvironment,
  type EnvironmentModel,
} from '../../lib';
import { TestRoot } from './examples';

/**
 * A generated pipeline that exercises every part of the step contract (docs/step-contract.md), for
 * the cross-target tests of the adapters and of `mlplane run`. Its shape is stable: tests may rely
 * on the names below.
 *
 * Environment `Contract`, pipeline `Contract/Train`, parameters `mode` (string, default 'full'),
 * `epochs` (int, default 3), `publish` (bool, default true). Steps, in topological order:
 *
 * - `Prep`: dataset input `raw`, parameter input `mode`; outputs `clean` (dataset), `rows` (int),
 *   `ok` (bool). Uses `{{params.mode}}` in args and in env `PREP_MODE`, placeholders embedded in a
 *   word (`--out={{outputs.clean}}`).
 * - `Fit`: reads `Prep.clean` and parameter `epochs`; output `model`. Condition `Prep.ok == true`
 *   (a parameter-output condition). Env `DATA_DIR={{inputs.data}}`.
 * - `Evaluate`: reads `Fit.model` and `Prep.clean`; output `metrics` (metrics.json). Inherits Fit's
 *   condition.
 * - `Register`: registers `Fit.model` as model `contract` with `Evaluate.metrics`, promotes to
 *   `champion` when `auc > champion + 0.01`.
 * - `Publish`: order-only after `Register` (`dependsOn`, no data); condition
 *   `Evaluate.metrics auc >= 0.8` (a metric condition). Inherits Fit's condition.
 * - `Report`: reads `Prep.rows`; condition `params.publish == true` (a pipeline-parameter
 *   condition); order-only after `Publish`, so it inherits every condition above.
 */
export function defineContractPipeline(scope: Construct): MlopsEnvironment {
  const env = new MlopsEnvironment(scope, 'Contract', { description: 'Step contract fixture' });
  const raw = new Dataset(env, 'Raw', {
    schema: Schema.of({ id: Field.string({ nullable: false }), amount: Field.float(), label: Field.bool() }),
  });
  const registry = new ModelRegistry(env, 'Registry');
  const model = registry.addModel('Contract', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0'), aliases: ['champion'] });

  const train = new Pipeline(env, 'Train', { description: 'Every part of the step contract' });
  const mode = train.addParameter('mode', ParameterType.STRING, { default: 'full' });
  const epochs = train.addParameter('epochs', ParameterType.INT, { default: 3 });
  const publish = train.addParameter('publish', ParameterType.BOOL, { default: true });

  const prep = train.addStep('Prep', {
    image: 'ghcr.io/acme/prep:1.0',
    command: ['python', 'prep.py'],
    args: ['--raw', '{{inputs.raw}}', '--out={{outputs.clean}}', '--rows', '{{outputs.rows}}', '--ok', '{{outputs.ok}}', '--mode', '{{inputs.mode}}', '--run-mode={{params.mode}}'],
    env: { PREP_MODE: '{{params.mode}}', LOG_LEVEL: 'info' },
    inputs: { raw, mode: Input.string(mode) },
    outputs: { clean: Output.dataset(), rows: Output.int(), ok: Output.bool() },
  });
  const fit = train.addStep('Fit', {
    image: 'ghcr.io/acme/fit:1.0',
    command: ['python', 'fit.py'],
    args: ['--data', '{{inputs.data}}', '--epochs', '{{inputs.epochs}}', '--model', '{{outputs.model}}'],
    env: { DATA_DIR: '{{inputs.data}}' },
    inputs: { data: prep.output('clean'), epochs: Input.int(epochs) },
    outputs: { model: Output.model() },
    condition: Condition.output(prep.output('ok')).equals(true),
    retries: 1,
  });
  const evaluate = train.addStep('Evaluate', {
    image: 'ghcr.io/acme/eval:1.0',
    command: ['python', 'evaluate.py'],
    args: ['--model', '{{inputs.model}}', '--test', '{{inputs.test}}', '--metrics', '{{outputs.metrics}}'],
    inputs: { model: Input.model(fit.output('model')), test: prep.output('clean') },
    outputs: { metrics: Output.metrics() },
    caching: false,
  });
  const register = train.addRegisterStep('Register', {
    artifact: fit.output('model'),
    metrics: evaluate.output('metrics'),
    model,
    promoteTo: 'champion',
    when: Metric.greaterThanAlias('auc', 'champion', { minDelta: 0.01 }),
  });
  const publishStep = train.addStep('Publish', {
    image: 'ghcr.io/acme/publish:1.0',
    command: ['python', 'publish.py'],
    args: ['--model-name', 'contract'],
    dependsOn: [register],
    condition: Condition.metric(evaluate.output('metrics'), 'auc').greaterThanOrEqual(0.8),
  });
  train.addStep('Report', {
    image: 'ghcr.io/acme/report:1.0',
    command: ['python', 'report.py'],
    args: ['--rows', '{{inputs.rows}}'],
    inputs: { rows: Input.int(prep.output('rows')) },
    dependsOn: [publishStep],
    condition: Condition.parameter(publish).equals(true),
  });
  return env;
}

/** The contract environment under a bare root. */
export function contractEnvironment(): MlopsEnvironment {
  return defineContractPipeline(new TestRoot());
}

/** The rendered model of the contract environment. */
export function contractModel(): EnvironmentModel {
  return renderEnvironment(contractEnvironment());
}
