import { Construct, type IConstruct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import { addProblem, checkedId, show, ValidationError } from './core/errors';
import { Duration } from './core/duration';
import type { EncryptionModel, GrantModel, RegionHintName, StageName } from './model/types';
import { checkKnownProps, type KnownKeys } from './core/props';

/**
 * Deployment stage of an environment. Any lowercase name is a stage (`Stage` lists the usual
 * three); prod-only policy rules apply to `prod` alone.
 */
export enum Stage {
  DEV = 'dev',
  STAGING = 'staging',
  PROD = 'prod',
}

/** Network exposure of an environment. */
export enum Network {
  /** No public endpoints: private links / private subnets; outbound restricted. */
  PRIVATE = 'private',
  /** Endpoints reachable from the internet (still authenticated). */
  PUBLIC = 'public',
}

/** Data-residency hint: every target must place the environment in a region of this geography. */
export enum RegionHint {
  /** No constraint. */
  ANY = 'any',
  EU = 'eu',
  US = 'us',
  APAC = 'apac',
}

/** Options of a customer-managed key. */
export interface CustomerManagedKeyOptions {
  /**
   * Name of the key.
   *
   * @default - derived from the environment name (`<env>-cmk`)
   */
  readonly keyName?: string;
  /**
   * How often the key is rotated.
   *
   * @default Duration.days(365)
   */
  readonly rotation?: Duration;
}

/** @internal The keys of `CustomerManagedKeyOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const CUSTOMER_MANAGED_KEY_OPTIONS_KEYS: KnownKeys<CustomerManagedKeyOptions> = { keyName: true, rotation: true };

/**
 * How data at rest is encrypted.
 *
 * @example Encryption.customerManagedKey({ rotation: Duration.days(90) })
 */
export class Encryption {
  /** Keys managed by the cloud platform. */
  public static platformKey(): Encryption {
    return new Encryption(undefined);
  }

  /** A key the environment owns (Key Vault / Cloud KMS / AWS KMS), used for every data store it defines. */
  public static customerManagedKey(options: CustomerManagedKeyOptions = {}): Encryption {
    return new Encryption(options);
  }

  private constructor(private readonly cmk: CustomerManagedKeyOptions | undefined) {}

  /** @internal */
  public _render(scope: MlopsEnvironment): EncryptionModel {
    if (!this.cmk) return { kind: 'platform' };
    checkKnownProps(scope, 'CustomerManagedKeyOptions', this.cmk, CUSTOMER_MANAGED_KEY_OPTIONS_KEYS, 'encryption');
    const rotationDays = this.cmk.rotation?.toSeconds() === undefined ? 365 : this.cmk.rotation.toSeconds() / 86400;
    const keyName = this.cmk.keyName ?? `${scope.node.id.toLowerCase()}-cmk`;
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(keyName)) {
      addProblem(scope, `encryption keyName ${show(keyName)} is not a valid key name; use 1-63 letters, digits and '-', starting with a letter or digit`);
    }
    if (!Number.isInteger(rotationDays) || rotationDays < 1 || rotationDays > 730) {
      addProblem(scope, `encryption rotation ${show(this.cmk.rotation?.toString())} must be a whole number of days between 1 and 730; use e.g. Duration.days(90)`);
    }
    return { kind: 'customer-managed', keyName, rotationDays };
  }
}

/** Context key selecting the stage to synthesize (`mlplane synth|diff|deploy|destroy --stage <s>` sets it). */
export const STAGE_CONTEXT_KEY = 'mlplane:stage';

/**
 * Settings of one stage of an environment, laid over the environment's own props.
 *
 * Target settings of a stage (subscription and resource group, project and region, account and
 * region) live in `cdk.json` context `mlplane:stages.<stage>.<target>`; sizes, replicas and
 * schedules are chosen in the definition with `env.byStage(...)`.
 */
export interface StageOptions {
  /**
   * Network exposure in this stage.
   *
   * @default - the environment's `network`
   */
  readonly network?: Network;
  /**
   * Encryption of data at rest in this stage.
   *
   * @default - the environment's `encryption`
   */
  readonly encryption?: Encryption;
  /**
   * Tags added in this stage (over the environment's tags).
   *
   * @default - no extra tags
   */
  readonly tags?: Record<string, string>;
}

/** @internal */
const STAGE_OPTIONS_KEYS: KnownKeys<StageOptions> = { network: true, encryption: true, tags: true };

