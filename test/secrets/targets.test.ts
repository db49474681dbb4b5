import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Construct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type BuildResult } from '../../bin/build';
import { AZURE_KEY_VAULT_READER, GCP_SECRET_MANAGER_WRAPPER } from '../../adapters/shared/secret-fetch';
import { Dataset, Field, MlopsEnvironment, ModelRegistry, OnlineEndpoint, Output, Pipeline, Schema, Secret, ServingContainer, ValidationErrors } from '../../lib';

/**
 * An app that uses secrets, synthesized to every target; every artifact is scanned for the
 * secrets' values (which the process environment holds, as `mlplane run` would read them).
 */

const ROOT = path.resolve(__dirname, '../..');
const CONTEXT = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
/** Values the test puts where a careless synth could pick them up (the process environment). */
const SENTINELS = { MLPLANE_SECRET_DB_PASSWORD: 'sentinel-db-7f3a9c', MLPLANE_SECRET_OPENAI_KEY: 'sentinel-openai-41be02' };

function define(withDeploymentSecret: boolean) {
  return (scope: Construct) => {
    const env = new MlopsEnvironment(scope, 'Sec');
    const db = new Secret(env, 'DbPassword');
    const openAi = new Secret(env, 'OpenAiKey', { azure: { secretName: 'openai' }, gcp: { secretName: 'openai', version: '2' }, aws: { secretName: 'prod/openai' } });
    const data = new Dataset(env, 'Data', { schema: Schema.of({ id: Field.string(), x: Field.float() }) });
    const p = new Pipeline(env, 'Train');
    const prep = p.addStep('Prep', { image: 'ghcr.io/acme/prep:1.0', command: ['python', '-m', 'prep'], inputs: { data }, outputs: { clean: Output.dataset() }, env: { DB_PASSWORD: db, MODE: 'full' } });
    p.addStep('Fit', { image: 'ghcr.io/acme/fit:1.0', command: ['python', '-m', 'fit'], inputs: { data: prep.output('clean') }, outputs: { model: Output.model() } });
    const registry = new ModelRegistry(env, 'Registry');
    const model = registry.addModel('M', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0'), aliases: ['champion'] });
    new OnlineEndpoint(env, 'Scoring', { deployments: [{ name: 'blue', model: model.alias('champion'), env: withDeploymentSecret ? { OPENAI_API_KEY: openAi, TEMPERATURE: '0.2' } : { } }] });
    return [env];
  };
}

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

let out: { azureAws: string; gcp: string };
let builds: { azureAws: BuildResult; gcp: BuildResult };
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  for (const [k, v] of Object.entries(SENTINELS)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  out = { azureAws: fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-secrets-')), gcp: fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-secrets-')) };
  builds = {
    // Vertex serving has no secret env (a synth error, tested below): gcp gets the step secret only.
    azureAws: await buildApp({ outdir: out.azureAws, define: define(true), context: { ...CONTEXT, 'mlplane:target': 'azure,aws' }, cloudFormationValidation: false }),
    gcp: await buildApp({ outdir: out.gcp, define: define(false), context: { ...CONTEXT, 'mlplane:target': 'gcp' }, cloudFormationValidation: false }),
  };
  builds.azureAws.app.synth();
  builds.gcp.app.synth();
}, 50_000);

afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  for (const d of Object.values(out ?? {})) fs.rmSync(d, { recursive: true, force: true });
});

