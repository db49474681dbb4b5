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
  return [...text.matchAll(/> "([^"]*(?:oidc-token|adc\.json|creds[^"]*\.json))"/g)].map((m) => m[1] as string);
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
      if (provider !== 'github') expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect(f, `credential file ${f}`).toMatch(/^\$(creds|MLPLANE_CREDENTIALS_DIR)\//);
      // google-github-actions/auth writes gha-creds-*.json into the GitHub workspace.
      const inWorkspace = provider === 'github' ? ['gha-creds-0123456789abcdef.json', ...files] : files;
      const exported = exportedPaths(provider, wf);
      expect(exported.length).toBeGreaterThan(0);
      for (const e of exported) for (const f of inWorkspace) expect(covers(e.path, f), `${e.where} exports '${e.path}', which could contain ${f}`).toBe(false);
      for (const e of exported) expect(covers(e.path, 'anything-in-the-workspace'), `${e.where} exports the whole workspace ('${e.path}')`).toBe(false);
      // Nothing prints a token.
      expect(text).not.toMatch(/(echo|printf %s)[^\n>]*\$(MLPLANE_OIDC_TOKEN|SYSTEM_ACCESSTOKEN)[^\n>]*$/m);
      expect(text).not.toMatch(/\bcat\s+[^\n|]*(oidc-token|adc\.json)/);
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
    write('npx', 'case "$*" in *--json*) echo "{}";; *) echo "npx $*";; esac');
    write('curl', 'echo \'{"oidcToken":"header.payload.signature"}\'');
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
      STUBS: stubs(), TMPDIR: tmp, MLPLANE_OIDC_TOKEN: 'header.payload.signature', GCP_WORKLOAD_IDENTITY_PROVIDER: 'p', GCP_SERVICE_ACCOUNT: 'sa', GITLAB_USER_LOGIN: 'alice',
    });
    expect(listing(ws)).toEqual(['deploy-prod.json']);
    const creds = /CREDS=(.*)/.exec(out)?.[1] as string;
    expect(creds.startsWith(tmp)).toBe(true);
    expect(listing(creds)).toEqual(['gcp-adc.json', 'oidc-token']);
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
    const out = bash(shell, ws, { STUBS: stubs(), AGENT_TEMPDIRECTORY: agentTemp, SYSTEM_ACCESSTOKEN: 'system-token', SYSTEM_OIDCREQUESTURI: 'https://example.invalid/oidc', SERVICE_CONNECTION_ID: 'sc', GCP_WORKLOAD_IDENTITY_PROVIDER: 'p', GCP_SERVICE_ACCOUNT: 'sa' });
    expect(listing(ws)).toEqual(['deploy-prod.json']);
    expect(listing(path.join(agentTemp, 'mlplane-credentials'))).toEqual(['gcp-adc.json', 'oidc-token']);
    expect(out).not.toContain('header.payload.signature');
    expect(out).not.toContain('system-token');
  });

  it('github: the prod job run steps leave only deploy-prod.json', () => {
    const wf = parse(renderWorkflow({ provider: 'github', ...options })) as Doc;
    const ws = temp('ws');
    const shell = (wf.jobs['deploy-prod'].steps as Doc[])
      .filter((s) => s.run && s.run !== 'npm ci')
      .map((s) => String(s.run).replace(/\$\{\{[^}]*\}\}/g, '1'))
      .join('\n');
    bash(shell, ws, { STUBS: stubs() });
    expect(listing(ws)).toEqual(['deploy-prod.json']);
  });
});
