import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { EnvironmentModel } from '../../lib/model/types';

/**
 * The Secrets Manager secrets a step or deployment reads as env (`secretEnv`: env name → path of a
 * `secret` resource), imported by ARN or by name. ECS resolves them when the task starts (container
 * `secrets`, `valueFrom` = the secret ARN) with the task's execution role, which is granted read on
 * those secrets only; their values never appear in the template.
 *
 * @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
 */
export function importSecrets(scope: Construct, model: EnvironmentModel, secretEnv: Readonly<Record<string, string>> | undefined): Record<string, secretsmanager.ISecret> {
  const out: Record<string, secretsmanager.ISecret> = {};
  for (const name of Object.keys(secretEnv ?? {}).sort()) {
    const r = model.resources.find((x) => x.path === secretEnv?.[name]);
    if (r === undefined || r.kind !== 'secret') throw new Error(`env ${name} reads '${secretEnv?.[name]}', which is not a secret of the model`); // refused by validateForAws
    const id = `Secret${name}`;
    const arn = r.aws.secretArn;
    out[name] =
      arn === undefined
        ? secretsmanager.Secret.fromSecretNameV2(scope, id, r.aws.secretName as string)
        : /-[A-Za-z0-9]{6}$/.test(arn)
          ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, arn)
          : secretsmanager.Secret.fromSecretPartialArn(scope, id, arn);
  }
  return out;
}

/** ECS container `secrets` for imported secrets. */
export function ecsSecrets(secrets: Readonly<Record<string, secretsmanager.ISecret>>): Record<string, ecs.Secret> | undefined {
  const names = Object.keys(secrets);
  return names.length > 0 ? Object.fromEntries(names.map((n) => [n, ecs.Secret.fromSecretsManager(secrets[n] as secretsmanager.ISecret)])) : undefined;
}