/** Properties of an `MlopsEnvironment`. */
export interface MlopsEnvironmentProps {
  /**
   * Deployment stage when no stage is selected (context `mlplane:stage`); policies are stricter in prod.
   * With `stages`, it must be one of them.
   *
   * @default - `Stage.DEV`, or the first of `stages`
   */
  readonly stage?: Stage | string;
  /**
   * The stages this one definition is deployed to, each with its own settings: the same
   * environment is synthesized for the stage selected with `--stage <s>` (context
   * `mlplane:stage`), and is not part of a build that selects another stage.
   *
   * @example { dev: { network: Network.PUBLIC }, staging: {}, prod: { encryption: Encryption.customerManagedKey() } }
   * @default - one stage: `stage`
   */
  readonly stages?: Readonly<Record<string, StageOptions>>;
  /**
   * Geography every target must place the environment in.
   *
   * @default RegionHint.ANY
   */
  readonly region?: RegionHint;
  /**
   * Tags applied to every resource that supports them. Keys starting with `mlplane` are reserved.
   *
   * @default - no user tags
   */
  readonly tags?: Record<string, string>;
  /**
   * Network exposure.
   *
   * @default Network.PRIVATE
   */
  readonly network?: Network;
  /**
   * Encryption of data at rest.
   *
   * @default Encryption.platformKey()
   */
  readonly encryption?: Encryption;
  /**
   * What the environment is for.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `MlopsEnvironmentProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const MLOPS_ENVIRONMENT_PROPS_KEYS: KnownKeys<MlopsEnvironmentProps> = { stage: true, stages: true, region: true, tags: true, network: true, encryption: true, description: true };

const ENV_BRAND = 'MlopsEnvironment';

/**
 * One deployable MLOps environment: the scope of every dataset, pipeline, endpoint and monitor.
 *
 * An environment becomes one ARM deployment (azure), one reconciled set of Vertex AI and BigQuery
 * resources (gcp), or a set of CloudFormation stacks (aws).
 *
 * @example
 * const env = new MlopsEnvironment(app, 'Fraud', { stage: Stage.PROD, network: Network.PRIVATE });
 */
export class MlopsEnvironment extends Construct {
  /** Whether `x` is an `MlopsEnvironment`. */
  public static isMlopsEnvironment(x: unknown): x is MlopsEnvironment {
    return hasBrand(x, ENV_BRAND);
  }

  /**
   * The environment enclosing `construct`.
   *
   * @throws Error when `construct` is not inside an environment.
   */
  public static of(construct: IConstruct): MlopsEnvironment {
    for (let c: IConstruct | undefined = construct; c; c = c.node.scope) {
      if (MlopsEnvironment.isMlopsEnvironment(c)) return c;
    }
    throw new ValidationError(`is not inside an MlopsEnvironment; define it with an environment (or one of its constructs) as scope`, construct.node.path || '/');
  }

  /** The stage this instance is defined for (the selected one, or the default). */
  public readonly stage: string;
  /** Whether the selected stage (context `mlplane:stage`) includes this environment; always true when none is selected. */
  public readonly selected: boolean;
  private readonly declaredStages: readonly string[];
  private readonly perStage: boolean;
  public readonly region: RegionHint;
  public readonly network: Network;
  public readonly encryption: Encryption;
  private readonly encryptionModel: EncryptionModel;
  public readonly description?: string;
  private readonly tags: Record<string, string> = {};
  private readonly grants: GrantModel[] = [];
  private readonly suppressions: Array<{ rule: string; path: string; reason: string }> = [];

  constructor(scope: Construct, id: string, props: MlopsEnvironmentProps = {}) {
    super(scope, checkedId(scope, id, 'environment'));
    brand(this, ENV_BRAND);
    checkKnownProps(this, 'MlopsEnvironmentProps', props, MLOPS_ENVIRONMENT_PROPS_KEYS);
    const staged = resolveStage(this, props);
    this.stage = staged.stage;
    this.selected = staged.selected;
    this.declaredStages = staged.declared;
    this.perStage = props.stages !== undefined;
    const own: StageOptions = props.stages?.[this.stage] ?? {};
    this.region = props.region ?? RegionHint.ANY;
    this.network = own.network ?? props.network ?? Network.PRIVATE;
    this.encryption = own.encryption ?? props.encryption ?? Encryption.platformKey();
    this.description = props.description;
    this.encryptionModel = this.encryption._render(this);
    if (!/^[A-Za-z][A-Za-z0-9]{1,23}$/.test(id)) {
      addProblem(this, `environment id ${show(id)} must be 2-24 letters and digits starting with a letter (it becomes part of every resource name); rename it, e.g. 'Fraud'`);
    }
    checkEnum(this, 'region', this.region, Object.values(RegionHint));
    checkEnum(this, 'network', this.network, Object.values(Network));
    for (const [key, value] of Object.entries({ ...props.tags, ...own.tags })) this.addTag(key, value);
  }

  /** The stages this definition is deployed to (a copy). */
  public get stages(): string[] {
    return [...this.declaredStages];
  }

