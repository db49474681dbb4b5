import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import type { EnvironmentModel } from '../../lib/model/types';
import { datasetPrefix, glueDatabaseName } from './names';
import { stagedEnvironmentName } from '../shared/names';
import { acknowledge } from './nag';
import type { AwsSettings } from './settings';

/** The public MLflow image the tracking server, register steps and drift jobs run (pinned). */
export const MLFLOW_IMAGE = 'ghcr.io/mlflow/mlflow:v2.22.0';

/** Python packages the MLflow image lacks for PostgreSQL and S3, installed at container start (pinned). */
export const MLFLOW_EXTRA_PACKAGES = "'psycopg2-binary==2.9.10' 'boto3==1.35.99'";

/**
 * Construct id under which each stack holds the environment's platform (or, in sibling stacks, its
 * references to it). Reserved: no resource of the model may have it as its construct id.
 */
export const PLATFORM_ID = 'Platform';

/** Port the MLflow tracking server listens on inside its container. */
export const MLFLOW_PORT = 5000;

/** Port of the MLflow PostgreSQL database (not the engine default, per AwsSolutions-RDS11). */
export const MLFLOW_DB_PORT = 5532;

/** S3 key prefix of MLflow's proxied artifact store. */
export const MLFLOW_ARTIFACT_PREFIX = 'mlflow/';

/**
 * Keys of the platform stack's outputs that `mlplane promote` reads (CloudFormation DescribeStacks)
 * to find a stage's MLflow registry and artifact bucket; fixed logical ids, so they are a contract.
 */
export const PLATFORM_OUTPUTS = { mlflowUrl: 'MlflowUrl', artifactBucket: 'ArtifactBucket' } as const;

/** Address range of the environment's VPC (a literal, so security-group rules are checkable). */
export const VPC_CIDR = '10.40.0.0/16';

/** Availability zones whose letters are not `a` and `b`. */
const AZ_LETTERS: Readonly<Record<string, readonly [string, string]>> = {
  'ap-northeast-1': ['a', 'c'],
  'us-west-1': ['b', 'c'],
};

/** Environment-wide infrastructure every other part of the aws target builds on. */
export interface Platform {
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  /** The customer-managed key; absent with platform encryption. */
  readonly key?: kms.Key;
  /**
   * The key as workloads in `scope`'s stack should use it: the key itself in the platform stack,
   * an imported reference elsewhere, so that grants land in the grantee's policy (the key policy
   * trusts the account) and never make the platform stack reference a sibling stack.
   */
  keyFor(scope: IConstruct): kms.IKey | undefined;
  /** Artifact bucket: managed datasets, pipeline runs, MLflow artifacts, captured requests. */
  readonly bucket: s3.Bucket;
  /** Bucket receiving S3 server access logs, ALB access logs and VPC flow logs. */
  readonly logBucket: s3.Bucket;
  readonly cluster: ecs.Cluster;
  /** Security group of every workload task (pipeline steps, serving, drift jobs); may reach MLflow. */
  readonly workloadSecurityGroup: ec2.SecurityGroup;
  /** URL of the MLflow tracking server (internal ALB). */
  readonly mlflowUrl: string;
  /** Name of the Glue database holding dataset and feature tables. */
  readonly glueDatabaseName: string;
  readonly glueDatabase: glue.CfnDatabase;
  /** Retention of every log group the target defines. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * Define the environment's VPC, key, buckets, ECS cluster, Glue database and MLflow tracking
 * server + registry (Fargate behind an internal ALB, RDS PostgreSQL, credentials in Secrets Manager).
 */
export function buildPlatform(stack: Stack, model: EnvironmentModel, settings: AwsSettings): Platform {
  const env = model.environment;
  const scope = new Construct(stack, PLATFORM_ID);
  const prod = env.stage === 'prod';
  const logRetention = prod ? logs.RetentionDays.ONE_YEAR : logs.RetentionDays.ONE_MONTH;

  const key =
    env.encryption.kind === 'customer-managed'
      ? new kms.Key(scope, 'Key', {
          alias: env.encryption.keyName.replace(/[^A-Za-z0-9/_-]/g, '-'),
          description: `mlplane ${env.name}: encrypts data, logs, secrets and topics`,
          enableKeyRotation: true,
          rotationPeriod: Duration.days(env.encryption.rotationDays),
          removalPolicy: RemovalPolicy.RETAIN,
        })
      : undefined;
  if (key) {
    key.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${settings.region}.amazonaws.com`));
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
  }

  const logBucket = new s3.Bucket(scope, 'AccessLogs', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    versioned: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(prod ? 365 : 90) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  acknowledge(logBucket, 'AwsSolutions-S1', 'this is the access-log bucket itself; logging it into itself would loop');

  const retainData =
    model.resources.some((r) => (r.kind === 'dataset' || r.kind === 'modelRegistry') && r.retain) ||
    !model.resources.some((r) => r.kind === 'dataset' || r.kind === 'modelRegistry');
  const bucket = new s3.Bucket(scope, 'Artifacts', {
    encryption: key ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
    encryptionKey: key,
    bucketKeyEnabled: key !== undefined,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    versioned: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: logBucket,
    serverAccessLogsPrefix: 's3/artifacts/',
    removalPolicy: retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  for (const r of model.resources) {
    if (r.kind === 'dataset' && r.source.kind === 'managed' && r.retentionDays !== undefined) {
      bucket.addLifecycleRule({
        id: `retention-${datasetPrefix(env.path, r.path).replace(/\/$/, '').replace(/\//g, '-')}`,
        prefix: datasetPrefix(env.path, r.path),
        expiration: Duration.days(r.retentionDays),
        noncurrentVersionExpiration: Duration.days(1),
      });
    }
  }

