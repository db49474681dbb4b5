import { Duration, Size } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { SynthWarning } from '../../lib/adapter';
import type { BatchInferenceModel } from '../../lib/model/types';
import { constructId, modelPrefix, stateName } from './names';
import { prepareStates, scheduleStateMachine, type WorkloadContext } from './pipelines';
import { mlflowModelUri, registeredModel } from './serving';
import { fargateSize } from './sizing';
import { addRetries, fargateContainer, runFargateState, stateMachine, taskRole, workloadLogGroup } from './tasks';

/**
 * Define a batch inference job: a state machine that runs the model's serving image in batch mode
 * (`MLPLANE_MODE=batch`) on `instanceCount` shards — a Map of Fargate tasks, or a Batch array job
 * on a compute pool — plus its schedules.
 */
export function buildBatchInference(scope: Construct, ctx: WorkloadContext, b: BatchInferenceModel, warnings: SynthWarning[] = []): sfn.StateMachine | undefined {
  const { platform, model } = ctx;
  const served = registeredModel(model, b.model);
  const input = ctx.datasets.get(b.input);
  const output = ctx.datasets.get(b.output);
  if (!served || !input || !output) return undefined; // reported by validateForAws
  const root = new Construct(scope, constructId(model.environment.path, b.path));
  const role = taskRole(root, 'Role', `mlplane batch inference ${b.path}`);
  ctx.grants.register({ kind: 'batchInference', batch: b.path }, role);
  ctx.grants.grant(role, b.input, 'read');
  ctx.grants.grant(role, b.output, 'write');
  // The model's versions, copied under its prefix when registered (names.ts `modelPrefix`).
  ctx.grants.grantPrefix(role, modelPrefix(model.environment.path, b.model.registry, b.model.model), true, false);
  const logGroup = workloadLogGroup(root, 'TaskLogs', platform);

  const environment: Record<string, string> = {
    ...served.serving.env,
    MLPLANE_MODE: 'batch',
    MLFLOW_TRACKING_URI: platform.mlflowUrl,
    MLPLANE_MODEL_URI: mlflowModelUri(b.model),
    MLPLANE_INPUT_URI: input.uri,
    MLPLANE_OUTPUT_URI: output.uri,
    MLPLANE_MINI_BATCH_SIZE: String(b.miniBatchSize),
    MLPLANE_SHARD_COUNT: String(b.instanceCount),
  };
  const envReason = `batch inference '${b.path}': environment holds the model URI, input/output URIs and sharding; no secrets`;
  const pool = b.compute === undefined ? undefined : ctx.computePools.get(b.compute);
  const size = fargateSize(b.resources);
  const name = stateName(`Score ${b.id}`);
  let work: sfn.IChainable;
  // Fargate sizes apply unless the job runs on a GPU pool; an invalid one is reported by validateForAws.
  if ((!pool || !pool.gpu) && !size.ok) return undefined;
  if (!pool) {
    if (!size.ok) return undefined;
    const c = fargateContainer(root, 'Task', { image: served.serving.image, size: size.value, role, logGroup, environment, envReason });
    const map = new sfn.Map(root, 'Shards', {
      itemsPath: '$.shards',
      maxConcurrency: b.instanceCount,
      itemSelector: { 'shard.$': '$$.Map.Item.Value', 'run.$': '$.run' },
      resultPath: sfn.JsonPath.DISCARD,
    });
    const task = runFargateState(
      root,
      name,
      platform,
      c,
      { MLPLANE_RUN_ID: sfn.JsonPath.stringAt('$.run'), MLPLANE_SHARD_INDEX: sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.shard')) },
      b.timeoutSeconds,
    );
    addRetries(task, b.retries);
    map.itemProcessor(task);
    const shards = new sfn.Pass(root, 'ShardList', {
      result: sfn.Result.fromArray(Array.from({ length: b.instanceCount }, (_, i) => i)),
      resultPath: '$.shards',
    });
    work = shards.next(map);
  } else {
    const logging = ecs.LogDrivers.awsLogs({ streamPrefix: 'score', logGroup });
    const container: batch.IEcsContainerDefinition = pool.gpu
      ? new batch.EcsEc2ContainerDefinition(root, 'Container', {
          image: ecs.ContainerImage.fromRegistry(served.serving.image),
          cpu: Math.max(1, Math.ceil(b.resources.cpu)),
          memory: Size.mebibytes(Math.ceil(b.resources.memoryGiB * 1024)),
          gpu: b.resources.accelerator?.count ?? 1,
          jobRole: role,
          environment,
          logging,
        })
      : new batch.EcsFargateContainerDefinition(root, 'Container', {
          image: ecs.ContainerImage.fromRegistry(served.serving.image),
          cpu: size.ok ? size.value.cpu / 1024 : 1,
          memory: Size.mebibytes(size.ok ? size.value.memoryMiB : 2048),
          jobRole: role,
          environment,
          logging,
          assignPublicIp: false,
          fargatePlatformVersion: ecs.FargatePlatformVersion.LATEST,
        });
    const jobDefinition = new batch.EcsJobDefinition(root, 'JobDefinition', { container });
    const task = new tasks.BatchSubmitJob(root, 'State', {
      stateName: name,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      jobDefinitionArn: jobDefinition.jobDefinitionArn,
      jobQueueArn: pool.queue.jobQueueArn,
      jobName: name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 128),
      arraySize: b.instanceCount > 1 ? b.instanceCount : undefined,
      containerOverrides: { environment: { MLPLANE_RUN_ID: sfn.JsonPath.stringAt('$.run') } },
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: b.timeoutSeconds !== undefined ? sfn.Timeout.duration(Duration.seconds(b.timeoutSeconds)) : undefined,
    });
    addRetries(task, b.retries);
    work = task;
  }
  if (b.retries > 0) {
    warnings.push({
      id: 'mlplane:aws:batch-retries-per-shard',
      path: b.path,
      message: `retries ${b.retries} re-run a failed ${pool ? 'array job' : 'shard'} (1/${b.instanceCount} of the input${pool ? ', all shards' : ''}), not a mini-batch of ${b.miniBatchSize} rows: Step Functions retries whole tasks`,
    });
  }
  // The run timeout bounds the whole execution (retries included): state machine TimeoutSeconds.
  const timeout = b.timeoutSeconds !== undefined ? Duration.seconds(b.timeoutSeconds) : undefined;
  const machine = stateMachine(root, 'StateMachine', platform, prepareStates(root, platform, {}).next(work), b.description ?? `mlplane batch inference ${b.path}`, undefined, timeout);
  ctx.grants.stateMachines.set(b.path, machine);
  b.schedules.forEach((s, i) => scheduleStateMachine(root, `Schedule${i + 1}`, machine, s, `${b.path} schedule ${i + 1}`, {}));
  return machine;
}

