import { rolloutEnvironment, ROLLOUT_PYTHON } from './alias';
import { Duration, TimeZone } from 'aws-cdk-lib';
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
  StepConditionModel,
  StepModel,
} from '../../lib/model/types';
import { GATE_PYTHON } from '../shared/gate';
import type { ComputePoolBinding } from './compute';
import {
  intrinsicString,
  outputJsonPath,
  outputTextPath,
  parameterOutputType,
  parameterPath,
  readBacks,
  resolveInvocation,
  stagedInputs,
  stageInScript,
  stageInVar,
  stageOutScript,
  stageOutVar,
  valueKey,
  wordExpression,
  type ReadBack,
  type Word,
} from './contract';
import type { DatasetBinding } from './data';
import type { Grants } from './grants';
import { importSecrets } from './secrets';
import { constructId, keySlug, registerStepPrefix, stateName } from './names';
import { MLFLOW_IMAGE, type Platform } from './platform';
import { awsSchedule, fargateSize } from './sizing';
import {
  MAIN,
  STAGE_IN,
  STAGE_OUT,
  STAGING_RESOURCES,
  StagedBatchSubmitJob,
  withStaging,
  addRetries,
  fargateContainer,
  runFargateState,
  runStagedFargateState,
  stagedFargateTask,
  stagedJobDefinition,
  stateMachine,
  taskRole,
  workloadLogGroup,
  type StagedJobSize,
} from './tasks';

/** Shared inputs of the workload builders. */
export interface WorkloadContext {
  readonly model: EnvironmentModel;
  readonly platform: Platform;
  readonly datasets: ReadonlyMap<string, DatasetBinding>;
  readonly computePools: ReadonlyMap<string, ComputePoolBinding>;
  readonly grants: Grants;
}

/**
 * The Python the register step runs with the MLflow client (see README, "Register step"). The gate
 * decision is `decide_gate` of adapters/shared/gate.ts, embedded verbatim, so every target decides
 * the same way on the same metrics.json and registry state; a missing metric fails the task before
 * anything is registered. The model output of the run (`MLPLANE_MODEL_URI`, under `runs/`) is copied
 * object by object (boto3's managed copy: multipart above 5 GB) to `MLPLANE_VERSION_URI`, under the
 * model's prefix `models/<registry>/<model>/`, and that copy is the version's `source`: model
 * servers read the model's prefix only, never run outputs. After a promotion it rolls the ECS
 * services serving the alias (./alias.ts).
 */
export const REGISTER_SCRIPT = `
import json, os, sys
from urllib.parse import urlparse
import boto3
from mlflow import MlflowClient
${GATE_PYTHON}
e = os.environ
c = MlflowClient()
name = e['MLPLANE_MODEL_NAME']
gate = json.loads(e['MLPLANE_GATE']) if e.get('MLPLANE_GATE') else None
metrics = {}
if e.get('MLPLANE_METRICS_URI'):
    u = urlparse(e['MLPLANE_METRICS_URI'])
    body = boto3.client('s3').get_object(Bucket=u.netloc, Key=u.path.lstrip('/') + 'metrics.json')['Body'].read()
    metrics = json.loads(body)
reference = None
if gate and gate['against']['kind'] == 'alias':
    try:
        reference = float(c.get_model_version_by_alias(name, gate['against']['alias']).tags['metric.' + gate['metric']])
    except Exception:
        reference = None
outcome, reason = decide_gate(gate, metrics, reference)
if outcome == 'error':
    print('register step failed: ' + reason, file=sys.stderr)
    sys.exit(1)
s3 = boto3.client('s3')
src, dst = urlparse(e['MLPLANE_MODEL_URI']), urlparse(e['MLPLANE_VERSION_URI'])
src_key, dst_key = src.path.lstrip('/'), dst.path.lstrip('/')
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=src.netloc, Prefix=src_key):
    for o in page.get('Contents', []):
        s3.copy({'Bucket': src.netloc, 'Key': o['Key']}, dst.netloc, dst_key + o['Key'][len(src_key):])
try:
    c.create_registered_model(name)
except Exception:
    pass
tags = {'mlplane.run': e['MLPLANE_RUN_ID']}
if isinstance(metrics, dict):
    tags.update({'metric.' + k: str(v) for k, v in metrics.items()})
v = c.create_model_version(name, e['MLPLANE_VERSION_URI'], tags=tags)
alias = e.get('MLPLANE_PROMOTE_TO')
if not alias:
    sys.exit(0)
if outcome != 'promote':
    print('gate kept ' + alias + ': ' + reason)
    sys.exit(0)
c.set_registered_model_alias(name, alias, v.version)
print(name + ' version ' + str(v.version) + ' is now ' + alias + ' (' + reason + ')')
${ROLLOUT_PYTHON}
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

/** A JSONPath expression for the S3 URI of a step output in the current run (a prefix, with `suffix` appended). */
function outputUri(envPath: string, pipelinePath: string, step: string, output: string, suffix = ''): string {
  return sfn.JsonPath.format(
    `s3://{}/${outputKey(envPath, pipelinePath, '{}', step, output)}${suffix}`,
    sfn.JsonPath.stringAt('$.bucket'),
    sfn.JsonPath.stringAt('$.run'),
  );
}

