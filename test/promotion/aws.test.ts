import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PLATFORM_OUTPUTS } from '../../adapters/aws/platform';
import { AWS_ENDPOINT_ENV } from '../../adapters/aws/deploy/promote';
import { examples, synth, template } from '../adapters/aws/support';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-standin';
import { cli } from '../support/cli';
import { startMlflowStandIn, type MlflowStandIn } from '../support/mlflow-standin';

// Fraud at staging: account 345678901234, at prod: 123456789012, both eu-west-1 (cdk.json
// mlplane:stages); each stage's platform stack is Fraud-<stage>-mlops in its own account, with the outputs
// MlflowUrl and ArtifactBucket. The promotion requires approval and auc > 0.9.
const STAGING = { account: '345678901234', bucket: 'fraud-mlops-staging-artifacts', key: 'AKIASTAGINGSTANDIN01' };
const PROD = { account: '123456789012', bucket: 'fraud-mlops-prod-artifacts', key: 'AKIAPRODSTANDIN00001' };
// Where the register step of Fraud/Train puts the model of run exec-2: the model's prefix
// (models/<registry>/<model>/, the one prefix model servers read), then <pipeline>/<step>/<run>/.
const VERSION_PREFIX = 'models/registry/fraud/train/register/exec-2/';
const FILES: Record<string, string> = { 'MLmodel': 'flavors: {xgboost: {}}\n', 'model.xgb': 'x'.repeat(4096), 'requirements.txt': 'xgboost==2.1.0\n' };

