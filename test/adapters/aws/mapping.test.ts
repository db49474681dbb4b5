import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MLFLOW_IMAGE } from '../../../adapters/aws/platform';
import type { EnvironmentModel } from '../../../lib/model/types';
import { definitionOf, examples, patchResource, resourcesOfType, synth, template, type Synthesized } from './support';

let fraudModel: EnvironmentModel;
let churnModel: EnvironmentModel;
let fraud: Synthesized;
let churn: Synthesized;
let f: Template;
let c: Template;

beforeAll(() => {
  ({ fraud: fraudModel, churn: churnModel } = examples());
  fraud = synth(fraudModel);
  churn = synth(churnModel);
  f = template(fraud);
  c = template(churn);
});

/** The role policy statements attached to the role whose logical id contains `fragment`. */
function policiesOfRole(t: Template, fragment: string): unknown[] {
  const roles = Object.keys(t.findResources('AWS::IAM::Role')).filter((id) => id.includes(fragment));
  expect(roles, `roles matching ${fragment}`).toHaveLength(1);
  const policies = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) =>
    JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes(`"${roles[0]}"`),
  );
  return policies.flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument.Statement);
}

describe('environment → platform', () => {
  it('names stacks after the environment and places them in the configured account and region', () => {
    expect(fraud.stacks.map((s) => s.stackName)).toEqual(['Fraud-prod-mlops']);
    expect(churn.stacks.map((s) => s.stackName)).toEqual(['Churn-staging-mlops']);
    expect(fraud.stacks[0]?.region).toBe('eu-west-1');
    expect(churn.stacks[0]?.region).toBe('us-east-1');
    expect(fraud.stacks[0]?.account).toBe('123456789012');
  });

  it('defines a VPC with private subnets, flow logs and endpoints for S3, ECR and CloudWatch Logs', () => {
    f.resourceCountIs('AWS::EC2::VPC', 1);
    f.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 's3' });
    f.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.s3'])]) }), VpcEndpointType: 'Gateway' });
    for (const service of ['com.amazonaws.eu-west-1.ecr.api', 'com.amazonaws.eu-west-1.ecr.dkr', 'com.amazonaws.eu-west-1.logs']) {
      f.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: service, VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
    }
    f.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
  });

  it('defines a customer-managed KMS key with the rotation period of the model', () => {
    f.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, RotationPeriodInDays: 90 });
    f.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/fraud-cmk' });
    c.resourceCountIs('AWS::KMS::Key', 0);
  });

  it('defines a versioned, KMS-encrypted, SSL-only, private artifact bucket with access logs, retained', () => {
    f.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 's3/artifacts/' }),
      }),
    });
    f.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('defines an ECS cluster with Container Insights', () => {
    f.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });

  it('runs MLflow from the pinned public image on Fargate behind an internal ALB', () => {
    f.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Name: 'mlflow', Image: MLFLOW_IMAGE, PortMappings: [Match.objectLike({ ContainerPort: 5000 })] })],
    });
    expect(MLFLOW_IMAGE).toMatch(/^ghcr\.io\/mlflow\/mlflow:v\d+\.\d+\.\d+$/);
    f.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal', Type: 'application' });
    f.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Port: 5000, HealthCheckPath: '/health' });
    f.hasOutput('*', { Description: Match.stringLikeRegexp('^MLflow tracking server'), Value: { 'Fn::Join': ['', ['http://', Match.anyValue()]] } });
  });

  it('stores MLflow metadata in encrypted RDS PostgreSQL with credentials only in Secrets Manager', () => {
    f.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ Engine: 'postgres', StorageEncrypted: true, MultiAZ: true, DeletionProtection: true, Port: '5532' }),
    });
    c.hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: false });
    f.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }) });
    const db = resourcesOfType(f, 'AWS::RDS::DBInstance')[0]?.[1];
    expect(JSON.stringify(db?.Properties?.MasterUserPassword)).toContain('resolve:secretsmanager');
    f.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Name: 'mlflow', Secrets: Match.arrayWith([Match.objectLike({ Name: 'DB_PASSWORD' })]) })],
    });
    expect(JSON.stringify(f.toJSON())).not.toMatch(/"MasterUserPassword":"[^{]/);
  });

  it('lets data go with the stack only when every dataset and registry says retain: false', () => {
    const model = structuredClone(churnModel) as EnvironmentModel & { resources: { kind: string; retain?: boolean }[] };
    for (const r of model.resources) if (r.kind === 'dataset' || r.kind === 'modelRegistry') r.retain = false;
    const t = template(synth(model));
    const artifacts = resourcesOfType(t, 'AWS::S3::Bucket').find(([id]) => id.startsWith('PlatformArtifacts'));
    expect(artifacts?.[1].DeletionPolicy).toBe('Delete');
    t.hasResource('AWS::RDS::DBInstance', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ DeletionProtection: false }) });
    t.hasResource('AWS::Glue::Database', { DeletionPolicy: 'Delete' });
  });

  it('tags every stack with the environment tags', () => {
    f.hasResourceProperties('AWS::S3::Bucket', { Tags: Match.arrayWith([{ Key: 'costCenter', Value: 'cc-4711' }, { Key: 'mlplane:environment', Value: 'Fraud' }]) });
  });
});

