import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../bin/build';

/**
 * The aws adapter inside the real app build (what `cdk synth -c mlplane:target=aws` runs), with
 * the context of the project's cdk.json. CloudFormation validation is off here; the conformance
 * test runs it.
 */
describe('cdk synth -c mlplane:target=aws', () => {
  it('synthesizes both examples offline into one stack each, in their own regions', async () => {
    const cdkJson = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };
    const outdir = mkdtempSync(join(tmpdir(), 'mlplane-aws-'));
    const { app, environments } = await buildApp({ context: { ...cdkJson.context, 'mlplane:target': 'aws' }, outdir, cloudFormationValidation: false });
    const assembly = app.synth();
    expect(environments.map((e) => [e.name, e.outputs.flatMap((o) => o.files)])).toEqual([
      ['Churn', ['Churn-staging-mlops']],
      ['Fraud', ['Fraud-prod-mlops']],
    ]);
    expect(assembly.stacks.map((s) => [s.stackName, s.environment.region]).sort()).toEqual([
      ['Churn-staging-mlops', 'us-east-1'],
      ['Fraud-prod-mlops', 'eu-west-1'],
    ]);
  });
});
