import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { ResourcesModel } from '../../lib/model/types';
import { MOUNT, VOLUME } from './contract';
import { acknowledge } from './nag';
import type { Platform } from './platform';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ecsSecrets } from './secrets';
import type { FargateSize } from './sizing';

/** Environment variable values a state computes at run time (JSONPath expressions). */
export type DynamicEnv = Readonly<Record<string, string>>;

/** A container that runs as a one-off ECS Fargate task. */
export interface FargateContainerProps {
  readonly image: string;
  readonly size: FargateSize;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly entryPoint?: readonly string[];
  readonly command?: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  /** Why the container's environment variables hold no secret (AwsSolutions-ECS2). */
  readonly envReason: string;
}

/** A task definition with one container named `main`. */
export interface FargateContainer {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
}

/** Define a Fargate task definition running one container as `role`. */
export function fargateContainer(scope: Construct, id: string, props: FargateContainerProps): FargateContainer {
  const taskDefinition = new ecs.FargateTaskDefinition(scope, id, {
    cpu: props.size.cpu,
    memoryLimitMiB: props.size.memoryMiB,
    taskRole: props.role,
  });
  const container = taskDefinition.addContainer('main', {
    image: ecs.ContainerImage.fromRegistry(props.image),
    entryPoint: props.entryPoint && props.entryPoint.length > 0 ? [...props.entryPoint] : undefined,
    command: props.command && props.command.length > 0 ? [...props.command] : undefined,
    environment: { ...props.environment },
    logging: ecs.LogDrivers.awsLogs({ streamPrefix: id.toLowerCase().slice(0, 64), logGroup: props.logGroup }),
  });
  acknowledge(taskDefinition, 'AwsSolutions-ECS2', props.envReason);
  return { taskDefinition, container };
}

/** A role for ECS tasks (and Batch jobs) acting as one principal of the model. */
export function taskRole(scope: Construct, id: string, description: string): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    description: description.slice(0, 1000),
  });
}

/** A log group for one workload. */
export function workloadLogGroup(scope: Construct, id: string, platform: Platform): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    retention: platform.logRetention,
    encryptionKey: platform.keyFor(scope),
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/** A Step Functions state that runs a Fargate task to completion. */
export function runFargateState(
  scope: Construct,
  name: string,
  platform: Platform,
  c: FargateContainer,
  env: DynamicEnv,
  timeoutSeconds: number | undefined,
): tasks.EcsRunTask {
  const environment = Object.entries(env).map(([n, value]) => ({ name: n, value }));
  return fargateRunTask(scope, name, platform, c.taskDefinition, [{ containerDefinition: c.container, environment }], timeoutSeconds);
}

/** The one shape of a Step Functions state running a Fargate task of the workload network to completion. */
function fargateRunTask(
  scope: Construct,
  name: string,
  platform: Platform,
  taskDefinition: ecs.TaskDefinition,
  containerOverrides: tasks.ContainerOverride[],
  timeoutSeconds: number | undefined,
): tasks.EcsRunTask {
  return new tasks.EcsRunTask(scope, 'State', {
    stateName: name,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    cluster: platform.cluster,
    taskDefinition,
    launchTarget: new tasks.EcsFargateLaunchTarget({ platformVersion: ecs.FargatePlatformVersion.LATEST }),
    subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    securityGroups: [platform.workloadSecurityGroup],
    assignPublicIp: false,
    containerOverrides,
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: timeoutSeconds !== undefined ? sfn.Timeout.duration(Duration.seconds(timeoutSeconds)) : undefined,
  });
}

/** Add the model's retries to a task state. */
export function addRetries(state: sfn.TaskStateBase, retries: number): void {
  if (retries > 0) {
    state.addRetry({ errors: [sfn.Errors.TASKS_FAILED], maxAttempts: retries, interval: Duration.seconds(30), backoffRate: 2 });
  }
}