describe('datasets and feature tables → S3 + Glue + DynamoDB', () => {
  it('defines a Glue table per dataset with the schema, the S3 prefix and the version', () => {
    f.hasResource('AWS::Glue::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        DatabaseName: 'fraud_prod_mlops',
        TableInput: Match.objectLike({
          Name: 'transactions',
          Parameters: Match.objectLike({ 'mlplane:path': 'Fraud/Transactions', classification: 'parquet' }),
          StorageDescriptor: Match.objectLike({
            Location: { 'Fn::Join': ['', ['s3://', Match.anyValue(), '/datasets/transactions/']] },
            Columns: Match.arrayWith([{ Name: 'amount', Type: 'double' }, Match.objectLike({ Name: 'ts', Type: 'timestamp' })]),
          }),
        }),
      }),
    });
  });

  it('partitions, sorts and expires datasets as the model says', () => {
    f.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'transactions',
        PartitionKeys: [{ Name: 'ts_day', Type: 'string' }],
        StorageDescriptor: Match.objectLike({ SortColumns: [{ Column: 'customerId', SortOrder: 1 }, { Column: 'merchantId', SortOrder: 1 }] }),
      }),
    });
    f.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'datasets/transactions/', ExpirationInDays: 730, Status: 'Enabled' })]) },
    });
  });

  it('reads an external dataset from its own S3 location with a grant limited to that prefix', () => {
    const model = patchResource(fraudModel, 'Fraud/Transactions', 'dataset', (d) => {
      d.source = { kind: 'external', uri: 's3://acme-raw/transactions' };
      delete (d as { retentionDays?: number }).retentionDays;
    });
    const t = template(synth(model));
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({ Name: 'transactions', StorageDescriptor: Match.objectLike({ Location: 's3://acme-raw/transactions/' }) }),
    });
    expect(JSON.stringify(policiesOfRole(t, 'TrainStepsValidateDataRole'))).toContain(':s3:::acme-raw/transactions/*');
  });

  it('defines an online feature table as DynamoDB keyed by the entity, with TTL and PITR, retained', () => {
    f.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: 'customerId', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: Match.objectLike({ SSEEnabled: true, SSEType: 'KMS' }),
      }),
    });
    f.hasResource('AWS::Glue::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ TableInput: Match.objectLike({ Name: 'customer_features', Parameters: Match.objectLike({ 'mlplane:keys': 'customerId' }) }) }),
    });
    f.hasResource('AWS::Glue::Database', { DeletionPolicy: 'Retain' });
    expect(fraud.warnings).toContainEqual(expect.objectContaining({ id: 'mlplane:aws:feature-refresh-by-pipeline', path: 'Fraud/CustomerFeatures' }));
  });
});

