/**
 * CI templates never expose credentials (issue 14 item 4): no token or credential file is written
 * into a path that is published, uploaded or cached, and none is echoed.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderWorkflow, type CiProvider } from '../../bin/commands/ci';

// Parsed YAML is walked freely in these assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

const options = { targets: ['azure', 'gcp', 'aws'] as const, stages: ['dev', 'staging', 'prod'], branch: 'main' };
const PROVIDERS: CiProvider[] = ['github', 'azure-devops', 'gitlab'];

/** Every step of every job, with the path each publishes, uploads or caches. */
function exportedPaths(provider: CiProvider, wf: Doc): Array<{ where: string; path: string }> {
  const found: Array<{ where: string; path: string }> = [];
  const add = (where: string, value: unknown) => {
    for (const p of String(value).split('\n').map((x) => x.trim()).filter(Boolean)) found.push({ where, path: p });
  };
  if (provider === 'github') {
    for (const [name, job] of Object.entries<Doc>(wf.jobs)) {
      for (const step of job.steps as Doc[]) {
        if (/^actions\/(upload-artifact|cache)@/.test(step.uses ?? '')) add(`${name}: ${step.uses}`, step.with.path);
        if (step.uses?.startsWith('actions/setup-node@') && step.with?.cache) add(`${name}: setup-node cache`, '~/.npm');
      }
    }
  } else if (provider === 'azure-devops') {
    const walk = (node: Doc, where: string) => {
      if (Array.isArray(node)) node.forEach((n) => walk(n, where));
      else if (node && typeof node === 'object') {
        if (typeof node.publish === 'string') add(`${where}: publish ${node.artifact}`, node.publish);
        if (/^(PublishPipelineArtifact|PublishBuildArtifacts|Cache)@/.test(node.task ?? '')) add(`${where}: ${node.task}`, node.inputs?.targetPath ?? node.inputs?.PathtoPublish ?? node.inputs?.path);
        for (const [k, v] of Object.entries(node)) walk(v, node.stage ?? where ?? k);
      }
    };
    walk(wf, 'pipeline');
  } else {
    for (const [name, job] of Object.entries<Doc>(wf)) {
      if (!job || typeof job !== 'object' || Array.isArray(job)) continue;
      for (const p of job.artifacts?.paths ?? []) add(`${name}: artifacts`, p);
      for (const p of job.cache?.paths ?? []) add(`${name}: cache`, p);
    }
  }
  return found;
}

