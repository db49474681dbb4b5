import { Duration, Size, TimeZone } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type {
  ContainerStepModel,
  EnvironmentModel,
  PipelineModel,
  RegisterStepModel,
  ScheduleModel,
  StepModel,
} from '../../lib/model/types';
import type { ComputePoolBinding } from './compute';
import type { DatasetBinding } from './data';
import type { Grants } from './grants';
import { constructId, envVar, keySlug, stateName } from './names';
import { MLFLOW_IMAGE, type Platform } from './platform';
import { awsSchedule, fargateSize } from './sizing';
import { addRetries, fargateContainer, runFargateState, stateMachine, taskRole, workloadLogGroup, type DynamicEnv } from './tasks';

/** Shared inputs of the workload builders. */
export interface WorkloadContext {
  readonly model: EnvironmentModel;
  readonly platform: Platform;
  readonly datasets: ReadonlyMap<string, DatasetBinding>;
  readonly computePools: ReadonlyMap<string, ComputePoolBinding>;
  readonly grants: Grants;
}

/** The Python the register step runs with the MLflow client (see README, "Register step"). */
export const REGISTER_SCRIPT = `
import json, os, sys
from urllib.parse import urlparse
import boto3
from mlflow import MlflowClient
e = os.environ
c = MlflowClient()
name = e['MLPLANE_MODEL_NAME']
metrics = {}
if e.get('MLPLANE_METRICS_URI'):
    u = urlparse(e['MLPLANE_METRICS_URI'])
    body = boto3.client('s3').get_object(Bucket=u.netloc, Key=u.path.lstrip('/') + 'metrics.json')['Body'].read()
    metrics = json.loads(body)
try:
    c.create_registered_model(name)
except Exception:
    pass
tags = {'mlplane.run': e['MLPLANE_RUN_ID']}
tags.update({'metric.' + k: str(v) for k, v in metrics.items()})
v = c.create_model_version(name, e['MLPLANE_MODEL_URI'], tags=tags)
alias = e.get('MLPLANE_PROMOTE_TO')
if not alias:
    sys.exit(0)
metric = e.get('MLPLANE_GATE_METRIC')
if metric:
    cand = float(metrics[metric])
    ref = None
    if e.get('MLPLANE_GATE_VALUE'):
        ref = float(e['MLPLANE_GATE_VALUE'])
    else:
        try:
            ref = float(c.get_model_version_by_alias(name, e['MLPLANE_GATE_ALIAS']).tags['metric.' + metric])
        except Exception:
            ref = None
    delta = float(e.get('MLPLANE_GATE_MIN_DELTA', '0'))
    if ref is not None:
        wins = cand > ref + delta if e['MLPLANE_GATE_COMPARISON'] == 'greaterThan' else cand < ref - delta
        if not wins:
            print('gate kept ' + alias + ': ' + metric + '=' + str(cand) + ' vs ' + str(ref))
            sys.exit(0)
c.set_registered_model_alias(name, alias, v.version)
print(name + ' version ' + str(v.version) + ' is now ' + alias)
`.trim();

/** Pip packages the register and drift tasks install into the MLflow image at start (pinned). */
const TASK_PACKAGES = "'boto3==1.35.99'";

/** Topological levels: every step lands one level after its deepest upstream step. */
export function levels(steps: readonly StepModel[]): StepModel[][] {
  const level = new Map<string, number>();
  const out: StepModel[][] = [];
  for (const s of steps) {
    const l = s.dependsOn.reduce((m, d) => Math.max(m, (level.get(d) ?? -1) + 1), 0);
    level.set(s.name, l);
    (out[l] ??= []).push(s);
  }
  return out;
}

/** S3 key prefix of a pipeline's runs (with trailing slash). */
export function runsPrefix(envPath: string, pipelinePath: string): string {
  return `runs/${keySlug(envPath, pipelinePath)}/`;
}

