import { Construct, type IConstruct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import { addProblem, checkedId, show } from './core/errors';
import { checkKnownProps, type KnownKeys } from './core/props';
import { MlopsEnvironment, type Stage } from './environment';
import type { PromotionGateModel } from './model/types';
import type { Metric, RegisteredModel } from './registry';

/** Who must agree before a promotion runs. */
export enum PromotionApproval {
  /** The gate alone decides. */
  NONE = 'none',
  /**
   * A person approves: `mlplane promote` refuses without `--approved-by <who>`, and the CI
   * workflows of `mlplane ci init` run it only in the target stage's protected environment
   * (GitHub environment, Azure DevOps environment approval, GitLab protected environment).
   */
  REQUIRED = 'required',
}

/** Properties of a `ModelPromotion`. */
export interface ModelPromotionProps {
  /** The registered model whose versions are promoted. */
  readonly model: RegisteredModel;
  /** Stage the version comes from (one of the environment's stages). */
  readonly from: Stage | string;
  /** Stage the version goes to (one of the environment's stages). */
  readonly to: Stage | string;
  /**
   * Alias the promoted version gets in the target stage's registry.
   *
   * @default - the alias named on the command line (`fraud@champion`), else none
   */
  readonly alias?: string;
  /**
   * Metric condition the source version must meet, read from the metrics its register step
   * recorded on it. Against an alias, the reference is the version holding that alias in the
   * target stage (promote only a better model).
   *
   * @default - no metric condition
   */
  readonly when?: Metric;
  /**
   * Whether a person must approve.
   *
   * @default PromotionApproval.NONE
   */
  readonly approval?: PromotionApproval;
}

/** @internal */
const MODEL_PROMOTION_PROPS_KEYS: KnownKeys<ModelPromotionProps> = { model: true, from: true, to: true, alias: true, when: true, approval: true };

/** What `mlplane promote` reads: one declared promotion, as plain data. */
export interface PromotionSpec {
  /** Construct path of the promotion. */
  readonly path: string;
  /** Registry construct path of the model (the same in every stage). */
  readonly registry: string;
  /** Construct path of the registered model (`Fraud/Registry/Fraud`). */
  readonly modelPath: string;
  /** Registered model name. */
  readonly model: string;
  readonly from: string;
  readonly to: string;
  readonly alias?: string;
  readonly gate?: PromotionGateModel;
  readonly approval: 'none' | 'required';
}

const BRAND = 'ModelPromotion';

/**
 * A gated promotion of a registered model's versions from one stage of the environment to
 * another (staging → prod), run by `mlplane promote <Env> <model>@<alias|version> --from <s> --to <t>`
 * with each cloud's own mechanism: a model version copied between Azure ML workspaces, a Vertex
 * Model Registry copy (`models.copy`) or upload into the target project.
 *
 * The promoted version carries its lineage (source stage, version, run id, metrics) as tags or
 * labels; promoting the same version again finds it there and changes nothing.
 *
 * @example
 * new ModelPromotion(env, 'PromoteFraud', { model: fraud, from: Stage.STAGING, to: Stage.PROD,
 *   alias: 'champion', when: Metric.greaterThan('auc', 0.9), approval: PromotionApproval.REQUIRED });
 */
export class ModelPromotion extends Construct {
  /** Whether `x` is a `ModelPromotion`. */
  public static isModelPromotion(x: unknown): x is ModelPromotion {
    return hasBrand(x, BRAND);
  }

  /** The promotions declared under `scope` (an environment or the app). */
  public static of(scope: IConstruct): ModelPromotion[] {
    return scope.node.findAll().filter((c): c is ModelPromotion => ModelPromotion.isModelPromotion(c));
  }

  public readonly model: RegisteredModel;
  public readonly from: string;
  public readonly to: string;
  private readonly spec: PromotionSpec;

  constructor(scope: Construct, id: string, props: ModelPromotionProps) {
    super(scope, checkedId(scope, id, 'promotion'));
    brand(this, BRAND);
    checkKnownProps(this, 'ModelPromotionProps', props, MODEL_PROMOTION_PROPS_KEYS);
    const env = MlopsEnvironment.of(this);
    this.model = props.model;
    this.from = props.from;
    this.to = props.to;
    const stages = env.stages;
    for (const [prop, stage] of [['from', props.from], ['to', props.to]] as const) {
      if (!stages.includes(stage)) addProblem(this, `${prop} stage ${show(stage)} is not a stage of ${env.node.id} (stages: ${stages.map(show).join(', ')}); add it to the environment's stages or promote between its stages`);
    }
    if (props.from === props.to) addProblem(this, `from and to are both ${show(props.from)}; promote between two different stages, e.g. from 'staging' to 'prod'`);
    if (MlopsEnvironment.of(props.model) !== env) addProblem(this, `model '${props.model.node.path}' belongs to another environment; promote a model of ${env.node.id}`);
    if (props.alias !== undefined && !props.model.aliases.includes(props.alias)) {
      addProblem(this, `alias ${show(props.alias)} is not declared on model '${props.model.modelName}' (aliases: ${props.model.aliases.map(show).join(', ') || 'none'}); declare it on the model or choose one of them`);
    }
    const approval = props.approval ?? PromotionApproval.NONE;
    if (!Object.values(PromotionApproval).includes(approval)) addProblem(this, `approval ${show(approval)} is not allowed; use PromotionApproval.NONE or PromotionApproval.REQUIRED`);
    for (const p of props.when?._problems() ?? []) addProblem(this, p);
    this.spec = {
      path: this.node.path,
      registry: props.model.registry.node.path,
      modelPath: props.model.node.path,
      model: props.model.modelName,
      from: props.from,
      to: props.to,
      ...(props.alias !== undefined ? { alias: props.alias } : {}),
      ...(props.when ? { gate: props.when._render() } : {}),
      approval: approval === PromotionApproval.REQUIRED ? 'required' : 'none',
    };
  }

  /** @internal */
  public _render(): PromotionSpec {
    return this.spec;
  }
}