describe('secrets never reach an artifact', () => {
  it('no file of cdk.out for azure, aws or gcp holds a secret value, and each target references the secrets', () => {
    const all = [...files(out.azureAws), ...files(out.gcp)];
    expect(all.length).toBeGreaterThan(10);
    const text = all.map((f) => [f, fs.readFileSync(f, 'utf8')] as const);
    for (const [f, body] of text) for (const v of Object.values(SENTINELS)) expect(body.includes(v), `${f} holds a secret value`).toBe(false);
    // The references are there (so the scan looked at the right files).
    const joined = text.map(([, b]) => b).join('\n');
    expect(joined).toContain('/secrets/db-password');
    expect(joined).toContain('projects/mlplane-examples-dev/secrets/db-password/versions/latest');
    expect(joined).toContain(':secret:prod/openai');
    const warnings = [...builds.azureAws.warnings, ...builds.gcp.warnings].map((w) => `${w.id} ${w.path}`);
    expect(warnings).toEqual(expect.arrayContaining([
      'mlplane:azure:secret-read-in-step Sec/Train/Prep',
      'mlplane:azure:secret-injection-preview Sec/Scoring/blue',
      'mlplane:gcp:secret-read-in-step Sec/Train/Prep',
    ]));
  });

  it('fails if a literal credential is given, writes no artifact, and never echoes the value', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-secrets-'));
    const value = SENTINELS.MLPLANE_SECRET_DB_PASSWORD;
    let thrown: unknown;
    try {
      await buildApp({
        outdir: dir,
        context: { ...CONTEXT, 'mlplane:target': 'all' },
        define: (scope) => {
          const env = new MlopsEnvironment(scope, 'Leak');
          new Pipeline(env, 'P').addStep('S', { image: 'ghcr.io/acme/s:1.0', command: ['run'], env: { DB_PASSWORD: value } });
          return [env];
        },
      });
    } catch (e) {
      thrown = e;
    }
    expect(ValidationErrors.isValidationErrors(thrown)).toBe(true);
    const problems = (thrown as ValidationErrors).problems;
    expect(problems).toEqual([expect.objectContaining({ path: 'Leak/P/S', message: expect.stringMatching(/^env 'DB_PASSWORD' is named like a credential \('password'\) and holds a literal; env values allowed here are non-secret configuration; pass a Secret instead/) })]);
    expect((thrown as Error).message).not.toContain(value);
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('azure', () => {
  const template = () => {
    const f = files(out.azureAws).find((x) => x.endsWith(path.join('Sec.azure', 'template.json')));
    if (!f) throw new Error(`no azure template in ${files(out.azureAws).join(', ')}`);
    return JSON.parse(fs.readFileSync(f, 'utf8')) as { resources: Array<{ type: string; name: string; scope?: string; properties: Record<string, unknown> }> };
  };

  it('grants Key Vault Secrets User on each secret to the identity that reads it, and nothing else on the vault', () => {
    const kv = template().resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments' && String(r.properties.roleDefinitionId).includes('4633458b-17de-408a-b874-0445c86b69e6'));
    expect(kv.map((r) => [r.scope, r.properties.description])).toEqual(
      expect.arrayContaining([
        [expect.stringMatching(/^\[resourceId\('Microsoft\.KeyVault\/vaults\/secrets', '[^']+', 'db-password'\)\]$/), expect.stringMatching(/^Key Vault Secrets User — Sec\/Train read Sec\/DbPassword \(wiring\)$/)],
        [expect.stringMatching(/^\[resourceId\('Microsoft\.KeyVault\/vaults\/secrets', '[^']+', 'openai'\)\]$/), expect.stringMatching(/^Key Vault Secrets User — Sec\/Scoring read Sec\/OpenAiKey \(wiring\)$/)],
      ]),
    );
    expect(kv).toHaveLength(2);
  });

  it('reads a step secret in the job before the command, and injects a deployment secret as a Key Vault reference', () => {
    const resources = template().resources;
    const component = resources.find((r) => r.type.endsWith('/components/versions') && JSON.stringify(r.properties).includes('python -m prep'));
    const command = (component?.properties.componentSpec as { command: string }).command;
    expect(command).toMatch(/^DB_PASSWORD="\$\(python3 -c 'import json, os, sys, urllib\.parse as p, urllib\.request as u\n[\s\S]*' 'https:\/\/[a-z0-9-]+\.vault\.azure\.net\/secrets\/db-password'\)" \|\| exit 1\nexport DB_PASSWORD\n/m);
    const deployment = resources.find((r) => r.type.endsWith('/onlineEndpoints/deployments'));
    expect(deployment?.properties.environmentVariables).toEqual({ TEMPERATURE: '0.2', OPENAI_API_KEY: expect.stringMatching(/^\$\{\{keyvault:https:\/\/[a-z0-9-]+\.vault\.azure\.net\/secrets\/openai\}\}$/) });
  });
});

describe('aws', () => {
  const stacks = () =>
    files(out.azureAws)
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> });

  it('passes secrets as ECS container secrets and grants read on those secret ARNs only, to the execution roles', () => {
    const resources = stacks().flatMap((t) => Object.entries(t.Resources));
    const containers = resources.filter(([, r]) => r.Type === 'AWS::ECS::TaskDefinition').flatMap(([, r]) => r.Properties.ContainerDefinitions as Array<{ Name: string; Secrets?: Array<{ Name: string; ValueFrom: unknown }>; Environment?: Array<{ Name: string }> }>);
    const withSecrets = containers.filter((c) => c.Secrets?.some((s) => s.Name === 'DB_PASSWORD' || s.Name === 'OPENAI_API_KEY'));
    expect(withSecrets.map((c) => [c.Name, c.Secrets?.map((s) => s.Name).sort()])).toEqual(expect.arrayContaining([['main', ['DB_PASSWORD']], ['model', ['MLPLANE_AUTH_TOKEN', 'OPENAI_API_KEY']]]));
    for (const c of containers) expect((c.Environment ?? []).map((e) => e.Name)).not.toContain('DB_PASSWORD');
    const statements = resources
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
      .flatMap(([id, r]) => ((r.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement).map((s) => ({ id, ...s })));
    const reads = statements.filter((s) => JSON.stringify(s.Resource).includes(':secret:db-password') || JSON.stringify(s.Resource).includes(':secret:prod/openai'));
    expect(reads.length).toBe(2);
    for (const s of reads) {
      expect(s.id).toMatch(/ExecutionRole/);
      expect([s.Action].flat().sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    }
  });
});

describe('gcp', () => {
  const documents = () => builds.gcp.environments[0]?.outputs[0]?.documents ?? {};

  it('binds secretAccessor on the secret to the pipeline service account only', () => {
    const policy = documents()['iam/policies/secret-db-password.json'] as { bindings: Array<{ role: string; members: string[] }> };
    expect(policy.bindings).toEqual([{ role: 'roles/secretmanager.secretAccessor', members: [expect.stringMatching(/^serviceAccount:mlp-train-[0-9a-f]+@mlplane-examples-dev\.iam\.gserviceaccount\.com$/)] }]);
    const project = JSON.stringify(documents()['iam/policies/project.json']);
    expect(project).not.toContain('secretmanager');
  });

  it('reads the secret version in the task before the command', () => {
    const spec = Object.entries(documents()).find(([k]) => k.startsWith('pipelines/') && k.endsWith('.json'))?.[1] as { deploymentSpec: { executors: Record<string, { container: { command?: string[]; env?: unknown[] } }> } };
    const prep = Object.values(spec.deploymentSpec.executors).find((e) => e.container.command?.includes('prep'));
    expect(prep?.container.command?.slice(0, 2)).toEqual(['python3', '-c']);
    expect(prep?.container.command?.slice(3)).toEqual(['DB_PASSWORD=projects/mlplane-examples-dev/secrets/db-password/versions/latest', '--', 'python', '-m', 'prep']);
    expect(JSON.stringify(prep?.container.env ?? [])).not.toContain('DB_PASSWORD');
  });

  it('fails if a deployment reads a secret (Vertex serving containers have no secret env)', async () => {
    await expect(buildApp({ define: define(true), context: { ...CONTEXT, 'mlplane:target': 'gcp' } })).rejects.toSatisfy((e: unknown) =>
      ValidationErrors.isValidationErrors(e) &&
      e.problems.some((p) => p.path === 'Sec/Scoring/blue' && /^deployment env OPENAI_API_KEY is a Secret, but Vertex AI serving containers \(ModelContainerSpec\.env\) take plain values only/.test(p.message)));
  });
});

describe('in-container secret readers', () => {
  it('are valid Python, and the Azure reader survives single-quoting in a shell', () => {
    for (const src of [AZURE_KEY_VAULT_READER, GCP_SECRET_MANAGER_WRAPPER]) {
      expect(execFileSync('python3', ['-c', 'import ast, sys; ast.parse(sys.argv[1]); print("ok")', src], { encoding: 'utf8' }).trim()).toBe('ok');
    }
    expect(AZURE_KEY_VAULT_READER).not.toMatch(/['`$]/);
  });

  it('the gcp wrapper execs the command with its arguments unchanged', () => {
    const out = execFileSync('python3', ['-c', GCP_SECRET_MANAGER_WRAPPER, '--', 'sh', '-c', 'printf "%s|" "$@"', 'sh', 'a b', '{x}'], { encoding: 'utf8' });
    expect(out).toBe('a b|{x}|');
  });
});
