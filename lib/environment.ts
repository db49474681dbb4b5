import { Construct, type IConstruct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import { addProblem, checkedId, show, ValidationError } from './core/errors';
import { Duration } from './core/duration';
import type { EncryptionModel, GrantModel, RegionHintName, StageName } from './model/types';
import { checkKnownProps, type KnownKeys } from './core/props';

/** Deployment stage of an environment. */
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

/** Properties of an `MlopsEnvironment`. */
export interface MlopsEnvironmentProps {
  /**
   * Deployment stage; policies are stricter in prod.
   *
   * @default Stage.DEV
   */
  readonly stage?: Stage;
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
const MLOPS_ENVIRONMENT_PROPS_KEYS: KnownKeys<MlopsEnvironmentProps> = { stage: true, region: true, tags: true, network: true, encryption: true, description: true };

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

  public readonly stage: Stage;
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
    this.stage = props.stage ?? Stage.DEV;
    this.region = props.region ?? RegionHint.ANY;
    this.network = props.network ?? Network.PRIVATE;
    this.encryption = props.encryption ?? Encryption.platformKey();
    this.description = props.description;
    this.encryptionModel = this.encryption._render(this);
    if (!/^[A-Za-z][A-Za-z0-9]{1,23}$/.test(id)) {
      addProblem(this, `environment id ${show(id)} must be 2-24 letters and digits starting with a letter (it becomes part of every resource name); rename it, e.g. 'Fraud'`);
    }
    checkEnum(this, 'stage', this.stage, Object.values(Stage));
    checkEnum(this, 'region', this.region, Object.values(RegionHint));
    checkEnum(this, 'network', this.network, Object.values(Network));
    for (const [key, value] of Object.entries(props.tags ?? {})) this.addTag(key, value);
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
    return this.stage as StageName;
  }

  /** @internal */
  public _regionName(): RegionHintName {
    return this.region as RegionHintName;
  }
}

/** Record a problem when `value` is not one of `allowed` (for callers without a type checker). */
export function checkEnum(scope: IConstruct, prop: string, value: unknown, allowed: readonly unknown[]): void {
  if (!allowed.includes(value)) {
    addProblem(scope, `${prop} ${show(value)} is not allowed; use one of ${allowed.map(show).join(', ')}`);
  }
}
