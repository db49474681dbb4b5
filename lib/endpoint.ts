import type { Construct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import { addProblem, show, wholeNumberProblem } from './core/errors';
import { renderResources, RESOURCE_OPTIONS_KEYS, type ResourceOptions } from './compute';
import { Dataset } from './dataset';
import { checkEnum } from './environment';
import type { AutoscalingModel, DeploymentModel, OnlineEndpointModel, PrincipalModel, ResourcesModel } from './model/types';
import { ModelRef } from './registry';
import { MlResource, markGrantable, sameEnvironment, type IGrantable } from './resource';
import { checkKnownProps, type KnownKeys } from './core/props';
import { secretLiteralProblems, splitEnv, type EnvValue, type Secret } from './secret';

/**
 * How replicas scale.
 *
 * @example Autoscaling.cpu(70)
 */
export class Autoscaling {
  /** Keep average CPU utilisation near `targetPercent`. */
  public static cpu(targetPercent: number): Autoscaling {
    return new Autoscaling({ metric: 'cpu', target: targetPercent });
  }
  /** Keep requests per second per replica near `perReplica`. */
  public static requests(perReplica: number): Autoscaling {
    return new Autoscaling({ metric: 'requests', target: perReplica });
  }

  private constructor(private readonly model: AutoscalingModel) {}

  /** @internal */
  public _problems(): string[] {
    const { metric, target } = this.model;
    if (metric === 'cpu' && !(Number.isInteger(target) && target >= 10 && target <= 95)) return [`autoscaling CPU target ${show(target)} must be a whole percentage between 10 and 95; use e.g. Autoscaling.cpu(70)`];
    if (metric === 'requests' && !(target > 0 && target <= 10000)) return [`autoscaling request target ${show(target)} must be between 0 and 10000 requests per second per replica`];
    return [];
  }

  /** @internal */
  public _render(): AutoscalingModel {
    return this.model;
  }
}

/** How clients authenticate to an endpoint. */
export enum EndpointAuth {
  /** Static keys (rotated by the platform). */
  KEY = 'key',
  /** Short-lived identity tokens (Entra ID / Google IAM / AWS SigV4). */
  TOKEN = 'token',
}

/** One deployment of an online endpoint: a model version on its own replicas. */
export interface DeploymentOptions extends ResourceOptions {
  /** Deployment name (3-32 lower-case letters, digits, '-'), unique in the endpoint, e.g. 'blue'. */
  readonly name: string;
  /** The model version served. */
  readonly model: ModelRef;
  /**
   * Fewest replicas.
   *
   * @default 1
   */
  readonly minReplicas?: number;
  /**
   * Most replicas.
   *
   * @default - minReplicas (no autoscaling)
   */
  readonly maxReplicas?: number;
  /**
   * Scaling rule between min and max replicas.
   *
   * @default Autoscaling.cpu(70)
   */
  readonly autoscaling?: Autoscaling;
  /**
   * Environment variables of this deployment's serving container, added to those of the model's
   * `ServingContainer`: literal text, or a `Secret` resolved by the platform when a replica starts
   * and readable by this deployment's identity only. A literal that looks like a credential fails
   * synth.
   *
   * @default - the serving container's env only
   */
  readonly env?: Record<string, EnvValue>;
}

/** @internal The keys of `DeploymentOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const DEPLOYMENT_OPTIONS_KEYS: KnownKeys<DeploymentOptions> = { ...RESOURCE_OPTIONS_KEYS, name: true, model: true, minReplicas: true, maxReplicas: true, autoscaling: true, env: true };

/** Request/response capture settings. */
export interface CaptureOptions {
  /**
   * Capture request payloads.
   *
   * @default true
   */
  readonly requests?: boolean;
  /**
   * Capture response payloads.
   *
   * @default true
   */
  readonly responses?: boolean;
  /**
   * Fraction of requests captured (0-1).
   *
   * @default 1
   */
  readonly samplingRate?: number;
  /**
   * Dataset receiving captured payloads.
   *
   * @default - the environment's default store
   */
  readonly destination?: Dataset;
}

/** @internal The keys of `CaptureOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const CAPTURE_OPTIONS_KEYS: KnownKeys<CaptureOptions> = { requests: true, responses: true, samplingRate: true, destination: true };

/** Properties of an `OnlineEndpoint`. */
export interface OnlineEndpointProps {
  /**
   * Deployments (applied with `addDeployment`).
   *
   * @default - none; add at least one
   */
  readonly deployments?: DeploymentOptions[];
  /**
   * Share of live traffic per deployment name, summing to 100.
   *
   * @default - 100 to the only deployment
   */
  readonly traffic?: Record<string, number>;
  /**
   * Share of live traffic copied to deployments that serve no live traffic (shadow testing), at most 50 in total.
   *
   * @default - no mirroring
   */
  readonly mirrorTraffic?: Record<string, number>;
  /**
   * Client authentication.
   *
   * @default EndpointAuth.TOKEN
   */
  readonly auth?: EndpointAuth;
  /**
   * Capture requests and responses for monitoring (`true` = both, fully sampled).
   *
   * @default false
   */
  readonly capture?: boolean | CaptureOptions;
  /**
   * What the endpoint serves.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `OnlineEndpointProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const ONLINE_ENDPOINT_PROPS_KEYS: KnownKeys<OnlineEndpointProps> = { deployments: true, traffic: true, mirrorTraffic: true, auth: true, capture: true, description: true };

const BRAND = 'OnlineEndpoint';
const DEPLOYMENT_NAME = /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/;

/**
 * A real-time prediction endpoint with deployments, a traffic split, mirrored traffic and
 * autoscaling.
 *
 * @example
 * new OnlineEndpoint(env, 'Scoring', {
 *   deployments: [
 *     { name: 'blue', model: fraud.alias('champion'), minReplicas: 2, maxReplicas: 6 },
 *     { name: 'green', model: fraud.alias('challenger') },
 *   ],
 *   traffic: { blue: 90, green: 10 },
 *   capture: true,
 * });
 */
export class OnlineEndpoint extends MlResource implements IGrantable {
  /** Whether `x` is an `OnlineEndpoint`. */
  public static isOnlineEndpoint(x: unknown): x is OnlineEndpoint {
    return hasBrand(x, BRAND);
  }

  private readonly props: OnlineEndpointProps;
  private readonly deployments: Array<{ options: DeploymentOptions; resources: ResourcesModel; env: Record<string, string>; secrets: Record<string, Secret> }> = [];

  constructor(scope: Construct, id: string, props: OnlineEndpointProps = {}) {
    super(scope, id);
    brand(this, BRAND);
    markGrantable(this);
    this.props = props;
    checkKnownProps(this, 'OnlineEndpointProps', props, ONLINE_ENDPOINT_PROPS_KEYS);
    checkKnownProps(this, 'CaptureOptions', typeof props.capture === 'object' ? props.capture : undefined, CAPTURE_OPTIONS_KEYS, 'capture');
    if (props.auth !== undefined) checkEnum(this, 'auth', props.auth, Object.values(EndpointAuth));
    const capture = typeof props.capture === 'object' ? props.capture : undefined;
    if (capture?.samplingRate !== undefined && !(capture.samplingRate > 0 && capture.samplingRate <= 1)) {
      addProblem(this, `capture samplingRate ${show(capture.samplingRate)} must be greater than 0 and at most 1; use e.g. 0.2 for 20%`);
    }
    if (capture?.destination !== undefined && Dataset.isDataset(capture.destination) && sameEnvironment(this, 'capture destination', capture.destination)) {
      capture.destination._grantImplied(this, 'write');
    }
    for (const d of props.deployments ?? []) this.addDeployment(d);
    this.node.addValidation({ validate: () => this.trafficProblems() });
  }

  /** Add a deployment (it gets traffic through `traffic`). */
  public addDeployment(options: DeploymentOptions): void {
    const where = `deployment '${options.name}': `;
    checkKnownProps(this, 'DeploymentOptions', options, DEPLOYMENT_OPTIONS_KEYS, `deployment '${options.name}'`);
    if (typeof options.name !== 'string' || !DEPLOYMENT_NAME.test(options.name)) {
      addProblem(this, `deployment name ${show(options.name)} must be 3-32 lower-case letters, digits or '-', starting with a letter and not ending with '-'; e.g. 'blue'`);
    }
    if (this.deployments.some((d) => d.options.name === options.name)) addProblem(this, `deployment name '${options.name}' is used twice; names are unique within an endpoint`);
    if (!(options.model instanceof ModelRef)) {
      addProblem(this, `${where}model must be a model reference such as fraud.alias('champion')`);
    } else {
      for (const p of options.model._problems()) addProblem(this, where + p);
      if (sameEnvironment(this, `${where}model registry`, options.model.model.registry)) options.model.model.registry._recordGrants([{ kind: 'deployment', endpoint: this.node.path, deployment: options.name }], 'read', 'wiring');
    }
    const min = options.minReplicas ?? 1;
    const max = options.maxReplicas ?? min;
    addProblem(this, wholeNumberProblem(`${where}minReplicas`, min, 1, Infinity, 'online endpoints do not scale to zero: use 1'));
    addProblem(this, wholeNumberProblem(`${where}maxReplicas`, max, 1, 100));
    if (min > max) addProblem(this, `${where}minReplicas ${min} is greater than maxReplicas ${max}; lower minReplicas or raise maxReplicas`);
    if (options.autoscaling) for (const p of options.autoscaling._problems()) addProblem(this, where + p);
    const resources = renderResources(this, where, options, { cpu: 2, memoryGiB: 4 });
    const { literals, secrets } = splitEnv(this, options.env, where);
    for (const p of secretLiteralProblems(literals, [], where)) addProblem(this, p);
    const principal: PrincipalModel = { kind: 'deployment', endpoint: this.node.path, deployment: options.name };
    for (const secret of Object.values(secrets)) if (sameEnvironment(this, `${where}env secret`, secret)) secret._readBy([principal]);
    this.deployments.push({ options, resources, env: literals, secrets });
  }

  /** Names of the deployments (a copy). */
  public get deploymentNames(): string[] {
    return this.deployments.map((d) => d.options.name);
  }

  /** @internal */
  public _principals(): PrincipalModel[] {
    return this.deployments.map((d) => ({ kind: 'deployment', endpoint: this.node.path, deployment: d.options.name }));
  }

  /** @internal Whether capture is on. */
  public _capturing(): boolean {
    const c = this.props.capture;
    return c === true || (typeof c === 'object' && (c.requests ?? true));
  }

  /** @internal */
  public _render(): OnlineEndpointModel {
    const c = this.props.capture;
    const capture = typeof c === 'object' ? c : c === true ? {} : undefined;
    return {
      kind: 'onlineEndpoint',
      path: this.node.path,
      id: this.node.id,
      description: this.props.description,
      auth: this.props.auth ?? EndpointAuth.TOKEN,
      deployments: this.deployments.map(({ options, resources, env, secrets }): DeploymentModel => {
        const min = options.minReplicas ?? 1;
        return {
          name: options.name,
          model: options.model._render(),
          resources,
          minReplicas: min,
          maxReplicas: options.maxReplicas ?? min,
          autoscaling: (options.autoscaling ?? Autoscaling.cpu(70))._render(),
          traffic: this.trafficFor(options.name),
          mirror: this.props.mirrorTraffic?.[options.name] ?? 0,
          env: Object.keys(env).length > 0 ? env : undefined,
          secretEnv: Object.keys(secrets).length > 0 ? Object.fromEntries(Object.entries(secrets).map(([k, s]) => [k, s.node.path])) : undefined,
        };
      }),
      capture: {
        requests: capture ? (capture.requests ?? true) : false,
        responses: capture ? (capture.responses ?? true) : false,
        samplingRate: capture?.samplingRate ?? 1,
        destination: capture?.destination?.node.path,
      },
    };
  }

  private trafficFor(name: string): number {
    if (this.props.traffic === undefined) return this.deployments.length === 1 ? 100 : 0;
    return this.props.traffic[name] ?? 0;
  }

  private trafficProblems(): string[] {
    const names = this.deploymentNames;
    if (names.length === 0) return ['endpoint has no deployments; add one with deployments: [...] or addDeployment(...)'];
    const problems: string[] = [];
    const traffic = this.props.traffic;
    if (traffic === undefined) {
      if (names.length > 1) problems.push(`traffic is not set but there are ${names.length} deployments (${names.join(', ')}); set traffic, e.g. { ${names[0]}: 100 }`);
    } else {
      let sum = 0;
      for (const [name, share] of Object.entries(traffic)) {
        if (!names.includes(name)) problems.push(`traffic names deployment '${name}', which does not exist (deployments: ${names.join(', ')}); fix the name or add the deployment`);
        if (!Number.isInteger(share) || share < 0 || share > 100) problems.push(`traffic for '${name}' is ${show(share)}; use a whole percentage 0-100`);
        sum += Number(share) || 0;
      }
      if (sum !== 100) {
        const parts = Object.entries(traffic).map(([n, s]) => `${n}=${s}`).join(', ');
        problems.push(`traffic must sum to 100, got ${sum} (${parts}); adjust one deployment`);
      }
    }
    const mirror = this.props.mirrorTraffic ?? {};
    let mirrored = 0;
    for (const [name, share] of Object.entries(mirror)) {
      if (!names.includes(name)) problems.push(`mirrorTraffic names deployment '${name}', which does not exist (deployments: ${names.join(', ')}); fix the name or add the deployment`);
      if (!Number.isInteger(share) || share < 0 || share > 50) problems.push(`mirrorTraffic for '${name}' is ${show(share)}; mirror at most 50 percent of traffic`);
      if (share > 0 && this.trafficFor(name) > 0) problems.push(`deployment '${name}' receives ${this.trafficFor(name)}% live traffic and ${share}% mirrored traffic; mirror only to a deployment with 0 live traffic`);
      mirrored += Number(share) || 0;
    }
    // With one mirrored deployment its own limit above already says it; the total is news only for several.
    const mirroredTo = Object.values(mirror).filter((share) => Number(share) > 0).length;
    if (mirrored > 50 && mirroredTo > 1) problems.push(`mirrorTraffic totals ${mirrored}%; at most 50% of traffic can be mirrored`);
    return problems;
  }
}