/** A JSONPath expression for the S3 URI of a step output in the current run. */
function outputUri(envPath: string, pipelinePath: string, step: string, output: string): string {
  return sfn.JsonPath.format(
    `s3://{}/${runsPrefix(envPath, pipelinePath)}{}/${keySlug('', step)}/${keySlug('', output)}/`,
    sfn.JsonPath.stringAt('$.bucket'),
    sfn.JsonPath.stringAt('$.run'),
  );
}

/**
 * The states every pipeline, batch job and retraining run starts with: defaults merged with the
 * execution input's `parameters`, the run id and the artifact bucket.
 */
export function prepareStates(scope: Construct, platform: Platform, defaults: Readonly<Record<string, string | number | boolean>>): sfn.Chain {
  const internal = new Construct(scope, 'Start');
  const fields = { 'run.$': '$$.Execution.Name', bucket: platform.bucket.bucketName };
  const withDefaults = new sfn.Pass(internal, 'Defaults', {
    stateName: 'mlplane.Defaults',
    result: sfn.Result.fromObject({ ...defaults }),
    resultPath: '$.defaults',
  });
  const merge = new sfn.Pass(internal, 'Prepare', {
    stateName: 'mlplane.Prepare',
    parameters: { 'parameters.$': 'States.JsonMerge($.defaults, $.parameters, false)', ...fields },
  });
  const onlyDefaults = new sfn.Pass(internal, 'PrepareDefaults', { stateName: 'mlplane.PrepareDefaults', parameters: { 'parameters.$': '$.defaults', ...fields } });
  const choose = new sfn.Choice(internal, 'HasParameters', { stateName: 'mlplane.HasParameters' })
    .when(sfn.Condition.isPresent('$.parameters'), merge)
    .otherwise(onlyDefaults)
    .afterwards();
  return withDefaults.next(choose);
}

/** Define the state machine of a pipeline: one state per step, parallel where the DAG allows. */
export function buildPipeline(scope: Construct, ctx: WorkloadContext, p: PipelineModel): sfn.StateMachine {
  const envPath = ctx.model.environment.path;
  const root = new Construct(scope, constructId(envPath, p.path));
  const logGroup = workloadLogGroup(root, 'TaskLogs', ctx.platform);
  const defaults: Record<string, string | number | boolean> = {};
  for (const param of p.parameters) if (param.default !== undefined) defaults[param.name] = param.default;

  let chain = prepareStates(root, ctx.platform, defaults);
  const stepsScope = new Construct(root, 'Steps');
  for (const [index, level] of levels(p.steps).entries()) {
    const states = level.map((s) => stepState(stepsScope, ctx, p, s, logGroup));
    if (states.length === 1) {
      chain = chain.next(states[0] as sfn.TaskStateBase);
    } else {
      const parallel = new sfn.Parallel(root, `Level${index}`, {
        stateName: stateName(`mlplane.Parallel ${level.map((s) => s.name).join(' ')}`),
        resultPath: sfn.JsonPath.DISCARD,
      });
      for (const s of states) parallel.branch(s);
      chain = chain.next(parallel);
    }
  }
  const machine = stateMachine(root, 'StateMachine', ctx.platform, chain, p.description ?? `mlplane pipeline ${p.path}`);
  ctx.grants.stateMachines.set(p.path, machine);
  p.schedules.forEach((s, i) => scheduleStateMachine(root, `Schedule${i + 1}`, machine, s, `${p.path} schedule ${i + 1}`, {}));
  return machine;
}

/** Start `machine` on `schedule` with EventBridge Scheduler. */
export function scheduleStateMachine(
  scope: Construct,
  id: string,
  machine: sfn.IStateMachine,
  schedule: ScheduleModel,
  description: string,
  parameters: Readonly<Record<string, string | number | boolean>>,
): scheduler.Schedule | undefined {
  const s = awsSchedule(schedule);
  if (!s.ok) return undefined; // reported by validateForAws
  return new scheduler.Schedule(scope, id, {
    description: description.slice(0, 512),
    schedule: scheduler.ScheduleExpression.expression(s.value.expression, s.value.timeZone ? TimeZone.of(s.value.timeZone) : undefined),
    target: new targets.StepFunctionsStartExecution(machine, {
      input: scheduler.ScheduleTargetInput.fromObject({ parameters: { ...parameters } }),
    }),
  });
}

