/**
 * Deployments that follow a model alias on the self-managed AWS stack.
 *
 * A deployment's serving container loads `MLPLANE_MODEL_URI` — `models:/fraud@champion` for a
 * deployment bound to an alias — from MLflow when a task starts; tasks already running keep the
 * version they loaded. So the register task, right after it moves the alias, forces a new
 * deployment of every ECS service of the environment whose task definition serves that alias
 * (`UpdateService` with `forceNewDeployment`): ECS replaces the tasks in a rolling deployment
 * (minimum healthy 100 %, circuit breaker with rollback) and the new tasks load the new version.
 * A deployment pinned to a version (`models:/fraud/3`) never matches and never moves.
 *
 * The services are found at run time (list and describe in the environment's cluster), so the
 * register task needs no reference to endpoints defined after the pipeline.
 *
 * CloudFormation does not see MLflow aliases: `mlplane diff` (cdk diff) cannot report an alias moved
 * outside mlplane (warning `mlplane:aws:alias-drift-invisible`); such a move reaches serving when
 * tasks restart, or at once with `aws ecs update-service --force-new-deployment`.
 *
 * @see https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html (forceNewDeployment)
 * @see https://mlflow.org/docs/latest/model-registry.html (models:/<name>@<alias> URIs)
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type { SynthWarning } from '../../lib/adapter';
import type { EnvironmentModel, OnlineEndpointModel, RegisterStepModel } from '../../lib/model/types';
import { aliasFollowers } from '../../lib/model/aliases';
import { acknowledge } from './nag';
import type { Platform } from './platform';

/** Whether some endpoint deployment of the environment follows the alias `step` promotes to. */
export function hasAliasFollowers(model: EnvironmentModel, step: RegisterStepModel): boolean {
  return aliasFollowers(model, step).length > 0;
}

/**
 * Environment of the register task that makes it roll the followers of its alias, and the grants
 * it needs (list and describe services and task definitions; update services of this cluster).
 * Empty when no deployment follows the alias.
 */
export function rolloutEnvironment(model: EnvironmentModel, step: RegisterStepModel, platform: Platform, role: iam.IRole & iam.IGrantable): Record<string, string> {
  if (!step.promoteTo || !hasAliasFollowers(model, step)) return {};
  const cluster = platform.cluster;
  // ECS service actions have no ARN that CloudFormation knows before the services exist; the
  // ecs:cluster condition keeps them to the environment's cluster.
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
  role.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['ecs:ListServices', 'ecs:DescribeServices', 'ecs:UpdateService'],
      resources: ['*'],
      conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
    }),
  );
  role.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecs:DescribeTaskDefinition'], resources: ['*'] }));
  acknowledge(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    'the register task rolls the ECS services serving the promoted alias: service actions are limited to the environment cluster by the ecs:cluster condition; DescribeTaskDefinition has no resource-level permissions',
  );
  // The URI serving.ts gives a deployment bound to this alias (mlflowModelUri).
  return { MLPLANE_CLUSTER: cluster.clusterName, MLPLANE_ROLLOUT_MODEL_URI: `models:/${step.model}@${step.promoteTo}` };
}

/** Python appended to the register script: roll the services serving the promoted alias (`e`, `name`, `v`, `boto3` are the script's). */
export const ROLLOUT_PYTHON = `
uri = e.get('MLPLANE_ROLLOUT_MODEL_URI')
if uri:
    ecs = boto3.client('ecs')
    cluster = e['MLPLANE_CLUSTER']
    arns = [a for page in ecs.get_paginator('list_services').paginate(cluster=cluster) for a in page['serviceArns']]
    for i in range(0, len(arns), 10):
        for svc in ecs.describe_services(cluster=cluster, services=arns[i:i + 10])['services']:
            td = ecs.describe_task_definition(taskDefinition=svc['taskDefinition'])['taskDefinition']
            env = {x['name']: x['value'] for c in td['containerDefinitions'] for x in c.get('environment', [])}
            if env.get('MLPLANE_MODEL_URI') == uri:
                ecs.update_service(cluster=cluster, service=svc['serviceArn'], forceNewDeployment=True)
                print('rolled ' + svc['serviceName'] + ' to ' + name + ' version ' + str(v.version))
`.trim();

/** The id of the warning that `mlplane diff` cannot see an alias moved outside mlplane. */
export const ALIAS_DRIFT_WARNING = 'mlplane:aws:alias-drift-invisible';

/** The warnings of an endpoint whose deployments follow aliases (one per deployment). */
export function aliasWarnings(e: OnlineEndpointModel): SynthWarning[] {
  return e.deployments
    .filter((d) => 'alias' in d.model)
    .map((d) => ({
      id: ALIAS_DRIFT_WARNING,
      path: `${e.path}/${d.name}`,
      message: `deployment '${d.name}' follows alias '${'alias' in d.model ? d.model.alias : ''}': the register step rolls it after a promotion, but CloudFormation does not see MLflow aliases, so mlplane diff cannot report an alias moved outside mlplane; such a move reaches serving when the tasks restart (or run aws ecs update-service --force-new-deployment)`,
    }));
}
