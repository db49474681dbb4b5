import { CfnResource, Stack, Tags } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { ConstructAdapter, NameClaim, SynthWarning } from '../../lib/adapter';
import { ValidationErrors } from '../../lib/core/errors';
import type { EnvironmentModel, ResourceModel } from '../../lib/model/types';
import { buildBatchInference } from './batch-inference';
import { AWS_CAPABILITIES } from './capabilities';
import { buildComputePool, type ComputePoolBinding } from './compute';
import { buildDataset, buildFeatureTable, type DatasetBinding, type FeatureTableBinding } from './data';
import { Grants } from './grants';
import { buildDriftMonitor } from './monitoring';
import { acknowledgeKnownWildcards } from './nag';
import { nameCollisions, stagedEnvironmentName } from '../shared/names';
import { awsNameClaims, stackName } from './names';
import { buildPipeline, type WorkloadContext } from './pipelines';
import { buildPlatform } from './platform';
import { buildEndpoint } from './serving';
import { parseAwsSettings, type AwsSettings } from './settings';
import { validateForAws } from './validate';

export { AWS_CAPABILITIES } from './capabilities';
export { AWS_CONTEXT_KEY, parseAwsSettings, type AwsSettings } from './settings';

/**
 * Resources a stack may hold before the next workload goes to a sibling stack. CloudFormation's
 * limit is 500; the margin covers resources aws-cdk-lib adds at synthesis (CDK metadata).
 */
export const STACK_RESOURCE_BUDGET = 450;

/**
 * Context set on the aws target's stacks: feature flags it relies on, so the app's cdk.json cannot
 * change them, and no creation stack trace per CloudFormation element. `minimizePolicies` merges
 * statements that differ only in their resources (or actions) into one: the same permissions,
 * without the action list and bucket ARN repeated once per granted prefix (−14 % IAM policy bytes at
 * 100 pipelines). Creation stack traces point into this adapter, never at the app's code (its constructs are mlplane's, not aws-cdk-lib's); they cost
 * ~3 % of an aws synth's CPU and a third of its metadata (bench/README.md). `CDK_DEBUG=true` (cdk
 * --debug) still records them.
 */
const STACK_CONTEXT: Readonly<Record<string, unknown>> = {
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  '@aws-cdk/aws-iam:minimizePolicies': true,
  'aws:cdk:disable-creation-stack-traces': true,
};

/**
 * Order in which resources are built: everything a resource references is built before it, so
 * references between sibling stacks only ever point backwards.
 */
const BUILD_ORDER: Readonly<Record<ResourceModel['kind'], number>> = {
  secret: 0,
  dataset: 0,
  featureTable: 1,
  computePool: 2,
  modelRegistry: 3,
  pipeline: 4,
  batchInference: 5,
  onlineEndpoint: 6,
  driftMonitor: 7,
};

/** Upper estimate of the resources a model resource defines, to decide on a new stack before building it. */
function estimate(r: ResourceModel): number {
  switch (r.kind) {
    case 'dataset':
      return 1;
    case 'featureTable':
      return r.online ? 2 : 1;
    case 'computePool':
      return 6;
    case 'modelRegistry':
      return 0; // the MLflow server is part of the platform
    case 'pipeline':
      return 12 + 4 * r.schedules.length + 9 * r.steps.length;
    case 'batchInference':
      return 20 + 4 * r.schedules.length;
    case 'onlineEndpoint':
      return 14 + 16 * r.deployments.length;
    case 'secret':
      return 0; // a reference: read by the task definitions that use it
    case 'driftMonitor':
      return 20 + r.alerts.length + r.signals.reduce((n, s) => n + s.thresholds.length, 0) + (r.onDrift ? 8 : 0);
    default: {
      const never: never = r;
      throw new Error(`unhandled resource kind ${(never as ResourceModel).kind}`);
    }
  }
}

/** Number of CloudFormation resources defined directly in `stack`. */
export function resourceCount(stack: Stack): number {
  return stack.node.findAll().filter((c) => CfnResource.isCfnResource(c) && Stack.of(c) === stack).length;
}

/**
 * Render the environment into aws-cdk-lib stacks under `scope`.
 *
 * The first stack (`<Env>-mlops`) holds the platform (VPC, key, buckets, ECS cluster, MLflow, Glue
 * database) and as many of the model's resources as fit, in build order (data, compute, pipelines,
 * batch jobs, endpoints, monitors); the rest go to sibling stacks `<Env>-mlops-2`, `-3`, … so that
 * no stack nears CloudFormation's 500-resource limit.
 *
 * @throws ValidationErrors with every reason the model cannot be rendered, before defining anything.
 */
