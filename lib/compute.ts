import type { Construct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import { Duration } from './core/duration';
import { addProblem, durationProblem, show, wholeNumberProblem } from './core/errors';
import { Size } from './core/size';
import type { AcceleratorModel, ComputePoolModel, KnownAcceleratorName, ResourcesModel } from './model/types';
import { MlResource } from './resource';
import { checkKnownProps, type KnownKeys } from './core/props';

/**
 * A hardware accelerator.
 *
 * @example Accelerator.NVIDIA_T4
 * @example Accelerator.custom('azure', 'Standard_NC24ads_A100_v4')
 */
export class Accelerator {
  public static readonly NVIDIA_T4 = new Accelerator('known', 'nvidia-t4');
  public static readonly NVIDIA_L4 = new Accelerator('known', 'nvidia-l4');
  public static readonly NVIDIA_V100 = new Accelerator('known', 'nvidia-v100');
  public static readonly NVIDIA_A10G = new Accelerator('known', 'nvidia-a10g');
  public static readonly NVIDIA_A100 = new Accelerator('known', 'nvidia-a100');
  public static readonly NVIDIA_H100 = new Accelerator('known', 'nvidia-h100');

  /**
   * A provider-specific accelerator or machine type, honoured only by that provider's target
   * (`azure` VM size, `gcp` accelerator type, `aws` instance type).
   */
  public static custom(provider: 'azure' | 'gcp' | 'aws', name: string): Accelerator {
    return new Accelerator('custom', name, provider);
  }

  private constructor(
    private readonly kind: 'known' | 'custom',
    private readonly name: string,
    private readonly provider?: string,
  ) {}

  /** @internal */
  public _render(count: number): AcceleratorModel {
    return this.kind === 'known'
      ? { kind: 'known', name: this.name as KnownAcceleratorName, count }
      : { kind: 'custom', provider: this.provider!, name: this.name, count };
  }

  /** @internal */
  public _problems(): string[] {
    if (this.kind === 'custom' && (!['azure', 'gcp', 'aws'].includes(this.provider ?? '') || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(this.name))) {
      return [`custom accelerator ${show(this.provider)}/${show(this.name)} needs provider 'azure', 'gcp' or 'aws' and a machine/accelerator name of letters, digits, '_', '.', '-'`];
    }
    return [];
  }

  public toString(): string {
    return this.kind === 'known' ? this.name : `${this.provider}:${this.name}`;
  }
}

/** Resource requests of a node or container. */
export interface ResourceOptions {
  /**
   * vCPUs.
   *
   * @default 2
   */
  readonly cpu?: number;
  /**
   * Memory.
   *
   * @default Size.gibibytes(8)
   */
  readonly memory?: Size;
  /**
   * An accelerator.
   *
   * @default - none (CPU only)
   */
  readonly accelerator?: Accelerator;
  /**
   * Number of accelerators. Only with `accelerator`.
   *
   * @default 1
   */
  readonly acceleratorCount?: number;
}

/** @internal The keys of `ResourceOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
export const RESOURCE_OPTIONS_KEYS: KnownKeys<ResourceOptions> = { cpu: true, memory: true, accelerator: true, acceleratorCount: true };

/**
 * Check and render resource options; problems are recorded on `scope` with `what` as prefix.
 *
 * @internal
 */
export function renderResources(scope: Construct, what: string, o: ResourceOptions, defaults: { cpu: number; memoryGiB: number }): ResourcesModel {
  const cpu = o.cpu ?? defaults.cpu;
  const memoryGiB = o.memory?.toGibibytes() ?? defaults.memoryGiB;
  if (!(cpu > 0) || cpu > 224 || !Number.isFinite(cpu) || (cpu < 1 && cpu * 4 !== Math.round(cpu * 4))) {
    addProblem(scope, `${what}cpu ${show(cpu)} must be between 0.25 and 224 vCPUs (fractions in quarters below 1); use e.g. 2`);
  }
  if (!(memoryGiB >= 0.5) || memoryGiB > 3904) {
    addProblem(scope, `${what}memory ${o.memory?.toString() ?? show(memoryGiB)} must be between 512 MiB and 3904 GiB; use e.g. Size.gibibytes(8)`);
  }
  const count = o.acceleratorCount ?? 1;
  if (o.acceleratorCount !== undefined && !o.accelerator) {
    addProblem(scope, `${what}acceleratorCount is ${count} but no accelerator is set; set accelerator (e.g. Accelerator.NVIDIA_T4) or remove acceleratorCount`);
  }
  if (o.accelerator) {
    if (![1, 2, 4, 8, 16].includes(count)) addProblem(scope, `${what}acceleratorCount ${show(count)} is not allowed; use 1, 2, 4, 8 or 16 (machine shapes come in powers of two)`);
    for (const p of o.accelerator._problems()) addProblem(scope, what + p);
  }
  return { cpu, memoryGiB, accelerator: o.accelerator?._render(count) };
}

/** Properties of a `ComputePool`. */
export interface ComputePoolProps extends ResourceOptions {
  /**
   * Nodes kept running when idle.
   *
   * @default 0 - scale to zero when idle
   */
  readonly minNodes?: number;
  /**
   * Upper bound of nodes.
   *
   * @default 4
   */
  readonly maxNodes?: number;
  /**
   * Use spot / low-priority capacity (cheaper, may be pre-empted).
   *
   * @default false
   */
  readonly spot?: boolean;
  /**
   * How long a node may stay idle before it is released.
   *
   * @default Duration.minutes(10)
   */
  readonly idleTimeout?: Duration;
  /**
   * What the pool is for.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `ComputePoolProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const COMPUTE_POOL_PROPS_KEYS: KnownKeys<ComputePoolProps> = { ...RESOURCE_OPTIONS_KEYS, minNodes: true, maxNodes: true, spot: true, idleTimeout: true, description: true };

const BRAND = 'ComputePool';

/**
 * Capacity for pipeline steps and batch jobs: CPU or GPU nodes that scale between min and max.
 *
 * @example new ComputePool(env, 'Gpu', { accelerator: Accelerator.NVIDIA_T4, maxNodes: 4, spot: true });
 */
export class ComputePool extends MlResource {
  /** Whether `x` is a `ComputePool`. */
  public static isComputePool(x: unknown): x is ComputePool {
    return hasBrand(x, BRAND);
  }

  public readonly minNodes: number;
  public readonly maxNodes: number;
  private readonly props: ComputePoolProps;
  private readonly node_: ResourcesModel;

  constructor(scope: Construct, id: string, props: ComputePoolProps = {}) {
    super(scope, id);
    brand(this, BRAND);
    this.props = props;
    checkKnownProps(this, 'ComputePoolProps', props, COMPUTE_POOL_PROPS_KEYS);
    this.minNodes = props.minNodes ?? 0;
    this.maxNodes = props.maxNodes ?? 4;
    this.node_ = renderResources(this, '', props, { cpu: 4, memoryGiB: 16 });
    const nodeProblems = [
      wholeNumberProblem('minNodes', this.minNodes, 0, Infinity, 'use 0 to scale to zero'),
      wholeNumberProblem('maxNodes', this.maxNodes, 1, 1000),
    ];
    for (const p of nodeProblems) if (p) addProblem(this, p);
    if (nodeProblems.every((p) => p === undefined) && this.minNodes > this.maxNodes) addProblem(this, `minNodes ${this.minNodes} is greater than maxNodes ${this.maxNodes}; lower minNodes or raise maxNodes`);
    const idle = (props.idleTimeout ?? Duration.minutes(10)).toSeconds();
    addProblem(this, durationProblem('idleTimeout', String(props.idleTimeout ?? Duration.minutes(10)), idle, 60, 7 * 86400, '1 minute and 7 days', 'Duration.minutes(10)'));
  }

  /** Whether nodes have an accelerator. */
  public get hasAccelerator(): boolean {
    return this.node_.accelerator !== undefined;
  }

  /** @internal */
  public _render(): ComputePoolModel {
    return {
      kind: 'computePool',
      path: this.node.path,
      id: this.node.id,
      description: this.props.description,
      node: this.node_,
      minNodes: this.minNodes,
      maxNodes: this.maxNodes,
      spot: this.props.spot ?? false,
      idleSeconds: (this.props.idleTimeout ?? Duration.minutes(10)).toSeconds(),
    };
  }
}

