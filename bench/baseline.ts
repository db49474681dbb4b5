/**
 * The hand-written baseline of the synthesis benchmark: a plain aws-cdk-lib app that builds, with
 * the usual L2 constructs, what the aws target builds for the generated bench app
 * (`bench/generate.ts`): per pipeline a Step Functions state machine running five AWS Batch
 * job definitions and one ECS task, each with its own role, log groups and an EventBridge
 * schedule; per ten pipelines a Glue table, an ECS/ALB endpoint with two autoscaled services, and
 * drift alarms with an SNS topic; once a platform (VPC, buckets, cluster, Batch queue, RDS).
 *
 * Ten pipelines per stack, the platform in the first, so references cross stacks as they do in the
 * aws target's output. `bench/app.ts baseline` runs it as a whole `cdk synth` process; the bench
 * prints its resource count by type next to the aws target's.
 */
import { Duration, RemovalPolicy, Size, Stack, type App } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secrets from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';

const ENV = { account: '123456789012', region: 'eu-west-1' };

interface Platform {
  readonly vpc: ec2.Vpc;
  readonly key: kms.Key;
  readonly data: s3.Bucket;
  readonly cluster: ecs.Cluster;
  readonly queue: batch.JobQueue;
  readonly glueDb: glue.CfnDatabase;
}

function platform(stack: Stack): Platform {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } });
  vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
  for (const [id, service] of [['Ecr', ec2.InterfaceVpcEndpointAwsService.ECR], ['EcrDocker', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER], ['Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS], ['States', ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS]] as const) {
    vpc.addInterfaceEndpoint(id, { service, open: false });
  }
  const key = kms.Key.fromKeyArn(stack, 'Key', `arn:aws:kms:${ENV.region}:${ENV.account}:key/00000000-0000-0000-0000-000000000000`) as kms.Key;
  const access = new s3.Bucket(stack, 'AccessLogs', { enforceSSL: true, removalPolicy: RemovalPolicy.RETAIN });
  const data = new s3.Bucket(stack, 'Data', { encryptionKey: key, enforceSSL: true, serverAccessLogsBucket: access, versioned: true });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  const ce = new batch.FargateComputeEnvironment(stack, 'Compute', { vpc, maxvCpus: 16 });
  const queue = new batch.JobQueue(stack, 'Queue', { computeEnvironments: [{ computeEnvironment: ce, order: 1 }] });
  const db = new rds.DatabaseInstance(stack, 'Mlflow', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
    vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, storageEncrypted: true, multiAz: false,
  });
  db.connections.allowDefaultPortFrom(ec2.Peer.ipv4(vpc.vpcCidrBlock));
  const glueDb = new glue.CfnDatabase(stack, 'Catalog', { catalogId: ENV.account, databaseInput: { name: 'bench' } });
  return { vpc, key, data, cluster, queue, glueDb };
}

const STEPS = ['Validate', 'Features', 'Train', 'Evaluate', 'Report'] as const;