/** S3 key prefix of a step output of run `run` (with trailing slash). */
export function outputKey(envPath: string, pipelinePath: string, run: string, step: string, output: string): string {
  return `${runsPrefix(envPath, pipelinePath)}${run}/${keySlug('', step)}/${keySlug('', output)}/`;
}

/** Object (below the output's prefix) that holds the text of a parameter output. */
export const PARAMETER_OBJECT = 'value';

/** Object (below the output's prefix) that holds the metrics of a metrics output. */
export const METRICS_OBJECT = 'metrics.json';

/**
 * The states every pipeline, batch job and retraining run starts with: defaults merged with the
 * execution input's `parameters`, the run id and the artifact bucket.
 */
export function prepareStates(
  scope: Construct,
  platform: Platform,
  defaults: Readonly<Record<string, string | number | boolean>>,
  extra: Readonly<Record<string, unknown>> = {},
): sfn.Chain {
  const internal = new Construct(scope, 'Start');
  const fields = { 'run.$': '$$.Execution.Name', bucket: platform.bucket.bucketName, ...extra };
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

/** Define the state machine of a pipeline: one unit of states per step, parallel where the DAG allows. */
export function buildPipeline(scope: Construct, ctx: WorkloadContext, p: PipelineModel): sfn.StateMachine {
  const root = new Construct(scope, constructId(ctx.model.environment.path, p.path));
  const logGroup = workloadLogGroup(root, 'TaskLogs', ctx.platform);
  const defaults: Record<string, string | number | boolean> = {};
  for (const param of p.parameters) if (param.default !== undefined) defaults[param.name] = param.default;

  let chain = prepareStates(root, ctx.platform, defaults, { values: {} });
  const stepsScope = new Construct(root, 'Steps');
  for (const [index, level] of levels(p.steps).entries()) {
    const units = level.map((s) => stepUnit(stepsScope, ctx, p, s, logGroup));
    if (units.length === 1) {
      chain = chain.next(units[0] as sfn.Chain);
      continue;
    }
    const names = level.map((s) => s.name).join(' ');
    const parallel = new sfn.Parallel(root, `Level${index}`, { stateName: stateName(`mlplane.Parallel ${names}`), resultPath: '$.branches' });
    for (const u of units) parallel.branch(u);
    chain = chain.next(parallel).next(mergeBranches(root, `Level${index}Merge`, names, units.length));
  }
  const machine = stateMachine(root, 'StateMachine', ctx.platform, chain, p.description ?? `mlplane pipeline ${p.path}`);
  ctx.platform.keyFor(root)?.grantDecrypt(machine);
  ctx.grants.stateMachines.set(p.path, machine);
  p.schedules.forEach((s, i) => scheduleStateMachine(root, `Schedule${i + 1}`, machine, s, `${p.path} schedule ${i + 1}`, {}));
  return machine;
}

/** Most intrinsic functions Step Functions evaluates in one field. */
const MAX_INTRINSICS = 10;

/**
 * Pass states that fold the values the branches of a Parallel read back into `$.values` (each
 * branch received the whole state and added its own keys), keeping parameters, run and bucket.
 */
function mergeBranches(scope: Construct, id: string, names: string, branches: number): sfn.Chain {
  let chain: sfn.Chain | undefined;
  for (let from = 0, part = 0; from < branches; from += MAX_INTRINSICS - 1, part++) {
    let values = '$.values';
    for (let i = from; i < Math.min(branches, from + MAX_INTRINSICS - 1); i++) values = `States.JsonMerge(${values}, $.branches[${i}].values, false)`;
    const pass = new sfn.Pass(scope, `${id}${part}`, {
      stateName: stateName(`mlplane.Merge${part > 0 ? part + 1 : ''} ${names}`),
      parameters: { 'parameters.$': '$.parameters', 'run.$': '$.run', 'bucket.$': '$.bucket', 'values.$': values, ...(from + MAX_INTRINSICS - 1 < branches ? { 'branches.$': '$.branches' } : {}) },
    });
    chain = chain ? chain.next(pass) : sfn.Chain.start(pass);
  }
  if (!chain) throw new Error('a Parallel state needs branches');
  return chain;
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

/**
 * The states of one step: its conditions (a Choice each; a false one skips the step), the step's
 * task, and the reads of the values later steps need (parameter outputs, metrics of conditions).
 */
function stepUnit(scope: Construct, ctx: WorkloadContext, p: PipelineModel, s: StepModel, logGroup: logs.ILogGroup): sfn.Chain {
  const stepScope = new Construct(scope, s.name);
  const role = taskRole(stepScope, 'Role', `mlplane step ${s.path}`);
  ctx.grants.register({ kind: 'step', pipeline: p.path, step: s.name }, role);
  ctx.grants.grantPrefix(role, runsPrefix(ctx.model.environment.path, p.path), true, true);
  const task = s.kind === 'container' ? containerStep(stepScope, ctx, p, s, role, logGroup) : registerStep(stepScope, ctx, p, s, role, logGroup);
  addRetries(task.state, s.retries);
  let body = task.values ? sfn.Chain.start(task.values).next(task.state) : sfn.Chain.start(task.state);
  readBacks(p, s).forEach((rb, i) => {
    body = body.next(readBack(stepScope, `Read${i}`, ctx, p, rb));
  });
  if (s.conditions.length === 0) return body;
  const skip = new sfn.Pass(stepScope, 'Skip', { stateName: stateName(`mlplane.Skip ${s.name}`) });
  let next: sfn.IChainable = body;
  for (let i = s.conditions.length - 1; i >= 0; i--) {
    const c = s.conditions[i] as StepConditionModel;
    const choice = new sfn.Choice(stepScope, `If${i}`, { stateName: stateName(`mlplane.If ${s.name}${s.conditions.length > 1 ? ` ${i + 1}` : ''}`) });
    const operand = operandPath(p, c);
    if (c.operand.kind !== 'parameter') choice.when(sfn.Condition.not(sfn.Condition.isPresent(`$.values.${valueKey(c.operand.step, c.operand.output)}`)), skip);
    if (c.operand.kind === 'metric') {
      const missing = new sfn.Fail(stepScope, `Missing${i}`, {
        stateName: stateName(`mlplane.Missing ${s.name}${s.conditions.length > 1 ? ` ${i + 1}` : ''}`),
        error: 'mlplane.MetricMissing',
        cause: `metric '${c.operand.metric}' is missing or not a number in metrics.json of ${c.operand.step}.${c.operand.output} (condition of ${c.declaredOn})`,
      });
      choice.when(sfn.Condition.not(sfn.Condition.isPresent(operand)), missing).when(sfn.Condition.not(sfn.Condition.isNumeric(operand)), missing);
    }
    choice.when(comparison(operand, c), next).otherwise(skip);
    next = choice;
  }
  return sfn.Chain.custom(next as sfn.State, [...body.endStates, skip], skip);
}

/** JSONPath of a condition's operand in the execution state. */
function operandPath(p: PipelineModel, c: StepConditionModel): string {
  const o = c.operand;
  switch (o.kind) {
    case 'parameter':
      return parameterPath(o.parameter);
    case 'stepOutput':
      return (parameterOutputType(p, o.step, o.output) ?? o.type) === 'string' ? outputTextPath(o.step, o.output) : outputJsonPath(o.step, o.output);
    case 'metric':
      return `${outputJsonPath(o.step, o.output)}.${o.metric}`;
    default: {
      const never: never = o;
      throw new Error(`unhandled condition operand ${JSON.stringify(never)}`);
    }
  }
}

/** The Choice rule `operand op value` (numbers numerically, strings and booleans by equality). */
function comparison(path: string, c: StepConditionModel): sfn.Condition {
  const v = c.value;
  let equals: sfn.Condition;
  if (typeof v === 'number') {
    switch (c.op) {
      case '<':
        return sfn.Condition.numberLessThan(path, v);
      case '<=':
        return sfn.Condition.numberLessThanEquals(path, v);
      case '>':
        return sfn.Condition.numberGreaterThan(path, v);
      case '>=':
        return sfn.Condition.numberGreaterThanEquals(path, v);
      default:
        equals = sfn.Condition.numberEquals(path, v);
    }
  } else if (typeof v === 'boolean') {
    equals = sfn.Condition.booleanEquals(path, v);
  } else {
    equals = sfn.Condition.stringEquals(path, v);
  }
  if (c.op === '==') return equals;
  if (c.op === '!=') return sfn.Condition.not(equals);
  throw new Error(`operator ${c.op} on ${typeof v} value`); // refused by validateForAws
}

/** Read an output of a finished step into `$.values.<key>` (Step Functions' SDK integration for S3 GetObject). */
function readBack(scope: Construct, id: string, ctx: WorkloadContext, p: PipelineModel, rb: ReadBack): tasks.CallAwsService {
  const envPath = ctx.model.environment.path;
  const object = rb.kind === 'metrics' ? METRICS_OBJECT : PARAMETER_OBJECT;
  const body = sfn.JsonPath.stringAt('$.Body');
  const json = sfn.JsonPath.stringToJson(body);
  return new tasks.CallAwsService(scope, id, {
    stateName: stateName(`mlplane.Read ${rb.step}.${rb.output}`),
    service: 's3',
    action: 'getObject',
    parameters: {
      Bucket: sfn.JsonPath.stringAt('$.bucket'),
      Key: sfn.JsonPath.format(`${outputKey(envPath, p.path, '{}', rb.step, rb.output)}${object}`, sfn.JsonPath.stringAt('$.run')),
    },
    iamResources: [ctx.platform.bucket.arnForObjects(`${runsPrefix(envPath, p.path)}*`)],
    resultSelector: rb.kind === 'metrics' ? { json } : rb.type === 'string' ? { text: body } : { text: body, json },
    resultPath: `$.values.${valueKey(rb.step, rb.output)}`,
  });
}

/** The task state of a step and the Pass state that computes its run-time words, if any. */
interface StepTask {
  readonly values?: sfn.Pass;
  readonly state: sfn.TaskStateBase;
}

/**
 * The run-time words of a step (JSONPath expressions `$.words.<id>`) and the Pass state that
 * computes them with `States.Format` before the task starts.
 */
class RunTimeWords {
  private readonly fields: Record<string, string> = {};

  /** The expression for `word` inside `States.Array(...)`. */
  public arrayItem(word: Word): string {
    return word.kind === 'static' ? intrinsicString(word.text) : `$.words.${this.add('w', word)}`;
  }

  /** The JSONPath of `word`'s text (dynamic words only). */
  public path(word: Word & { kind: 'dynamic' }): string {
    return `$.words.${this.add('e', word)}`;
  }

  public pass(scope: Construct, step: string): sfn.Pass | undefined {
    if (Object.keys(this.fields).length === 0) return undefined;
    const parameters: Record<string, string> = {};
    for (const [k, expr] of Object.entries(this.fields)) parameters[k] = sfn.JsonPath.stringAt(expr);
    return new sfn.Pass(scope, 'Values', { stateName: stateName(`mlplane.Values ${step}`), parameters, resultPath: '$.words' });
  }

  private add(prefix: string, word: Word): string {
    const key = `${prefix}${Object.keys(this.fields).length}`;
    this.fields[key] = wordExpression(word);
    return key;
  }
}

/** A command override as `States.Array(...)` when any word is known only at run time. */
function commandOverride(words: readonly Word[], runtime: RunTimeWords): string | undefined {
  if (words.every((w) => w.kind === 'static')) return undefined;
  return `States.Array(${words.map((w) => runtime.arrayItem(w)).join(', ')})`;
}

function staticTexts(words: readonly Word[]): string[] {
  return words.map((w) => (w.kind === 'static' ? w.text : ''));
}

function containerStep(
  scope: Construct,
  ctx: WorkloadContext,
  p: PipelineModel,
  s: ContainerStepModel,
  role: ReturnType<typeof taskRole>,
  logGroup: logs.ILogGroup,
): StepTask {
  const envPath = ctx.model.environment.path;
  const { invocation } = resolveInvocation(p, s); // problems reported by validateForAws
  const runtime = new RunTimeWords();
  const environment: Record<string, string> = { MLFLOW_TRACKING_URI: ctx.platform.mlflowUrl };
  const mainEnv: Record<string, string> = { MLPLANE_RUN_ID: sfn.JsonPath.stringAt('$.run') };
  for (const e of invocation.env) {
    if (e.value.kind === 'static') environment[e.name] = e.value.text;
    else mainEnv[e.name] = sfn.JsonPath.stringAt(runtime.path(e.value));
  }
  const stageInEnv: Record<string, string> = {};
  for (const i of stagedInputs(s)) {
    const src = i.source;
    if (src.kind === 'dataset') {
      const d = ctx.datasets.get(src.dataset);
      if (d) stageInEnv[stageInVar(i.name)] = d.uri;
    } else if (src.kind === 'step') {
      stageInEnv[stageInVar(i.name)] = outputUri(envPath, p.path, src.step, src.output);
    }
  }
  const stageOutEnv: Record<string, string> = {};
  for (const o of s.outputs) {
    stageOutEnv[stageOutVar(o.name)] = outputUri(envPath, p.path, s.name, o.name, o.type.kind === 'parameter' ? PARAMETER_OBJECT : '');
  }
  const envReason = `step '${s.path}': environment holds run configuration (S3 URIs, tracking URL, user settings); no secrets`;
  const pool = s.compute === undefined ? undefined : ctx.computePools.get(s.compute);
  const name = stateName(s.name);
  const scripts = { stageInScript: stageInScript(s), stageOutScript: stageOutScript(s), secrets: importSecrets(scope, ctx.model, s.secretEnv) };
  if (!pool) {
    const size = fargateSize(s.resources);
    if (!size.ok) throw new Error(size.error); // reported by validateForAws
    const command = commandOverride(invocation.args, runtime);
    const t = stagedFargateTask(scope, 'Task', size.value, {
      image: s.image,
      role,
      logGroup,
      entryPoint: staticTexts(invocation.command), // run-time words in command are refused by validateForAws
      command: command === undefined ? staticTexts(invocation.args) : undefined,
      environment,
      envReason,
      ...scripts,
    });
    const state = runStagedFargateState(
      scope,
      name,
      ctx.platform,
      t,
      { stageIn: { environment: stageInEnv }, main: { command, environment: mainEnv }, stageOut: { environment: stageOutEnv } },
      s.timeoutSeconds,
    );
    return { values: runtime.pass(scope, s.name), state };
  }
  // Batch has no entrypoint override: command and args together are the container's command.
  const words = [...invocation.command, ...invocation.args];
  const command = commandOverride(words, runtime);
  let size: StagedJobSize;
  if (pool.gpu) {
    size = {
      mainVcpu: Math.max(1, Math.ceil(s.resources.cpu)),
      mainMemoryMiB: Math.ceil(s.resources.memoryGiB * 1024),
      gpus: s.resources.accelerator?.count ?? pool.model.node.accelerator?.count ?? 1,
    };
  } else {
    const total = fargateSize(withStaging(s.resources, true));
    if (!total.ok) throw new Error(total.error); // reported by validateForAws
    const staging = STAGING_RESOURCES.fargate;
    size = { mainVcpu: total.value.cpu / 1024 - 2 * staging.vcpu, mainMemoryMiB: total.value.memoryMiB - 2 * staging.memoryMiB };
  }
  const jobDefinition = stagedJobDefinition(scope, 'JobDefinition', !pool.gpu, size, {
    image: s.image,
    role,
    logGroup,
    command: command === undefined ? staticTexts(words) : undefined,
    environment,
    envReason,
    ...scripts,
  });
  const state = new StagedBatchSubmitJob(
    scope,
    'State',
    {
      stateName: name,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      jobDefinitionArn: jobDefinition.ref,
      jobQueueArn: pool.queue.jobQueueArn,
      jobName: name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 128),
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: s.timeoutSeconds !== undefined ? sfn.Timeout.duration(Duration.seconds(s.timeoutSeconds)) : undefined,
    },
    { [STAGE_IN]: { environment: stageInEnv }, [MAIN]: { command, environment: mainEnv }, [STAGE_OUT]: { environment: stageOutEnv } },
  );
  return { values: runtime.pass(scope, s.name), state };
}

function registerStep(
  scope: Construct,
  ctx: WorkloadContext,
  p: PipelineModel,
  s: RegisterStepModel,
  role: ReturnType<typeof taskRole>,
  logGroup: logs.ILogGroup,
): StepTask {
  const envPath = ctx.model.environment.path;
  const staticEnv: Record<string, string> = {
    MLFLOW_TRACKING_URI: ctx.platform.mlflowUrl,
    MLPLANE_MODEL_NAME: s.model,
    MLPLANE_REGISTER_SCRIPT: REGISTER_SCRIPT,
  };
  if (s.promoteTo) staticEnv.MLPLANE_PROMOTE_TO = s.promoteTo;
  if (s.gate) staticEnv.MLPLANE_GATE = JSON.stringify(s.gate);
  // Deployments following the promoted alias roll right after the promotion (./alias.ts).
  Object.assign(staticEnv, rolloutEnvironment(ctx.model, s, ctx.platform, role));
  // The version's files: a copy of the run's model output under the model's prefix, the one
  // prefix its servers read (names.ts `modelPrefix`). This step may only put objects (no delete)
  // into its own part of it, `<pipeline>/<step>/`.
  const versions = registerStepPrefix(envPath, p.path, s.name, s.registry, s.model);
  ctx.platform.bucket.grantPut(role, `${versions}*`);
  const dynamicEnv: Record<string, string> = {
    MLPLANE_RUN_ID: sfn.JsonPath.stringAt('$.run'),
    MLPLANE_MODEL_URI: outputUri(envPath, p.path, s.artifact.step, s.artifact.output),
    MLPLANE_VERSION_URI: sfn.JsonPath.format(`s3://{}/${versions}{}/`, sfn.JsonPath.stringAt('$.bucket'), sfn.JsonPath.stringAt('$.run')),
  };
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
  return { state: runFargateState(scope, stateName(s.name), ctx.platform, c, dynamicEnv, s.timeoutSeconds) };
}