describe('compute pools → AWS Batch', () => {
  it('defines a GPU pool as an EC2 compute environment on the ECS GPU AMI, sized to hold one node', () => {
    // Node: 8 vCPU, 32 GiB, 1 x T4 → g4dn.4xlarge (g4dn.2xlarge has 32 GiB, of which too little is usable).
    f.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      ComputeResources: Match.objectLike({
        InstanceTypes: ['g4dn.4xlarge'],
        MinvCpus: 0,
        MaxvCpus: 4 * 16,
        Type: 'SPOT',
        Ec2Configuration: [{ ImageType: 'ECS_AL2_NVIDIA' }],
      }),
    });
  });

  it('defines a CPU pool as a Fargate compute environment with a job queue', () => {
    f.hasResourceProperties('AWS::Batch::ComputeEnvironment', { ComputeResources: Match.objectLike({ Type: 'FARGATE', MaxvCpus: 32 }) });
    f.resourceCountIs('AWS::Batch::JobQueue', 2);
  });
});

describe('pipelines → Step Functions', () => {
  it('runs each step in order with the retries and timeouts of the model', () => {
    const [, machine] = resourcesOfType(f, 'AWS::StepFunctions::StateMachine').find(([id]) => id.startsWith('TrainStateMachine')) ?? [];
    expect(machine).toBeDefined();
    const def = definitionOf(machine as { Properties: Record<string, unknown> }) as { States: Record<string, Record<string, unknown>> };
    const train = fraudModel.resources.find((r) => r.path === 'Fraud/Train');
    if (train?.kind !== 'pipeline') throw new Error('no pipeline');
    for (const step of train.steps) {
      expect(def.States[step.name], step.name).toBeDefined();
      if (step.retries > 0) expect(def.States[step.name]?.Retry).toEqual([expect.objectContaining({ ErrorEquals: ['States.TaskFailed'], MaxAttempts: step.retries })]);
    }
    expect(def.States.TrainModel?.Resource).toBe('arn:<ref>:states:::batch:submitJob.sync');
    expect(def.States.TrainModel?.Parameters).toMatchObject({ Timeout: { AttemptDurationSeconds: 14400 } });
    expect(def.States.Register?.Resource).toBe('arn:<ref>:states:::ecs:runTask.sync');
  });

  it('stages upstream outputs from the S3 URIs of the run and passes parameters as values', () => {
    const [, machine] = resourcesOfType(f, 'AWS::StepFunctions::StateMachine').find(([id]) => id.startsWith('TrainStateMachine')) ?? [];
    const text = JSON.stringify(definitionOf(machine as { Properties: Record<string, unknown> }));
    expect(text).toContain(`"Name":"MLPLANE_IN_features","Value.$":"States.Format('s3://{}/runs/train/{}/build-features/features/', $.bucket, $.run)"`);
    expect(text).toContain(`"w0.$":"States.Format('{}', $.parameters.learningRate)"`);
    expect(text).toContain(`"Command.$":"States.Array('python3', 'examples/fraud/train.py', '--features', '/mlplane/inputs/features', '--lr', $.words.w0, '--model', '/mlplane/outputs/model')"`);
    expect(text).toContain('States.JsonMerge($.defaults, $.parameters, false)');
  });

  it('runs independent steps in a Parallel state', () => {
    const model = structuredClone(fraudModel) as { resources: { path: string; kind: string; steps?: { name: string; dependsOn: string[] }[] }[] } & EnvironmentModel;
    const train = model.resources.find((r) => r.path === 'Fraud/Train');
    const evaluate = train?.steps?.find((s) => s.name === 'Evaluate');
    const build = train?.steps?.find((s) => s.name === 'BuildFeatures');
    if (!evaluate || !build) throw new Error('example changed');
    // Make BuildFeatures independent of ValidateData so it can run beside it.
    build.dependsOn = [];
    const t = template(synth(model));
    const [, machine] = resourcesOfType(t, 'AWS::StepFunctions::StateMachine').find(([id]) => id.startsWith('TrainStateMachine')) ?? [];
    const def = definitionOf(machine as { Properties: Record<string, unknown> }) as { States: Record<string, { Type: string; Branches?: { StartAt: string }[] }> };
    const parallel = Object.values(def.States).find((s) => s.Type === 'Parallel');
    expect(parallel?.Branches?.map((b) => b.StartAt)).toEqual(['mlplane.Values ValidateData', 'BuildFeatures']);
  });

  it('schedules a pipeline with EventBridge Scheduler in the time zone of the model', () => {
    f.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Amsterdam',
      Target: Match.objectLike({ Input: '{"parameters":{}}' }),
    });
  });

  it('gives each step its own role, limited to the data it was granted', () => {
    const validate = JSON.stringify(policiesOfRole(f, 'TrainStepsValidateDataRole'));
    expect(validate).toContain('/datasets/transactions/*');
    expect(validate).toContain('/runs/train/*');
    const train = JSON.stringify(policiesOfRole(f, 'TrainStepsTrainModelRole'));
    expect(train).not.toContain('/datasets/transactions/*');
    expect(train).toContain('/runs/train/*');
  });

  it('registers models with the MLflow client in the public MLflow image, gated by the metric', () => {
    f.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Image: MLFLOW_IMAGE,
          Environment: Match.arrayWith([
            { Name: 'MLPLANE_MODEL_NAME', Value: 'fraud' },
            { Name: 'MLPLANE_PROMOTE_TO', Value: 'champion' },
            { Name: 'MLPLANE_GATE', Value: JSON.stringify({ metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.002 }) },
          ]),
        }),
      ],
    });
  });
});

