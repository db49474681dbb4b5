import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { digestOf } from '../../bin/artifact';
import { buildApp, parseTargets, settingsFor } from '../../bin/build';
import { Dataset, Field, MlopsEnvironment, Schema, ValidationErrors } from '../../lib';
import { MODEL_SCHEMA_VERSION } from '../../lib/model/types';
import { cli } from '../support/cli';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');


function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-test-'));
}

describe('mlplane CLI', () => {
  it('--help loads no cloud SDK and not aws-cdk-lib', async () => {
    const trace = path.join(tmp(), 'imports.txt');
    fs.writeFileSync(trace, '');
    const { stdout } = await run(process.execPath, ['--import', path.join(root, 'test/support/trace-imports.mjs'), '--import', 'tsx', 'bin/mlplane.ts', '--help'], {
      cwd: root,
      env: { ...process.env, TRACE_IMPORTS_FILE: trace },
    });
    expect(stdout).toContain('Usage: mlplane <command>');
    const loaded = fs.readFileSync(trace, 'utf8');
    expect(loaded).toContain('bin/cli-args.ts');
    expect(loaded).not.toMatch(/@azure|@google-cloud|google-gax|aws-cdk-lib|bin\/build\.ts/);
  });

  it('exits 2 on an unknown command or option', async () => {
    expect((await cli('deploi')).code).toBe(2);
    const r = await cli('synth', '--frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--frobnicate'");
  });

  it('synth writes each model and registers it as an artifact of type none', async () => {
    const out = tmp();
    const r = await cli('synth', '--out', out, '--json', '-c', 'mlplane:target=all');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.environments.map((e: { name: string }) => e.name)).toEqual(['Churn', 'Fraud']);
    const model = JSON.parse(fs.readFileSync(path.join(out, 'Fraud.model.json'), 'utf8'));
    expect(model.environment.name).toBe('Fraud');
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    const artifact = manifest.artifacts['mlplane-Fraud-model'];
    expect(artifact.type).toBe('none');
    expect(artifact.properties).toEqual({ mlplane: { kind: 'model', environment: 'Fraud', file: 'Fraud.model.json', schemaVersion: MODEL_SCHEMA_VERSION, digest: digestOf(fs.readFileSync(path.join(out, 'Fraud.model.json'))) } });
    // The warnings synth printed are recorded in the assembly, under each construct path, as the CDK records annotations.
    const recorded = Object.entries(artifact.metadata as Record<string, Array<{ type: string; data: string }>>).flatMap(([p, entries]) => entries.map((e) => `warning [${p.slice(1)}] ${e.data.replace(/ \[(mlplane:[^\]]+)\]$/, ' ($1)')}`));
    const printed = (summary.warnings as Array<{ id: string; path: string; message: string }>).filter((w) => w.path.startsWith('Fraud')).map((w) => `warning [${w.path}] ${w.message} (${w.id})`);
    expect(printed.length).toBeGreaterThan(0);
    expect(recorded.sort()).toEqual(printed.sort());
  });

  it('synth is byte-deterministic', async () => {
    const [a, b] = [tmp(), tmp()];
    expect((await cli('synth', '--out', a, '--quiet')).code).toBe(0);
    expect((await cli('synth', '--out', b, '--quiet')).code).toBe(0);
    const files = (d: string) => fs.readdirSync(d, { recursive: true }).map(String).filter((f) => /\.(json|yaml|yml)$/.test(f) && !/^(manifest|tree|performance-counters|validation-report)\.json$|\.metadata\.json$/.test(f)).sort();
    expect(files(a)).toEqual(files(b));
    expect(files(a).length).toBeGreaterThan(1);
    for (const f of files(a)) expect(fs.readFileSync(path.join(b, f), 'utf8'), f).toBe(fs.readFileSync(path.join(a, f), 'utf8'));
  });

  it('fails with a clear error on an unknown target', async () => {
    const r = await cli('synth', '--out', tmp(), '-c', 'mlplane:target=oracle');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[mlplane:target\] unknown target 'oracle'; set context mlplane:target to one of/);
  });

  it('check prints the capability matrix and exits 0 for the examples', async () => {
    const r = await cli('check', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.matrix.find((m: { feature: string }) => m.feature === 'endpoint.trafficSplit').usedBy).toEqual(['Fraud/Scoring']);
  });

  it('graph writes Mermaid and DOT for each environment and pipeline', async () => {
    const out = tmp();
    const r = await cli('graph', '--out', out, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).files.map((f: string) => path.basename(f)).sort()).toEqual([
      'Churn.Train.dot', 'Churn.Train.mmd', 'Churn.dot', 'Churn.mmd', 'Fraud.Train.dot', 'Fraud.Train.mmd', 'Fraud.dot', 'Fraud.mmd',
    ]);
    const dag = fs.readFileSync(path.join(out, 'Fraud.Train.mmd'), 'utf8');
    expect(dag).toMatch(/^flowchart TD/);
    expect(dag).toContain('n_TrainModel -->|"model"| n_Register');
    expect(fs.readFileSync(path.join(out, 'Fraud.Train.dot'), 'utf8')).toContain('"BuildFeatures" -> "TrainModel" [label="features"];');
  });
});

describe('app build', () => {
  it('fails if the app is invalid, and writes no artifact', async () => {
    const out = tmp();
    const define = (scope: import('constructs').Construct) => {
      const env = new MlopsEnvironment(scope, 'Bad');
      new Dataset(env, 'Data', { schema: Schema.of({ 'no spaces allowed': Field.string() }) });
    };
    await expect(buildApp({ outdir: out, define, context: { 'mlplane:target': 'all' } })).rejects.toSatisfy((e: unknown) =>
      ValidationErrors.isValidationErrors(e) && e.problems.some((p) => p.path === 'Bad/Data' && /schema field 'no spaces allowed'/.test(p.message)));
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('parses targets as a name, a list, a comma-separated string or all', () => {
    expect(parseTargets(undefined).problems[0].message).toMatch(/^no target is selected/);
    expect(parseTargets(['nope']).problems[0]).toMatchObject({ path: 'mlplane:target', message: expect.stringMatching(/^unknown target 'nope'/) });
    expect(parseTargets(42).problems[0].message).toMatch(/^value 42 is not a target name or list/);
  });

  it('lays per-environment settings over the shared ones', () => {
    const ctx = (k: string) => (k === 'mlplane:gcp' ? { project: 'p', region: 'europe-west4', environments: { Churn: { region: 'us-central1' } } } : undefined);
    expect(settingsFor(ctx, 'gcp', 'Churn')).toEqual({ project: 'p', region: 'us-central1' });
    expect(settingsFor(ctx, 'gcp', 'Fraud')).toEqual({ project: 'p', region: 'europe-west4' });
  });

  it('npx cdk synth runs the app offline and writes both models', async () => {
    const out = tmp();
    const { stderr } = await run(path.join(root, 'node_modules/.bin/cdk'), ['synth', '--quiet', '--output', out], {
      cwd: root,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: '1' },
    });
    expect(stderr).not.toMatch(/error/i);
    expect(fs.existsSync(path.join(out, 'Fraud.model.json'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'Churn.model.json'))).toBe(true);
  });
});