let aws: AwsStandIn;
let staging: MlflowStandIn;
let prod: MlflowStandIn;
let dir: string;
const saved: Record<string, string | undefined> = {};
const ENV = [AWS_ENDPOINT_ENV, 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_EC2_METADATA_DISABLED'];

const promote = (...extra: string[]) => cli('promote', 'Fraud', 'fraud@champion', '--from', 'staging', '--to', 'prod', '-t', 'aws', '--approved-by', 'alice', ...extra);
/** Requests that change something: S3 PUTs, MLflow POSTs. */
const writes = (markAws: number, markProd: number) => [
  ...aws.requests.slice(markAws).filter((r) => r.method !== 'GET' && r.service === 's3'),
  ...prod.requests.slice(markProd).filter((r) => r.method !== 'GET'),
];

describe('mlplane promote on aws: MLflow registry + S3 copy (stand-ins)', () => {
  beforeAll(async () => {
    for (const k of ENV) saved[k] = process.env[k];
    aws = await startAwsStandIn();
    staging = await startMlflowStandIn();
    prod = await startMlflowStandIn(undefined, 1); // one version per search page: lineage is found across pages
    aws.keys.set(STAGING.key, STAGING.account);
    aws.keys.set(PROD.key, PROD.account);
    aws.stacks.push({ account: STAGING.account, region: 'eu-west-1', name: 'Fraud-staging-mlops', outputs: { MlflowUrl: staging.url, ArtifactBucket: STAGING.bucket } });
    aws.stacks.push({ account: PROD.account, region: 'eu-west-1', name: 'Fraud-prod-mlops', outputs: { MlflowUrl: prod.url, ArtifactBucket: PROD.bucket } });
    aws.buckets.set(STAGING.bucket, { account: STAGING.account, region: 'eu-west-1', objects: new Map(Object.entries(FILES).map(([f, body]) => [`${VERSION_PREFIX}${f}`, Buffer.from(body)])) });
    aws.buckets.set(PROD.bucket, { account: PROD.account, region: 'eu-west-1', objects: new Map() });
    // Named profiles, one per stage's account; the default profile is staging's.
    dir = mkdtempSync(path.join(tmpdir(), 'mlplane-aws-promote-'));
    writeFileSync(path.join(dir, 'credentials'), [
      `[default]\naws_access_key_id = ${STAGING.key}\naws_secret_access_key = standin-secret-staging\n`,
      `[staging]\naws_access_key_id = ${STAGING.key}\naws_secret_access_key = standin-secret-staging\n`,
      `[prod]\naws_access_key_id = ${PROD.key}\naws_secret_access_key = standin-secret-prod\n`,
    ].join('\n'));
    writeFileSync(path.join(dir, 'config'), '[default]\n');
    for (const k of ENV) delete process.env[k];
    process.env[AWS_ENDPOINT_ENV] = aws.url;
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, 'credentials');
    process.env.AWS_CONFIG_FILE = path.join(dir, 'config');
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
  });
  afterAll(async () => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await Promise.all([aws.close(), staging.close(), prod.close()]);
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    expect(aws.violations).toEqual([]);
  });

  it('fails if the gate does not pass: auc 0.85 is not > 0.9, and nothing is written in prod', async () => {
    staging.seed('fraud', `s3://${STAGING.bucket}/runs/train/exec-1/fit/model/`, { 'metric.auc': '0.85', 'mlplane.run': 'exec-1' }, 'champion');
    const [a, p] = [aws.requests.length, prod.requests.length];
    const r = await promote('--from-profile', 'staging', '--to-profile', 'prod');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[Fraud/PromoteFraud] not promoting 345678901234/eu-west-1/Fraud-staging-mlops/fraud/1 from staging to prod: the gate did not pass: auc=0.85 is not > 0.9 + 0');
    expect(writes(a, p)).toEqual([]);
  }, 60_000);

  it('fails if the prod stage is read with credentials of another account, naming --to-profile', async () => {
    const [a, p] = [aws.requests.length, prod.requests.length];
    const r = await promote('--from-profile', 'staging');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[Fraud/PromoteFraud] the to stage (prod) has no stack Fraud-prod-mlops in account 123456789012, eu-west-1; deploy it first (mlplane deploy Fraud --stage prod -t aws), or pass --to-profile <profile> with credentials of account 123456789012');
    expect(writes(a, p)).toEqual([]);
  }, 60_000);

  it('fails if the stack the credentials find is in another account than the stage\'s', async () => {
    // A prod stack deployed into the staging account by mistake: found, but not the stage's.
    const decoy = { account: STAGING.account, region: 'eu-west-1', name: 'Fraud-prod-mlops', outputs: { MlflowUrl: staging.url, ArtifactBucket: STAGING.bucket } };
    aws.stacks.push(decoy);
    try {
      const [a, p] = [aws.requests.length, prod.requests.length];
      const r = await promote('--from-profile', 'staging', '--to-profile', 'staging');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('[Fraud/PromoteFraud] the to stage (prod) is in account 123456789012, but the credentials of profile staging read stack Fraud-prod-mlops in account 345678901234; pass --to-profile <profile> with credentials of account 123456789012');
      expect(writes(a, p)).toEqual([]);
    } finally {
      aws.stacks.splice(aws.stacks.indexOf(decoy), 1);
    }
  }, 60_000);

  it('copies the staging champion into the prod bucket and registry with lineage tags and the alias, then is a no-op', async () => {
    prod.seed('fraud', `s3://${PROD.bucket}/runs/train/exec-0/fit/model/`, { 'metric.auc': '0.91', 'mlplane.run': 'exec-0' }, 'champion');
    staging.seed('fraud', `s3://${STAGING.bucket}/${VERSION_PREFIX}`, { 'metric.auc': '0.93', 'mlplane.run': 'exec-2' }, 'champion');
    const r = await promote('--from-profile', 'staging', '--to-profile', 'prod', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'promoted', sourceVersion: '2', targetVersion: '2', reason: 'auc=0.93 > 0.9 + 0' });

    // The artifacts, byte for byte, under the same key in the prod bucket: below prod's model prefix.
    const copied = aws.buckets.get(PROD.bucket)?.objects as Map<string, Buffer>;
    expect([...copied.keys()].sort()).toEqual(Object.keys(FILES).map((f) => `${VERSION_PREFIX}${f}`).sort());
    for (const [f, body] of Object.entries(FILES)) expect(copied.get(`${VERSION_PREFIX}${f}`)?.toString()).toBe(body);

    const fraud = prod.models.get('fraud');
    const v2 = fraud?.versions.find((v) => v.version === '2');
    expect(v2?.source).toBe(`s3://${PROD.bucket}/${VERSION_PREFIX}`);
    expect(Object.fromEntries((v2?.tags ?? []).map((t) => [t.key, t.value]))).toEqual({
      'metric.auc': '0.93',
      'mlplane.run': 'exec-2',
      'mlplane-stage': 'prod',
      'mlplane-promoted-from': 'staging',
      'mlplane-source-version': '2',
      'mlplane-source-model': '345678901234/eu-west-1/Fraud-staging-mlops/fraud',
      'mlplane-source-run': 'exec-2',
      'mlplane-approved-by': 'alice',
    });
    expect(fraud?.aliases.get('champion')).toBe('2');
    expect([...staging.violations, ...prod.violations, ...aws.violations]).toEqual([]);

    const [a, p] = [aws.requests.length, prod.requests.length];
    const again = await promote('--from-profile', 'staging', '--to-profile', 'prod', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'unchanged', targetVersion: '2', writes: 0 });
    expect(writes(a, p)).toEqual([]);
  }, 60_000);

  it('moves the alias back to the earlier promotion when someone moved it, without copying again', async () => {
    // A version registered in prod itself takes the alias; the promoted version 2 is now on the second search page.
    prod.seed('fraud', `s3://${PROD.bucket}/runs/train/exec-9/fit/model/`, { 'metric.auc': '0.8', 'mlplane.run': 'exec-9' }, 'champion');
    const [a, p] = [aws.requests.length, prod.requests.length];
    const r = await promote('--from-profile', 'staging', '--to-profile', 'prod', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'unchanged', targetVersion: '2', writes: 1 });
    expect(writes(a, p).map((w) => `${w.method} ${w.path}`)).toEqual(['POST /mlflow/registered-models/alias']);
    expect(prod.models.get('fraud')?.aliases.get('champion')).toBe('2');
  }, 60_000);

  it('puts a version whose source is outside the model prefix (registered under runs/) below prod\'s model prefix, where prod\'s servers read', async () => {
    const legacy = 'runs/train/exec-3/fit/model/';
    const objects = aws.buckets.get(STAGING.bucket)?.objects as Map<string, Buffer>;
    for (const [f, body] of Object.entries(FILES)) objects.set(`${legacy}${f}`, Buffer.from(body));
    staging.seed('fraud', `s3://${STAGING.bucket}/${legacy}`, { 'metric.auc': '0.95', 'mlplane.run': 'exec-3' }, 'champion');
    const r = await promote('--from-profile', 'staging', '--to-profile', 'prod', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'promoted', sourceVersion: '3' });
    const imported = `models/registry/fraud/_imported/${legacy}`;
    const copied = aws.buckets.get(PROD.bucket)?.objects as Map<string, Buffer>;
    for (const [f, body] of Object.entries(FILES)) expect(copied.get(`${imported}${f}`)?.toString()).toBe(body);
    expect([...copied.keys()].filter((k) => !k.startsWith('models/registry/fraud/'))).toEqual([]);
    const promoted = prod.models.get('fraud')?.versions.find((v) => v.version === JSON.parse(r.stdout).targetVersion);
    expect(promoted?.source).toBe(`s3://${PROD.bucket}/${imported}`);
  }, 60_000);
});

