import type { Construct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import type { Duration } from './core/duration';
import { addProblem, wholeNumberProblem } from './core/errors';
import { ComputePool, renderResources, RESOURCE_OPTIONS_KEYS, type ResourceOptions } from './compute';
import { Dataset } from './dataset';
import type { BatchInferenceModel, PrincipalModel, ResourcesModel } from './model/types';
import { ModelRef } from './registry';
import { MlResource, markGrantable, sameEnvironment, type IGrantable } from './resource';
import type { Schedule } from './schedule';
import { checkKnownProps, type KnownKeys } from './core/props';

/** Properties of a `BatchInference`. */
export interface BatchInferenceProps extends ResourceOptions {
  /** The model version that scores. */
  readonly model: ModelRef;
  /** Dataset to score. */
  readonly input: Dataset;
  /** Dataset receiving the predictions. */
  readonly output: Dataset;
  /**
   * Schedules (applied with `addSchedule`).
   *
   * @default - on demand only
   */
  readonly schedules?: Schedule[];
  /**
   * Compute pool to run on.
   *
   * @default - the target's serverless compute
   */
  readonly compute?: ComputePool;
  /**
   * Parallel workers.
   *
   * @default 1
   */
  readonly instanceCount?: number;
  /**
   * Rows (or files) per mini-batch.
   *
   * @default 100
   */
  readonly miniBatchSize?: number;
  /**
   * Longest time a run may take.
   *
   * @default - the target's maximum
   */
  readonly timeout?: Duration;
  /**
   * Retries of a failed mini-batch.
   *
   * @default 2
   */
  readonly retries?: number;
  /**
   * What the job scores.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `BatchInferenceProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const BATCH_INFERENCE_PROPS_KEYS: KnownKeys<BatchInferenceProps> = { ...RESOURCE_OPTIONS_KEYS, model: true, input: true, output: true, schedules: true, compute: true, instanceCount: true, miniBatchSize: true, timeout: true, retries: true, description: true };

const BRAND = 'BatchInference';

/**
 * Scoring of a dataset with a registered model, on demand or on a schedule.
 *
 * @example
 * new BatchInference(env, 'WeeklyScoring', { model: churn.alias('champion'), input: customers,
 *   output: scores, schedules: [Schedule.cron({ weekDay: 'MON', hour: 3, timeZone: 'Europe/Berlin' })] });
 */
export class BatchInference extends MlResource implements IGrantable {
  /** Whether `x` is a `BatchInference`. */
  public static isBatchInference(x: unknown): x is BatchInference {
    return hasBrand(x, BRAND);
  }

  private readonly props: BatchInferenceProps;
  private readonly schedules: Schedule[] = [];
  private readonly resources: ResourcesModel;

  constructor(scope: Construct, id: string, props: BatchInferenceProps) {
    super(scope, id);
    brand(this, BRAND);
    markGrantable(this);
    this.props = props;
    checkKnownProps(this, 'BatchInferenceProps', props, BATCH_INFERENCE_PROPS_KEYS);
    if (!(props.model instanceof ModelRef)) addProblem(this, `model must be a model reference such as churn.alias('champion')`);
    else {
      for (const p of props.model._problems()) addProblem(this, p);
      if (sameEnvironment(this, 'model registry', props.model.model.registry)) props.model.model.registry._grantImplied(this, 'read');
    }
    for (const [what, ds, access] of [['input', props.input, 'read'], ['output', props.output, 'write']] as const) {
      if (!Dataset.isDataset(ds)) addProblem(this, `${what} must be a Dataset of this environment`);
      else if (sameEnvironment(this, what, ds)) ds._grantImplied(this, access);
    }
    if (props.input !== undefined && props.input === props.output) addProblem(this, `input and output are the same dataset '${props.input.node.path}'; write predictions to a separate dataset`);
    const instances = props.instanceCount ?? 1;
    addProblem(this, wholeNumberProblem('instanceCount', instances, 1, 100));
    if (props.compute !== undefined) {
      if (!ComputePool.isComputePool(props.compute)) addProblem(this, 'compute is not a ComputePool');
      else if (sameEnvironment(this, 'compute', props.compute) && instances > props.compute.maxNodes) {
        addProblem(this, `instanceCount ${instances} exceeds maxNodes ${props.compute.maxNodes} of '${props.compute.node.path}'; lower instanceCount or raise maxNodes`);
      }
    }
    const mb = props.miniBatchSize ?? 100;
    addProblem(this, wholeNumberProblem('miniBatchSize', mb, 1, 100000));
    const retries = props.retries ?? 2;
    addProblem(this, wholeNumberProblem('retries', retries, 0, 10));
    if (props.timeout !== undefined && !(props.timeout.toSeconds() >= 60 && props.timeout.toSeconds() <= 7 * 86400)) addProblem(this, `timeout ${props.timeout.toString()} must be between 1 minute and 7 days`);
    const pool = props.compute && ComputePool.isComputePool(props.compute) ? props.compute._render().node : undefined;
    this.resources = renderResources(this, '', props, pool ?? { cpu: 4, memoryGiB: 16 });
    for (const s of props.schedules ?? []) this.addSchedule(s);
  }

  /** Run the scoring on `schedule`. */
  public addSchedule(schedule: Schedule): void {
    for (const p of schedule._problems()) addProblem(this, p);
    this.schedules.push(schedule);
  }

  /** @internal */
  public _principals(): PrincipalModel[] {
    return [{ kind: 'batchInference', batch: this.node.path }];
  }

  /** @internal */
  public _render(): BatchInferenceModel {
    const p = this.props;
    return {
      kind: 'batchInference',
      path: this.node.path,
      id: this.node.id,
      description: p.description,
      model: p.model._render(),
      input: p.input.node.path,
      output: p.output.node.path,
      compute: p.compute?.node.path,
      resources: this.resources,
      instanceCount: p.instanceCount ?? 1,
      miniBatchSize: p.miniBatchSize ?? 100,
      schedules: this.schedules.map((s) => s._render()),
      timeoutSeconds: p.timeout?.toSeconds(),
      retries: p.retries ?? 2,
    };
  }
}