function stepState(scope: Construct, ctx: WorkloadContext, p: PipelineModel, s: StepModel, logGroup: logs.ILogGroup): sfn.TaskStateBase {
  const envPath = ctx.model.environment.path;
  const stepScope = new Construct(scope, s.name);
  const role = taskRole(stepScope, 'Role', `mlplane step ${s.path}`);
  ctx.grants.register({ kind: 'step', pipeline: p.path, step: s.name }, role);
  ctx.grants.grantPrefix(role, runsPrefix(envPath, p.path), true, true);

  const staticEnv: Record<string, string> = {
    MLFLOW_TRACKING_URI: ctx.platform.mlflowUrl,
    MLPLANE_ARTIFACT_BUCKET: ctx.platform.bucket.bucketName,
    MLPLANE_PIPELINE: p.path,
    MLPLANE_STEP: s.name,
  };
  const dynamicEnv: Record<string, string> = { MLPLANE_RUN_ID: sfn.JsonPath.stringAt('$.run') };
  let state: sfn.TaskStateBase;
  if (s.kind === 'container') {
    Object.assign(staticEnv, s.env);
    if (s.caching) staticEnv.MLPLANE_CACHING = 'true';
    for (const i of s.inputs) {
      const name = envVar('MLPLANE_INPUT', i.name);
      const src = i.source;
      switch (src.kind) {
        case 'dataset': {
          const d = ctx.datasets.get(src.dataset);
          if (d) staticEnv[name] = d.uri;
          break;
        }
        case 'value':
          staticEnv[name] = String(src.value);
          break;
        case 'parameter':
          dynamicEnv[name] = sfn.JsonPath.format('{}', sfn.JsonPath.stringAt(`$.parameters.${src.parameter}`));
          break;
        case 'step':
          dynamicEnv[name] = outputUri(envPath, p.path, src.step, src.output);
          break;
        default: {
          const never: never = src;
          throw new Error(`unhandled input source ${JSON.stringify(never)}`);
        }
      }
    }
    for (const o of s.outputs) dynamicEnv[envVar('MLPLANE_OUTPUT', o.name)] = outputUri(envPath, p.path, s.name, o.name);
    state = containerStepState(stepScope, ctx, s, role, logGroup, staticEnv, dynamicEnv);
  } else {
    state = registerStepState(stepScope, ctx, p, s, role, logGroup, staticEnv, dynamicEnv);
  }
  addRetries(state, s.retries);
  return state;
}

