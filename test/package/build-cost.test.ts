/**
 * What the build does to keep synthesis cheap (bench/README.md): no built-in CloudFormation
 * validation of the resource-free stack it adds when no selected target builds stacks, and the
 * cdk-nag pass of the aws target on by default, off with context `mlplane:cdkNag=false`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CDK_NAG_KEY, NO_AWS_STACK, buildApp, type DefineApp } from '../../bin/build';
import { MlopsEnvironment } from '../../lib';

const GCP = { project: 'bench-project', region: 'europe-west4' };
const AWS = { account: '123456789012', region: 'eu-west-1' };

function outdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-build-cost-'));
}

const demo: DefineApp = (app) => new MlopsEnvironment(app, 'Demo');

describe('built-in CloudFormation validation', () => {
  // vitest.config.ts turns it off for every test (CDK_VALIDATION=false); these need it on.
  const before = process.env.CDK_VALIDATION;
  beforeAll(() => {
    process.env.CDK_VALIDATION = 'true';
  });
  afterAll(() => {
    process.env.CDK_VALIDATION = before;
  });

  it('does not run on the resource-free stack of a build without stack targets', async () => {
    const out = outdir();
    const { app } = await buildApp({ define: demo, outdir: out, context: { 'mlplane:target': 'gcp', 'mlplane:gcp': GCP } });
    app.synth();
    expect(fs.existsSync(path.join(out, `${NO_AWS_STACK}.template.json`))).toBe(true);
    expect(fs.existsSync(path.join(out, 'validation-report.json')), 'validation ran on the resource-free stack').toBe(false);
  });

  it("still runs when the app defines stacks of its own next to document targets", async () => {
    const out = outdir();
    const { app } = await buildApp({
      define: (scope) => {
        demo(scope);
        new Stack(scope, 'Own');
      },
      outdir: out,
      context: { 'mlplane:target': 'gcp', 'mlplane:gcp': GCP },
    });
    app.synth();
    expect(fs.existsSync(path.join(out, 'validation-report.json')), 'validation report of the app with its own stack').toBe(true);
  }, 180_000); // starting the validation engine alone takes ~35 s of a loaded 2-core machine
});

describe('cdk-nag on the aws target', () => {
  const nagPlugins = (app: { _validationPlugins: readonly unknown[] }) => app._validationPlugins.filter((p) => p instanceof AwsSolutionsChecks);

  it('runs by default', async () => {
    const { app } = await buildApp({ define: demo, outdir: outdir(), context: { 'mlplane:target': 'aws', 'mlplane:aws': AWS } });
    expect(nagPlugins(app)).toHaveLength(1);
  });

  it(`is off with context ${CDK_NAG_KEY}=false`, async () => {
    const { app } = await buildApp({ define: demo, outdir: outdir(), context: { 'mlplane:target': 'aws', 'mlplane:aws': AWS, [CDK_NAG_KEY]: false } });
    expect(nagPlugins(app)).toHaveLength(0);
  });
});
