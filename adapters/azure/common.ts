import type { ResourcesModel, ScheduleModel } from '../../lib/model/types';
import { ArmExpr, reference, resourceId, resourceKey, type ArmObject, type ArmValue } from './arm';
import { API, ML, ML_API, type SynthContext } from './context';
import { RULES, shortHash } from './names';
import { windowsTimeZone } from './timezones';

/** Add a child resource of the workspace (`computes`, `data/versions`, ...). */
export function addMlChild(
  ctx: SynthContext,
  child: string,
  names: readonly string[],
  body: { location?: ArmValue; tags?: Record<string, string>; sku?: ArmObject; identity?: ArmObject; kind?: string; properties: ArmObject; extraDependsOn?: readonly string[] },
): string {
  const type = `${ML}/workspaces/${child}`;
  const name = [ctx.core.workspace, ...names].join('/');
  ctx.add({ type, apiVersion: ML_API, name, ...body });
  return resourceKey(type, name);
}

/** A user-assigned identity owned by one construct (pipeline, endpoint, batch, monitor). */
export interface OwnedIdentity {
  readonly name: string;
  readonly id: ArmExpr;
  readonly principalId: ArmExpr;
  readonly clientId: ArmExpr;
}

/** The user-assigned identity of the construct at `path`, defined once. */
export function ownedIdentity(ctx: SynthContext, path: string): OwnedIdentity {
  const name = ctx.name(RULES.identity, ctx.staged(['id', ...ctx.localSegments(path)]), path);
  const type = 'Microsoft.ManagedIdentity/userAssignedIdentities';
  if (!ctx.has(resourceKey(type, name))) {
    ctx.add({ type, apiVersion: API.identity, name, location: ctx.settings.location, tags: ctx.tags(path) });
  }
  const id = resourceId(type, name);
  return { name, id, principalId: reference(id, API.identity, 'principalId'), clientId: reference(id, API.identity, 'clientId') };
}

/** An `identity` block naming user-assigned identities (keys are expressions). */
export function userAssigned(ids: readonly ArmExpr[]): ArmObject {
  const map: Record<string, ArmObject> = {};
  for (const id of ids) map[`[${id.text}]`] = {};
  return { type: 'UserAssigned', userAssignedIdentities: map };
}

/** Inference routes of a serving container. */
export interface InferenceRoutes {
  readonly port: number;
  readonly predictRoute: string;
  readonly healthRoute: string;
}

/** A registered environment (container image) version: its asset name and version. */
export interface EnvironmentRef {
  readonly name: string;
  readonly version: string;
  /** `azureml:<name>:<version>` for component specs and YAML. */
  readonly asset: string;
  /** ARM id for resource properties. */
  readonly id: ArmExpr;
}

/**
 * The environment version for a container image (optionally with inference routes), defined once.
 * The version is a hash of the definition: environment versions are immutable in Azure ML.
 */
export function imageEnvironment(ctx: SynthContext, image: string, path: string, routes?: InferenceRoutes): EnvironmentRef {
  const repo = image.replace(/[@:][^/]*$/, '').split('/').slice(-2).join('-');
  const name = ctx.name(RULES.asset, [routes ? 'serve' : 'img', repo], path);
  const version = shortHash([image, JSON.stringify(routes ?? null)], 8);
  const key = resourceKey(`${ML}/workspaces/environments/versions`, `${ctx.core.workspace}/${name}/${version}`);
  if (!ctx.has(key)) {
    addMlChild(ctx, 'environments/versions', [name, version], {
      properties: {
        image,
        osType: 'Linux',
        description: `Container image ${image}`,
        tags: ctx.tags(path),
        inferenceConfig: routes
          ? {
              livenessRoute: { port: routes.port, path: routes.healthRoute },
              readinessRoute: { port: routes.port, path: routes.healthRoute },
              scoringRoute: { port: routes.port, path: routes.predictRoute },
            }
          : undefined,
      },
    });
  }
  return { name, version, asset: `azureml:${name}:${version}`, id: ctx.mlId('environments/versions', name, version) };
}

/** Seconds as an ISO 8601 duration (`PT90S`, `PT2H`, `P1D`). */
export function isoDuration(seconds: number): string {
  if (seconds % 86400 === 0) return `P${seconds / 86400}D`;
  if (seconds % 3600 === 0) return `PT${seconds / 3600}H`;
  if (seconds % 60 === 0) return `PT${seconds / 60}M`;
  return `PT${seconds}S`;
}