/** Where the workflow writes credential files, as written in its shell. */
function credentialFiles(text: string): string[] {
  return [...text.matchAll(/> "([^"]*(?:oidc-token|adc\.json|aws-config|creds[^"]*\.json))"/g)].map((m) => m[1] as string);
}

/** Whether an exported path could contain `file` (a file of the workspace when relative). */
function covers(exported: string, file: string): boolean {
  const norm = (p: string) => p.replace(/^\.\//, '').replace(/\/$/, '');
  const e = norm(exported);
  if (['', '.', '*', '**', '$(System.DefaultWorkingDirectory)', '$(Build.SourcesDirectory)', '$CI_PROJECT_DIR', '${{ github.workspace }}'].includes(e)) return true;
  const f = norm(file.replace(/^\$PWD\/|^\$\(pwd\)\//, ''));
  if (f.startsWith('$')) return false;
  return f === e || f.startsWith(`${e}/`) || (e.includes('*') && new RegExp(`^${e.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`).test(f));
}

describe('ci init never exposes credentials', () => {
  for (const provider of PROVIDERS) {
    it(`${provider}: every credential file is under the runner temp dir, and no published, uploaded or cached path could contain one`, () => {
      const text = renderWorkflow({ provider, ...options });
      const wf = parse(text, { merge: true }) as Doc;
      const files = credentialFiles(text);
      // github: the aws promotion's token and config files; the others: every cloud's too.
      expect(files.length).toBeGreaterThan(0);
      expect(files.some((f) => f.endsWith('/aws-config'))).toBe(true);
      for (const f of files) expect(f, `credential file ${f}`).toMatch(/^\$(creds|MLPLANE_CREDENTIALS_DIR)\//);
      // …and $creds is always the runner's temp directory (or the mktemp dir of MLPLANE_CREDENTIALS_DIR).
      const dirs = [...text.matchAll(/\bcreds="([^"]*)"/g)].map((m) => m[1] as string);
      expect(dirs.length).toBeGreaterThan(0);
      for (const d of dirs) expect(d, `creds=${d}`).toMatch(/^\$(RUNNER_TEMP|AGENT_TEMPDIRECTORY|MLPLANE_CREDENTIALS_DIR)(\/|$)/);
      // google-github-actions/auth writes gha-creds-*.json into the GitHub workspace.
      const inWorkspace = provider === 'github' ? ['gha-creds-0123456789abcdef.json', ...files] : files;
      const exported = exportedPaths(provider, wf);
      expect(exported.length).toBeGreaterThan(0);
      for (const e of exported) for (const f of inWorkspace) expect(covers(e.path, f), `${e.where} exports '${e.path}', which could contain ${f}`).toBe(false);
      for (const e of exported) expect(covers(e.path, 'anything-in-the-workspace'), `${e.where} exports the whole workspace ('${e.path}')`).toBe(false);
      // Nothing prints a token.
      expect(text).not.toMatch(/(echo|printf %s)[^\n>]*\$(MLPLANE_OIDC_TOKEN|SYSTEM_ACCESSTOKEN)[^\n>]*$/m);
      expect(text).not.toMatch(/\bcat\s+[^\n|]*(oidc-token|adc\.json|aws-config)/);
      // No AWS access key is ever written: the promotion's profiles assume roles with the OIDC token.
      expect(text).not.toMatch(/aws_access_key_id|aws_secret_access_key|aws_session_token|output-credentials/);
    });
  }

  it('fails if a workspace path holding a credential file is published (the old azure-devops plan stage)', () => {
    expect(covers('$(System.DefaultWorkingDirectory)', '$PWD/.oidc-token')).toBe(true);
    expect(covers('.', '.gcp-adc.json')).toBe(true);
    expect(covers('*.json', 'gha-creds-1.json')).toBe(true);
    expect(covers('plan.json', 'gha-creds-1.json')).toBe(false);
    expect(covers('cdk.out/', '$creds/oidc-token')).toBe(false);
  });
});

/** The IAM role of each stage's account (non-secret variables). */
const ROLES = {
  AWS_ROLE_ARN_STAGING: 'arn:aws:iam::345678901234:role/mlplane-ci',
  AWS_ROLE_ARN_PROD: 'arn:aws:iam::123456789012:role/mlplane-ci',
};

/**
 * The aws promotion ran with a config of two profiles, each assuming its stage's role with the job's
 * OIDC token file, readable by the owner only, and with no static AWS credentials in its environment.
 */
function expectAwsPromotion(out: string, creds: string, tokenFile: string): void {
  const config = path.join(creds, 'aws-config');
  const token = path.join(creds, tokenFile);
  expect(fs.readFileSync(config, 'utf8')).toBe(
    `[profile mlplane-staging]\nrole_arn = ${ROLES.AWS_ROLE_ARN_STAGING}\nweb_identity_token_file = ${token}\nrole_session_name = mlplane-promote-staging\n\n` +
      `[profile mlplane-prod]\nrole_arn = ${ROLES.AWS_ROLE_ARN_PROD}\nweb_identity_token_file = ${token}\nrole_session_name = mlplane-promote-prod\n`,
  );
  expect(fs.statSync(config).mode & 0o077).toBe(0);
  expect(fs.readFileSync(token, 'utf8')).toBe('header.payload.signature');
  expect(fs.statSync(token).mode & 0o077).toBe(0);
  const promote = out.split('\n').filter((l) => l.startsWith('npx mlplane promote') && l.includes('--target aws'));
  expect(promote).toEqual([expect.stringMatching(/^npx mlplane promote --from staging --to prod --target aws --from-profile mlplane-staging --to-profile mlplane-prod --approved-by \S+ \[config=(.*) key=none\]$/)]);
  expect(promote[0]).toContain(`[config=${config} key=none]`);
}

describe('the generated shell steps leave only the intended files in the workspace', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const temp = (name: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `mlplane-ci-${name}-`));
    dirs.push(d);
    return d;
  };
  /** A bin folder where npm, npx and curl are stubs that write nothing; npx prints `{}` for --json. */
  const stubs = () => {
    const bin = temp('bin');
    const write = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    write('npm', 'exit 0');
    // npx says which AWS config and which static AWS credentials the command would see.
    write('npx', 'case "$*" in *--json*) echo "{}";; *) echo "npx $* [config=${AWS_CONFIG_FILE:-none} key=${AWS_ACCESS_KEY_ID:-none}]";; esac');
    // The Azure DevOps OIDC answer (oidcToken) and GitHub's (value).
    write('curl', 'echo \'{"oidcToken":"header.payload.signature","value":"header.payload.signature"}\'');
    return bin;
  };
  const bash = (script: string, cwd: string, env: Record<string, string>) =>
    execFileSync('bash', ['-e', '-c', script], { cwd, env: { PATH: `${env.STUBS}:${process.env.PATH}`, HOME: cwd, ...env }, encoding: 'utf8' });
  const listing = (dir: string) => fs.readdirSync(dir).sort();

  it('gitlab: the prod job writes its token and ADC file in a mktemp dir, the workspace gets only deploy-prod.json', () => {
    const wf = parse(renderWorkflow({ provider: 'gitlab', ...options }), { merge: true }) as Doc;
    const job = wf['deploy-prod'];
    const ws = temp('ws');
    const tmp = temp('tmp');
    const out = bash([...job.before_script, ...job.script, 'echo "CREDS=$MLPLANE_CREDENTIALS_DIR"'].join('\n'), ws, {
      STUBS: stubs(), TMPDIR: tmp, MLPLANE_OIDC_TOKEN: 'header.payload.signature', GCP_WORKLOAD_IDENTITY_PROVIDER: 'p', GCP_SERVICE_ACCOUNT: 'sa', GITLAB_USER_LOGIN: 'alice', ...ROLES,
    });
    expect(listing(ws)).toEqual(['deploy-prod.json']);
    const creds = /CREDS=(.*)/.exec(out)?.[1] as string;
    expect(creds.startsWith(tmp)).toBe(true);
    expect(listing(creds)).toEqual(['aws-config', 'gcp-adc.json', 'oidc-token']);
    expectAwsPromotion(out, creds, 'oidc-token');
    expect(fs.statSync(path.join(creds, 'oidc-token')).mode & 0o077).toBe(0);
    expect(out).not.toContain('header.payload.signature');
  });

  it('azure-devops: the prod deployment writes its token under Agent.TempDirectory, the workspace gets only deploy-prod.json', () => {
    const wf = parse(renderWorkflow({ provider: 'azure-devops', ...options })) as Doc;
    const steps = wf.stages[4].jobs[0].strategy.runOnce.deploy.steps as Doc[];
    const ws = temp('ws');
    const agentTemp = temp('agent');
    const macros: Record<string, string> = { 'Pipeline.Workspace': temp('pipeline'), 'Build.BuildId': '42' };
    const shell = steps
      .filter((s) => s.bash || (s.script && s.script !== 'npm ci'))
      .map((s) => String(s.bash ?? s.script).replace(/\$\(([A-Za-z.]+)\)/g, (m, k: string) => macros[k] ?? m))
      .join('\n');
    const out = bash(shell, ws, { STUBS: stubs(), AGENT_TEMPDIRECTORY: agentTemp, SYSTEM_ACCESSTOKEN: 'system-token', SYSTEM_OIDCREQUESTURI: 'https://example.invalid/oidc', SERVICE_CONNECTION_ID: 'sc', GCP_WORKLOAD_IDENTITY_PROVIDER: 'p', GCP_SERVICE_ACCOUNT: 'sa', ...ROLES });
    expect(listing(ws)).toEqual(['deploy-prod.json']);
    expect(listing(path.join(agentTemp, 'mlplane-credentials'))).toEqual(['aws-config', 'gcp-adc.json', 'oidc-token']);
    expectAwsPromotion(out, path.join(agentTemp, 'mlplane-credentials'), 'oidc-token');
    expect(out).not.toContain('header.payload.signature');
    expect(out).not.toContain('system-token');
  });

  /** The run steps of GitHub's prod job as one shell, with the env each step maps from `vars`. */
  const githubProdShell = () => {
    const wf = parse(renderWorkflow({ provider: 'github', ...options })) as Doc;
    const steps = (wf.jobs['deploy-prod'].steps as Doc[]).filter((s) => s.run && s.run !== 'npm ci');
    const mapped = steps.flatMap((s) => Object.entries<string>(s.env ?? {}));
    // Every mapped value comes from a non-secret variable of the same name.
    for (const [k, v] of mapped) expect(v).toBe(`\${{ vars.${k} }}`);
    return steps.map((s) => String(s.run).replace(/\$\{\{[^}]*\}\}/g, '1')).join('\n');
  };
  const githubEnv = (runnerTemp: string) => ({ RUNNER_TEMP: runnerTemp, ACTIONS_ID_TOKEN_REQUEST_URL: 'https://example.invalid/token?api-version=2.0', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token', AWS_ACCESS_KEY_ID: 'AKIA-from-configure-aws-credentials' });

  it('github: the prod job run steps leave only deploy-prod.json; the aws promotion token and config are under RUNNER_TEMP', () => {
    const ws = temp('ws');
    const runnerTemp = temp('runner');
    const out = bash(githubProdShell(), ws, { STUBS: stubs(), ...githubEnv(runnerTemp), ...ROLES });
    expect(listing(ws)).toEqual(['deploy-prod.json']);
    expect(listing(path.join(runnerTemp, 'mlplane-credentials'))).toEqual(['aws-config', 'aws-oidc-token']);
    expectAwsPromotion(out, path.join(runnerTemp, 'mlplane-credentials'), 'aws-oidc-token');
    expect(out).not.toContain('request-token');
  });

  it('fails if a stage role variable is missing: the aws promotion names it and does not run', () => {
    const ws = temp('ws');
    const runnerTemp = temp('runner');
    let failure: { status?: number; stderr?: string; stdout?: string } = {};
    try {
      bash(githubProdShell(), ws, { STUBS: stubs(), ...githubEnv(runnerTemp), AWS_ROLE_ARN_STAGING: ROLES.AWS_ROLE_ARN_STAGING });
    } catch (e) {
      failure = e as typeof failure;
    }
    expect(failure.status).not.toBe(0);
    expect(String(failure.stderr)).toContain("AWS_ROLE_ARN_PROD: set the non-secret CI variable AWS_ROLE_ARN_PROD: the IAM role in the AWS account of the prod stage that this pipeline assumes with OIDC");
    expect(String(failure.stdout)).not.toContain('mlplane promote --from staging --to prod --target aws');
  });
});
