import { aliasWarnings } from './alias';
import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SynthWarning } from '../../lib/adapter';
import type { EnvironmentModel, ModelRefModel, OnlineEndpointModel, RegisteredModelModel } from '../../lib/model/types';
import { acknowledge } from './nag';
import { constructId, keySlug, modelPrefix } from './names';
import type { WorkloadContext } from './pipelines';
import { VPC_CIDR } from './platform';
import { fargateSize } from './sizing';
import { ecsSecrets, importSecrets } from './secrets';
import { taskRole, workloadLogGroup } from './tasks';

/** The registered model a reference points at. */
export function registeredModel(model: EnvironmentModel, ref: ModelRefModel): RegisteredModelModel | undefined {
  const reg = model.resources.find((r) => r.path === ref.registry);
  return reg && reg.kind === 'modelRegistry' ? reg.models.find((m) => m.name === ref.model) : undefined;
}

/** The MLflow model URI of a reference: `models:/fraud@champion` or `models:/fraud/3`. */
export function mlflowModelUri(ref: ModelRefModel): string {
  return 'alias' in ref ? `models:/${ref.model}@${ref.alias}` : `models:/${ref.model}/${ref.version}`;
}

/** S3 key prefix where an endpoint's deployments capture payloads (with trailing slash). */
export function capturePrefix(envPath: string, endpointPath: string): string {
  return `capture/${keySlug(envPath, endpointPath)}/`;
}

/** What the serving stack of one endpoint consists of. */
export interface EndpointBinding {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly services: ReadonlyMap<string, ecs.FargateService>;
  /** `s3://…/` prefix of captured payloads (one sub-prefix per deployment). */
  readonly captureUri: string;
}

/**
 * Define an online endpoint: an ALB whose listener forwards to one weighted target group per
 * deployment, each backed by an autoscaled ECS Fargate service running the model's serving image.
 */
