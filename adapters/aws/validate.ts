import type { Problem } from '../../lib/core/errors';
import { unsupportedFeatures } from '../../lib/model/capabilities';
import { MODEL_SCHEMA_VERSION } from '../../lib/model/types';
import type {
  ComputePoolModel,
  ContainerStepModel,
  PipelineModel,
  StepModel,
  EnvironmentModel,
  ModelRefModel,
  ResourceModel,
  ResourcesModel,
  ScheduleModel,
} from '../../lib/model/types';
import { AWS_CAPABILITIES } from './capabilities';
import { parameterOutputType, resolveInvocation, valueKey } from './contract';
import { constructId } from './names';
import { PLATFORM_ID } from './platform';
import { regionProblem, type AwsSettings } from './settings';
import { USABLE_MEMORY, awsSchedule, fargateSize, gpuInstance } from './sizing';
import { withStaging } from './tasks';

/** Most target groups one ALB forward action can weigh. */
export const MAX_WEIGHTED_TARGET_GROUPS = 5;

/** Index of the model's resources by path. */
export type ResourceIndex = ReadonlyMap<string, ResourceModel>;

/** Index the model's resources by path. */
export function indexResources(model: EnvironmentModel): ResourceIndex {
  return new Map(model.resources.map((r) => [r.path, r]));
}

/**
 * Every reason the aws target cannot synthesize `model` with `settings`, all at once.
 *
 * Pure: reads the model only. The builders that follow rely on these checks and do not repeat them.
 */
