/**
 * Issue 16 item 5: the mlplane CLI and the CDK CLI behave as one — `check` is synth's validation
 * without writing, context given as JSON text is parsed, problems are reported once, a mistyped
 * `--target` is a usage error, and `cdk synth` prints mlplane's warnings.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeApp, contextValue } from '../../bin/build';
import { cli } from '../support/cli';

const ROOT = path.resolve(__dirname, '../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-one-'));
const warningLines = (text: string) => text.split('\n').filter((l) => l.startsWith('warning [')).sort();

describe('one behaviour for both CLIs', () => {
  it('check reports the adapter warnings synth prints, for the targets of context mlplane:target', async () => {
    const out = tmp();
    const synth = await cli('synth', '--out', out, '-c', 'mlplane:target=azure');
    const check = await cli('check', '-c', 'mlplane:target=azure');
    expect(synth.code).toBe(0);
    expect(check.code).toBe(0);
    expect(warningLines(synth.stderr).length).toBeGreaterThan(0);
    expect(warningLines(check.stderr)).toEqual(warningLines(synth.stderr));
    // check used the context's target: its matrix has one column, azure.
    expect(check.stdout).toMatch(/× 1 target\)/);
  }, 60_000);

  it('fails if check --strict passes where synth --strict fails', async () => {
    const synth = await cli('synth', '--out', tmp(), '--strict', '-c', 'mlplane:target=gcp');
    const check = await cli('check', '--strict', '-c', 'mlplane:target=gcp');
    expect(synth.code).toBe(1);
    expect(check.code).toBe(1);
    const strictLines = (t: string) => t.split('\n').filter((l) => l.includes('strict mode')).map((l) => l.trim()).sort();
    expect(strictLines(check.stderr).length).toBeGreaterThan(0);
    expect(strictLines(check.stderr)).toEqual(strictLines(synth.stderr));
  }, 60_000);

  it('check writes nothing into the project', async () => {
    const before = fs.readdirSync(ROOT).sort();
    expect((await cli('check', '-c', 'mlplane:target=gcp')).code).toBe(0);
    expect(fs.readdirSync(ROOT).sort()).toEqual(before);
  }, 60_000);

  it('parses context given as JSON text, as the CDK CLI passes it', () => {
    expect(contextValue('{"project":"p","region":"europe-west4"}')).toEqual({ project: 'p', region: 'europe-west4' });
    expect(contextValue('["gcp","azure"]')).toEqual(['gcp', 'azure']);
    expect(contextValue('gcp')).toBe('gcp');
    expect(contextValue('{not json')).toBe('{not json');
    expect(contextValue(42)).toBe(42);
  });

  it('a settings object given as a string reaches the adapter', async () => {
    const gcp = JSON.stringify({ project: 'from-a-string', region: 'europe-west4', environments: { Churn: { region: 'us-central1' } } });
    const { problems, environments } = await analyzeApp({ context: { 'mlplane:target': 'gcp', 'mlplane:gcp': gcp } });
    expect(problems).toEqual([]);
    expect(JSON.stringify(environments[0]!.outputs[0]!.documents)).toContain('from-a-string');
  }, 60_000);

  it('fails if a problem shared by every environment is reported once per environment', async () => {
    const r = await cli('check', '-c', 'mlplane:target=gcp', '-c', 'mlplane:gcp={"region":"europe-west4"}');
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.includes('[mlplane:gcp'));
    expect(lines.length).toBeGreaterThan(0);
    expect(new Set(lines).size).toBe(lines.length);
  }, 60_000);

  it('fails if a mistyped --target is not a usage error (exit 2) with a suggestion', async () => {
    for (const verb of [['synth'], ['check'], ['ls'], ['graph', '--format', 'svg'], ['cost']]) {
      const r = await cli(...verb, '--target', 'azre');
      expect(r.code, verb.join(' ')).toBe(2);
      expect(r.stderr).toContain("unknown target 'azre'");
      expect(r.stderr).toContain("did you mean 'azure'?");
    }
  });
});

describe('cdk synth (the CDK CLI) runs the same app', () => {
  const cdk = path.join(ROOT, 'node_modules', '.bin', 'cdk');
  const env = { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: '1' };

  it('prints the warnings mlplane synth prints, and takes settings as JSON text', () => {
    const out = tmp();
    const settings = ['-c', 'mlplane:target=gcp', '-c', 'mlplane:gcp={"project":"json-text","region":"europe-west4","environments":{"Churn":{"region":"us-central1"}}}'];
    const r = spawnSync(cdk, ['synth', '--quiet', '-o', out, ...settings], { cwd: ROOT, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'Fraud.gcp', fs.readdirSync(path.join(out, 'Fraud.gcp')).find((f) => f.endsWith('.json'))!), 'utf8')).toContain('json-text');
    const viaMlplane = spawnSync(process.execPath, ['--import', 'tsx', 'bin/mlplane.ts', 'synth', '--out', tmp(), ...settings], { cwd: ROOT, env, encoding: 'utf8' });
    expect(warningLines(viaMlplane.stderr).length).toBeGreaterThan(0);
    expect(warningLines(r.stderr)).toEqual(warningLines(viaMlplane.stderr));
    // With only non-AWS targets, the CDK CLI shows where to deploy them.
    expect(r.stderr).toContain("deploy them with 'mlplane deploy --target gcp'");
  }, 120_000);
});

describe('--app names the app, as with the CDK CLI', () => {
  const soloApp = () => {
    const dir = tmp();
    const file = path.join(dir, 'app.ts');
    fs.writeFileSync(file, [
      `import { MlopsEnvironment, Stage } from ${JSON.stringify(path.join(ROOT, 'lib/index.ts'))};`,
      `import { runApp } from ${JSON.stringify(path.join(ROOT, 'bin/build.ts'))};`,
      `await runApp((app) => { new MlopsEnvironment(app, 'Solo', { stage: Stage.DEV }); });`,
      '',
    ].join('\n'));
    return file;
  };

  it('runs the app --app names instead of the one in cdk.json', async () => {
    const r = await cli('ls', '--json', '--target', 'gcp', '--app', `npx tsx ${soloApp()}`);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(r.stdout))).toContain('Solo');
    expect(r.stdout).not.toContain('Fraud');
  }, 60_000);

  it('fails if --app names an entry that does not exist, naming --app', async () => {
    const r = await cli('synth', '--out', tmp(), '--app', 'npx tsx bin/nope.ts');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[--app] the app\'s entry bin/nope.ts (from --app: "npx tsx bin/nope.ts") does not exist');
  });

  it('fails if a verb that builds from source is given an assembly directory (usage, exit 2)', async () => {
    const r = await cli('synth', '--app', tmp());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a directory (a cloud assembly); synth builds from source');
  });
});