export function buildEndpoint(scope: Construct, ctx: WorkloadContext, e: OnlineEndpointModel, warnings: SynthWarning[]): EndpointBinding {
  const { platform, model } = ctx;
  const envPath = model.environment.path;
  const root = new Construct(scope, constructId(envPath, e.path));
  const publicEndpoint = model.environment.network.mode === 'public';
  const subnets: ec2.SubnetSelection = { subnetType: publicEndpoint ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS };
  const privateSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

  const albSecurityGroup = new ec2.SecurityGroup(root, 'LoadBalancerSecurityGroup', {
    vpc: platform.vpc,
    description: `mlplane ${e.path}: endpoint load balancer`,
    allowAllOutbound: false,
  });
  if (publicEndpoint) {
    albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'public endpoint');
    acknowledge(albSecurityGroup, 'AwsSolutions-EC23', `environment network is 'public': endpoint ${e.path} is meant to be reachable from the internet`);
    warnings.push({
      id: 'mlplane:aws:public-endpoint-http',
      path: e.path,
      message: 'the public endpoint listens on HTTP port 80; attach an ACM certificate and an HTTPS listener before sending real traffic',
    });
  } else {
    albSecurityGroup.addIngressRule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(80), 'callers inside the VPC');
  }
  warnings.push(...aliasWarnings(e));
  const loadBalancer = new elbv2.ApplicationLoadBalancer(root, 'LoadBalancer', {
    vpc: platform.vpc,
    internetFacing: publicEndpoint,
    vpcSubnets: subnets,
    securityGroup: albSecurityGroup,
    dropInvalidHeaderFields: true,
  });
  loadBalancer.logAccessLogs(platform.logBucket, `alb/${keySlug(envPath, e.path)}`);
  const listener = loadBalancer.addListener('Http', { port: 80, protocol: elbv2.ApplicationProtocol.HTTP, open: false });

  // Key and token auth: a generated secret the serving container compares with the request
  // header (x-api-key, or Authorization: Bearer); callers read it through IAM.
  const authEnv = e.auth === 'key' ? 'MLPLANE_API_KEY' : 'MLPLANE_AUTH_TOKEN';
  const credential = new secretsmanager.Secret(root, e.auth === 'key' ? 'ApiKey' : 'AuthToken', {
    description: `mlplane ${e.path}: ${e.auth === 'key' ? 'API key clients send in x-api-key' : 'bearer token clients send in Authorization'}`,
    encryptionKey: platform.keyFor(root),
    generateSecretString: { excludePunctuation: true, passwordLength: 48 },
  });
  acknowledge(
    credential,
    'AwsSolutions-SMG4',
    `the endpoint ${e.auth} is shared with clients; rotating it needs a coordinated client update, so it is rotated by updating the secret and redeploying`,
  );

  const capture = capturePrefix(envPath, e.path);
  const captureBase = e.capture.destination ? ctx.datasets.get(e.capture.destination) : undefined;
  const captureUri = captureBase ? captureBase.uri : platform.bucket.s3UrlForObject(capture);
  const services = new Map<string, ecs.FargateService>();
  const weighted: elbv2.WeightedTargetGroup[] = [];
  const logGroup = workloadLogGroup(root, 'Logs', platform);
  // Request-count scaling needs the target group attached to the listener first.
  const pendingRequestScaling: (() => void)[] = [];

  for (const d of e.deployments) {
    const served = registeredModel(model, d.model);
    const size = fargateSize(d.resources);
    if (!served || !size.ok) continue; // reported by validateForAws
    const dScope = new Construct(root, d.name);
    const role = taskRole(dScope, 'Role', `mlplane deployment ${e.path}/${d.name}`);
    ctx.grants.register({ kind: 'deployment', endpoint: e.path, deployment: d.name }, role);
    // Every version of the served model is a copy under the model's prefix (the register step and
    // promote write it there): the server reads that one prefix, no run data, no other model.
    ctx.grants.grantPrefix(role, modelPrefix(envPath, d.model.registry, d.model.model), true, false);

    const environment: Record<string, string> = {
      ...served.serving.env,
      ...(d.env ?? {}),
      MLFLOW_TRACKING_URI: platform.mlflowUrl,
      MLPLANE_MODEL_URI: mlflowModelUri(d.model),
      MLPLANE_PREDICT_ROUTE: served.serving.predictRoute,
      MLPLANE_HEALTH_ROUTE: served.serving.healthRoute,
      MLPLANE_ENDPOINT: e.path,
      MLPLANE_DEPLOYMENT: d.name,
    };
    if (e.capture.requests || e.capture.responses) {
      environment.MLPLANE_CAPTURE_URI = `${captureUri}${captureBase ? `capture/${d.name}/` : `${d.name}/`}`;
      environment.MLPLANE_CAPTURE_REQUESTS = String(e.capture.requests);
      environment.MLPLANE_CAPTURE_RESPONSES = String(e.capture.responses);
      environment.MLPLANE_CAPTURE_SAMPLING_RATE = String(e.capture.samplingRate);
      if (captureBase) captureBase.bucket.grantWrite(role, `${captureBase.prefix}capture/${d.name}/*`);
      else platform.bucket.grantWrite(role, `${capture}${d.name}/*`);
    }
    const taskDefinition = new ecs.FargateTaskDefinition(dScope, 'Task', { cpu: size.value.cpu, memoryLimitMiB: size.value.memoryMiB, taskRole: role });
    taskDefinition.addContainer('model', {
      image: ecs.ContainerImage.fromRegistry(served.serving.image),
      portMappings: [{ containerPort: served.serving.port }],
      environment,
      secrets: { ...ecsSecrets(importSecrets(dScope, model, d.secretEnv)), [authEnv]: ecs.Secret.fromSecretsManager(credential) },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: d.name.toLowerCase().slice(0, 64), logGroup }),
    });
    acknowledge(taskDefinition, 'AwsSolutions-ECS2', `deployment '${d.name}': environment holds the model URI, routes and capture settings; the endpoint credential comes from Secrets Manager`);

    const serviceSecurityGroup = new ec2.SecurityGroup(dScope, 'SecurityGroup', {
      vpc: platform.vpc,
      description: `mlplane ${e.path}/${d.name}: serving tasks`,
      allowAllOutbound: true,
    });
    const service = new ecs.FargateService(dScope, 'Service', {
      cluster: platform.cluster,
      taskDefinition,
      desiredCount: d.minReplicas,
      assignPublicIp: false,
      vpcSubnets: privateSubnets,
      securityGroups: [serviceSecurityGroup],
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
    });
    const targetGroup = new elbv2.ApplicationTargetGroup(dScope, 'Targets', {
      vpc: platform.vpc,
      port: served.serving.port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      targets: [service],
      healthCheck: { path: served.serving.healthRoute, healthyHttpCodes: '200' },
      deregistrationDelay: Duration.seconds(30),
    });
    weighted.push({ targetGroup, weight: d.traffic });

    const scaling = service.autoScaleTaskCount({ minCapacity: d.minReplicas, maxCapacity: d.maxReplicas });
    services.set(d.name, service);
    if (d.autoscaling.metric === 'cpu') {
      scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: d.autoscaling.target });
    } else {
      pendingRequestScaling.push(() =>
        scaling.scaleOnRequestCount('Requests', { requestsPerTarget: Math.max(1, Math.round(d.autoscaling.target * 60)), targetGroup }),
      );
    }
  }
  listener.addAction('Deployments', { action: elbv2.ListenerAction.weightedForward(weighted) });
  for (const f of pendingRequestScaling) f();
  new CfnOutput(root, 'Url', { value: `http://${loadBalancer.loadBalancerDnsName}`, description: `${e.path} endpoint URL` });
  new CfnOutput(root, 'CredentialSecret', { value: credential.secretArn, description: `${e.path}: secret holding the endpoint ${e.auth}` });
  return { loadBalancer, services, captureUri };
}
