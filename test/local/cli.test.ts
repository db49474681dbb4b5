/**
 * `mlplane run` through the CLI on the example pipelines, with the process executor and the
 * example scripts (Python 3 standard library) on the shipped sample data, in a temporary app
 * directory holding the repo's cdk.json and links to bin/ (the app entry) and examples/.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { detectContainerEngine, type RunRecord } from '../../adapters/local';
import { main } from '../../bin/mlplane';

const root = path.resolve(__dirname, '../..');
const tsx = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function exampleApp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-cli-run-'));
  made.push(dir);
  fs.copyFileSync(path.join(root, 'cdk.json'), path.join(dir, 'cdk.json'));
  fs.symlinkSync(path.join(root, 'examples'), path.join(dir, 'examples'));
  fs.symlinkSync(path.join(root, 'bin'), path.join(dir, 'bin'));
  return dir;
}

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawn the CLI in `dir`; `onStderr` sees stderr as it grows and may signal the child. */
function mlplane(dir: string, args: string[], onStderr?: (all: string, child: ReturnType<typeof spawn>) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, path.join(root, 'bin/mlplane.ts'), ...args], {
      cwd: dir,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', METADATA_SERVER_DETECTION: 'none' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => {
      stderr += c;
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const byName = (r: RunRecord) => Object.fromEntries(r.steps.map((s) => [s.name, s]));

describe('mlplane run Fraud/Train (process executor, offline)', () => {
  const dir = exampleApp();

  it('trains, evaluates and registers the example model; the first version becomes champion', async () => {
    const r = await mlplane(dir, ['run', 'Fraud/Train', '--executor', 'process', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    const steps = byName(record);
    expect(record.status).toBe('succeeded');
    expect(Object.values(steps).map((s) => s.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(record.parameters).toEqual({ learningRate: '0.05', trainingWindowDays: '90' });
    expect(steps.Evaluate.metrics?.metrics.auc).toBeGreaterThan(0.7);
    expect(steps.Register.registration).toMatchObject({ model: 'fraud', version: 1, promotedTo: 'champion', gate: { outcome: 'promote' } });
    expect(r.stderr).toMatch(/TrainModel\s+done/);
    expect(fs.existsSync(path.join(dir, '.mlplane', 'registry', 'Fraud', 'Registry', 'fraud', 'versions', '1', 'model', 'model.json'))).toBe(true);
  });

  it('a second run takes the unchanged steps from the cache and the gate keeps the champion', async () => {
    const r = await mlplane(dir, ['run', 'Fraud/Train', '--executor', 'process', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const steps = byName(JSON.parse(r.stdout) as RunRecord);
    expect(Object.fromEntries(Object.entries(steps).map(([n, s]) => [n, s.state]))).toEqual({ ValidateData: 'cached', BuildFeatures: 'cached', TrainModel: 'cached', Evaluate: 'done', Register: 'done' });
    expect(steps.Register.registration).toMatchObject({ version: 2, previous: 1, gate: { outcome: 'keep' } });
    expect(steps.Register.registration?.promotedTo).toBeUndefined();
  });

  it('Ctrl-C stops the running step and leaves a resumable run; --resume re-uses the completed steps and finishes it', async () => {
    let sent = false;
    const stopped = await mlplane(dir, ['run', 'Fraud/Train', '--executor', 'process', '--param', 'learningRate=0.01', '--json'], (err, child) => {
      if (!sent && /TrainModel\s+running/.test(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(stopped.code, stopped.stderr).toBe(1);
    const m = /mlplane: run interrupted; resume it with: mlplane run --resume (\S+)\n/.exec(stopped.stderr);
    expect(m, stopped.stderr).not.toBeNull();
    const interrupted = JSON.parse(stopped.stdout) as RunRecord;
    expect(interrupted.status).toBe('interrupted');
    expect(Object.fromEntries(interrupted.steps.map((s) => [s.name, s.state]))).toEqual({ ValidateData: 'cached', BuildFeatures: 'cached', TrainModel: 'interrupted', Evaluate: 'not-run', Register: 'not-run' });

    const resumed = await mlplane(dir, ['run', '--resume', m![1], '--executor', 'process', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const record = JSON.parse(resumed.stdout) as RunRecord;
    expect(record.runId).toBe(m![1]);
    expect(record.parameters.learningRate).toBe('0.01');
    expect(Object.fromEntries(record.steps.map((s) => [s.name, s.state]))).toEqual({ ValidateData: 'reused', BuildFeatures: 'reused', TrainModel: 'done', Evaluate: 'done', Register: 'done' });
    expect(byName(record).Register.registration).toMatchObject({ version: 3, gate: { outcome: 'keep' } });
  });
});

describe('mlplane run: failures through the CLI', () => {
  it('fails if a step keeps failing: retried per its policy, exit 1 naming the step and its log', async () => {
    const dir = exampleApp();
    fs.writeFileSync(path.join(dir, 'bad.csv'), 'customerId,snapshotDate,tenureMonths,monthlyCharges,totalCharges,contractType,paymentMethod,supportTickets,lastLogin,churned\nc1,not-a-date,1,2,3,one-year,card,0,2026-11-01T00:00:00Z,false\n');
    const r = await mlplane(dir, ['run', 'Churn/Train', '--executor', 'process', '--data', 'Customers=bad.csv']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Prepare\s+retried \(attempt 1\)/);
    const m = /mlplane: step Prepare failed: exit code 1 \(after 2 attempts\); log: (\.mlplane\/runs\/[^/]+\/steps\/Prepare\/attempt-2\.log)\n/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(fs.readFileSync(path.join(dir, m![1]), 'utf8')).toContain("time data 'not-a-date' does not match format");
    expect(r.stdout).toMatch(/Fit\s+not-run: upstream step 'Prepare' failed/);
  });
});

describe('mlplane run: refusals before anything runs', () => {
  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const out = new PassThrough();
    const err = new PassThrough();
    let stdout = '';
    let stderr = '';
    out.on('data', (c) => (stdout += c));
    err.on('data', (c) => (stderr += c));
    const code = await main(argv, out, err);
    return { code, stdout, stderr };
  }

  it('fails if the local data of a dataset does not exist, naming the dataset and the flag', async () => {
    const r = await cli('run', 'Fraud/Train', '--executor', 'process', '--data', 'Transactions=missing.csv');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[Fraud/Transactions] local data 'missing.csv' for dataset 'Transactions' does not exist; pass --data Transactions=<an existing file or directory>");
  });

  it('fails if a batch inference is run: not supported locally yet, saying what to run instead', async () => {
    const r = await cli('run', 'Churn/WeeklyScoring');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[Churn/WeeklyScoring] is a batch inference; running batch inference locally is not supported yet');
    expect(r.stderr).toContain('run a pipeline (Churn/Train)');
  });

  it('fails if --executor container finds no engine, naming the alternative', async () => {
    // No engine answers on the test machines; where one does, this refusal cannot happen.
    if (detectContainerEngine() !== undefined) return;
    const r = await cli('run', 'Fraud/Train', '--executor', 'container');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--executor container needs docker or podman');
    expect(r.stderr).toContain('--executor process');
  });

  it('exits 2 on a missing or malformed target and on an unknown executor', async () => {
    expect((await cli('run')).code).toBe(2);
    expect((await cli('run', 'Fraud')).stderr).toContain("run needs <Environment>/<Pipeline>, e.g. mlplane run Fraud/Train (got 'Fraud')");
    expect((await cli('run', 'Fraud/Train', '--executor', 'vm')).stderr).toContain("--executor 'vm' is not allowed; use process or container");
  });
});