function pipeline(stack: Stack, p: Platform, tasksSg: ec2.SecurityGroup, i: number): void {
  const id = `Pipeline${i}`;
  const scheduleRole = new iam.Role(stack, `${id}ScheduleRole`, { assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com') });
  const taskLogs = new logs.LogGroup(stack, `${id}TaskLogs`, { retention: logs.RetentionDays.ONE_MONTH });
  const jobs = STEPS.map((step) => {
    const role = new iam.Role(stack, `${id}${step}Role`, { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    p.data.grantReadWrite(role, `runs/${id}/*`);
    const executionRole = new iam.Role(stack, `${id}${step}ExecutionRole`, { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    const job = new batch.EcsJobDefinition(stack, `${id}${step}Job`, {
      retryAttempts: step === 'Train' ? 3 : 1,
      timeout: Duration.hours(2),
      container: new batch.EcsFargateContainerDefinition(stack, `${id}${step}Container`, {
        image: ecs.ContainerImage.fromRegistry(`ghcr.io/acme/${step.toLowerCase()}:1.0`),
        cpu: 1, memory: Size.gibibytes(2),
        command: ['python', '-m', step.toLowerCase()],
        environment: { RUN_PREFIX: `s3://${p.data.bucketName}/runs/${id}`, STEP: step },
        jobRole: role, executionRole,
        logging: ecs.LogDriver.awsLogs({ logGroup: taskLogs, streamPrefix: step }),
        readonlyRootFilesystem: true,
      }),
    });
    return new tasks.BatchSubmitJob(stack, `${id}${step}Submit`, { jobName: step, jobDefinitionArn: job.jobDefinitionArn, jobQueueArn: p.queue.jobQueueArn });
  });
  const registerRole = new iam.Role(stack, `${id}RegisterRole`, { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  p.data.grantRead(registerRole, `runs/${id}/*`);
  const registerTask = new ecs.FargateTaskDefinition(stack, `${id}RegisterTask`, { cpu: 512, memoryLimitMiB: 1024, taskRole: registerRole });
  registerTask.addContainer('main', {
    image: ecs.ContainerImage.fromRegistry('ghcr.io/acme/register:1.0'),
    command: ['python', '-m', 'register'],
    environment: { RUN_PREFIX: `s3://${p.data.bucketName}/runs/${id}` },
    logging: ecs.LogDriver.awsLogs({ logGroup: taskLogs, streamPrefix: 'Register' }),
  });
  const register = new tasks.EcsRunTask(stack, `${id}Register`, {
    cluster: p.cluster, taskDefinition: registerTask, launchTarget: new tasks.EcsFargateLaunchTarget(), securityGroups: [tasksSg],
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    containerOverrides: [{ containerDefinition: registerTask.defaultContainer!, environment: [{ name: 'RUN_ID', value: sfn.JsonPath.stringAt('$$.Execution.Name') }] }],
  });
  const fail = new sfn.Fail(stack, `${id}Failed`, { error: 'StepFailed' });
  let chain: sfn.INextable & sfn.IChainable = jobs[0];
  let definition = sfn.Chain.start(jobs[0].addCatch(fail));
  for (const job of jobs.slice(1)) {
    definition = definition.next(job.addRetry({ maxAttempts: 2 }).addCatch(fail));
    chain = job;
  }
  void chain;
  definition = definition.next(new sfn.Choice(stack, `${id}Better`).when(sfn.Condition.numberGreaterThan('$.auc', 0.8), register).otherwise(new sfn.Succeed(stack, `${id}Done`)));
  const machine = new sfn.StateMachine(stack, `${id}StateMachine`, {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    logs: { destination: new logs.LogGroup(stack, `${id}StateMachineLogs`, { retention: logs.RetentionDays.ONE_MONTH }), level: sfn.LogLevel.ERROR },
    tracingEnabled: true,
    timeout: Duration.hours(12),
  });
  machine.grantStartExecution(scheduleRole);
  new scheduler.CfnSchedule(stack, `${id}Schedule`, {
    flexibleTimeWindow: { mode: 'OFF' },
    scheduleExpression: `cron(0 ${i % 24} * * ? *)`,
    scheduleExpressionTimezone: 'Europe/Amsterdam',
    target: { arn: machine.stateMachineArn, roleArn: scheduleRole.roleArn },
  });
}

function group(stack: Stack, p: Platform, g: number): void {
  new glue.CfnTable(stack, `Data${g}Table`, {
    catalogId: ENV.account,
    databaseName: 'bench',
    tableInput: {
      name: `data${g}`, tableType: 'EXTERNAL_TABLE',
      partitionKeys: [{ name: 'ts', type: 'timestamp' }],
      storageDescriptor: {
        location: `s3://${p.data.bucketName}/datasets/data${g}/`,
        columns: [{ name: 'id', type: 'string' }, { name: 'f1', type: 'double' }, { name: 'f2', type: 'double' }, { name: 'f3', type: 'string' }],
        inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
        serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
      },
    },
  });
  const id = `Endpoint${g}`;
  const token = new secrets.Secret(stack, `${id}Token`);
  const lb = new elbv2.ApplicationLoadBalancer(stack, `${id}Lb`, { vpc: p.vpc, internetFacing: false });
  const listener = lb.addListener(`${id}Http`, { port: 80, open: false });
  const metrics: cloudwatch.Metric[] = [];
  for (const [name, weight] of [['Blue', 90], ['Green', 10]] as const) {
    const task = new ecs.FargateTaskDefinition(stack, `${id}${name}Task`, { cpu: 1024, memoryLimitMiB: 2048 });
    p.data.grantRead(task.taskRole, 'mlflow/*');
    task.addContainer('serve', {
      image: ecs.ContainerImage.fromRegistry('ghcr.io/acme/serve:1.0'),
      portMappings: [{ containerPort: 8080 }],
      secrets: { TOKEN: ecs.Secret.fromSecretsManager(token) },
      logging: ecs.LogDriver.awsLogs({ streamPrefix: name, logRetention: logs.RetentionDays.ONE_MONTH }),
    });
    const service = new ecs.FargateService(stack, `${id}${name}`, { cluster: p.cluster, taskDefinition: task, desiredCount: 1, assignPublicIp: false });
    const tg = new elbv2.ApplicationTargetGroup(stack, `${id}${name}Tg`, { vpc: p.vpc, port: 8080, protocol: elbv2.ApplicationProtocol.HTTP, targets: [service], healthCheck: { path: '/health' } });
    listener.addTargetGroups(`${id}${name}Route`, { targetGroups: [tg], priority: name === 'Blue' ? 1 : 2, conditions: [elbv2.ListenerCondition.pathPatterns([`/${name.toLowerCase()}/*`])] });
    void weight;
    const scaling = service.autoScaleTaskCount({ minCapacity: 1, maxCapacity: 3 });
    scaling.scaleOnCpuUtilization(`${id}${name}Cpu`, { targetUtilizationPercent: 60 });
    metrics.push(service.metricCpuUtilization());
  }
  listener.addAction(`${id}Default`, { action: elbv2.ListenerAction.fixedResponse(404) });
  const topic = new sns.Topic(stack, `Drift${g}Topic`, { masterKey: p.key, enforceSSL: true });
  topic.addSubscription(new subs.EmailSubscription('oncall@acme.example'));
  for (const [n, metric] of [...metrics, ...['f1', 'f2', 'f3', 'psi', 'errors', 'latency'].map((f) => new cloudwatch.Metric({ namespace: 'mlplane/drift', metricName: f, dimensionsMap: { endpoint: id } }))].entries()) {
    if (n < 2) continue;
    new cloudwatch.Alarm(stack, `Drift${g}Alarm${n}`, { metric, threshold: 0.15, evaluationPeriods: 1 }).addAlarmAction({ bind: () => ({ alarmActionArn: topic.topicArn }) });
  }
  void appscaling;
}

/** Define the baseline of `pipelines` pipelines under `app`. */
export function defineBaseline(app: App, pipelines: number): void {
  const first = new Stack(app, 'Baseline', { env: ENV });
  const p = platform(first);
  const groups = Math.max(1, Math.ceil(pipelines / 10));
  for (let g = 0; g < groups; g++) {
    const stack = g === 0 ? first : new Stack(app, `Baseline-${g + 1}`, { env: ENV });
    if (g > 0) stack.addStackDependency(first);
    const tasksSg = new ec2.SecurityGroup(stack, 'Tasks', { vpc: p.vpc });
    for (let i = g * 10; i < Math.min(pipelines, (g + 1) * 10); i++) pipeline(stack, p, tasksSg, i);
    group(stack, p, g);
  }
}
