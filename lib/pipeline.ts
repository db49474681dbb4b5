import { Construct, type IConstruct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import type { Duration } from './core/duration';
import { addProblem, checkedId, durationProblem, show, ValidationError, wholeNumberProblem } from './core/errors';
import { renderResources, ComputePool, RESOURCE_OPTIONS_KEYS, type ResourceOptions } from './compute';
import { Dataset } from './dataset';
import type {
  ArtifactTypeName,
  ConditionOperandModel,
  ConditionOperatorName,
  ContainerStepModel,
  InputSourceModel,
  IoTypeModel,
  ParameterTypeName,
  PipelineModel,
  PipelineParameterModel,
  PrincipalModel,
  RegisterStepModel,
  ResourcesModel,
  StepConditionModel,
  StepInputModel,
  StepModel,
} from './model/types';
import { stableStringify } from './model/stable-json';
import { type Metric, RegisteredModel, imageProblems } from './registry';
import { MlResource, markGrantable, sameEnvironment, type IGrantable } from './resource';
import type { Schedule } from './schedule';
import { checkKnownProps, type KnownKeys } from './core/props';
import { secretLiteralProblems, splitEnv, type EnvValue, type Secret } from './secret';

/** Type of a parameter (a small JSON value passed by value). */
export enum ParameterType {
  STRING = 'string',
  INT = 'int',
  FLOAT = 'float',
  BOOL = 'bool',
}

/** Type of an artifact (a file or directory passed by reference). */
export enum ArtifactType {
  DATASET = 'dataset',
  MODEL = 'model',
  METRICS = 'metrics',
  ARTIFACT = 'artifact',
}

function describeType(t: IoTypeModel): string {
  return `${t.kind} ${t.type}`;
}

function sameType(a: IoTypeModel, b: IoTypeModel): boolean {
  return a.kind === b.kind && a.type === b.type;
}

/**
 * A step output declaration.
 *
 * @example outputs: { model: Output.model(), auc: Output.float() }
 */
export class Output {
  /** A tabular dataset artifact. */
  public static dataset(): Output {
    return new Output({ kind: 'artifact', type: 'dataset' });
  }
  /** A model artifact. */
  public static model(): Output {
    return new Output({ kind: 'artifact', type: 'model' });
  }
  /** An evaluation metrics artifact (JSON of metric name → number). */
  public static metrics(): Output {
    return new Output({ kind: 'artifact', type: 'metrics' });
  }
  /** Any other file or directory. */
  public static artifact(): Output {
    return new Output({ kind: 'artifact', type: 'artifact' });
  }
  /** A string parameter. */
  public static string(): Output {
    return new Output({ kind: 'parameter', type: 'string' });
  }
  /** An integer parameter. */
  public static int(): Output {
    return new Output({ kind: 'parameter', type: 'int' });
  }
  /** A floating-point parameter. */
  public static float(): Output {
    return new Output({ kind: 'parameter', type: 'float' });
  }
  /** A boolean parameter. */
  public static bool(): Output {
    return new Output({ kind: 'parameter', type: 'bool' });
  }

  private constructor(public readonly type: IoTypeModel) {}
}

/** A reference to a named output of a step, used to wire it into another step. */
export class StepOutput {
  /** Whether `x` is a `StepOutput`. */
  public static isStepOutput(x: unknown): x is StepOutput {
    return hasBrand(x, 'StepOutput');
  }

  /** @internal */
  constructor(
    public readonly step: ContainerStep,
    public readonly name: string,
  ) {
    brand(this, 'StepOutput');
  }

  /** The declared type, or undefined when the step declares no such output. */
  public get type(): IoTypeModel | undefined {
    return this.step._outputType(this.name);
  }

  public toString(): string {
    return `${this.step.node.id}.${this.name}`;
  }
}

/** A typed pipeline parameter, supplied per run (defaults apply to scheduled runs). */
export class PipelineParameter {
  /** Whether `x` is a `PipelineParameter`. */
  public static isPipelineParameter(x: unknown): x is PipelineParameter {
    return hasBrand(x, 'PipelineParameter');
  }

  /** @internal */
  constructor(
    public readonly pipeline: Pipeline,
    public readonly name: string,
    public readonly type: ParameterTypeName,
    /** @internal */ public readonly _model: PipelineParameterModel,
  ) {
    brand(this, 'PipelineParameter');
  }
}

type Source = Dataset | StepOutput | PipelineParameter | string | number | boolean;

/**
 * A step input with a declared type, checked against what is wired into it.
 *
 * @example inputs: { train: Input.dataset(split.output('train')), epochs: Input.int(epochs) }
 */
export class Input {
  /** A dataset artifact input. */
  public static dataset(source: Dataset | StepOutput): Input {
    return new Input(source, { kind: 'artifact', type: 'dataset' });
  }
  /** A model artifact input. */
  public static model(source: StepOutput): Input {
    return new Input(source, { kind: 'artifact', type: 'model' });
  }
  /** A metrics artifact input. */
  public static metrics(source: StepOutput): Input {
    return new Input(source, { kind: 'artifact', type: 'metrics' });
  }
  /** A generic artifact input. */
  public static artifact(source: StepOutput): Input {
    return new Input(source, { kind: 'artifact', type: 'artifact' });
  }
  /** A string parameter input. */
  public static string(source: StepOutput | PipelineParameter | string): Input {
    return new Input(source, { kind: 'parameter', type: 'string' });
  }
  /** An integer parameter input. */
  public static int(source: StepOutput | PipelineParameter | number): Input {
    return new Input(source, { kind: 'parameter', type: 'int' });
  }
  /** A float parameter input. */
  public static float(source: StepOutput | PipelineParameter | number): Input {
    return new Input(source, { kind: 'parameter', type: 'float' });
  }
  /** A boolean parameter input. */
  public static bool(source: StepOutput | PipelineParameter | boolean): Input {
    return new Input(source, { kind: 'parameter', type: 'bool' });
  }

  private constructor(
    /** @internal */ public readonly _source: Source,
    /** @internal */ public readonly _declared: IoTypeModel,
  ) {}
}

/** A value a condition compares with. */
export type ConditionValue = string | number | boolean;

/**
 * What a condition reads: a parameter output of an upstream step, one metric of an upstream
 * step's metrics output, or a pipeline parameter. Compare it with a value to get a `Condition`.
 *
 * @example Condition.metric(evaluate.output('metrics'), 'auc').greaterThan(0.8)
 */
export class ConditionOperand {
  /** Whether `x` is a `ConditionOperand`. */
  public static isConditionOperand(x: unknown): x is ConditionOperand {
    return hasBrand(x, 'ConditionOperand');
  }

  /** @internal */
  constructor(
    /** @internal */ public readonly _source: { readonly kind: 'stepOutput'; readonly output: StepOutput } | { readonly kind: 'metric'; readonly output: StepOutput; readonly metric: string } | { readonly kind: 'parameter'; readonly parameter: PipelineParameter },
  ) {
    brand(this, 'ConditionOperand');
  }

  /** Holds when the operand equals `value`. */
  public equals(value: ConditionValue): Condition {
    return new Condition(this, '==', value);
  }
  /** Holds when the operand differs from `value`. */
  public notEquals(value: ConditionValue): Condition {
    return new Condition(this, '!=', value);
  }
  /** Holds when the operand is less than `value` (ints, floats and metrics only). */
  public lessThan(value: number): Condition {
    return new Condition(this, '<', value);
  }
  /** Holds when the operand is less than or equal to `value` (ints, floats and metrics only). */
  public lessThanOrEqual(value: number): Condition {
    return new Condition(this, '<=', value);
  }
  /** Holds when the operand is greater than `value` (ints, floats and metrics only). */
  public greaterThan(value: number): Condition {
    return new Condition(this, '>', value);
  }
  /** Holds when the operand is greater than or equal to `value` (ints, floats and metrics only). */
  public greaterThanOrEqual(value: number): Condition {
    return new Condition(this, '>=', value);
  }

  /** The step whose output this operand reads, if any. @internal */
  public get _step(): ContainerStep | undefined {
    return this._source.kind !== 'parameter' && StepOutput.isStepOutput(this._source.output) ? this._source.output.step : undefined;
  }

  /** How the operand reads, for messages. */
  public toString(): string {
    const s = this._source;
    if (s.kind === 'parameter') return `parameter '${s.parameter.name}'`;
    if (s.kind === 'metric') return `metric '${s.metric}' of '${s.output}'`;
    return `'${s.output}'`;
  }
}

/**
 * A run-time condition on a step: the step runs only when it holds, otherwise the step and every
 * step downstream of it are skipped (the run still succeeds). See docs/step-contract.md.
 *
 * @example
 * pipeline.addStep('Deploy', { image: 'ghcr.io/acme/deploy:1.0',
 *   condition: Condition.metric(evaluate.output('metrics'), 'auc').greaterThan(0.8) });
 */
export class Condition {
  /** Compare a parameter output of an upstream step (`Output.bool()`, `Output.int()`, ...). */
  public static output(output: StepOutput): ConditionOperand {
    return new ConditionOperand({ kind: 'stepOutput', output });
  }
  /** Compare one metric of an upstream step's metrics output (`Output.metrics()`, read from its `metrics.json`). */
  public static metric(output: StepOutput, metric: string): ConditionOperand {
    return new ConditionOperand({ kind: 'metric', output, metric });
  }
  /** Compare a pipeline (run) parameter. */
  public static parameter(parameter: PipelineParameter): ConditionOperand {
    return new ConditionOperand({ kind: 'parameter', parameter });
  }
  /** Whether `x` is a `Condition`. */
  public static isCondition(x: unknown): x is Condition {
    return hasBrand(x, 'Condition');
  }

  /** @internal */
  constructor(
    /** @internal */ public readonly _operand: ConditionOperand,
    /** @internal */ public readonly _op: ConditionOperatorName,
    /** @internal */ public readonly _value: ConditionValue,
  ) {
    brand(this, 'Condition');
  }

  /** The condition as it reads, for messages. */
  public toString(): string {
    return `${this._operand} ${this._op} ${show(this._value)}`;
  }

  /** @internal Problems of this condition on `step`; empty when it can be rendered. */
  public _problems(step: StepBase): string[] {
    const s = ConditionOperand.isConditionOperand(this._operand) ? this._operand._source : undefined;
    if (!s) return [`condition operand ${show(String(this._operand))} is not understood; use Condition.output(...), Condition.metric(...) or Condition.parameter(...)`];
    const problems: string[] = [];
    let type: ParameterTypeName | 'metric' | undefined;
    if (s.kind === 'parameter') {
      if (!PipelineParameter.isPipelineParameter(s.parameter)) return [`condition operand ${show(String(s.parameter))} is not a pipeline parameter; pass one defined with pipeline.addParameter(...)`];
      if (s.parameter.pipeline !== step.pipeline) return [`condition reads parameter '${s.parameter.name}' of pipeline '${s.parameter.pipeline.node.path}'; use a parameter of '${step.pipeline.node.path}'`];
      type = s.parameter.type;
    } else {
      const o = s.output;
      if (!StepOutput.isStepOutput(o)) return [`condition operand ${show(String(o))} is not a step output; pass one such as check.output('ok')`];
      if (o.step.pipeline !== step.pipeline) return [`condition reads '${o.step.node.path}' of another pipeline; conditions read outputs of '${step.pipeline.node.path}'`];
      if (o.step === (step as StepBase)) return [`condition reads this step's own output '${o.name}'; a condition reads an upstream step's output`];
      const t = o.type;
      const outs = o.step._outputNames();
      if (s.kind === 'stepOutput') {
        if (!t) return [`condition reads '${o}', but step '${o.step.node.id}' has no output '${o.name}' (outputs: ${outs.join(', ') || 'none'}); declare it or fix the name`];
        if (t.kind !== 'parameter') return [`condition reads '${o}', which is ${describeType(t)}; Condition.output reads a parameter output (Output.bool(), Output.int(), Output.float(), Output.string()); for metrics use Condition.metric(${o.step.node.id}.output('${o.name}'), '<metric>')`];
        type = t.type;
      } else {
        if (!t) return [`condition reads metric '${s.metric}' of '${o}', but step '${o.step.node.id}' has no output '${o.name}' (outputs: ${outs.join(', ') || 'none'}); declare it or fix the name`];
        if (!sameType(t, { kind: 'artifact', type: 'metrics' })) return [`condition reads metric '${s.metric}' of '${o}', which is ${describeType(t)}; Condition.metric reads a metrics output (Output.metrics())`];
        if (typeof s.metric !== 'string' || !METRIC_NAME.test(s.metric)) problems.push(`condition metric ${show(s.metric)} must be a metric name of letters, digits, '_', '.', '-'`);
        type = 'metric';
      }
    }
    const v = this._value;
    const ordering = this._op !== '==' && this._op !== '!=';
    if (ordering && (type === 'string' || type === 'bool')) {
      problems.push(`condition '${this}' orders a ${type} operand; ${type}s compare with equals or notEquals only`);
    } else if (typeof v === 'number' && !Number.isFinite(v)) {
      problems.push(`condition value ${show(v)} must be a finite number`);
    } else if (!valueFits(type, v)) {
      const want = type === 'metric' ? 'a number (metric)' : type === 'int' ? 'a whole number (int)' : type === 'float' ? 'a number (float)' : `a ${type}`;
      problems.push(`condition compares ${this._operand} with ${show(v)} (${typeof v}); it needs ${want}`);
    }
    return problems;
  }

  /** @internal */
  public _render(declaredOn: string): StepConditionModel {
    const s = this._operand._source;
    let operand: ConditionOperandModel;
    if (s.kind === 'parameter') operand = { kind: 'parameter', parameter: s.parameter.name, type: s.parameter.type };
    else if (s.kind === 'metric') operand = { kind: 'metric', step: s.output.step.node.id, output: s.output.name, metric: s.metric };
    else operand = { kind: 'stepOutput', step: s.output.step.node.id, output: s.output.name, type: s.output.type?.kind === 'parameter' ? s.output.type.type : 'string' };
    return { operand, op: this._op, value: this._value, declaredOn };
  }
}

const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;

function valueFits(type: ParameterTypeName | 'metric' | undefined, v: unknown): boolean {
  switch (type) {
    case 'bool':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'float':
    case 'metric':
      return typeof v === 'number';
    case undefined:
      return false;
  }
}

/** What can be wired into a step input. */
export type InputValue = Input | Dataset | StepOutput | PipelineParameter | string | number | boolean;

/** Settings common to every step. */
export interface StepOptions {
  /**
   * Extra upstream steps (beyond those implied by input wiring).
   *
   * @default - only the steps whose outputs are inputs
   */
  readonly dependsOn?: Step[];
  /**
   * Retries after a failure.
   *
   * @default 0
   */
  readonly retries?: number;
  /**
   * Longest time one attempt may run.
   *
   * @default - the target's maximum
   */
  readonly timeout?: Duration;
  /**
   * Run the step only when this holds; otherwise skip it and every step downstream of it.
   *
   * The step also inherits the conditions of every upstream step. The step whose output the
   * condition reads becomes an upstream step (a data edge).
   *
   * @default - always run (unless an upstream step is skipped)
   */
  readonly condition?: Condition;
}

/** @internal The keys of `StepOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
export const STEP_OPTIONS_KEYS: KnownKeys<StepOptions> = { dependsOn: true, retries: true, timeout: true, condition: true };

/**
 * Properties of a container step.
 *
 * What the container receives for each input, output, parameter and metric, what its exit code
 * means, and how conditions and order-only dependencies behave is the same on every target and
 * is defined in docs/step-contract.md.
 *
 * @see docs/step-contract.md
 */
export interface ContainerStepProps extends StepOptions, ResourceOptions {
  /** Container image reference with a pinned tag or digest. */
  readonly image: string;
  /**
   * Entrypoint (an argv list, no shell); may use `{{inputs.<name>}}`, `{{outputs.<name>}}` and
   * `{{params.<name>}}` placeholders (see docs/step-contract.md). Give it for portability: Azure ML
   * never runs the image's entrypoint, so synth for azure fails without it.
   *
   * @default - the image's entrypoint
   */
  readonly command?: string[];
  /**
   * Arguments; may use the same placeholders as `command`.
   *
   * @default []
   */
  readonly args?: string[];
  /**
   * Environment variables: literal text (which may use the same placeholders as `command`), or a
   * `Secret`, resolved by the platform when the step starts and readable by this step's identity
   * only. A literal that looks like a credential (by its name or its value) fails synth: literals
   * land in pipeline definitions.
   *
   * @default - none
   */
  readonly env?: Record<string, EnvValue>;
  /**
   * Inputs by name.
   *
   * @default - no inputs
   */
  readonly inputs?: Record<string, InputValue>;
  /**
   * Outputs by name.
   *
   * @default - no outputs
   */
  readonly outputs?: Record<string, Output>;
  /**
   * Compute pool to run on.
   *
   * @default - the target's serverless compute
   */
  readonly compute?: ComputePool;
  /**
   * Reuse the result of an earlier run with identical inputs.
   *
   * @default true
   */
  readonly caching?: boolean;
}

/** @internal The keys of `ContainerStepProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const CONTAINER_STEP_PROPS_KEYS: KnownKeys<ContainerStepProps> = { ...STEP_OPTIONS_KEYS, ...RESOURCE_OPTIONS_KEYS, image: true, command: true, args: true, env: true, inputs: true, outputs: true, compute: true, caching: true };

/** Properties of a register step. */
export interface RegisterStepProps extends StepOptions {
  /** The model artifact to register: an output of type model. */
  readonly artifact: StepOutput;
  /** The registered model that receives the new version. */
  readonly model: RegisteredModel;
  /**
   * Evaluation metrics artifact holding the gate's metric. Required with `when`.
   *
   * @default - no metrics
   */
  readonly metrics?: StepOutput;
  /**
   * Alias moved to the new version when the gate passes.
   *
   * @default - register the version without moving an alias
   */
  readonly promoteTo?: string;
  /**
   * Promotion gate.
   *
   * @default - promote unconditionally (only allowed without `promoteTo`, or with a fixed-value gate)
   */
  readonly when?: Metric;
}

/** @internal The keys of `RegisterStepProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const REGISTER_STEP_PROPS_KEYS: KnownKeys<RegisterStepProps> = { ...STEP_OPTIONS_KEYS, artifact: true, model: true, metrics: true, promoteTo: true, when: true };

/** A pipeline step. */
export type Step = ContainerStep | RegisterStep;

abstract class StepBase extends Construct implements IGrantable {
  public readonly pipeline: Pipeline;
  protected readonly explicitDeps: Step[] = [];
  protected readonly options: StepOptions;

  constructor(pipeline: Pipeline, id: string, options: StepOptions) {
    super(pipeline, checkedId(pipeline, id, 'step'));
    markGrantable(this);
    this.pipeline = pipeline;
    this.options = options;
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(id)) addProblem(this, `step name ${show(id)} must be 1-63 letters, digits, '_' or '-' starting with a letter; rename the step`);
    const retries = options.retries ?? 0;
    addProblem(this, wholeNumberProblem('retries', retries, 0, 10));
    if (options.timeout !== undefined) {
      addProblem(this, durationProblem('timeout', options.timeout.toString(), options.timeout.toSeconds(), 60, 7 * 86400, '1 minute and 7 days', 'Duration.hours(2)'));
    }
    for (const d of options.dependsOn ?? []) this.addDependency(d);
    this.node.addValidation({ validate: () => this.conditionProblems() });
  }

  /** Run this step only after `step`. */
  public addDependency(step: Step): void {
    if (!isStep(step)) {
      addProblem(this, `dependsOn ${show(String(step))} is not a step; pass a step of the same pipeline`);
      return;
    }
    if (step.pipeline !== this.pipeline) {
      addProblem(this, `depends on '${step.node.path}' of another pipeline; dependencies stay within '${this.pipeline.node.path}'`);
      return;
    }
    if (!this.explicitDeps.includes(step)) this.explicitDeps.push(step);
  }

  /** @internal */
  public _principals(): PrincipalModel[] {
    return [{ kind: 'step', pipeline: this.pipeline.node.path, step: this.node.id }];
  }

  /** @internal Upstream steps: explicit plus implied by wiring. */
  public abstract _upstream(): Step[];

  /** @internal Upstream steps that feed this step data (inputs, register sources, the condition's operand). */
  public abstract _dataUpstream(): Step[];

  private conditionProblems(): string[] {
    const condition = this.options.condition;
    if (condition === undefined) return [];
    if (!Condition.isCondition(condition)) return [`condition ${show(String(condition))} is not a Condition; use Condition.output(...).equals(...), Condition.metric(...).greaterThan(...) or Condition.parameter(...).equals(...)`];
    return condition._problems(this);
  }

  /** @internal The step whose output this step's own condition reads, when it is a usable upstream step. */
  protected conditionUpstream(): Step[] {
    const c = this.options.condition;
    const step = Condition.isCondition(c) && ConditionOperand.isConditionOperand(c._operand) ? c._operand._step : undefined;
    return ContainerStep.isContainerStep(step) && step.pipeline === this.pipeline && step !== (this as StepBase) ? [step] : [];
  }

  /**
   * @internal This step's own condition and those of every step upstream of it (skipping
   * propagates downstream), deduplicated, sorted by declaring step then content.
   */
  public _conditions(): StepConditionModel[] {
    const seen = new Set<StepBase>();
    const found = new Map<string, StepConditionModel>();
    const visit = (s: StepBase) => {
      if (seen.has(s)) return;
      seen.add(s);
      const c = s.options.condition;
      if (Condition.isCondition(c)) {
        const m = c._render(s.node.id);
        found.set(stableStringify(m), m);
      }
      for (const u of s._upstream()) if (u.pipeline === this.pipeline) visit(u);
    };
    visit(this);
    return [...found.entries()]
      .sort(([ka, a], [kb, b]) => compare(a.declaredOn, b.declaredOn) || compare(ka, kb))
      .map(([, m]) => m);
  }

  protected base(): Pick<StepModel, 'name' | 'path' | 'dependsOn' | 'orderOnly' | 'conditions' | 'retries' | 'timeoutSeconds'> {
    const data = new Set(this._dataUpstream());
    return {
      name: this.node.id,
      path: this.node.path,
      dependsOn: [...new Set(this._upstream().map((s) => s.node.id))].sort(),
      orderOnly: [...new Set(this.explicitDeps.filter((s) => !data.has(s)).map((s) => s.node.id))].sort(),
      conditions: this._conditions(),
      retries: this.options.retries ?? 0,
      timeoutSeconds: this.options.timeout?.toSeconds(),
    };
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isStep(x: unknown): x is Step {
  return ContainerStep.isContainerStep(x) || RegisterStep.isRegisterStep(x);
}

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

/** `word` with the spaces inside each placeholder's braces removed (`{{ inputs.x }}` → `{{inputs.x}}`). */
function canonicalPlaceholders(word: string): string {
  return String(word).replace(PLACEHOLDER, (_, inner: string) => `{{${inner}}}`);
}
const IO_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A step that runs a container. Define it with `pipeline.addStep(...)`. */
export class ContainerStep extends StepBase {
  /** Whether `x` is a `ContainerStep`. */
  public static isContainerStep(x: unknown): x is ContainerStep {
    return hasBrand(x, 'ContainerStep');
  }

  private readonly props: ContainerStepProps;
  private readonly inputEntries: Array<{ name: string; value: InputValue }>;
  private readonly resources: ResourcesModel;
  private readonly envLiterals: Record<string, string>;
  private readonly envSecrets: Record<string, Secret>;

  constructor(pipeline: Pipeline, id: string, props: ContainerStepProps) {
    super(pipeline, id, props);
    brand(this, 'ContainerStep');
    this.props = props;
    checkKnownProps(this, 'ContainerStepProps', props, CONTAINER_STEP_PROPS_KEYS, '', {
      when: "'when' is the promotion gate of register steps; to run a container step only when something holds, use condition: Condition.output(...).equals(...) or Condition.metric(...).greaterThan(...)",
    });
    this.inputEntries = Object.entries(props.inputs ?? {}).map(([name, value]) => ({ name, value }));
    for (const p of imageProblems('image', props.image)) addProblem(this, p);
    const pool = props.compute;
    if (pool !== undefined && !ComputePool.isComputePool(pool)) addProblem(this, `compute is not a ComputePool; pass a ComputePool of this environment`);
    const poolOk = pool !== undefined && ComputePool.isComputePool(pool) && sameEnvironment(this, 'compute', pool);
    const poolNode = poolOk ? pool._render().node : undefined;
    this.resources = renderResources(this, '', { ...props, accelerator: props.accelerator }, poolNode ? { cpu: Math.min(2, poolNode.cpu), memoryGiB: Math.min(8, poolNode.memoryGiB) } : { cpu: 2, memoryGiB: 8 });
    if (poolNode) {
      if (this.resources.cpu > poolNode.cpu) addProblem(this, `cpu ${this.resources.cpu} exceeds the ${poolNode.cpu} vCPUs of a '${pool!.node.path}' node; lower cpu or use a larger pool`);
      if (this.resources.memoryGiB > poolNode.memoryGiB) addProblem(this, `memory ${this.resources.memoryGiB} GiB exceeds the ${poolNode.memoryGiB} GiB of a '${pool!.node.path}' node; lower memory or use a larger pool`);
      if (this.resources.accelerator && !poolNode.accelerator) addProblem(this, `asks for accelerator ${this.resources.accelerator.name} but compute '${pool!.node.path}' has none; run it on a GPU pool or remove the accelerator`);
      if (!this.resources.accelerator && poolNode.accelerator) this.resources = { ...this.resources, accelerator: poolNode.accelerator };
    }
    const outputs = Object.entries(props.outputs ?? {});
    for (const [name, out] of outputs) {
      if (!IO_NAME.test(name)) addProblem(this, `output name ${show(name)} must be letters, digits and '_' starting with a letter or '_'; rename it`);
      if (!(out instanceof Output)) addProblem(this, `output '${name}' is not an Output; use Output.dataset(), Output.model(), Output.float(), ...`);
    }
    for (const { name, value } of this.inputEntries) {
      if (!IO_NAME.test(name)) addProblem(this, `input name ${show(name)} must be letters, digits and '_' starting with a letter or '_'; rename it`);
      if (props.outputs && name in props.outputs) addProblem(this, `'${name}' is both an input and an output; rename one`);
      const source = value instanceof Input ? value._source : value;
      if (Dataset.isDataset(source) && sameEnvironment(this, `input '${name}' dataset`, source)) source._grantImplied(this, 'read');
    }
    const { literals, secrets } = splitEnv(this, props.env);
    this.envLiterals = literals;
    this.envSecrets = secrets;
    for (const p of secretLiteralProblems(literals, [...(props.command ?? []), ...(props.args ?? [])])) addProblem(this, p);
    for (const secret of Object.values(secrets)) if (sameEnvironment(this, 'env secret', secret)) secret._readBy(this._principals());
    this.node.addValidation({ validate: () => [...this.wiringProblems(), ...this.placeholderProblems()] });
  }

  /** A named output of this step, to wire into another step's inputs. */
  public output(name: string): StepOutput {
    return new StepOutput(this, name);
  }

  /** @internal */
  public _outputType(name: string): IoTypeModel | undefined {
    const out = this.props.outputs?.[name];
    return out instanceof Output ? out.type : undefined;
  }

  /** @internal Declared output names. */
  public _outputNames(): string[] {
    return Object.keys(this.props.outputs ?? {});
  }

  /** @internal */
  public _upstream(): Step[] {
    return [...this.explicitDeps, ...this._dataUpstream()];
  }

  /** @internal */
  public _dataUpstream(): Step[] {
    const wired = this.inputEntries
      .map(({ value }) => (value instanceof Input ? value._source : value))
      .filter((v): v is StepOutput => StepOutput.isStepOutput(v))
      .map((o) => o.step);
    return [...wired, ...this.conditionUpstream()];
  }

  /** @internal */
  public _render(): ContainerStepModel {
    return {
      kind: 'container',
      ...this.base(),
      caching: this.props.caching ?? true,
      image: this.props.image,
      command: (this.props.command ?? []).map(canonicalPlaceholders),
      args: (this.props.args ?? []).map(canonicalPlaceholders),
      env: Object.fromEntries(Object.entries(this.envLiterals).map(([k, v]) => [k, canonicalPlaceholders(v)])),
      secretEnv: Object.keys(this.envSecrets).length > 0 ? Object.fromEntries(Object.entries(this.envSecrets).map(([k, s]) => [k, s.node.path])) : undefined,
      inputs: this.inputEntries.map(({ name, value }) => this.renderInput(name, value)),
      outputs: Object.entries(this.props.outputs ?? {}).map(([name, o]) => ({ name, type: o.type })),
      resources: this.resources,
      compute: this.props.compute?.node.path,
    };
  }

  private renderInput(name: string, value: InputValue): StepInputModel {
    const declared = value instanceof Input ? value._declared : undefined;
    const source = value instanceof Input ? value._source : value;
    const resolved = resolveSource(source);
    return { name, type: declared ?? resolved.type ?? { kind: 'parameter', type: 'string' }, source: resolved.source };
  }

  private wiringProblems(): string[] {
    const problems: string[] = [];
    for (const { name, value } of this.inputEntries) {
      const declared = value instanceof Input ? value._declared : undefined;
      const source = value instanceof Input ? value._source : value;
      if (StepOutput.isStepOutput(source)) {
        if (source.step.pipeline !== this.pipeline) {
          problems.push(`input '${name}' is wired to '${source.step.node.path}' of another pipeline; wire outputs of the same pipeline, or share data through a Dataset`);
          continue;
        }
        if (source.step === (this as ContainerStep)) {
          problems.push(`input '${name}' is wired to this step's own output '${source.name}'; wire an upstream step's output`);
          continue;
        }
        const t = source.type;
        if (!t) {
          const outs = Object.keys(source.step.props.outputs ?? {});
          problems.push(`input '${name}' is wired to '${source.step.node.id}.${source.name}', but step '${source.step.node.id}' has no output '${source.name}' (outputs: ${outs.join(', ') || 'none'}); declare it in its outputs or wire an existing one`);
        } else if (declared && !sameType(declared, t)) {
          problems.push(`input '${name}' expects ${describeType(declared)} but '${source.step.node.id}.${source.name}' is ${describeType(t)}; wire an output of the expected type or change the input's type`);
        }
        continue;
      }
      if (PipelineParameter.isPipelineParameter(source)) {
        if (source.pipeline !== this.pipeline) problems.push(`input '${name}' uses parameter '${source.name}' of pipeline '${source.pipeline.node.path}'; use a parameter of '${this.pipeline.node.path}'`);
        else if (declared && !sameType(declared, { kind: 'parameter', type: source.type })) problems.push(`input '${name}' expects ${describeType(declared)} but parameter '${source.name}' is parameter ${source.type}; change one of the types`);
        continue;
      }
      if (Dataset.isDataset(source)) {
        if (declared && !sameType(declared, { kind: 'artifact', type: 'dataset' })) problems.push(`input '${name}' expects ${describeType(declared)} but a Dataset is artifact dataset; wire a matching value`);
        continue;
      }
      if (typeof source === 'string' || typeof source === 'boolean' || (typeof source === 'number' && Number.isFinite(source))) {
        const t = literalType(source);
        if (declared && declared.kind === 'parameter' && !(declared.type === t || (declared.type === 'float' && t === 'int'))) {
          problems.push(`input '${name}' expects parameter ${declared.type} but got ${show(source)} (${t}); pass a ${declared.type} value`);
        }
        continue;
      }
      problems.push(`input '${name}' is ${show(String(source))}; wire a Dataset, a step output, a pipeline parameter, or a string/number/boolean`);
    }
    return problems;
  }

  private placeholderProblems(): string[] {
    const problems: string[] = [];
    const known: Record<string, Set<string>> = {
      inputs: new Set(this.inputEntries.map((i) => i.name)),
      outputs: new Set(Object.keys(this.props.outputs ?? {})),
      params: new Set(this.pipeline.parameterNames),
    };
    const words: Array<{ text: unknown; where: string }> = [
      ...[...(this.props.command ?? []), ...(this.props.args ?? [])].map((text) => ({ text, where: '' })),
      ...Object.entries(this.envLiterals).map(([k, text]) => ({ text, where: ` in env '${k}'` })),
    ];
    for (const { text, where } of words) {
      for (const m of String(text).matchAll(PLACEHOLDER)) {
        const [kind, name, ...rest] = m[1].split('.');
        const names = Object.hasOwn(known, kind) ? known[kind] : undefined;
        if (!names || !name || rest.length > 0) {
          problems.push(`placeholder '${m[0]}'${where} is not understood; use {{inputs.<name>}}, {{outputs.<name>}} or {{params.<name>}}`);
        } else if (!names.has(name)) {
          problems.push(
            kind === 'params'
              ? `placeholder '${m[0]}'${where} names no parameter of pipeline '${this.pipeline.node.path}' (parameters: ${[...names].join(', ') || 'none'}); define it with addParameter(...) or fix the name`
              : `placeholder '${m[0]}'${where} names no ${kind.slice(0, -1)} of this step (${kind}: ${[...names].join(', ') || 'none'}); declare it or fix the name`,
          );
        }
      }
    }
    return problems;
  }
}

function literalType(v: string | number | boolean): ParameterTypeName {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  return Number.isInteger(v) ? 'int' : 'float';
}

function resolveSource(source: Source): { source: InputSourceModel; type?: IoTypeModel } {
  if (StepOutput.isStepOutput(source)) return { source: { kind: 'step', step: source.step.node.id, output: source.name }, type: source.type };
  if (PipelineParameter.isPipelineParameter(source)) return { source: { kind: 'parameter', parameter: source.name }, type: { kind: 'parameter', type: source.type } };
  if (Dataset.isDataset(source)) return { source: { kind: 'dataset', dataset: source.node.path }, type: { kind: 'artifact', type: 'dataset' } };
  return { source: { kind: 'value', value: source }, type: { kind: 'parameter', type: literalType(source) } };
}

/** A step that registers a model version and, when its gate passes, moves an alias to it. */
export class RegisterStep extends StepBase {
  /** Whether `x` is a `RegisterStep`. */
  public static isRegisterStep(x: unknown): x is RegisterStep {
    return hasBrand(x, 'RegisterStep');
  }

  private readonly props: RegisterStepProps;

  constructor(pipeline: Pipeline, id: string, props: RegisterStepProps) {
    super(pipeline, id, props);
    brand(this, 'RegisterStep');
    this.props = props;
    checkKnownProps(this, 'RegisterStepProps', props, REGISTER_STEP_PROPS_KEYS);
    if (!RegisteredModel.isRegisteredModel(props.model)) {
      addProblem(this, `model is not a RegisteredModel; pass one defined with registry.addModel(...)`);
    } else if (sameEnvironment(this, 'model registry', props.model.registry)) {
      props.model.registry._grantImplied(this, 'write');
    }
    this.node.addValidation({ validate: () => this.problems() });
  }

  /** @internal Whether the step has a promotion gate. */
  public get _gated(): boolean {
    return this.props.when !== undefined;
  }

  /** @internal */
  public _upstream(): Step[] {
    return [...this.explicitDeps, ...this._dataUpstream()];
  }

  /** @internal */
  public _dataUpstream(): Step[] {
    const sources = [this.props.artifact, this.props.metrics].filter((o): o is StepOutput => StepOutput.isStepOutput(o)).map((o) => o.step);
    return [...sources, ...this.conditionUpstream()];
  }

  /** @internal */
  public _render(): RegisterStepModel {
    const p = this.props;
    const ref = (o: StepOutput) => ({ step: o.step.node.id, output: o.name });
    return {
      kind: 'register',
      ...this.base(),
      caching: false,
      artifact: ref(p.artifact),
      metrics: p.metrics ? ref(p.metrics) : undefined,
      registry: p.model.registry.node.path,
      model: p.model.modelName,
      promoteTo: p.promoteTo,
      gate: p.when?._render(),
    };
  }

  private problems(): string[] {
    const p = this.props;
    const problems: string[] = [];
    const check = (what: string, o: StepOutput | undefined, type: ArtifactTypeName) => {
      if (o === undefined) return;
      if (!StepOutput.isStepOutput(o)) return problems.push(`${what} must be a step output such as fit.output('model')`);
      if (o.step.pipeline !== this.pipeline) return problems.push(`${what} '${o}' comes from another pipeline; use an output of '${this.pipeline.node.path}'`);
      const t = o.type;
      if (!t) return problems.push(`${what} is wired to '${o}', but step '${o.step.node.id}' has no output '${o.name}'; declare it in its outputs`);
      if (!sameType(t, { kind: 'artifact', type })) return problems.push(`${what} '${o}' is ${describeType(t)}; it must be artifact ${type} (Output.${type}())`);
      return 0;
    };
    check('artifact', p.artifact, 'model');
    check('metrics', p.metrics, 'metrics');
    if (!RegisteredModel.isRegisteredModel(p.model)) return problems;
    const aliases = p.model.aliases;
    if (p.promoteTo !== undefined && !aliases.includes(p.promoteTo)) {
      problems.push(`promoteTo ${show(p.promoteTo)} is not an alias of model '${p.model.modelName}' (aliases: ${aliases.join(', ') || 'none'}); declare it in the model's aliases`);
    }
    if (p.when !== undefined && typeof p.when._problems === 'function') problems.push(...p.when._problems());
    const gate = p.when?._render();
    if (gate) {
      if (!p.metrics) problems.push(`the promotion gate reads metric '${gate.metric}' but no metrics output is wired; set metrics: evaluate.output('metrics')`);
      if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/.test(gate.metric)) problems.push(`gate metric ${show(gate.metric)} must be a metric name of letters, digits, '_', '.', '-'`);
      if (gate.against.kind === 'alias' && !aliases.includes(gate.against.alias)) {
        problems.push(`the promotion gate compares with alias ${show(gate.against.alias)}, which model '${p.model.modelName}' does not declare (aliases: ${aliases.join(', ') || 'none'}); declare it or compare with another alias`);
      }
      if (!(gate.minDelta >= 0) || !Number.isFinite(gate.minDelta)) problems.push(`gate minDelta ${show(gate.minDelta)} must be a number ≥ 0`);
      if (gate.against.kind === 'value' && !Number.isFinite(gate.against.value)) problems.push(`gate value ${show(gate.against.value)} must be a finite number`);
    } else if (p.promoteTo !== undefined) {
      problems.push(`promoteTo '${p.promoteTo}' without a gate would promote every candidate, better or worse; add when: Metric.greaterThanAlias('<metric>', '${p.promoteTo}')`);
    }
    return problems;
  }
}

/** Options of a pipeline parameter. */
export interface ParameterOptions {
  /**
   * Value used when a run does not supply one (scheduled runs always use it).
   *
   * @default - required on every run
   */
  readonly default?: string | number | boolean;
  /**
   * What the parameter controls.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `ParameterOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const PARAMETER_OPTIONS_KEYS: KnownKeys<ParameterOptions> = { default: true, description: true };

/** Properties of a `Pipeline`. */
export interface PipelineProps {
  /**
   * What the pipeline does.
   *
   * @default - no description
   */
  readonly description?: string;
  /**
   * Schedules that start runs (applied with `addSchedule`).
   *
   * @default - runs only on demand (or on drift)
   */
  readonly schedules?: Schedule[];
}

/** @internal The keys of `PipelineProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const PIPELINE_PROPS_KEYS: KnownKeys<PipelineProps> = { description: true, schedules: true };

const PIPELINE_BRAND = 'Pipeline';

/**
 * A DAG of container steps with typed inputs and outputs; the order comes from the wiring.
 *
 * Becomes an Azure ML pipeline job of command components (azure), a Vertex AI pipeline (KFP
 * PipelineSpec) (gcp), or a Step Functions state machine of ECS/Batch tasks (aws). Every target
 * runs its steps by one contract (placeholders, parameters, metrics, conditions, order):
 * docs/step-contract.md.
 *
 * @see docs/step-contract.md
 * @example
 * const train = new Pipeline(env, 'Train');
 * const prep = train.addStep('Prep', { image: 'ghcr.io/acme/prep:1.0', inputs: { raw: transactions },
 *   outputs: { clean: Output.dataset() } });
 * train.addStep('Fit', { image: 'ghcr.io/acme/fit:1.0', inputs: { data: prep.output('clean') }, outputs: { model: Output.model() } });
 */
export class Pipeline extends MlResource {
  /** Whether `x` is a `Pipeline`. */
  public static isPipeline(x: unknown): x is Pipeline {
    return hasBrand(x, PIPELINE_BRAND);
  }

  private readonly props: PipelineProps;
  private readonly parameters: PipelineParameter[] = [];
  private readonly schedules: Schedule[] = [];

  constructor(scope: Construct, id: string, props: PipelineProps = {}) {
    super(scope, id);
    brand(this, PIPELINE_BRAND);
    this.props = props;
    checkKnownProps(this, 'PipelineProps', props, PIPELINE_PROPS_KEYS);
    for (const s of props.schedules ?? []) this.addSchedule(s);
    this.node.addValidation({ validate: () => this.dagProblems() });
  }

  /** Define a container step. */
  public addStep(id: string, props: ContainerStepProps): ContainerStep {
    this.checkFreeId(id);
    return new ContainerStep(this, id, props);
  }

  /** Define a step that registers a model version and promotes it when its gate passes. */
  public addRegisterStep(id: string, props: RegisterStepProps): RegisterStep {
    this.checkFreeId(id);
    return new RegisterStep(this, id, props);
  }

  /** Define a typed run parameter. */
  public addParameter(name: string, type: ParameterType, options: ParameterOptions = {}): PipelineParameter {
    if (!IO_NAME.test(name)) addProblem(this, `parameter name ${show(name)} must be letters, digits and '_' starting with a letter or '_'; rename it`);
    if (this.parameters.some((p) => p.name === name)) addProblem(this, `parameter ${show(name)} is defined twice; remove one`);
    checkKnownProps(this, 'ParameterOptions', options, PARAMETER_OPTIONS_KEYS, `parameter '${name}'`);
    if (!Object.values(ParameterType).includes(type)) addProblem(this, `parameter '${name}' type ${show(type)} is not allowed; use ParameterType.STRING, INT, FLOAT or BOOL`);
    if (options.default !== undefined) {
      const t = typeof options.default === 'number' || typeof options.default === 'string' || typeof options.default === 'boolean' ? literalType(options.default) : undefined;
      if (!(t === type || (type === ParameterType.FLOAT && t === 'int'))) addProblem(this, `parameter '${name}' is ${type} but its default is ${show(options.default)}; give a ${type} default`);
    }
    const p = new PipelineParameter(this, name, type as ParameterTypeName, { name, type: type as ParameterTypeName, default: options.default, description: options.description });
    this.parameters.push(p);
    return p;
  }

  /** Start a run on `schedule`. */
  public addSchedule(schedule: Schedule): void {
    for (const p of schedule._problems()) addProblem(this, p);
    this.schedules.push(schedule);
  }

  /** The steps (a copy), in definition order. */
  public get steps(): Step[] {
    return this.node.children.filter(isStep);
  }

  /** Names of the run parameters (a copy). */
  public get parameterNames(): string[] {
    return this.parameters.map((p) => p.name);
  }

  /** Whether some register step promotes through a gate. */
  public get gatedRegisterSteps(): RegisterStep[] {
    return this.steps.filter((s): s is RegisterStep => RegisterStep.isRegisterStep(s) && s._gated);
  }

  /** @internal */
  public _render(): PipelineModel {
    const steps: StepModel[] = topologicalOrder(this.steps).map((s) => s._render());
    return {
      kind: 'pipeline',
      path: this.node.path,
      id: this.node.id,
      description: this.props.description,
      parameters: this.parameters.map((p) => p._model),
      steps,
      schedules: this.schedules.map((s) => s._render()),
    };
  }

  private checkFreeId(id: string): void {
    if (this.node.tryFindChild(id)) {
      throw new ValidationError(`already has a step named ${show(id)}; step names are unique within a pipeline: give one of the two steps a different id`, `${this.node.path}/${id}`);
    }
  }

  private dagProblems(): string[] {
    const steps = this.steps;
    if (steps.length === 0) return ['pipeline has no steps; add one with addStep(...)'];
    const cycle = findCycle(steps);
    return cycle ? [`steps form a cycle: ${cycle.map((s) => s.node.id).join(' → ')}; remove one of these dependencies`] : [];
  }
}

/** A cycle among the steps' upstream edges, as a closed path, or undefined. */
function findCycle(steps: readonly Step[]): Step[] | undefined {
  const state = new Map<Step, 'visiting' | 'done'>();
  const stack: Step[] = [];
  const visit = (s: Step): Step[] | undefined => {
    if (state.get(s) === 'done') return undefined;
    if (state.get(s) === 'visiting') return [...stack.slice(stack.indexOf(s)), s];
    state.set(s, 'visiting');
    stack.push(s);
    for (const up of s._upstream()) {
      if (!steps.includes(up)) continue;
      const c = visit(up);
      if (c) return c;
    }
    stack.pop();
    state.set(s, 'done');
    return undefined;
  };
  for (const s of steps) {
    const c = visit(s);
    if (c) return c.reverse();
  }
  return undefined;
}

/** Steps in dependency order; ties keep definition order. Assumes no cycle (validated first). */
function topologicalOrder(steps: readonly Step[]): Step[] {
  const done = new Set<Step>();
  const out: Step[] = [];
  while (out.length < steps.length) {
    const next = steps.find((s) => !done.has(s) && s._upstream().every((u) => done.has(u) || !steps.includes(u)));
    if (!next) return [...out, ...steps.filter((s) => !done.has(s))];
    done.add(next);
    out.push(next);
  }
  return out;
}

/** Whether `x` is a pipeline step. */
export function isPipelineStep(x: IConstruct): x is Step {
  return isStep(x);
}