export function synthAws(scope: IConstruct, model: EnvironmentModel, settings: AwsSettings): { readonly warnings: readonly SynthWarning[]; readonly names: readonly NameClaim[] } {
  const names = awsNameClaims(model, settings.account, settings.region);
  const problems = [...validateForAws(model, settings), ...nameCollisions('aws', names)];
  if (problems.length > 0) throw new ValidationErrors(problems, `Target 'aws' cannot synthesize '${model.environment.name}'`);
  const warnings: SynthWarning[] = [];
  const env = model.environment;
  const stacks: Stack[] = [];
  const newStack = (): Stack => {
    const name = stackName(stagedEnvironmentName(env), stacks.length);
    const stack = new Stack(scope, name, {
      stackName: name,
      env: { account: settings.account, region: settings.region },
      description: `mlplane ${env.name} (${env.stage})${stacks.length > 0 ? ` part ${stacks.length + 1}` : ''}${env.description ? `: ${env.description}` : ''}`.slice(0, 1024),
    });
    for (const [k, v] of Object.entries(STACK_CONTEXT)) stack.node.setContext(k, v);
    Tags.of(stack).add('mlplane:environment', env.name);
    Tags.of(stack).add('mlplane:stage', env.stage);
    for (const [k, v] of Object.entries(env.tags)) Tags.of(stack).add(k, v);
    // Siblings use the platform and may reference workloads of the previous sibling; references
    // only ever point backwards (see Platform.keyFor and the VPC-range rule on MLflow's ALB).
    const [platformStack] = stacks;
    const previous = stacks[stacks.length - 1];
    if (platformStack) stack.addStackDependency(platformStack, 'uses the platform of the environment');
    if (previous && previous !== platformStack) stack.addStackDependency(previous, 'may reference workloads of the previous sibling');
    stacks.push(stack);
    return stack;
  };

  const first = newStack();
  const platform = buildPlatform(first, model, settings);
  const datasets = new Map<string, DatasetBinding>();
  const featureTables = new Map<string, FeatureTableBinding>();
  const computePools = new Map<string, ComputePoolBinding>();
  const grants = new Grants(env.path, platform, datasets, featureTables);
  const ctx: WorkloadContext = { model, platform, datasets, computePools, grants };

  const ordered = [...model.resources].sort((a, b) => BUILD_ORDER[a.kind] - BUILD_ORDER[b.kind]);
  let current = first;
  for (const r of ordered) {
    // One walk of the whole stack per resource. No role's policy grows with the number of pipelines
    // (model servers read one model prefix), so aws-cdk-lib adds no overflow managed policies at
    // synthesis that this count would miss (test/adapters/aws/model-prefix.test.ts checks).
    const count = resourceCount(current);
    if (count + estimate(r) > STACK_RESOURCE_BUDGET && count > 0) current = newStack();
    switch (r.kind) {
      case 'dataset':
        datasets.set(r.path, buildDataset(current, env.path, r, platform, settings));
        break;
      case 'featureTable': {
        const b = buildFeatureTable(current, env.path, r, platform, settings, datasets, warnings);
        if (b) featureTables.set(r.path, b);
        break;
      }
      case 'computePool': {
        const b = buildComputePool(current, env.path, r, platform);
        if (b) computePools.set(r.path, b);
        break;
      }
      case 'modelRegistry':
        break; // MLflow, defined with the platform; models and aliases live in MLflow, not in CloudFormation
      case 'pipeline':
        buildPipeline(current, ctx, r);
        break;
      case 'batchInference':
        buildBatchInference(current, ctx, r, warnings);
        break;
      case 'onlineEndpoint':
        buildEndpoint(current, ctx, r, warnings);
        break;
      case 'driftMonitor':
        buildDriftMonitor(current, ctx, r);
        break;
      case 'secret':
        break; // referenced by the task definitions that read it (ECS `secrets`), see tasks.ts

      default: {
        const never: never = r;
        throw new Error(`unhandled resource kind ${(never as ResourceModel).kind}`);
      }
    }
  }
  grants.applyAll(model.grants);
  for (const s of stacks) {
    // After cross-stack references are resolved (validation runs after prepare), so findings are
    // acknowledged in the exact form cdk-nag reports them (Fn::ImportValue for sibling stacks).
    let done = false;
    s.node.addValidation({
      validate: () => {
        if (!done) acknowledgeKnownWildcards(s);
        done = true;
        return [];
      },
    });
  }
  for (const r of model.resources) {
    if (r.kind !== 'pipeline') continue;
    const onBatch = r.steps.filter((s) => s.kind === 'container' && s.compute !== undefined).map((s) => s.name);
    if (onBatch.length > 0) {
      warnings.push({
        id: 'mlplane:aws:batch-entrypoint',
        path: r.path,
        message: `AWS Batch job definitions cannot replace an image's ENTRYPOINT, so on a compute pool (${onBatch.join(', ')}) command and args run as arguments of the image's ENTRYPOINT if it declares one; use images without ENTRYPOINT there`,
      });
    }
    const cached = r.steps.filter((s) => s.caching).map((s) => s.name);
    if (cached.length === 0) continue;
    warnings.push({
      id: 'mlplane:aws:caching-not-supported',
      path: r.path,
      message: `Step Functions has no step cache, so steps with caching (${cached.join(', ')}) run on every run: same results, more compute; set caching: false to acknowledge`,
    });
  }
  if (model.environment.encryption.kind === 'customer-managed') {
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    warnings.push({
      id: 'mlplane:aws:cmk-not-supported',
      path: env.path,
      message: `the access-log bucket (AccessLogs: S3 server access logs and ALB access logs) cannot take the customer-managed key '${model.environment.encryption.keyName}': S3 server access logging and ALB access logs deliver only to buckets encrypted with S3-managed keys (SSE-S3); every other bucket, database, table, log group and secret uses the key`,
    });
  }
  return { warnings, names: names.filter((n) => n.path === env.path) };
}

/**
 * The aws target: a self-managed open-source MLOps stack (MLflow, Step Functions, ECS, Batch,
 * EventBridge, CloudWatch) as aws-cdk-lib stacks of the same app, deployed by `cdk deploy`.
 *
 * Settings come from context `mlplane:aws` = `{ "account": "123456789012", "region": "eu-west-1" }`; the app lays
 * `mlplane:aws.environments.<Env>` over them per environment.
 */
export const awsAdapter: ConstructAdapter<AwsSettings> = {
  kind: 'constructs',
  target: 'aws',
  description: 'self-managed stack on AWS: MLflow on ECS + RDS, Step Functions/Batch pipelines, ECS serving, CloudWatch drift alarms (cdk deploy)',
  capabilities: AWS_CAPABILITIES,
  docs: 'adapters/aws/README.md',
  parseSettings: parseAwsSettings,
  synth: synthAws,
};
