import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { examples, synth } from '../adapters/aws/support';

/**
 * Every effective permission of every IAM role the aws target defines for the examples, as a table
 * reviewed by a person (golden), plus the rules each row must keep.
 */

interface Row {
  readonly role: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly condition: boolean;
}

/** CloudFormation intrinsic values as readable text: `Ref`/`GetAtt` → `<LogicalId>`, joins flattened. */
function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(text).join(',');
  const o = v as Record<string, unknown>;
  if ('Ref' in o) return String(o.Ref).startsWith('AWS::') ? `{${o.Ref}}` : `<${o.Ref}>`;
  if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[])[0]}.${(o['Fn::GetAtt'] as string[])[1]}>`;
  if ('Fn::Join' in o) return ((o['Fn::Join'] as [string, unknown[]])[1]).map(text).join((o['Fn::Join'] as [string, unknown[]])[0]);
  if ('Fn::ImportValue' in o) return `<import ${text(o['Fn::ImportValue'])}>`;
  if ('Fn::Select' in o) return `<select>`;
  return JSON.stringify(o);
}

function rowsOf(name: 'fraud' | 'churn'): Row[] {
  const s = synth(examples()[name]);
  const rows: Row[] = [];
  for (const stack of s.stacks) {
    const t = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    for (const r of Object.values(t.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      const roles = (r.Properties.Roles as unknown[]).map(text).join(',');
      for (const st of (r.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }> }).Statement) {
        rows.push({ role: roles, actions: [st.Action].flat().sort(), resources: [st.Resource].flat().map(text).sort(), condition: st.Condition !== undefined });
      }
    }
  }
  return rows.sort((a, b) => (a.role + a.actions.join() + a.resources.join() < b.role + b.actions.join() + b.resources.join() ? -1 : 1));
}

/**
 * Actions with `Resource: '*'` that are allowed: those AWS offers no resource-level permission for
 * (CloudWatch metrics, bounded by a namespace condition; the CloudWatch Logs vended-log delivery
 * actions of Step Functions logging; X-Ray tracing), and the `.sync` ECS integration of aws-cdk-lib
 * (`ecs:DescribeTasks`/`ecs:StopTask` on the tasks the state machine starts, whose ARNs exist only
 * at run time).
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html
 */
const RESOURCELESS = new Set([
  'cloudwatch:PutMetricData', 'ecr:GetAuthorizationToken',
  'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets',
  'logs:CreateLogDelivery', 'logs:DeleteLogDelivery', 'logs:DescribeLogGroups', 'logs:DescribeResourcePolicies', 'logs:GetLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:UpdateLogDelivery',
  'ecs:DescribeTasks', 'ecs:StopTask',
  // The register step rolls the services that follow a moved alias (adapters/aws/alias.ts): ECS has
  // no resource-level permission for DescribeTaskDefinition (service authorization reference for ECS).
  'ecs:DescribeTaskDefinition',
]);
/** Roles of aws-cdk-lib's own helpers (custom resources), not of the model. */
const CDK_HELPERS = /CustomS3AutoDeleteObjects|BucketNotificationsHandler|LogRetention|AWS679f53fac002430cb0da5b7982bd2287|CustomVpcRestrictDefaultSG|CustomCDKBucketDeployment/;

/** Every problem of the rules, one line per offending row. */
function violations(rows: readonly Row[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const where = `${r.role}: ${r.actions.join(' ')} on ${r.resources.join(' ')}`;
    if (r.actions.some((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(a))) out.push(`service-wide action: ${where}`);
    if (r.resources.includes('*') && !r.condition && r.actions.some((a) => !RESOURCELESS.has(a))) out.push(`'*' resource for an action with resource-level permissions: ${where}`);
    if (!CDK_HELPERS.test(r.role)) {
      for (const res of r.resources) {
        // An S3 object ARN names a prefix: never every object of a bucket, never every pipeline run.
        if (/:s3:::[^/]*\/\*$/.test(res) || /^<[^>]+\.Arn>\/\*$/.test(res)) out.push(`whole-bucket object access: ${where}`);
        if (/\/runs\/\*$/.test(res)) out.push(`every pipeline run: ${where}`);
        // Registered models: one model's prefix (models/<registry>/<model>/) at most, never a registry's.
        if (/\/models\/([^/]+\/)?\*$/.test(res)) out.push(`more than one registered model: ${where}`);
        if (r.actions.some((a) => a.startsWith('secretsmanager:')) && !/:secret:|<.*Secret|<.*ApiKey|<.*AuthToken|<.*Credential/.test(res)) out.push(`secret access beyond one secret: ${where}`);
      }
    }
  }
  return out;
}

describe('aws effective permissions', () => {
  for (const name of ['fraud', 'churn'] as const) {
    it(`${name}: every permission is one a model grant or the role's own purpose needs (golden table + rules)`, async () => {
      const rows = rowsOf(name);
      expect(violations(rows)).toEqual([]);
      const table = rows.map((r) => `${r.role} | ${r.actions.join(' ')} | ${r.resources.join(' ')}${r.condition ? ' | (condition)' : ''}`).join('\n');
      await expect(`${table}\n`).toMatchFileSnapshot(`__golden__/aws-${name}.txt`);
    }, 40_000);
  }

  it('fails if a role reads every run, every model of a registry or a whole bucket (the rule bites)', () => {
    const rows: Row[] = [
      { role: '<ScoringblueRole>', actions: ['s3:GetObject'], resources: ['<ArtifactsBucket.Arn>/runs/*'], condition: false },
      { role: '<ScoringgreenRole>', actions: ['s3:GetObject'], resources: ['<ArtifactsBucket.Arn>/models/registry/*', '<ArtifactsBucket.Arn>/models/registry/fraud/*'], condition: false },
      { role: '<TrainRole>', actions: ['s3:GetObject'], resources: ['<ArtifactsBucket.Arn>/*'], condition: false },
      { role: '<TrainRole>', actions: ['s3:*'], resources: ['*'], condition: false },
    ];
    expect(violations(rows)).toEqual([
      'every pipeline run: <ScoringblueRole>: s3:GetObject on <ArtifactsBucket.Arn>/runs/*',
      'more than one registered model: <ScoringgreenRole>: s3:GetObject on <ArtifactsBucket.Arn>/models/registry/* <ArtifactsBucket.Arn>/models/registry/fraud/*',
      'whole-bucket object access: <TrainRole>: s3:GetObject on <ArtifactsBucket.Arn>/*',
      "service-wide action: <TrainRole>: s3:* on *",
      "'*' resource for an action with resource-level permissions: <TrainRole>: s3:* on *",
    ]);
  });
});