/** A standard state machine with full logging and X-Ray tracing. */
export function stateMachine(
  scope: Construct,
  id: string,
  platform: Platform,
  definition: sfn.IChainable,
  comment?: string,
  queryLanguage?: sfn.QueryLanguage,
  timeout?: Duration,
): sfn.StateMachine {
  const logGroup = workloadLogGroup(scope, `${id}Logs`, platform);
  return new sfn.StateMachine(scope, id, {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    tracingEnabled: true,
    comment,
    queryLanguage,
    timeout,
  });
}

/**
 * Image of the staging containers: the AWS CLI, pinned. Its entrypoint is replaced by `/bin/sh -c`.
 * @see https://gallery.ecr.aws/aws-cli/aws-cli
 */
export const STAGING_IMAGE = 'public.ecr.aws/aws-cli/aws-cli:2.15.0';

/** Names of the three containers of a staged step. */
export const STAGE_IN = 'stage-in';
export const MAIN = 'main';
export const STAGE_OUT = 'stage-out';

/** The step's container and the two staging scripts around it. */
export interface StagedContainerProps {
  readonly image: string;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly entryPoint?: readonly string[];
  /** Command words known at synth; absent when the state supplies the command (container overrides). */
  readonly command?: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Env of the step's container read from Secrets Manager when the task starts (by the task's
   * execution role, granted read on these secrets only).
   *
   * @default - none
   */
  readonly secrets?: Readonly<Record<string, secretsmanager.ISecret>>;
  readonly stageInScript: string;
  readonly stageOutScript: string;
  /** Why the containers' environment variables hold no secret (AwsSolutions-ECS2). */
  readonly envReason: string;
}

/** A Fargate task definition of a staged step: stage-in → main → stage-out on one task-local volume. */
export interface StagedFargateTask {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly stageIn: ecs.ContainerDefinition;
  readonly main: ecs.ContainerDefinition;
  readonly stageOut: ecs.ContainerDefinition;
}

/**
 * Define a Fargate task definition that stages a step's artifacts around its container.
 *
 * `stage-in` (not essential) copies inputs from S3 to the shared volume; `main` (not essential)
 * starts only when `stage-in` exited 0 (`SUCCESS`); `stage-out` (the essential container) starts
 * only when `main` exited 0 and uploads the outputs. A non-zero exit anywhere leaves `stage-out`
 * unstarted, the task stops, and the Step Functions `.sync` integration fails the state on the
 * non-zero container exit code. ECS allows `SUCCESS`/`COMPLETE` only on non-essential containers.
 * @see https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html
 */
export function stagedFargateTask(scope: Construct, id: string, size: FargateSize, props: StagedContainerProps): StagedFargateTask {
  const taskDefinition = new ecs.FargateTaskDefinition(scope, id, { cpu: size.cpu, memoryLimitMiB: size.memoryMiB, taskRole: props.role });
  taskDefinition.addVolume({ name: VOLUME });
  const logging = (prefix: string) => ecs.LogDrivers.awsLogs({ streamPrefix: prefix, logGroup: props.logGroup });
  const mount: ecs.MountPoint = { containerPath: MOUNT, sourceVolume: VOLUME, readOnly: false };
  const stageIn = taskDefinition.addContainer(STAGE_IN, {
    image: ecs.ContainerImage.fromRegistry(STAGING_IMAGE),
    essential: false,
    entryPoint: ['/bin/sh', '-c'],
    command: [props.stageInScript],
    logging: logging(STAGE_IN),
  });
  const main = taskDefinition.addContainer(MAIN, {
    image: ecs.ContainerImage.fromRegistry(props.image),
    essential: false,
    entryPoint: props.entryPoint && props.entryPoint.length > 0 ? [...props.entryPoint] : undefined,
    command: props.command && props.command.length > 0 ? [...props.command] : undefined,
    environment: { ...props.environment },
    secrets: ecsSecrets(props.secrets ?? {}),
    logging: logging(MAIN),
  });
  const stageOut = taskDefinition.addContainer(STAGE_OUT, {
    image: ecs.ContainerImage.fromRegistry(STAGING_IMAGE),
    essential: true,
    entryPoint: ['/bin/sh', '-c'],
    command: [props.stageOutScript],
    logging: logging(STAGE_OUT),
  });
  for (const c of [stageIn, main, stageOut]) c.addMountPoints(mount);
  main.addContainerDependencies({ container: stageIn, condition: ecs.ContainerDependencyCondition.SUCCESS });
  stageOut.addContainerDependencies({ container: main, condition: ecs.ContainerDependencyCondition.SUCCESS });
  acknowledge(taskDefinition, 'AwsSolutions-ECS2', props.envReason);
  return { taskDefinition, stageIn, main, stageOut };
}

