/**
 * The cdk-nag acknowledgements of the aws target: only the wildcard resources it grants on purpose
 * are acknowledged; any other wildcard stays a cdk-nag error.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { acknowledgeKnownWildcards } from '../../../adapters/aws/nag';
import { nagErrors } from './support';

/** A stack with one role whose policy allows `actions` on `resources`, acknowledged by the target. */
function policyStack(resources: (stack: Stack) => string[], actions = ['s3:GetObject']): App {
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Nag', { env: { account: '123456789012', region: 'eu-west-1' } });
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  role.addToPolicy(new iam.PolicyStatement({ actions, resources: resources(stack) }));
  acknowledgeKnownWildcards(stack);
  return app;
}

const iam5 = (app: App) => nagErrors(app).filter((e) => e.startsWith('AwsSolutions-IAM5'));

describe('cdk-nag wildcard acknowledgements', () => {
  it('acknowledges object keys under a dataset prefix of a bucket in the stack', () => {
    const app = policyStack((stack) => {
      const bucket = new s3.Bucket(stack, 'Data', { enforceSSL: true, serverAccessLogsPrefix: 'logs/' });
      return [bucket.arnForObjects('datasets/transactions/*')];
    });
    expect(iam5(app)).toEqual([]);
  });

  it('fails if a policy grants a wildcard resource the target does not grant on purpose', () => {
    const app = policyStack(() => ['arn:aws:dynamodb:eu-west-1:123456789012:table/*'], ['dynamodb:GetItem']);
    expect(iam5(app)).toEqual(['AwsSolutions-IAM5[Resource::arn:aws:dynamodb:eu-west-1:123456789012:table/*] @ Nag/Role/DefaultPolicy/Resource']);
  });

  it("acknowledges Resource '*' per policy: a policy that needs it does not cover one in the same stack that does not", () => {
    const app = new App({ builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Nag', { env: { account: '123456789012', region: 'eu-west-1' } });
    const tracing = new iam.Role(stack, 'Tracing', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    tracing.addToPolicy(new iam.PolicyStatement({ actions: ['xray:PutTraceSegments'], resources: ['*'] }));
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    reader.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    acknowledgeKnownWildcards(stack);
    expect(iam5(app)).toEqual(['AwsSolutions-IAM5[Resource::*] @ Nag/Reader/DefaultPolicy/Resource']);
  });

  it('acknowledges a known wildcard once for the stack, whichever policies have it', () => {
    const app = policyStack((stack) => {
      const bucket = new s3.Bucket(stack, 'Data', { enforceSSL: true, serverAccessLogsPrefix: 'logs/' });
      const other = new iam.Role(stack, 'Other', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
      other.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('datasets/transactions/*')] }));
      return [bucket.arnForObjects('datasets/transactions/*')];
    });
    expect(iam5(app)).toEqual([]);
    const acks = app.node.findAll().flatMap((c) =>
      c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).flatMap((m) => Object.keys(m.data as object).filter((id) => id.includes('AwsSolutions-')).map((id) => [c.node.path, id])),
    );
    expect(acks).toEqual([['Nag', expect.stringMatching(/AwsSolutions-IAM5\[Resource::<Data[0-9A-F]+\.Arn>\/datasets\/transactions\/\*\]$/)]]);
  });
});