describe('online endpoints → ECS services behind ALB weighted target groups', () => {
  it('splits traffic by weight across one target group per deployment', () => {
    const endpoint = fraudModel.resources.find((r) => r.kind === 'onlineEndpoint');
    if (endpoint?.kind !== 'onlineEndpoint') throw new Error('no endpoint');
    f.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      DefaultActions: [
        Match.objectLike({
          Type: 'forward',
          ForwardConfig: { TargetGroups: endpoint.deployments.map((d) => Match.objectLike({ Weight: d.traffic })) },
        }),
      ],
    });
    f.resourceCountIs('AWS::ECS::Service', 1 + endpoint.deployments.length);
  });

  it('autoscales each deployment between its replica bounds', () => {
    const endpoint = fraudModel.resources.find((r) => r.kind === 'onlineEndpoint');
    if (endpoint?.kind !== 'onlineEndpoint') throw new Error('no endpoint');
    for (const d of endpoint.deployments) {
      f.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: d.minReplicas, MaxCapacity: d.maxReplicas });
    }
    f.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: Match.stringLikeRegexp('ECSServiceAverageCPUUtilization|ALBRequestCountPerTarget') }) }),
    });
  });

  it('grants each deployment role what the model grants it: online features and their source, capture writes', () => {
    const blue = JSON.stringify(policiesOfRole(f, 'ScoringblueRole'));
    expect(blue).toMatch(/"dynamodb:GetItem"/);
    expect(blue).toMatch(/CustomerFeaturesOnline[A-Za-z0-9]+","Arn"/);
    expect(blue).toContain('/datasets/transactions/*');
    expect(blue).toContain('/capture/scoring/blue/*');
    expect(blue).not.toContain('/capture/scoring/green/*');
    expect(blue).not.toMatch(/dynamodb:(PutItem|DeleteItem)/);
  });

  it('serves the registry alias with request capture to S3 and the credential from Secrets Manager', () => {
    f.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'MLPLANE_MODEL_URI', Value: 'models:/fraud@champion' },
            { Name: 'MLPLANE_CAPTURE_URI', Value: { 'Fn::Join': ['', ['s3://', Match.anyValue(), '/capture/scoring/blue/']] } },
          ]),
          Secrets: [Match.objectLike({ Name: 'MLPLANE_AUTH_TOKEN' })],
        }),
      ],
    });
  });

  it('keeps the endpoint internal and reachable from the VPC only in a private environment', () => {
    const schemes = resourcesOfType(f, 'AWS::ElasticLoadBalancingV2::LoadBalancer').map(([, r]) => r.Properties?.Scheme);
    expect(schemes).toEqual(['internal', 'internal']);
    f.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'mlplane Fraud/Scoring: endpoint load balancer',
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.40.0.0/16', FromPort: 80 })],
    });
    expect(fraud.warnings.map((w) => w.id)).not.toContain('mlplane:aws:public-endpoint-http');
  });

  it('makes the endpoint internet-facing in a public environment, with a warning about plain HTTP', () => {
    const model = { ...fraudModel, environment: { ...fraudModel.environment, network: { mode: 'public' as const } } };
    const s = synth(model);
    const t = template(s);
    const schemes = resourcesOfType(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer').map(([, r]) => r.Properties?.Scheme).sort();
    expect(schemes).toEqual(['internal', 'internet-facing']);
    expect(s.warnings).toContainEqual(expect.objectContaining({ id: 'mlplane:aws:public-endpoint-http', path: 'Fraud/Scoring' }));
  });
});