export function validateForAws(model: EnvironmentModel, settings: AwsSettings): Problem[] {
  const problems: Problem[] = [...unsupportedFeatures(model, 'aws', AWS_CAPABILITIES)];
  const major = MODEL_SCHEMA_VERSION.split('.')[0];
  if (model.schemaVersion.split('.')[0] !== major) {
    problems.push({
      path: model.environment.path,
      message: `model schemaVersion '${model.schemaVersion}' is not readable by this aws adapter (reads ${major}.x); build the model and the adapter from the same mlplane version`,
    });
  }
  const region = regionProblem(model.environment.region, settings.region, model.environment.path);
  if (region) problems.push(region);
  const enc = model.environment.encryption;
  if (enc.kind === 'customer-managed') {
    if (!Number.isInteger(enc.rotationDays) || enc.rotationDays < 90 || enc.rotationDays > 2560) {
      problems.push({
        path: model.environment.path,
        message: `key rotation every ${enc.rotationDays} days is outside what KMS allows (90 to 2560 days); choose a period in that range`,
      });
    }
    if (/^aws\//i.test(enc.keyName)) {
      problems.push({ path: model.environment.path, message: `key name '${enc.keyName}' starts with 'aws/', which KMS reserves for AWS-managed keys; rename the key` });
    }
  }
  const index = indexResources(model);
  const add = (path: string, message: string) => problems.push({ path, message });

  const expectKind = (from: string, ref: string, kind: ResourceModel['kind'], what: string): ResourceModel | undefined => {
    const r = index.get(ref);
    if (!r || r.kind !== kind) {
      add(from, `references ${what} '${ref}', which is not a ${kind} of this environment; point it at one that is`);
      return undefined;
    }
    return r;
  };
  const checkSchedule = (path: string, s: ScheduleModel) => {
    const r = awsSchedule(s);
    if (!r.ok) add(path, r.error);
  };
  const checkModelRef = (path: string, ref: ModelRefModel) => {
    const reg = expectKind(path, ref.registry, 'modelRegistry', 'model registry');
    if (reg && reg.kind === 'modelRegistry') {
      const m = reg.models.find((x) => x.name === ref.model);
      if (!m) add(path, `references model '${ref.model}' which registry '${ref.registry}' does not hold (has: ${reg.models.map((x) => x.name).join(', ') || 'none'}); add it to the registry`);
      else if ('alias' in ref && !m.aliases.includes(ref.alias)) {
        add(path, `references alias '${ref.alias}' of model '${ref.model}', which declares aliases [${m.aliases.join(', ')}]; declare the alias on the registered model`);
      }
    }
  };
  /** `staged`: a pipeline step, whose Batch job also holds the two staging containers. */
  const checkTask = (path: string, asked: ResourcesModel, compute: string | undefined, staged = false) => {
    const pool = compute === undefined ? undefined : (expectKind(path, compute, 'computePool', 'compute pool') as ComputePoolModel | undefined);
    const poolGpu = pool?.node.accelerator;
    const resources = staged && pool ? withStaging(asked, !poolGpu) : asked;
    const extra =
      resources === asked
        ? ''
        : `, plus ${resources.cpu - asked.cpu} vCPU / ${resources.memoryGiB - asked.memoryGiB} GiB for the two containers that stage its inputs and outputs`;
    if (resources.accelerator) {
      const gpu = gpuInstance(resources.accelerator);
      if (!gpu.ok) add(path, gpu.error);
      if (compute === undefined || (pool && !poolGpu)) {
        add(path, `asks for ${resources.accelerator.count} GPU(s) but runs ${compute === undefined ? 'on serverless Fargate, which has no GPUs' : `on CPU pool '${compute}'`}; set compute to a ComputePool with an accelerator`);
        return;
      }
    }
    if (pool && poolGpu) {
      // The job must fit one node of the pool, or Batch keeps it RUNNABLE forever.
      const instance = gpuInstance(poolGpu, pool.node);
      if (!instance.ok || instance.value.vcpus === 0) return; // reported on the pool, or unknown size (custom type)
      const i = instance.value;
      const wanted = resources.accelerator;
      if (wanted && (wanted.kind !== poolGpu.kind || wanted.name !== poolGpu.name)) {
        add(path, `asks for ${wanted.name} but pool '${pool.path}' has ${poolGpu.name}; ask for the pool's accelerator or use another pool`);
      }
      if (resources.cpu > i.vcpus || resources.memoryGiB > i.memoryGiB * USABLE_MEMORY || (wanted?.count ?? 0) > i.gpus) {
        add(
          path,
          `asks for ${asked.cpu} vCPU / ${asked.memoryGiB} GiB / ${wanted?.count ?? 0} GPU(s)${extra}, more than one node of pool '${pool.path}' (${i.instanceType}: ${i.vcpus} vCPU, ${Math.floor(i.memoryGiB * USABLE_MEMORY)} GiB usable, ${i.gpus} GPU(s)); ask for less or size the pool's node up`,
        );
      }
      return;
    }
    const size = fargateSize(resources);
    if (!size.ok) add(path, `${size.error}${extra}`);
  };

  for (const r of model.resources) {
    if (constructId(model.environment.path, r.path) === PLATFORM_ID) {
      add(r.path, `construct id '${PLATFORM_ID}' is reserved by the aws target for the environment's platform (VPC, buckets, MLflow); rename the construct`);
    }
    switch (r.kind) {
      case 'dataset':
        if (r.source.kind === 'external') {
          if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(r.source.uri)) {
            add(r.path, `external source '${r.source.uri}' is not an s3:// URI; the aws target reads datasets from S3 (s3://bucket/prefix/)`);
          }
          if (r.retentionDays !== undefined) {
            add(r.path, `retention of ${r.retentionDays} days cannot be enforced on external data ('${r.source.uri}'); remove retention or manage the dataset in the environment`);
          }
        }
        break;
      case 'featureTable':
        expectKind(r.path, r.source, 'dataset', 'source dataset');
        break;
      case 'computePool':
        if (r.node.accelerator) {
          const gpu = gpuInstance(r.node.accelerator, r.node);
          if (!gpu.ok) add(r.path, gpu.error);
        } else {
          const size = fargateSize(r.node);
          if (!size.ok) add(r.path, size.error);
        }
        break;
      case 'pipeline':
        for (const s of r.steps) {
          if (s.kind === 'container') {
            checkTask(s.path, s.resources, s.compute, true);
            for (const i of s.inputs) {
              if (i.source.kind === 'dataset') expectKind(s.path, i.source.dataset, 'dataset', `dataset of input '${i.name}'`);
            }
            checkInvocation(r, s, add);
          } else {
            if (s.promoteTo) checkModelRef(s.path, { registry: s.registry, model: s.model, alias: s.promoteTo });
            else checkModelRef(s.path, { registry: s.registry, model: s.model, version: '1' });
          }
        }
        for (const s of r.steps) checkConditions(r, s, add);
        checkStateKeys(r, add);
        r.schedules.forEach((s) => checkSchedule(r.path, s));
        break;
      case 'modelRegistry':
        break;
      case 'onlineEndpoint':
        if (r.deployments.length > MAX_WEIGHTED_TARGET_GROUPS) {
          add(r.path, `has ${r.deployments.length} deployments; an ALB listener weighs at most ${MAX_WEIGHTED_TARGET_GROUPS} target groups; split the endpoint`);
        }
        for (const d of r.deployments) {
          const path = `${r.path}/${d.name}`;
          checkModelRef(path, d.model);
          if (d.resources.accelerator) {
            add(path, `asks for ${d.resources.accelerator.count} GPU(s); the aws target serves on Fargate, which has no GPUs; serve on CPU or score with BatchInference on a GPU ComputePool`);
          } else {
            const size = fargateSize(d.resources);
            if (!size.ok) add(path, size.error);
          }
        }
        if (r.capture.destination) expectKind(r.path, r.capture.destination, 'dataset', 'capture destination');
        break;
      case 'batchInference':
        checkModelRef(r.path, r.model);
        expectKind(r.path, r.input, 'dataset', 'input dataset');
        expectKind(r.path, r.output, 'dataset', 'output dataset');
        checkTask(r.path, r.resources, r.compute);
        r.schedules.forEach((s) => checkSchedule(r.path, s));
        break;
      case 'driftMonitor': {
        if (r.target.kind === 'endpoint') {
          const ep = expectKind(r.path, r.target.endpoint, 'onlineEndpoint', 'endpoint');
          const dep = r.target.deployment;
          if (ep && ep.kind === 'onlineEndpoint' && dep !== undefined && !ep.deployments.some((d) => d.name === dep)) {
            add(r.path, `targets deployment '${dep}' which endpoint '${ep.path}' does not have (has: ${ep.deployments.map((d) => d.name).join(', ')})`);
          }
        } else {
          expectKind(r.path, r.target.batch, 'batchInference', 'batch inference');
        }
        expectKind(r.path, r.baseline, 'dataset', 'baseline dataset');
        checkSchedule(r.path, r.schedule);
        for (const a of r.alerts) {
          if (a.kind === 'webhook' && !a.url.startsWith('https://')) {
            add(r.path, `webhook '${a.url}' is not https; SNS delivers alerts to https:// URLs only; use an https URL`);
          }
        }
        if (r.onDrift) {
          const p = expectKind(r.path, r.onDrift.pipeline, 'pipeline', 'retraining pipeline');
          if (p && p.kind === 'pipeline') {
            for (const name of Object.keys(r.onDrift.parameters)) {
              if (!p.parameters.some((x) => x.name === name)) {
                add(r.path, `passes parameter '${name}' to pipeline '${p.path}', which declares [${p.parameters.map((x) => x.name).join(', ')}]; remove it or declare it`);
              }
            }
          }
        }
        break;
      }
      case 'secret':
        break;
      default: {
        const never: never = r;
        throw new Error(`unhandled resource kind ${(never as ResourceModel).kind}`);
      }
    }
  }

  for (const g of model.grants) {
    if (!index.has(g.resource)) add(model.environment.path, `a grant names resource '${g.resource}', which is not in the environment`);
  }
  return problems;
}