/** Overrides of one container, computed by the state (JSONPath values). */
export interface StateOverride {
  /** The whole command as one JSONPath/intrinsic expression yielding a string array. */
  readonly command?: string;
  readonly environment: Readonly<Record<string, string>>;
}

/** A Step Functions state that runs a staged Fargate task to completion, with per-container overrides. */
export function runStagedFargateState(
  scope: Construct,
  name: string,
  platform: Platform,
  t: StagedFargateTask,
  overrides: { readonly stageIn: StateOverride; readonly main: StateOverride; readonly stageOut: StateOverride },
  timeoutSeconds: number | undefined,
): tasks.EcsRunTask {
  const override = (containerDefinition: ecs.ContainerDefinition, o: StateOverride): tasks.ContainerOverride => ({
    containerDefinition,
    command: o.command !== undefined ? Token.asList(sfn.JsonPath.objectAt(o.command)) : undefined,
    environment: Object.entries(o.environment).map(([n, value]) => ({ name: n, value })),
  });
  return fargateRunTask(scope, name, platform, t.taskDefinition, [override(t.stageIn, overrides.stageIn), override(t.main, overrides.main), override(t.stageOut, overrides.stageOut)], timeoutSeconds);
}

/** vCPU and memory of each staging container of a Batch job (Batch asks for them per container). */
export const STAGING_RESOURCES = {
  fargate: { vcpu: 0.25, memoryMiB: 512 },
  ec2: { vcpu: 1, memoryMiB: 512 },
} as const;

/** Resources of a staged Batch job: the step plus its two staging containers (Batch sizes each container). */
export function withStaging(r: ResourcesModel, fargate: boolean): ResourcesModel {
  const staging = fargate ? STAGING_RESOURCES.fargate : STAGING_RESOURCES.ec2;
  return { ...r, cpu: r.cpu + 2 * staging.vcpu, memoryGiB: r.memoryGiB + (2 * staging.memoryMiB) / 1024 };
}

/** Size of the three containers of a staged Batch job. */
export interface StagedJobSize {
  readonly mainVcpu: number;
  readonly mainMemoryMiB: number;
  readonly gpus?: number;
}

/**
 * Define an AWS Batch job definition of a staged step with `EcsProperties` (multi-container
 * jobs): the same three containers and dependencies as {@link stagedFargateTask}. aws-cdk-lib has
 * no L2 for multi-container job definitions, so this is the L1 `CfnJobDefinition`.
 * @see https://docs.aws.amazon.com/batch/latest/userguide/multi-container-jobs.html
 */
