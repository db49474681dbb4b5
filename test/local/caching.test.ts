/**
 * `mlplane run` keys the cache on the data (docs/caching.md): the Fraud nightly retrain through the
 * CLI, with the process executor on a copy of the shipped sample data, reuses its cached steps
 * while the data is unchanged and misses the cache once a row of the sample changes.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../adapters/local';

const root = path.resolve(__dirname, '../..');
const tsx = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-cache-data-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
fs.copyFileSync(path.join(root, 'cdk.json'), path.join(dir, 'cdk.json'));
fs.cpSync(path.join(root, 'examples'), path.join(dir, 'examples'), { recursive: true });
fs.symlinkSync(path.join(root, 'bin'), path.join(dir, 'bin'));
const sample = path.join(dir, 'examples/fraud/data/transactions.csv');

function run(): Promise<{ code: number | null; record: RunRecord; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, path.join(root, 'bin/mlplane.ts'), 'run', 'Fraud/Train', '--executor', 'process', '--json'], {
      cwd: dir,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', METADATA_SERVER_DETECTION: 'none' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, record: JSON.parse(stdout || '{"steps":[]}') as RunRecord, stderr }));
  });
}

const states = (r: RunRecord) => Object.fromEntries(r.steps.map((s) => [s.name, s.state]));

describe('mlplane run: the cache key follows the data', () => {
  it('reuses the cached steps while the sample is unchanged', async () => {
    expect((await run()).code).toBe(0);
    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    expect(states(second.record)).toMatchObject({ ValidateData: 'cached', BuildFeatures: 'cached', TrainModel: 'cached' });
  });

  it('misses the cache for ValidateData and everything it feeds after a row of the sample changes', async () => {
    const lines = fs.readFileSync(sample, 'utf8').split('\n');
    lines.splice(1, 1);
    fs.writeFileSync(sample, lines.join('\n'));
    const third = await run();
    expect(third.code, third.stderr).toBe(0);
    expect(states(third.record)).toMatchObject({ ValidateData: 'done', BuildFeatures: 'done', TrainModel: 'done' });
  });
});