/** Host names of container images (for outbound rules of a private network). */
export function imageHost(image: string): string {
  const first = image.split('/')[0] ?? '';
  if (image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return first.replace(/:\d+$/, '');
  return 'docker.io';
}

/**
 * A schedule trigger: cron with its IANA zone mapped to the Windows name, or a recurrence.
 * Problems (unknown zone, a rate below one minute or not a whole number of minutes) go to `path`.
 */
export function scheduleTrigger(ctx: SynthContext, schedule: ScheduleModel, path: string): ArmObject {
  if (schedule.kind === 'cron') {
    const tz = windowsTimeZone(schedule.timeZone);
    if (tz === undefined) {
      ctx.problem(
        path,
        `time zone '${schedule.timeZone}' has no Windows time zone mapping known to the azure target (Azure ML schedules take Windows names such as 'W. Europe Standard Time'); use a canonical IANA zone such as 'Europe/Amsterdam', 'America/New_York' or 'UTC'`,
      );
    }
    const fields = schedule.expression.trim().split(/\s+/);
    if (fields.length !== 5) {
      ctx.problem(path, `cron expression '${schedule.expression}' must have 5 fields (minute hour day-of-month month day-of-week); Azure ML schedules use NCronTab 5-field syntax`);
    }
    return { triggerType: 'Cron', expression: fields.length === 5 ? ncrontab(fields) : schedule.expression, timeZone: tz ?? 'UTC' };
  }
  const s = schedule.seconds;
  if (!Number.isInteger(s) || s < 60 || s % 60 !== 0) {
    ctx.problem(path, `rate of ${s} seconds cannot be expressed by an Azure ML recurrence (whole minutes, at least 1 minute); use a multiple of 60 seconds`);
    return { triggerType: 'Recurrence', frequency: 'Minute', interval: 1, timeZone: 'UTC' };
  }
  if (s % 604800 === 0) return { triggerType: 'Recurrence', frequency: 'Week', interval: s / 604800, timeZone: 'UTC' };
  if (s % 86400 === 0) return { triggerType: 'Recurrence', frequency: 'Day', interval: s / 86400, timeZone: 'UTC' };
  if (s % 3600 === 0) return { triggerType: 'Recurrence', frequency: 'Hour', interval: s / 3600, timeZone: 'UTC' };
  return { triggerType: 'Recurrence', frequency: 'Minute', interval: s / 60, timeZone: 'UTC' };
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * A 5-field cron in the form NCronTab (Azure ML's parser) reads everywhere: month and weekday
 * names as numbers, Sunday as 0 (not 7).
 */
export function ncrontab(fields: readonly string[]): string {
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const months = month.replace(/[A-Za-z]{3}/g, (m) => String(MONTHS.indexOf(m.toUpperCase()) + 1 || m));
  const named = dow.replace(/[A-Za-z]{3}/g, (d) => (DAYS.includes(d.toUpperCase()) ? String(DAYS.indexOf(d.toUpperCase())) : d));
  // Sunday may be written 7 (or SUN = 0 at the end of a range): alone it becomes 0, `a-7` becomes `a-6,0`.
  const days = named
    .split(',')
    .map((item) => (item === '7' ? '0' : item.replace(/^([1-6])-[70]$/, '$1-6,0')))
    .join(',');
  return [minute, hour, dom, months, days].join(' ');
}

/** The YAML (CLI v2) form of a trigger, as in the azureml-examples schedules. */
export function yamlTrigger(trigger: ArmObject): Record<string, unknown> {
  if (trigger.triggerType === 'Cron') return { type: 'cron', expression: trigger.expression, time_zone: trigger.timeZone };
  return { type: 'recurrence', frequency: String(trigger.frequency).toLowerCase(), interval: trigger.interval, time_zone: trigger.timeZone };
}

interface VmSize {
  readonly name: string;
  readonly cpu: number;
  readonly memoryGiB: number;
  readonly gpu?: { readonly kind: string; readonly count: number };
}

/** VM sizes for AmlCompute clusters (general purpose, memory optimised, GPU). */
const CLUSTER_SIZES: readonly VmSize[] = [
  ...[2, 4, 8, 16, 32, 48, 64, 96].map((n) => ({ name: `Standard_D${n}s_v5`, cpu: n, memoryGiB: 4 * n })),
  ...[2, 4, 8, 16, 32, 48, 64, 96].map((n) => ({ name: `Standard_E${n}s_v5`, cpu: n, memoryGiB: 8 * n })),
  { name: 'Standard_NC4as_T4_v3', cpu: 4, memoryGiB: 28, gpu: { kind: 'nvidia-t4', count: 1 } },
  { name: 'Standard_NC8as_T4_v3', cpu: 8, memoryGiB: 56, gpu: { kind: 'nvidia-t4', count: 1 } },
  { name: 'Standard_NC16as_T4_v3', cpu: 16, memoryGiB: 110, gpu: { kind: 'nvidia-t4', count: 1 } },
  { name: 'Standard_NC64as_T4_v3', cpu: 64, memoryGiB: 440, gpu: { kind: 'nvidia-t4', count: 4 } },
  { name: 'Standard_NC6s_v3', cpu: 6, memoryGiB: 112, gpu: { kind: 'nvidia-v100', count: 1 } },
  { name: 'Standard_NC12s_v3', cpu: 12, memoryGiB: 224, gpu: { kind: 'nvidia-v100', count: 2 } },
  { name: 'Standard_NC24s_v3', cpu: 24, memoryGiB: 448, gpu: { kind: 'nvidia-v100', count: 4 } },
  { name: 'Standard_NV36ads_A10_v5', cpu: 36, memoryGiB: 440, gpu: { kind: 'nvidia-a10g', count: 1 } },
  { name: 'Standard_NV72ads_A10_v5', cpu: 72, memoryGiB: 880, gpu: { kind: 'nvidia-a10g', count: 2 } },
  { name: 'Standard_NC24ads_A100_v4', cpu: 24, memoryGiB: 220, gpu: { kind: 'nvidia-a100', count: 1 } },
  { name: 'Standard_NC48ads_A100_v4', cpu: 48, memoryGiB: 440, gpu: { kind: 'nvidia-a100', count: 2 } },
  { name: 'Standard_NC96ads_A100_v4', cpu: 96, memoryGiB: 880, gpu: { kind: 'nvidia-a100', count: 4 } },
  { name: 'Standard_ND96asr_v4', cpu: 96, memoryGiB: 900, gpu: { kind: 'nvidia-a100', count: 8 } },
  { name: 'Standard_NC40ads_H100_v5', cpu: 40, memoryGiB: 320, gpu: { kind: 'nvidia-h100', count: 1 } },
  { name: 'Standard_NC80adis_H100_v5', cpu: 80, memoryGiB: 640, gpu: { kind: 'nvidia-h100', count: 2 } },
  { name: 'Standard_ND96isr_H100_v5', cpu: 96, memoryGiB: 1900, gpu: { kind: 'nvidia-h100', count: 8 } },
];

/** Instance types managed online endpoints accept (a subset of the documented SKU list). */
const ONLINE_SIZES: readonly VmSize[] = [
  ...[2, 4, 8, 16, 32, 48, 64, 72].map((n) => ({ name: `Standard_F${n}s_v2`, cpu: n, memoryGiB: 2 * n })),
  { name: 'Standard_DS2_v2', cpu: 2, memoryGiB: 7 },
  { name: 'Standard_DS3_v2', cpu: 4, memoryGiB: 14 },
  { name: 'Standard_DS4_v2', cpu: 8, memoryGiB: 28 },
  { name: 'Standard_DS5_v2', cpu: 16, memoryGiB: 56 },
  ...[2, 4, 8, 16, 32, 48, 64].map((n) => ({ name: `Standard_E${n}s_v3`, cpu: n, memoryGiB: 8 * n })),
  ...CLUSTER_SIZES.filter((s) => s.gpu !== undefined && !s.name.startsWith('Standard_ND')),
];

/**
 * The smallest VM size that fits `resources`, for clusters or for managed online deployments.
 * Problems (no size, unknown accelerator provider) go to `path`.
 */
export function vmSize(ctx: SynthContext, resources: ResourcesModel, path: string, pool: 'cluster' | 'online'): string {
  const acc = resources.accelerator;
  if (acc?.kind === 'custom') {
    if (acc.provider !== 'azure') {
      ctx.problem(path, `accelerator is custom for provider '${acc.provider}' ('${acc.name}'); the azure target needs Accelerator.custom('azure', '<VM size>'), e.g. 'Standard_NC24ads_A100_v4', or a known accelerator`);
    }
    return acc.name;
  }
  const sizes = pool === 'cluster' ? CLUSTER_SIZES : ONLINE_SIZES;
  const candidates = sizes
    .filter((s) => (acc ? s.gpu?.kind === acc.name && s.gpu.count >= acc.count : s.gpu === undefined))
    .filter((s) => s.cpu >= resources.cpu && s.memoryGiB >= resources.memoryGiB)
    .sort((a, b) => a.cpu - b.cpu || a.memoryGiB - b.memoryGiB || (a.gpu?.count ?? 0) - (b.gpu?.count ?? 0) || a.name.localeCompare(b.name));
  const pick = candidates[0];
  if (pick === undefined) {
    const what = acc ? `${acc.count} × ${acc.name}` : 'no accelerator';
    const offered = sizes.filter((s) => (acc ? s.gpu?.kind === acc.name : s.gpu === undefined)).map((s) => s.name);
    const hint =
      offered.length > 0
        ? `sizes for ${acc ? acc.name : 'CPU'}: ${offered.join(', ')}; lower cpu/memory/count or use Accelerator.custom('azure', '<VM size>')`
        : `Azure has no VM size with ${acc?.name}; use another accelerator (e.g. nvidia-t4, nvidia-a100) or Accelerator.custom('azure', '<VM size>')`;
    ctx.problem(path, `no Azure ${pool === 'cluster' ? 'AmlCompute' : 'managed online'} VM size fits ${resources.cpu} vCPU, ${resources.memoryGiB} GiB, ${what}; ${hint}`);
    return 'Standard_D2s_v5';
  }
  return pick.name;
}