  const [az1, az2] = AZ_LETTERS[settings.region] ?? ['a', 'b'];
  const vpc = new ec2.Vpc(scope, 'Network', {
    ipAddresses: ec2.IpAddresses.cidr(VPC_CIDR),
    availabilityZones: [`${settings.region}${az1}`, `${settings.region}${az2}`],
    natGateways: prod ? 2 : 1,
    restrictDefaultSecurityGroup: false,
    subnetConfiguration: [
      { name: 'ingress', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'workloads', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
    ],
    flowLogs: {
      all: { destination: ec2.FlowLogDestination.toS3(logBucket, 'vpc-flow-logs/'), trafficType: ec2.FlowLogTrafficType.ALL },
    },
  });
  vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3 });
  vpc.addGatewayEndpoint('DynamoDbEndpoint', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB });
  const privateSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  for (const [id, service] of [
    ['EcrEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR],
    ['EcrDockerEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER],
    ['LogsEndpoint', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
  ] as const) {
    const endpoint = vpc.addInterfaceEndpoint(id, { service, subnets: privateSubnets, privateDnsEnabled: true, open: false });
    endpoint.connections.allowDefaultPortFrom(ec2.Peer.ipv4(VPC_CIDR), 'HTTPS from inside the VPC');
  }

  const cluster = new ecs.Cluster(scope, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

  const workloadSecurityGroup = new ec2.SecurityGroup(scope, 'WorkloadSecurityGroup', {
    vpc,
    description: `mlplane ${env.name}: pipeline steps, serving and drift tasks`,
    allowAllOutbound: true,
  });

  const glueName = glueDatabaseName(stagedEnvironmentName(env));
  const glueDatabase = new glue.CfnDatabase(scope, 'Catalog', {
    catalogId: settings.account,
    databaseInput: {
      name: glueName,
      description: `mlplane ${env.name}: datasets and feature tables`,
      locationUri: bucket.s3UrlForObject('datasets/'),
    },
  });
  new CfnOutput(scope, 'ArtifactBucket', { value: bucket.bucketName, description: 'S3 artifact bucket (datasets, pipeline runs, MLflow artifacts)' }).overrideLogicalId(PLATFORM_OUTPUTS.artifactBucket);
  // Deleting a Glue database deletes its tables, so it lives as long as the data does.
  glueDatabase.applyRemovalPolicy(retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);

  const mlflowUrl = buildMlflow(scope, model, {
    vpc,
    key,
    bucket,
    logBucket,
    cluster,
    workloadSecurityGroup,
    logRetention,
    privateSubnets,
  });

  const imported = new Map<Stack, kms.IKey>();
  const keyFor = (scope: IConstruct): kms.IKey | undefined => {
    if (!key) return undefined;
    const s = Stack.of(scope);
    if (s === stack) return key;
    let k = imported.get(s);
    if (!k) {
      k = kms.Key.fromKeyArn(new Construct(s, PLATFORM_ID), 'Key', key.keyArn);
      imported.set(s, k);
    }
    return k;
  };
  return { stack, vpc, key, keyFor, bucket, logBucket, cluster, workloadSecurityGroup, mlflowUrl, glueDatabaseName: glueName, glueDatabase, logRetention };
}

interface MlflowDeps {
  readonly vpc: ec2.Vpc;
  readonly key?: kms.Key;
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly cluster: ecs.Cluster;
  readonly workloadSecurityGroup: ec2.SecurityGroup;
  readonly logRetention: logs.RetentionDays;
  readonly privateSubnets: ec2.SubnetSelection;
}

/** Define MLflow: RDS PostgreSQL, a Fargate service and an internal ALB. Returns the tracking URL. */
function buildMlflow(scope: Construct, model: EnvironmentModel, deps: MlflowDeps): string {
  const env = model.environment;
  const prod = env.stage === 'prod';
  const registries = model.resources.filter((r) => r.kind === 'modelRegistry');
  const retain = registries.length === 0 || registries.some((r) => r.kind === 'modelRegistry' && r.retain);

  const dbSecurityGroup = new ec2.SecurityGroup(scope, 'MlflowDatabaseSecurityGroup', {
    vpc: deps.vpc,
    description: `mlplane ${env.name}: MLflow PostgreSQL`,
    allowAllOutbound: false,
  });
  const database = new rds.DatabaseInstance(scope, 'MlflowDatabase', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16_9 }),
    instanceType: prod ? ec2.InstanceType.of(ec2.InstanceClass.M6G, ec2.InstanceSize.LARGE) : ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
    vpc: deps.vpc,
    vpcSubnets: deps.privateSubnets,
    securityGroups: [dbSecurityGroup],
    port: MLFLOW_DB_PORT,
    databaseName: 'mlflow',
    credentials: rds.Credentials.fromGeneratedSecret('mlflow', {
      encryptionKey: deps.key,
      excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\,=^',
    }),
    storageEncrypted: true,
    storageEncryptionKey: deps.key,
    allocatedStorage: 20,
    maxAllocatedStorage: 200,
    multiAz: prod,
    backupRetention: Duration.days(prod ? 14 : 7),
    deletionProtection: retain,
    iamAuthentication: true,
    cloudwatchLogsExports: ['postgresql'],
    removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  if (!prod) acknowledge(database, 'AwsSolutions-RDS3', `stage '${env.stage}' is not prod: the MLflow database runs single-AZ; prod stages get Multi-AZ`);
  if (!retain) {
    acknowledge(database, 'AwsSolutions-RDS10', 'every model registry of the environment sets retain=false, so the registry database is disposable');
  }
  const secret = database.secret;
  if (!secret) throw new Error('MLflow database has no generated secret');
  acknowledge(
    database.node.findChild('Secret'),
    'AwsSolutions-SMG4',
    'MLflow reads the database password once at task start; rotate by rotating the secret and redeploying the MLflow service',
  );

  const taskDefinition = new ecs.FargateTaskDefinition(scope, 'MlflowTask', { cpu: 1024, memoryLimitMiB: 2048 });
  const logGroup = new logs.LogGroup(scope, 'MlflowLogs', {
    retention: deps.logRetention,
    encryptionKey: deps.key,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  taskDefinition.addContainer('mlflow', {
    image: ecs.ContainerImage.fromRegistry(MLFLOW_IMAGE),
    entryPoint: ['/bin/sh', '-c'],
    command: [
      `pip install --quiet --no-cache-dir ${MLFLOW_EXTRA_PACKAGES} && exec mlflow server --host 0.0.0.0 --port ${MLFLOW_PORT}` +
        ' --backend-store-uri "postgresql://$DB_USER:$DB_PASSWORD@$DB_HOST:$DB_PORT/mlflow"' +
        ' --artifacts-destination "$ARTIFACT_ROOT" --serve-artifacts',
    ],
    environment: {
      DB_HOST: database.dbInstanceEndpointAddress,
      DB_PORT: database.dbInstanceEndpointPort,
      ARTIFACT_ROOT: deps.bucket.s3UrlForObject(MLFLOW_ARTIFACT_PREFIX.replace(/\/$/, '')),
    },
    secrets: {
      DB_USER: ecs.Secret.fromSecretsManager(secret, 'username'),
      DB_PASSWORD: ecs.Secret.fromSecretsManager(secret, 'password'),
    },
    portMappings: [{ containerPort: MLFLOW_PORT }],
    logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'mlflow', logGroup }),
  });
  deps.bucket.grantReadWrite(taskDefinition.taskRole, `${MLFLOW_ARTIFACT_PREFIX}*`);
  acknowledge(taskDefinition, 'AwsSolutions-ECS2', 'environment holds only the database host/port and the artifact root; credentials come from Secrets Manager');

  const serviceSecurityGroup = new ec2.SecurityGroup(scope, 'MlflowServiceSecurityGroup', {
    vpc: deps.vpc,
    description: `mlplane ${env.name}: MLflow tracking server tasks`,
    allowAllOutbound: true,
  });
  database.connections.allowDefaultPortFrom(serviceSecurityGroup, 'MLflow server to PostgreSQL');

  const service = new ecs.FargateService(scope, 'MlflowService', {
    cluster: deps.cluster,
    taskDefinition,
    desiredCount: prod ? 2 : 1,
    assignPublicIp: false,
    vpcSubnets: deps.privateSubnets,
    securityGroups: [serviceSecurityGroup],
    circuitBreaker: { rollback: true },
    minHealthyPercent: 100,
  });

  const albSecurityGroup = new ec2.SecurityGroup(scope, 'MlflowLoadBalancerSecurityGroup', {
    vpc: deps.vpc,
    description: `mlplane ${env.name}: internal MLflow load balancer`,
    allowAllOutbound: false,
  });
  // From the VPC range rather than from workload security groups, so that serving stacks never
  // add rules to this stack (no cross-stack cycles); the load balancer is internal.
  albSecurityGroup.addIngressRule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(80), 'workloads in the VPC to MLflow');
  const alb = new elbv2.ApplicationLoadBalancer(scope, 'MlflowLoadBalancer', {
    vpc: deps.vpc,
    internetFacing: false,
    vpcSubnets: deps.privateSubnets,
    securityGroup: albSecurityGroup,
    dropInvalidHeaderFields: true,
  });
  alb.logAccessLogs(deps.logBucket, 'alb/mlflow');
  const listener = alb.addListener('Http', { port: 80, protocol: elbv2.ApplicationProtocol.HTTP, open: false });
  listener.addTargets('Mlflow', {
    port: MLFLOW_PORT,
    protocol: elbv2.ApplicationProtocol.HTTP,
    targets: [service],
    healthCheck: { path: '/health', healthyHttpCodes: '200' },
    deregistrationDelay: Duration.seconds(30),
  });
  const url = `http://${alb.loadBalancerDnsName}`;
  new CfnOutput(scope, 'MlflowUrl', { value: url, description: 'MLflow tracking server and model registry (reachable inside the VPC)' }).overrideLogicalId(PLATFORM_OUTPUTS.mlflowUrl);
  return url;
}