function containerStepState(
  scope: Construct,
  ctx: WorkloadContext,
  s: ContainerStepModel,
  role: ReturnType<typeof taskRole>,
  logGroup: logs.ILogGroup,
  staticEnv: Record<string, string>,
  dynamicEnv: DynamicEnv,
): sfn.TaskStateBase {
  const envReason = `step '${s.path}': environment holds run configuration (S3 URIs, tracking URL, user settings); no secrets`;
  const pool = s.compute === undefined ? undefined : ctx.computePools.get(s.compute);
  const name = stateName(s.name);
  if (!pool) {
    const size = fargateSize(s.resources);
    if (!size.ok) throw new Error(size.error); // reported by validateForAws
    const c = fargateContainer(scope, 'Task', {
      image: s.image,
      size: size.value,
      role,
      logGroup,
      entryPoint: s.command,
      command: s.args,
      environment: staticEnv,
      envReason,
    });
    return runFargateState(scope, name, ctx.platform, c, dynamicEnv, s.timeoutSeconds);
  }
  const command = [...s.command, ...s.args];
  const logging = ecs.LogDrivers.awsLogs({ streamPrefix: s.name.toLowerCase().slice(0, 64), logGroup });
  let container: batch.IEcsContainerDefinition;
  if (pool.gpu) {
    container = new batch.EcsEc2ContainerDefinition(scope, 'Container', {
      image: ecs.ContainerImage.fromRegistry(s.image),
      cpu: Math.max(1, Math.ceil(s.resources.cpu)),
      memory: Size.mebibytes(Math.ceil(s.resources.memoryGiB * 1024)),
      gpu: s.resources.accelerator?.count ?? pool.model.node.accelerator?.count ?? 1,
      jobRole: role,
      command: command.length > 0 ? command : undefined,
      environment: staticEnv,
      logging,
    });
  } else {
    const size = fargateSize(s.resources);
    if (!size.ok) throw new Error(size.error); // reported by validateForAws
    container = new batch.EcsFargateContainerDefinition(scope, 'Container', {
      image: ecs.ContainerImage.fromRegistry(s.image),
      cpu: size.value.cpu / 1024,
      memory: Size.mebibytes(size.value.memoryMiB),
      jobRole: role,
      command: command.length > 0 ? command : undefined,
      environment: staticEnv,
      logging,
      assignPublicIp: false,
      fargatePlatformVersion: ecs.FargatePlatformVersion.LATEST,
    });
  }
  const jobDefinition = new batch.EcsJobDefinition(scope, 'JobDefinition', { container });
  return new tasks.BatchSubmitJob(scope, 'State', {
    stateName: name,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    jobDefinitionArn: jobDefinition.jobDefinitionArn,
    jobQueueArn: pool.queue.jobQueueArn,
    jobName: name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 128),
    containerOverrides: { environment: { ...dynamicEnv } },
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: s.timeoutSeconds !== undefined ? sfn.Timeout.duration(Duration.seconds(s.timeoutSeconds)) : undefined,
  });
}

function registerStepState(
  scope: Construct,
  ctx: WorkloadContext,
  p: PipelineModel,
  s: RegisterStepModel,
  role: ReturnType<typeof taskRole>,
  logGroup: logs.ILogGroup,
  staticEnv: Record<string, string>,
  dynamicEnv: Record<string, string>,
): sfn.TaskStateBase {
  const envPath = ctx.model.environment.path;
  staticEnv.MLPLANE_MODEL_NAME = s.model;
  staticEnv.MLPLANE_REGISTER_SCRIPT = REGISTER_SCRIPT;
  if (s.promoteTo) staticEnv.MLPLANE_PROMOTE_TO = s.promoteTo;
  if (s.gate) {
    staticEnv.MLPLANE_GATE_METRIC = s.gate.metric;
    staticEnv.MLPLANE_GATE_COMPARISON = s.gate.comparison;
    staticEnv.MLPLANE_GATE_MIN_DELTA = String(s.gate.minDelta);
    if (s.gate.against.kind === 'alias') staticEnv.MLPLANE_GATE_ALIAS = s.gate.against.alias;
    else staticEnv.MLPLANE_GATE_VALUE = String(s.gate.against.value);
  }
  dynamicEnv.MLPLANE_MODEL_URI = outputUri(envPath, p.path, s.artifact.step, s.artifact.output);
  if (s.metrics) dynamicEnv.MLPLANE_METRICS_URI = outputUri(envPath, p.path, s.metrics.step, s.metrics.output);
  const c = fargateContainer(scope, 'Task', {
    image: MLFLOW_IMAGE,
    size: { cpu: 512, memoryMiB: 1024 },
    role,
    logGroup,
    entryPoint: ['/bin/sh', '-c'],
    command: [`pip install --quiet --no-cache-dir ${TASK_PACKAGES} && exec python -c "$MLPLANE_REGISTER_SCRIPT"`],
    environment: staticEnv,
    envReason: `register step '${s.path}': environment holds the model name, gate settings and the register script; no secrets`,
  });
  return runFargateState(scope, stateName(s.name), ctx.platform, c, dynamicEnv, s.timeoutSeconds);
}