describe('batch inference → scheduled state machine', () => {
  const machineOf = (t: Template) => {
    const [, machine] = resourcesOfType(t, 'AWS::StepFunctions::StateMachine').find(([id]) => id.startsWith('WeeklyScoringStateMachine')) ?? [];
    return definitionOf(machine as { Properties: Record<string, unknown> }) as { States: Record<string, Record<string, unknown>> };
  };

  it('scores on a compute pool as a Batch array job with one child per instance, and is scheduled', () => {
    const def = machineOf(c);
    const score = def.States['Score WeeklyScoring'];
    expect(score?.Resource).toBe('arn:<ref>:states:::batch:submitJob.sync');
    expect(score?.Parameters).toMatchObject({ ArrayProperties: { Size: 4 }, Timeout: { AttemptDurationSeconds: 10800 } });
    expect(score?.Retry).toEqual([expect.objectContaining({ MaxAttempts: 2 })]);
    c.hasResourceProperties('AWS::Batch::JobDefinition', {
      ContainerProperties: Match.objectLike({
        Environment: Match.arrayWith([{ Name: 'MLPLANE_MODE', Value: 'batch' }, { Name: 'MLPLANE_MODEL_URI', Value: 'models:/churn@production' }]),
      }),
    });
    c.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpressionTimezone: 'America/New_York', ScheduleExpression: 'cron(30 3 ? * MON *)' });
  });

  it('scores without a compute pool as a Map of Fargate tasks, one per instance', () => {
    const model = patchResource(churnModel, 'Churn/WeeklyScoring', 'batchInference', (b) => {
      delete (b as { compute?: string }).compute;
    });
    const def = machineOf(template(synth(model)));
    expect(def.States.ShardList?.Result).toEqual([0, 1, 2, 3]);
    expect(def.States.Shards).toMatchObject({ Type: 'Map', MaxConcurrency: 4, ItemsPath: '$.shards' });
  });
});