/**
 * Every placeholder of a step's command, args and env must resolve (docs/step-contract.md); on ECS
 * Fargate (no compute pool) the command is the container's entrypoint, which container overrides
 * cannot change, so it may not hold run-time values.
 */
function checkInvocation(p: PipelineModel, s: ContainerStepModel, add: (path: string, message: string) => void): void {
  const { invocation, problems } = resolveInvocation(p, s);
  for (const m of problems) add(s.path, m);
  invocation.command.forEach((w, i) => {
    if (s.compute === undefined && w.kind === 'dynamic') {
      add(
        s.path,
        `command[${i}] '${s.command[i]}' holds a run-time value; without a compute pool the step runs on ECS Fargate, where the command is the container entrypoint and container overrides cannot change it; move the placeholder to args`,
      );
    }
  });
}

/** Names a condition may read from metrics.json: the state machine addresses them as JSONPath fields. */
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The conditions a step declares must name a value the state machine can read and compare. */
function checkConditions(p: PipelineModel, s: StepModel, add: (path: string, message: string) => void): void {
  for (const c of s.conditions) {
    if (c.declaredOn !== s.name) continue; // reported where declared
    const o = c.operand;
    if (o.kind === 'metric' && !METRIC_NAME.test(o.metric)) {
      add(s.path, `condition reads metric '${o.metric}'; on aws a metric condition needs a name of letters, digits and '_' (Step Functions reads it as a JSONPath field); rename the metric`);
    }
    if (o.kind === 'stepOutput' && !parameterOutputType(p, o.step, o.output)) {
      add(s.path, `condition reads '${o.step}.${o.output}', which is not a parameter output of a step of '${p.path}'; compare a parameter output (Output.float(), ...) or use Condition.metric`);
    }
    if (typeof c.value !== 'number' && c.op !== '==' && c.op !== '!=') {
      add(s.path, `condition uses '${c.op}' on ${typeof c.value} value ${JSON.stringify(c.value)}; only numbers are ordered; use == or !=`);
    }
  }
}

/** Steps whose names differ only in characters a JSONPath field cannot hold would share their values in the state. */
function checkStateKeys(p: PipelineModel, add: (path: string, message: string) => void): void {
  const seen = new Map<string, string>();
  for (const s of p.steps) {
    const key = valueKey(s.name, '');
    const other = seen.get(key);
    if (other !== undefined) {
      add(s.path, `step '${s.name}' and step '${other}' have the same name in the Step Functions state ('${key}'); rename one so they differ in letters, digits or '_'`);
    }
    seen.set(key, s.name);
  }
}