describe('the MLflow stand-in checks requests against model_registry.proto', () => {
  it('fails if a request names a field the rpc does not have, or misses a required one', async () => {
    const sim = await startMlflowStandIn();
    try {
      const bad = await fetch(`${sim.url}/api/2.0/mlflow/model-versions/create`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'fraud', artifact_uri: 's3://b/k/' }) });
      expect(bad.status).toBe(400);
      expect(sim.violations).toEqual([
        "POST /mlflow/model-versions/create: CreateModelVersion has no field 'artifact_uri' (fields: name, source, run_id, tags, run_link, description)",
        'POST /mlflow/model-versions/create: CreateModelVersion.source is required (validate_required)',
      ]);
      const tags = await fetch(`${sim.url}/api/2.0/mlflow/model-versions/create`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'fraud', source: 's3://b/k/', tags: { auc: '0.9' } }) });
      expect(tags.status).toBe(400);
      expect(sim.violations.at(-1)).toBe('POST /mlflow/model-versions/create: CreateModelVersion.tags is repeated: expected a JSON array');
    } finally {
      await sim.close();
    }
  });
});

describe('what aws promotion reads from a deployed stage', () => {
  it('the platform stack outputs the MLflow URL and the artifact bucket under the fixed keys MlflowUrl and ArtifactBucket', () => {
    const s = synth(examples().fraud);
    expect(s.stacks[0]?.stackName).toBe('Fraud-prod-mlops');
    const outputs = template(s).toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(PLATFORM_OUTPUTS).toEqual({ mlflowUrl: 'MlflowUrl', artifactBucket: 'ArtifactBucket' });
    expect(JSON.stringify(outputs.MlflowUrl?.Value)).toMatch(/MlflowLoadBalancer.*DNSName/);
    expect(outputs.ArtifactBucket?.Value).toEqual({ Ref: expect.stringMatching(/^PlatformArtifacts[0-9A-F]{8}$/) });
  }, 60_000);
});