describe('drift monitors → ECS task, CloudWatch alarms, SNS and retraining', () => {
  it('schedules the drift task and defines one alarm per threshold and monitored deployment', () => {
    const drift = fraudModel.resources.find((r) => r.kind === 'driftMonitor');
    if (drift?.kind !== 'driftMonitor') throw new Error('no monitor');
    const deployments = ['blue', 'green'];
    const thresholds = drift.signals.flatMap((s) => s.thresholds.flatMap((t) => deployments.map((d) => ({ s, t, d }))));
    f.resourceCountIs('AWS::CloudWatch::Alarm', thresholds.length);
    for (const { s, t, d } of thresholds) {
      f.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: `${s.kind}_${s.metric}`,
        Namespace: 'mlplane/Fraud-prod',
        Threshold: t.threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmDescription: `Fraud/Drift: ${s.kind} ${s.metric} of '${t.feature}' on ${d} above ${t.threshold}`,
        Dimensions: Match.arrayWith([{ Name: 'Deployment', Value: d }]),
        AlarmActions: [Match.objectLike({ Ref: Match.stringLikeRegexp('DriftAlerts') })],
      });
    }
    f.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(6 hours)', Target: Match.objectLike({ EcsParameters: Match.objectLike({ LaunchType: 'FARGATE' }) }) });
  });

  it('lets the drift task publish metrics only to the environment namespace', () => {
    const drift = policiesOfRole(f, 'DriftRole');
    expect(drift).toContainEqual(
      expect.objectContaining({ Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'mlplane/Fraud-prod' } } }),
    );
    expect(JSON.stringify(drift)).toContain('/capture/scoring/blue/*');
    expect(JSON.stringify(drift)).toContain('/capture/scoring/green/*');
  });

  it('alerts by email through an encrypted, SSL-only SNS topic', () => {
    f.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ml-oncall@acme.example' });
    f.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    f.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('alerts a webhook through an SNS HTTPS subscription', () => {
    const model = patchResource(fraudModel, 'Fraud/Drift', 'driftMonitor', (d) => {
      d.alerts = [{ kind: 'webhook', url: 'https://hooks.acme.example/drift' }];
    });
    template(synth(model)).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'https', Endpoint: 'https://hooks.acme.example/drift' });
  });

  it('reads a batch target from the batch input dataset (the features it scores)', () => {
    const [, skew] = resourcesOfType(c, 'AWS::ECS::TaskDefinition').find(([id]) => id.startsWith('SkewTask')) ?? [];
    const env = (skew as { Properties: { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] } }).Properties.ContainerDefinitions[0]?.Environment ?? [];
    const targets = JSON.stringify(env.find((e) => e.Name === 'MLPLANE_TARGETS')?.Value);
    expect(targets).toContain('/datasets/customers/');
    expect(targets).not.toContain('churn-scores');
  });

  it('closes the loop: alarm state change → EventBridge rule → cooldown gate → retraining pipeline', () => {
    f.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'], detail: { state: { value: ['ALARM'] } } }),
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('DriftRetrainGate') } })],
    });
    const [, gate] = resourcesOfType(f, 'AWS::StepFunctions::StateMachine').find(([id]) => id.startsWith('DriftRetrainGate')) ?? [];
    const def = definitionOf(gate as { Properties: Record<string, unknown> }) as { QueryLanguage: string; States: Record<string, { Resource?: string; Choices?: { Condition: string }[] }> };
    expect(def.QueryLanguage).toBe('JSONata');
    expect(def.States.LastRun?.Resource).toBe('arn:<ref>:states:::aws-sdk:sfn:listExecutions');
    expect(def.States.CoolingDown?.Choices?.[0]?.Condition).toContain('< 86400000');
    expect(def.States.Retrain?.Resource).toBe('arn:<ref>:states:::states:startExecution');
  });
});

describe('synthesis', () => {
  it('builds nothing at synth: no asset images, no Lambda code', () => {
    for (const t of [f, c]) {
      t.resourceCountIs('AWS::Lambda::Function', 0);
      for (const [, def] of resourcesOfType(t, 'AWS::ECS::TaskDefinition')) {
        for (const cd of def.Properties?.ContainerDefinitions as { Image: unknown }[]) expect(typeof cd.Image, JSON.stringify(cd.Image)).toBe('string');
      }
    }
    expect(fraud.app.synth().stacks.flatMap((s) => s.assets)).toEqual([]);
  });

  it('is deterministic', () => {
    const again = template(synth(examples().fraud));
    expect(JSON.stringify(again.toJSON())).toBe(JSON.stringify(f.toJSON()));
  });
});