  /**
   * The value for this instance's stage: sizes, replica counts, schedules on or off.
   *
   * @param values a value per stage name
   * @param fallback the value of a stage `values` does not name
   * @example const replicas = env.byStage({ dev: 1, staging: 1, prod: 3 });
   * @example if (env.byStage({ dev: false }, true)) train.addSchedule(...);
   */
  public byStage<T>(values: Readonly<Record<string, T>>, fallback?: T): T {
    if (Object.prototype.hasOwnProperty.call(values, this.stage)) return values[this.stage] as T;
    if (fallback !== undefined) return fallback;
    addProblem(this, `byStage has no value for stage ${show(this.stage)} (given: ${Object.keys(values).map(show).join(', ') || 'none'}); add one for ${show(this.stage)} or pass a fallback`);
    return Object.values(values)[0] as T;
  }

  /** Add a tag applied to every resource of the environment that supports tags. */
  public addTag(key: string, value: string): void {
    if (!/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/.test(key)) {
      addProblem(this, `tag key ${show(key)} must be 1-63 letters, digits, '_', '.', '-' starting with a letter (the strictest rule of all targets); rename the tag`);
    } else if (key.toLowerCase().startsWith('mlplane')) {
      addProblem(this, `tag key ${show(key)} uses the reserved prefix 'mlplane'; mlplane sets those tags itself, choose another key`);
    } else if (typeof value !== 'string' || value.length > 63 || !/^[A-Za-z0-9_.@:/ -]*$/.test(value)) {
      addProblem(this, `tag ${show(key)} value ${show(value)} must be at most 63 letters, digits, spaces or '_.@:/-'; shorten or simplify it`);
    }
    this.tags[key] = value;
  }

  /** A copy of the environment's tags. */
  public get tagMap(): Record<string, string> {
    return { ...this.tags };
  }

  /** @internal */
  public _addGrant(grant: GrantModel): void {
    this.grants.push(grant);
  }

  /** @internal */
  public _addSuppression(s: { rule: string; path: string; reason: string }): void {
    this.suppressions.push(s);
  }

  /** Policy suppressions recorded in this environment (a copy). */
  public get policySuppressions(): Array<{ rule: string; path: string; reason: string }> {
    return [...this.suppressions];
  }

  /** @internal */
  public _grants(): GrantModel[] {
    return [...this.grants];
  }

  /** @internal */
  public _encryption(): EncryptionModel {
    return this.encryptionModel;
  }

  /** @internal */
  public _stageName(): StageName {
    return this.stage;
  }

  /** @internal Whether the definition declares its stages (`stages`), so names carry the stage. */
  public _perStage(): boolean {
    return this.perStage;
  }

  /** @internal */
  public _regionName(): RegionHintName {
    return this.region as RegionHintName;
  }
}

const STAGE_NAME = /^[a-z][a-z0-9-]{1,15}$/;

/** The stage of an environment instance, whether the selected stage includes it, and its declared stages. */
function resolveStage(env: MlopsEnvironment, props: MlopsEnvironmentProps): { stage: string; selected: boolean; declared: string[] } {
  const declared = props.stages ? Object.keys(props.stages) : [props.stage ?? Stage.DEV];
  for (const name of declared) {
    if (typeof name !== 'string' || !STAGE_NAME.test(name)) {
      addProblem(env, `stage ${show(name)} is not a stage name; use 2-16 lowercase letters, digits and '-', starting with a letter (e.g. ${Object.values(Stage).map(show).join(', ')})`);
    }
  }
  for (const [name, options] of Object.entries(props.stages ?? {})) checkKnownProps(env, 'StageOptions', options ?? {}, STAGE_OPTIONS_KEYS, `stages.${name}`);
  if (props.stages && declared.length === 0) addProblem(env, `stages is empty; name at least one stage, e.g. { dev: {}, prod: {} }, or leave stages out`);
  if (props.stages && props.stage !== undefined && !declared.includes(props.stage)) {
    addProblem(env, `stage ${show(props.stage)} is not one of its stages (${declared.map(show).join(', ')}); add it to stages or choose one of them`);
  }
  const fallback = props.stage ?? declared[0] ?? Stage.DEV;
  const selected: unknown = env.node.tryGetContext(STAGE_CONTEXT_KEY);
  if (selected === undefined || selected === null || selected === '') return { stage: fallback, selected: true, declared };
  if (typeof selected !== 'string') {
    addProblem(env, `context ${STAGE_CONTEXT_KEY} ${show(selected)} is not a stage name; select one stage, e.g. --stage dev`);
    return { stage: fallback, selected: false, declared };
  }
  return declared.includes(selected) ? { stage: selected, selected: true, declared } : { stage: fallback, selected: false, declared };
}

/** Record a problem when `value` is not one of `allowed` (for callers without a type checker). */
export function checkEnum(scope: IConstruct, prop: string, value: unknown, allowed: readonly unknown[]): void {
  if (!allowed.includes(value)) {
    addProblem(scope, `${prop} ${show(value)} is not allowed; use one of ${allowed.map(show).join(', ')}`);
  }
}
