import { Construct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import { addProblem, checkedId, show, ValidationError } from './core/errors';
import { RemovalPolicy } from './dataset';
import { checkEnum } from './environment';
import type { ModelRefModel, ModelRegistryModel, PromotionGateModel, RegisteredModelModel, ServingContainerModel } from './model/types';
import { MlResource, type IGrantable } from './resource';
import { checkKnownProps, unknownPropsProblems, type KnownKeys } from './core/props';
import { secretLiteralProblems } from './secret';

/** Options of a serving container. */
export interface ServingContainerOptions {
  /**
   * Port the server listens on.
   *
   * @default 8080
   */
  readonly port?: number;
  /**
   * HTTP path of the prediction route.
   *
   * @default '/predict'
   */
  readonly predictRoute?: string;
  /**
   * HTTP path of the health route.
   *
   * @default '/health'
   */
  readonly healthRoute?: string;
  /**
   * Environment variables (literal configuration: they land in templates; a literal that looks
   * like a credential fails synth). Pass secrets per deployment with `DeploymentOptions.env` and a
   * `Secret`.
   *
   * @default - none
   */
  readonly env?: Record<string, string>;
}

/** @internal The keys of `ServingContainerOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const SERVING_CONTAINER_OPTIONS_KEYS: KnownKeys<ServingContainerOptions> = { port: true, predictRoute: true, healthRoute: true, env: true };

/**
 * The container image that serves a model over HTTP.
 *
 * @example ServingContainer.image('ghcr.io/acme/fraud-serve:2.0', { port: 8080 })
 */
export class ServingContainer {
  /** A serving image reference (nothing is built at synth). */
  public static image(image: string, options: ServingContainerOptions = {}): ServingContainer {
    return new ServingContainer(image, options);
  }

  private constructor(
    private readonly imageRef: string,
    private readonly options: ServingContainerOptions,
  ) {}

  /** @internal */
  public _problems(): string[] {
    const problems = [...imageProblems('serving image', this.imageRef), ...unknownPropsProblems('ServingContainerOptions', this.options, SERVING_CONTAINER_OPTIONS_KEYS, 'serving')];
    problems.push(...secretLiteralProblems(this.options.env ?? {}, [], 'serving ').map((p) => p.replace('use it as the env value (env: { NAME: secret })', 'use it in the env of each deployment that serves this model (deployments: [{ ..., env: { NAME: secret } }])')));
    const port = this.options.port ?? 8080;
    if (!Number.isInteger(port) || port < 1 || port > 65535 || [8083, 8888].includes(port)) {
      problems.push(`serving port ${show(port)} must be a whole number 1-65535 and not 8083/8888 (reserved by serving platforms); use e.g. 8080`);
    }
    for (const [k, route] of [['predictRoute', this.options.predictRoute], ['healthRoute', this.options.healthRoute]] as const) {
      if (route !== undefined && !/^\/[A-Za-z0-9/_.:-]*$/.test(route)) problems.push(`serving ${k} ${show(route)} must be an absolute HTTP path such as '/predict'`);
    }
    return problems;
  }

  /** @internal */
  public _render(): ServingContainerModel {
    return {
      image: this.imageRef,
      port: this.options.port ?? 8080,
      predictRoute: this.options.predictRoute ?? '/predict',
      healthRoute: this.options.healthRoute ?? '/health',
      env: { ...(this.options.env ?? {}) },
    };
  }
}

/** Problems with a container image reference. */
export function imageProblems(what: string, image: string): string[] {
  if (typeof image !== 'string' || !/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/.test(image)) {
    return [`${what} ${show(image)} is not a container image reference; use registry/repository:tag, e.g. 'ghcr.io/acme/train:2.0'`];
  }
  if (!/:[A-Za-z0-9_][A-Za-z0-9_.-]*$|@sha256:/.test(image.replace(/^[^/]*\//, ''))) {
    return [`${what} ${show(image)} has no tag or digest, so every deploy may run different code; pin a tag or digest, e.g. '${image}:1.0'`];
  }
  if (/:latest$/.test(image)) {
    return [`${what} ${show(image)} uses the 'latest' tag, so every deploy may run different code; pin a version tag or digest`];
  }
  return [];
}

/** ML framework of a model (informs default serving on targets that have prebuilt servers). */
export enum ModelFramework {
  CUSTOM = 'custom',
  SKLEARN = 'sklearn',
  XGBOOST = 'xgboost',
  PYTORCH = 'pytorch',
  TENSORFLOW = 'tensorflow',
  ONNX = 'onnx',
}

/** Properties of a `RegisteredModel`. */
export interface RegisteredModelProps {
  /**
   * Model name in the registry.
   *
   * @default - the construct id in lower case
   */
  readonly modelName?: string;
  /** How the model is served. */
  readonly serving: ServingContainer;
  /**
   * Aliases this environment moves between versions (`champion`, `challenger`).
   *
   * @default []
   */
  readonly aliases?: string[];
  /**
   * Framework.
   *
   * @default ModelFramework.CUSTOM
   */
  readonly framework?: ModelFramework;
  /**
   * What the model predicts.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `RegisteredModelProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const REGISTERED_MODEL_PROPS_KEYS: KnownKeys<RegisteredModelProps> = { modelName: true, serving: true, aliases: true, framework: true, description: true };

const MODEL_BRAND = 'RegisteredModel';

/**
 * A named model in a registry, with versions and aliases.
 *
 * @example
 * const fraud = registry.addModel('Fraud', { serving: ServingContainer.image('ghcr.io/acme/fraud-serve:2.0'),
 *   aliases: ['champion', 'challenger'] });
 * fraud.alias('champion');
 */
export class RegisteredModel extends Construct {
  /** Whether `x` is a `RegisteredModel`. */
  public static isRegisteredModel(x: unknown): x is RegisteredModel {
    return hasBrand(x, MODEL_BRAND);
  }

  /** Name in the registry. */
  public readonly modelName: string;
  /** The registry holding this model. */
  public readonly registry: ModelRegistry;
  private readonly props: RegisteredModelProps;
  private readonly aliasList: string[];

  constructor(registry: ModelRegistry, id: string, props: RegisteredModelProps) {
    super(registry, checkedId(registry, id, 'model'));
    brand(this, MODEL_BRAND);
    if (!ModelRegistry.isModelRegistry(registry)) throw new ValidationError(`a RegisteredModel must be defined inside a ModelRegistry; use registry.addModel('${id}', { ... })`, `${(registry as Construct).node.path}/${id}`);
    this.registry = registry;
    this.props = props;
    checkKnownProps(this, 'RegisteredModelProps', props, REGISTERED_MODEL_PROPS_KEYS);
    this.modelName = props.modelName ?? id.toLowerCase();
    this.aliasList = [];
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(this.modelName)) {
      addProblem(this, `model name ${show(this.modelName)} must be 1-63 lower-case letters, digits, '_' or '-' starting with a letter; set modelName, e.g. 'fraud'`);
    }
    if (!props.serving || !(props.serving instanceof ServingContainer)) {
      addProblem(this, `serving is required; use ServingContainer.image('registry/repo:tag')`);
    } else {
      for (const p of props.serving._problems()) addProblem(this, p);
    }
    if (props.framework !== undefined) checkEnum(this, 'framework', props.framework, Object.values(ModelFramework));
    for (const a of props.aliases ?? []) this.addAlias(a);
  }

  /** Declare an alias this environment moves between versions. */
  public addAlias(alias: string): void {
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(alias) || /^v?\d+$/.test(alias)) {
      addProblem(this, `alias ${show(alias)} must be 1-63 lower-case letters, digits or '-' starting with a letter, and not look like a version; use e.g. 'champion'`);
    }
    if (this.aliasList.includes(alias)) {
      addProblem(this, `alias ${show(alias)} is declared twice; remove the duplicate`);
      return;
    }
    this.aliasList.push(alias);
  }

  /** The aliases (a copy). */
  public get aliases(): string[] {
    return [...this.aliasList];
  }

  /** The version currently holding `alias`. */
  public alias(alias: string): ModelRef {
    return new ModelRef(this, { alias });
  }

  /** A fixed version number. */
  public version(version: string | number): ModelRef {
    return new ModelRef(this, { version: String(version) });
  }

  /** @internal */
  public _render(): RegisteredModelModel {
    return {
      name: this.modelName,
      path: this.node.path,
      description: this.props.description,
      aliases: [...this.aliasList],
      framework: (this.props.framework ?? ModelFramework.CUSTOM) as RegisteredModelModel['framework'],
      serving: this.props.serving._render(),
    };
  }
}

/**
 * A reference to one version of a registered model: by alias (follows promotions) or by number.
 */
export class ModelRef {
  /** @internal */
  constructor(
    public readonly model: RegisteredModel,
    private readonly selector: { readonly alias: string } | { readonly version: string },
  ) {}

  /** @internal Problems with this reference, reported on the construct using it. */
  public _problems(): string[] {
    if ('alias' in this.selector) {
      if (!this.model.aliases.includes(this.selector.alias)) {
        return [`model '${this.model.modelName}' has no alias ${show(this.selector.alias)} (aliases: ${this.model.aliases.join(', ') || 'none'}); declare it in the model's aliases or use another`];
      }
      return [];
    }
    if (/^[1-9]\d{0,8}$/.test(this.selector.version)) return [];
    const why = /^0+$/.test(this.selector.version) ? 'versions start at 1' : /^\d+$/.test(this.selector.version) ? 'it has a leading zero or more than 9 digits' : 'it is not a whole number';
    return [`model version ${show(this.selector.version)} of model '${this.model.modelName}' is not a version number (${why}); give a positive whole number such as '1', or reference an alias with model.alias('champion')`];
  }

  /** @internal */
  public _render(): ModelRefModel {
    const base = { registry: this.model.registry.node.path, model: this.model.modelName };
    return 'alias' in this.selector ? { ...base, alias: this.selector.alias } : { ...base, version: this.selector.version };
  }

  public toString(): string {
    return 'alias' in this.selector ? `${this.model.modelName}@${this.selector.alias}` : `${this.model.modelName}:${this.selector.version}`;
  }
}

/** Options of a promotion gate. */
export interface GateOptions {
  /**
   * Margin by which the candidate must win.
   *
   * @default 0
   */
  readonly minDelta?: number;
}

/** @internal The keys of `GateOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const GATE_OPTIONS_KEYS: KnownKeys<GateOptions> = { minDelta: true };

/**
 * A promotion gate: the condition a candidate model's evaluation metric must meet to be promoted.
 *
 * @example Metric.greaterThanAlias('auc', 'champion', { minDelta: 0.005 })
 */
export class Metric {
  /** Promote when `metric` is higher than that of the version holding `alias` (or when no version holds it yet). */
  public static greaterThanAlias(metric: string, alias: string, options: GateOptions = {}): Metric {
    return new Metric({ metric, comparison: 'greaterThan', against: { kind: 'alias', alias }, minDelta: options.minDelta ?? 0 }, options);
  }
  /** Promote when `metric` is lower than that of the version holding `alias` (losses, error rates). */
  public static lessThanAlias(metric: string, alias: string, options: GateOptions = {}): Metric {
    return new Metric({ metric, comparison: 'lessThan', against: { kind: 'alias', alias }, minDelta: options.minDelta ?? 0 }, options);
  }
  /** Promote when `metric` is higher than a fixed value. */
  public static greaterThan(metric: string, value: number): Metric {
    return new Metric({ metric, comparison: 'greaterThan', against: { kind: 'value', value }, minDelta: 0 });
  }
  /** Promote when `metric` is lower than a fixed value. */
  public static lessThan(metric: string, value: number): Metric {
    return new Metric({ metric, comparison: 'lessThan', against: { kind: 'value', value }, minDelta: 0 });
  }

  private constructor(
    private readonly gate: PromotionGateModel,
    private readonly options: GateOptions = {},
  ) {}

  /** @internal Problems with the gate's options (unknown keys). */
  public _problems(): string[] {
    return unknownPropsProblems('GateOptions', this.options, GATE_OPTIONS_KEYS, 'when');
  }

  /** @internal */
  public _render(): PromotionGateModel {
    return this.gate;
  }
}

/** Properties of a `ModelRegistry`. */
export interface ModelRegistryProps {
  /**
   * What happens to registered models when the environment is destroyed.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * What the registry holds.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `ModelRegistryProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const MODEL_REGISTRY_PROPS_KEYS: KnownKeys<ModelRegistryProps> = { removalPolicy: true, description: true };

const REGISTRY_BRAND = 'ModelRegistry';

/**
 * A model registry: named models with versions and aliases.
 *
 * Becomes workspace models (azure), the Vertex AI Model Registry (gcp), or the MLflow registry (aws).
 */
export class ModelRegistry extends MlResource {
  /** Whether `x` is a `ModelRegistry`. */
  public static isModelRegistry(x: unknown): x is ModelRegistry {
    return hasBrand(x, REGISTRY_BRAND);
  }

  private readonly props: ModelRegistryProps;

  constructor(scope: Construct, id: string, props: ModelRegistryProps = {}) {
    super(scope, id);
    brand(this, REGISTRY_BRAND);
    this.props = props;
    checkKnownProps(this, 'ModelRegistryProps', props, MODEL_REGISTRY_PROPS_KEYS);
    if (props.removalPolicy !== undefined) checkEnum(this, 'removalPolicy', props.removalPolicy, Object.values(RemovalPolicy));
    this.node.addValidation({
      validate: () => {
        const names = new Map<string, string>();
        const problems: string[] = [];
        for (const m of this.models) {
          const other = names.get(m.modelName);
          if (other) problems.push(`models '${other}' and '${m.node.id}' share the name '${m.modelName}'; give one a different modelName`);
          names.set(m.modelName, m.node.id);
        }
        return problems;
      },
    });
  }

  /** Define a model in this registry. */
  public addModel(id: string, props: RegisteredModelProps): RegisteredModel {
    return new RegisteredModel(this, id, props);
  }

  /** The models (a copy), in definition order. */
  public get models(): RegisteredModel[] {
    return this.node.children.filter((c): c is RegisteredModel => RegisteredModel.isRegisteredModel(c));
  }

  /**
   * The version of model `modelName` currently holding `alias`.
   *
   * @throws Error when no model of that name is defined (yet) in this registry.
   */
  public alias(modelName: string, alias: string): ModelRef {
    const model = this.models.find((m) => m.modelName === modelName);
    if (!model) {
      const defined = `(models: ${this.models.map((m) => m.modelName).join(', ') || 'none'})`;
      const elsewhere = this.node.root.node.findAll().filter((c): c is ModelRegistry => ModelRegistry.isModelRegistry(c) && c !== this && c.models.some((m) => m.modelName === modelName));
      const fix = elsewhere.length > 0
        ? `model '${modelName}' is defined in registry '${elsewhere.map((r) => r.node.path).join("', '")}': call alias on that registry (or on the model addModel returned)`
        : `define it first with ${this.node.id}.addModel('${modelName}', { ... })`;
      throw new ValidationError(`has no model ${show(modelName)} ${defined}; ${fix}`, this);
    }
    return model.alias(alias);
  }

  /** Allow `grantee` to read models (download artifacts, resolve aliases). */
  public grantRead(grantee: IGrantable): void {
    this._grant(grantee, 'read', 'explicit');
  }

  /** Allow `grantee` to register versions and move aliases. */
  public grantWrite(grantee: IGrantable): void {
    this._grant(grantee, 'write', 'explicit');
  }

  /** @internal */
  public _grantImplied(grantee: IGrantable, access: 'read' | 'write'): void {
    this._grant(grantee, access, 'wiring');
  }

  /** @internal */
  public _render(): ModelRegistryModel {
    return {
      kind: 'modelRegistry',
      path: this.node.path,
      id: this.node.id,
      description: this.props.description,
      models: this.models.map((m) => m._render()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      retain: (this.props.removalPolicy ?? RemovalPolicy.RETAIN) === RemovalPolicy.RETAIN,
    };
  }
}
