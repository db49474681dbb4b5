import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { acknowledge } from './nag';
import type { Platform } from './platform';
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
  return new tasks.EcsRunTask(scope, 'State', {
    stateName: name,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    cluster: platform.cluster,
    taskDefinition: c.taskDefinition,
    launchTarget: new tasks.EcsFargateLaunchTarget({ platformVersion: ecs.FargatePlatformVersion.LATEST }),
    subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    securityGroups: [platform.workloadSecurityGroup],
    assignPublicIp: false,
    containerOverrides: [
      {
        containerDefinition: c.container,
        environment: Object.entries(env).map(([name, value]) => ({ name, value })),
      },
    ],
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
