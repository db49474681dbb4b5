import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EnvironmentModel } from '../../../lib/model/types';
import { withContractPipeline } from './contract-fixture';
import { examples, nagErrors, synth } from './support';

/**
 * Conformance of the aws target against validators nobody here wrote: aws-cdk-lib's built-in
 * CloudFormation validation (errors made fatal) and the cdk-nag AwsSolutions pack.
 *
 * Validated synths are slow (~3 s, ~300 MB), so there is exactly one per example.
 */

interface ReportViolation {
  readonly severity?: string;
  readonly ruleName?: string;
}

function reportErrors(outdir: string): string[] {
  const file = join(outdir, 'validation-report.json');
  if (!existsSync(file)) return [];
  const report = JSON.parse(readFileSync(file, 'utf8')) as { pluginReports?: { violations?: ReportViolation[] }[] };
  return (report.pluginReports ?? [])
    .flatMap((r) => r.violations ?? [])
    .filter((v) => v.severity === 'error' || v.severity === 'fatal')
    .map((v) => String(v.ruleName));
}

function acknowledgements(app: App): { path: string; id: string; reason: string }[] {
  const out: { path: string; id: string; reason: string }[] = [];
  for (const c of app.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, value] of Object.entries(entry.data as Record<string, unknown>)) {
        if (!/AwsSolutions-/.test(id)) continue;
        const reason = typeof value === 'string' ? value : JSON.stringify(value);
        out.push({ path: c.node.path, id, reason });
      }
    }
  }
  return out;
}

beforeAll(() => {
  vi.stubEnv('CDK_VALIDATION', 'true');
});

afterAll(() => {
  vi.unstubAllEnvs();
});

describe('the checks are live', () => {
  it('built-in CloudFormation validation rejects an invalid template', () => {
    const app = new App({ context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
    const stack = new Stack(app, 'Bad', { env: { account: '123456789012', region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['eu-west-1a', 'eu-west-1b'], natGateways: 0, subnetConfiguration: [{ name: 'i', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new rds.DatabaseInstance(stack, 'Db', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      storageEncrypted: true,
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16_8 }),
      instanceType: new ec2.InstanceType('t4g.small'),
    });
    expect(() => app.synth()).toThrow(/DBInstanceClass 'db.t4g.small' is not valid/);
    // The first validated synth of the process loads aws-cdk-lib's CloudFormation rule set (~30 s on a busy machine).
  }, 120_000);

  it('cdk-nag reports an unacknowledged error', () => {
    const app = new App({ builtinCloudFormationValidation: false });
    new s3.Bucket(new Stack(app, 'Plain'), 'Bucket');
    expect(nagErrors(app)).toEqual(expect.arrayContaining([expect.stringMatching(/^AwsSolutions-S10 @ Plain\/Bucket/)]));
  });
});

describe.each([
  // The contract pipeline adds what the examples lack: staged ECS Fargate steps, conditions, read-backs.
  ['fraud example (plus the contract pipeline)', (): EnvironmentModel => withContractPipeline(examples().fraud)],
  ['churn example', (): EnvironmentModel => examples().churn],
])('the %s on aws', (_name, model) => {
  const s = synth(model(), undefined, true);
  let outdir = '';

  it('passes aws-cdk-lib CloudFormation validation with 0 errors', () => {
    outdir = s.app.synth().directory;
    expect(existsSync(join(outdir, 'validation-report.json')), 'validation ran and wrote its report').toBe(true);
    expect(reportErrors(outdir)).toEqual([]);
  });

  it('has 0 unacknowledged cdk-nag AwsSolutions errors', () => {
    expect(nagErrors(s.app)).toEqual([]);
  });

  it('acknowledges cdk-nag findings only with specific reasons', () => {
    const acks = acknowledgements(s.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.reason.length, `${a.id} at ${a.path}`).toBeGreaterThanOrEqual(20);
      expect(a.reason, `${a.id} at ${a.path}`).not.toMatch(/^(ok|fine|n\/a|todo|suppressed)/i);
    }
  });

  it('keeps every stack within the 500-resource limit', () => {
    for (const stack of s.stacks) {
      const template = JSON.parse(readFileSync(join(outdir, stack.templateFile), 'utf8')) as { Resources: Record<string, unknown> };
      expect(Object.keys(template.Resources).length, stack.stackName).toBeLessThanOrEqual(500);
    }
  });
});