export function stagedJobDefinition(
  scope: Construct,
  id: string,
  fargate: boolean,
  size: StagedJobSize,
  props: StagedContainerProps,
): batch.CfnJobDefinition {
  const stack = Stack.of(scope);
  const executionRole = new iam.Role(scope, `${id}ExecutionRole`, {
    assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    description: 'mlplane: pulls the images of one pipeline step and writes its logs',
  });
  props.logGroup.grantWrite(executionRole);
  // Batch resolves `secrets` with the execution role: read on these secrets only.
  const secretsOf = Object.entries(props.secrets ?? {});
  for (const [, s] of secretsOf) s.grantRead(executionRole);
  const staging = fargate ? STAGING_RESOURCES.fargate : STAGING_RESOURCES.ec2;
  const resources = (vcpu: number, memoryMiB: number, gpus?: number): batch.CfnJobDefinition.ResourceRequirementProperty[] => [
    { type: 'VCPU', value: String(vcpu) },
    { type: 'MEMORY', value: String(memoryMiB) },
    ...(gpus ? [{ type: 'GPU', value: String(gpus) }] : []),
  ];
  const logConfiguration = (prefix: string): batch.CfnJobDefinition.LogConfigurationProperty => ({
    logDriver: 'awslogs',
    options: { 'awslogs-group': props.logGroup.logGroupName, 'awslogs-region': stack.region, 'awslogs-stream-prefix': prefix },
  });
  const mountPoints = [{ containerPath: MOUNT, sourceVolume: VOLUME, readOnly: false }];
  const containers: batch.CfnJobDefinition.TaskContainerPropertiesProperty[] = [
    {
      name: STAGE_IN,
      image: STAGING_IMAGE,
      essential: false,
      command: ['/bin/sh', '-c', props.stageInScript],
      resourceRequirements: resources(staging.vcpu, staging.memoryMiB),
      logConfiguration: logConfiguration(STAGE_IN),
      mountPoints,
    },
    {
      name: MAIN,
      image: props.image,
      essential: false,
      command: props.command && props.command.length > 0 ? [...(props.entryPoint ?? []), ...props.command] : undefined,
      environment: Object.entries(props.environment).map(([n, value]) => ({ name: n, value })),
      secrets: secretsOf.length > 0 ? secretsOf.map(([n, s]) => ({ name: n, valueFrom: s.secretArn })) : undefined,
      dependsOn: [{ containerName: STAGE_IN, condition: 'SUCCESS' }],
      resourceRequirements: resources(size.mainVcpu, size.mainMemoryMiB, size.gpus),
      logConfiguration: logConfiguration(MAIN),
      mountPoints,
    },
    {
      name: STAGE_OUT,
      image: STAGING_IMAGE,
      essential: true,
      command: ['/bin/sh', '-c', props.stageOutScript],
      dependsOn: [{ containerName: MAIN, condition: 'SUCCESS' }],
      resourceRequirements: resources(staging.vcpu, staging.memoryMiB),
      logConfiguration: logConfiguration(STAGE_OUT),
      mountPoints,
    },
  ];
  return new batch.CfnJobDefinition(scope, id, {
    type: 'container',
    platformCapabilities: [fargate ? 'FARGATE' : 'EC2'],
    ecsProperties: {
      taskProperties: [
        {
          containers,
          taskRoleArn: props.role.roleArn,
          executionRoleArn: executionRole.roleArn,
          volumes: [{ name: VOLUME }],
          ...(fargate ? { platformVersion: 'LATEST', networkConfiguration: { assignPublicIp: 'DISABLED' } } : {}),
        },
      ],
    },
  });
}

/**
 * `batch:submitJob.sync` for a multi-container job: aws-cdk-lib's BatchSubmitJob (kept for its IAM
 * policy and `.sync` wiring) plus `EcsPropertiesOverride`, which its props do not cover.
 * @see https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html (ecsPropertiesOverride)
 */
export class StagedBatchSubmitJob extends tasks.BatchSubmitJob {
  private readonly containerOverrides: Readonly<Record<string, StateOverride>>;

  constructor(scope: Construct, id: string, props: tasks.BatchSubmitJobProps, containerOverrides: Readonly<Record<string, StateOverride>>) {
    super(scope, id, props);
    this.containerOverrides = containerOverrides;
  }

  protected override _renderTask(topLevelQueryLanguage?: sfn.QueryLanguage): unknown {
    const rendered = super._renderTask(topLevelQueryLanguage) as { Parameters?: Record<string, unknown> };
    const containers = Object.entries(this.containerOverrides).map(([name, o]) => ({
      Name: name,
      Command: o.command !== undefined ? Token.asList(sfn.JsonPath.objectAt(o.command)) : undefined,
      Environment: Object.entries(o.environment).map(([n, value]) => ({ Name: n, Value: value })),
    }));
    const override = sfn.FieldUtils.renderObject({ EcsPropertiesOverride: { TaskProperties: [{ Containers: containers }] } });
    return { ...rendered, Parameters: { ...rendered.Parameters, ...override } };
  }
}
