import type { AcceleratorModel, ResourcesModel, ScheduleModel } from '../../lib/model/types';

/** A result or the reason there is none. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(error: string): Result<T> => ({ ok: false, error });

/** A valid Fargate task size. */
export interface FargateSize {
  /** CPU units (1024 = 1 vCPU). */
  readonly cpu: number;
  /** Memory in MiB. */
  readonly memoryMiB: number;
}

/** Fargate CPU tiers: vCPU, memory range and step in GiB. */
const FARGATE_TIERS: readonly { vcpu: number; min: number; max: number; step: number }[] = [
  { vcpu: 0.25, min: 0.5, max: 2, step: 0.5 },
  { vcpu: 0.5, min: 1, max: 4, step: 1 },
  { vcpu: 1, min: 2, max: 8, step: 1 },
  { vcpu: 2, min: 4, max: 16, step: 1 },
  { vcpu: 4, min: 8, max: 30, step: 1 },
  { vcpu: 8, min: 16, max: 60, step: 4 },
  { vcpu: 16, min: 32, max: 120, step: 8 },
];

/**
 * The smallest valid Fargate size that holds `resources` (CPU and memory rounded up to a valid
 * combination).
 */
export function fargateSize(resources: ResourcesModel): Result<FargateSize> {
  for (const tier of FARGATE_TIERS) {
    if (tier.vcpu < resources.cpu) continue;
    const wanted = Math.max(tier.min, Math.ceil(resources.memoryGiB / tier.step) * tier.step);
    if (wanted > tier.max) continue;
    return ok({ cpu: tier.vcpu * 1024, memoryMiB: Math.round(wanted * 1024) });
  }
  return fail(
    `${resources.cpu} vCPU / ${resources.memoryGiB} GiB does not fit a Fargate task (at most 16 vCPU and 120 GiB, memory between 2x and 8x the vCPUs); lower cpu/memory or run the step on a ComputePool`,
  );
}

/** A GPU instance type with its GPU, vCPU and memory sizes. */
export interface GpuInstance {
  readonly instanceType: string;
  readonly gpus: number;
  /** vCPUs; 0 when unknown (a custom instance type). */
  readonly vcpus: number;
  /** Memory in GiB; 0 when unknown (a custom instance type). */
  readonly memoryGiB: number;
}

/** Share of an instance's memory a job may ask for (the ECS agent and OS keep the rest). */
export const USABLE_MEMORY = 0.9;

const gpu = (instanceType: string, gpus: number, vcpus: number, memoryGiB: number): GpuInstance => ({ instanceType, gpus, vcpus, memoryGiB });

/** GPU instance types per accelerator, smallest first. */
const GPU_INSTANCES: Readonly<Record<string, readonly GpuInstance[]>> = {
  'nvidia-t4': [
    gpu('g4dn.xlarge', 1, 4, 16),
    gpu('g4dn.2xlarge', 1, 8, 32),
    gpu('g4dn.4xlarge', 1, 16, 64),
    gpu('g4dn.8xlarge', 1, 32, 128),
    gpu('g4dn.16xlarge', 1, 64, 256),
    gpu('g4dn.12xlarge', 4, 48, 192),
    gpu('g4dn.metal', 8, 96, 384),
  ],
  'nvidia-a10g': [
    gpu('g5.xlarge', 1, 4, 16),
    gpu('g5.2xlarge', 1, 8, 32),
    gpu('g5.4xlarge', 1, 16, 64),
    gpu('g5.8xlarge', 1, 32, 128),
    gpu('g5.16xlarge', 1, 64, 256),
    gpu('g5.12xlarge', 4, 48, 192),
    gpu('g5.24xlarge', 4, 96, 384),
    gpu('g5.48xlarge', 8, 192, 768),
  ],
  'nvidia-l4': [
    gpu('g6.xlarge', 1, 4, 16),
    gpu('g6.2xlarge', 1, 8, 32),
    gpu('g6.4xlarge', 1, 16, 64),
    gpu('g6.8xlarge', 1, 32, 128),
    gpu('g6.16xlarge', 1, 64, 256),
    gpu('g6.12xlarge', 4, 48, 192),
    gpu('g6.24xlarge', 4, 96, 384),
    gpu('g6.48xlarge', 8, 192, 768),
  ],
  'nvidia-v100': [gpu('p3.2xlarge', 1, 8, 61), gpu('p3.8xlarge', 4, 32, 244), gpu('p3.16xlarge', 8, 64, 488)],
  'nvidia-a100': [gpu('p4d.24xlarge', 8, 96, 1152)],
  'nvidia-h100': [gpu('p5.48xlarge', 8, 192, 2048)],
};

/**
 * The smallest EC2 instance type that carries `accelerator` and, when given, a job of `node`'s
 * vCPUs and memory (at most {@link USABLE_MEMORY} of the instance's memory).
 */
export function gpuInstance(accelerator: AcceleratorModel, node?: { readonly cpu: number; readonly memoryGiB: number }): Result<GpuInstance> {
  if (accelerator.kind === 'custom') {
    if (accelerator.provider !== 'aws') {
      return fail(
        `accelerator is custom for provider '${accelerator.provider}' ('${accelerator.name}'); the aws target needs Accelerator.custom('aws', '<EC2 instance type>') or a known accelerator`,
      );
    }
    if (!/^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$/.test(accelerator.name)) {
      return fail(`custom aws accelerator '${accelerator.name}' is not an EC2 instance type (e.g. 'g5.2xlarge'); give the instance type`);
    }
    return ok(gpu(accelerator.name, accelerator.count, 0, 0));
  }
  const candidates = GPU_INSTANCES[accelerator.name] ?? [];
  const fits = (c: GpuInstance) => c.gpus >= accelerator.count && (!node || (c.vcpus >= node.cpu && c.memoryGiB * USABLE_MEMORY >= node.memoryGiB));
  const fit = [...candidates].sort((x, y) => x.gpus - y.gpus || x.vcpus - y.vcpus).find(fits);
  if (!fit) {
    const largest = candidates.reduce<GpuInstance | undefined>((m, c) => (!m || c.vcpus > m.vcpus ? c : m), undefined);
    const most = candidates.reduce((m, c) => Math.max(m, c.gpus), 0);
    if (accelerator.count > most) return fail(`${accelerator.count} x ${accelerator.name} exceeds the largest EC2 instance (${most} GPUs); use at most ${most}`);
    return fail(
      `${node?.cpu} vCPU / ${node?.memoryGiB} GiB with ${accelerator.count} x ${accelerator.name} fits no EC2 instance (largest: ${largest?.instanceType}, ${largest?.vcpus} vCPU, ${largest?.memoryGiB} GiB of which ${Math.round(USABLE_MEMORY * 100)}% usable); ask for less`,
    );
  }
  return ok(fit);
}

/** An EventBridge schedule: `cron(...)` or `rate(...)` and an optional IANA time zone. */
export interface AwsSchedule {
  readonly expression: string;
  readonly timeZone?: string;
}

/**
 * Translate a model schedule into EventBridge Scheduler syntax.
 *
 * Five-field cron becomes six-field `cron(min hour dom month dow year)`, with `?` in the unused day
 * field and days of the week shifted to EventBridge numbering (1 = Sunday). Rates must be whole
 * minutes.
 */
export function awsSchedule(schedule: ScheduleModel): Result<AwsSchedule> {
  if (schedule.kind === 'rate') {
    const s = schedule.seconds;
    if (!Number.isInteger(s) || s < 60 || s % 60 !== 0) {
      return fail(`rate of ${s} seconds is not a whole number of minutes (EventBridge Scheduler's smallest unit); use a multiple of 60 seconds`);
    }
    if (s % 86400 === 0) return ok({ expression: `rate(${s / 86400} ${s === 86400 ? 'day' : 'days'})` });
    if (s % 3600 === 0) return ok({ expression: `rate(${s / 3600} ${s === 3600 ? 'hour' : 'hours'})` });
    return ok({ expression: `rate(${s / 60} ${s === 60 ? 'minute' : 'minutes'})` });
  }
  const fields = schedule.expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    return fail(`cron '${schedule.expression}' must have five fields (minute hour day-of-month month day-of-week)`);
  }
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const domSet = dom !== '*' && dom !== '?';
  const dowSet = dow !== '*' && dow !== '?';
  if (domSet && dowSet) {
    return fail(`cron '${schedule.expression}' sets both day-of-month and day-of-week, which EventBridge cannot combine; keep one and use '*' for the other`);
  }
  let awsDow = '?';
  if (dowSet) {
    const shifted = shiftDaysOfWeek(dow);
    if (!shifted.ok) return fail(`cron '${schedule.expression}': ${shifted.error}`);
    awsDow = shifted.value;
  }
  const awsDom = dowSet ? '?' : dom === '?' ? '*' : dom;
  return ok({ expression: `cron(${minute} ${hour} ${awsDom} ${month} ${awsDow} *)`, timeZone: schedule.timeZone });
}

/** Shift numeric days of the week from cron (0/7 = Sunday) to EventBridge (1 = Sunday). */
function shiftDaysOfWeek(field: string): Result<string> {
  if (field.includes('/')) return fail(`step values in day-of-week ('${field}') are not supported; list the days`);
  const out: string[] = [];
  for (const part of field.split(',')) {
    const range = part.split('-');
    const mapped: string[] = [];
    for (const token of range) {
      if (/^\d+$/.test(token)) {
        const n = Number(token);
        if (n > 7) return fail(`day-of-week ${n} is out of range 0-7`);
        mapped.push(String((n % 7) + 1));
      } else if (/^[A-Za-z]{3}$/.test(token)) {
        mapped.push(token.toUpperCase());
      } else {
        return fail(`day-of-week token '${token}' is not a number or a three-letter day name`);
      }
    }
    out.push(mapped.join('-'));
  }
  return ok(out.join(','));
}
