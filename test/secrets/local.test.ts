import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { containerArgv, planRun, processExecutor, runPipeline, type StepIo } from '../../adapters/local';
import { Output, Pipeline, Secret, renderEnvironment, type EnvironmentModel } from '../../lib';
import { newEnv } from '../support/fixtures';

const VALUE = 'local-sentinel-93ad';

/** `Tt/P`: one step that writes the length of its secret env, never the value. */
function model(): EnvironmentModel {
  const env = newEnv('Tt');
  const secret = new Secret(env, 'DbPassword');
  new Pipeline(env, 'P').addStep('S', {
    image: 'ghcr.io/acme/s:1.0',
    command: ['sh', '-c', 'mkdir -p "$1" && printf %s "${#DB_PASSWORD}" > "$1/len"', 'sh', '{{outputs.out}}'],
    outputs: { out: Output.artifact() },
    env: { DB_PASSWORD: secret },
    caching: false,
  });
  return renderEnvironment(env);
}

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function run(dir: string, env: Record<string, string>) {
  const m = model();
  const { plan, problems } = planRun({ environment: m, target: 'Tt/P', exists: () => true, secrets: { env, appDir: dir } });
  if (!plan) return { problems };
  const saved = process.env.MLPLANE_SECRET_DB_PASSWORD;
  if (env.MLPLANE_SECRET_DB_PASSWORD !== undefined) process.env.MLPLANE_SECRET_DB_PASSWORD = env.MLPLANE_SECRET_DB_PASSWORD;
  try {
    const record = await runPipeline({ environment: m, plan, appDir: dir, executor: processExecutor(), cache: false });
    return { problems, record };
  } finally {
    if (saved === undefined) delete process.env.MLPLANE_SECRET_DB_PASSWORD;
    else process.env.MLPLANE_SECRET_DB_PASSWORD = saved;
  }
}

describe('mlplane run with secrets', () => {
  it('passes the value from MLPLANE_SECRET_<NAME> to the step, and no run file holds it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-secret-run-'));
    dirs.push(dir);
    const { record } = await run(dir, { MLPLANE_SECRET_DB_PASSWORD: VALUE });
    expect(record?.status).toBe('succeeded');
    const all = files(path.join(dir, '.mlplane'));
    const len = all.find((f) => path.basename(f) === 'len');
    expect(len && fs.readFileSync(len, 'utf8')).toBe(String(VALUE.length));
    for (const f of all) expect(fs.readFileSync(f, 'utf8').includes(VALUE), `${f} holds the secret`).toBe(false);
  });

  it('reads .mlplane/secrets/<name> when the variable is unset (a trailing newline is dropped)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-secret-run-'));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, '.mlplane', 'secrets'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.mlplane', 'secrets', 'db-password'), `${VALUE}\n`);
    const saved = process.env.MLPLANE_SECRET_DB_PASSWORD;
    delete process.env.MLPLANE_SECRET_DB_PASSWORD;
    try {
      const { record } = await run(dir, {});
      expect(record?.status).toBe('succeeded');
      const len = files(path.join(dir, '.mlplane', 'runs')).find((f) => path.basename(f) === 'len');
      expect(len && fs.readFileSync(len, 'utf8')).toBe(String(VALUE.length));
    } finally {
      if (saved !== undefined) process.env.MLPLANE_SECRET_DB_PASSWORD = saved;
    }
  });

  it('the container executor names a secret env without its value (the engine copies it from its own environment)', () => {
    const m = model();
    const pipeline = m.resources.find((r) => r.kind === 'pipeline');
    const step = pipeline?.kind === 'pipeline' ? pipeline.steps[0] : undefined;
    if (step?.kind !== 'container') throw new Error('no step');
    const io: StepIo = { inputs: {}, outputs: { out: { kind: 'artifact', dir: '/runs/r/steps/S/outputs/out' } }, params: {}, paramsDir: '/runs/r/steps/S/params' };
    const { argv } = containerArgv(step, io, { name: 'n' });
    expect(argv.slice(argv.indexOf('--env'), argv.indexOf('--entrypoint'))).toEqual(['--env', 'DB_PASSWORD']);
  });

  it('fails if a secret has no local value, naming the variable and the file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-secret-run-'));
    dirs.push(dir);
    const { problems, record } = await run(dir, {});
    expect(record).toBeUndefined();
    expect(problems).toEqual([
      {
        path: 'Tt/P/S',
        message: `env DB_PASSWORD reads Secret 'Tt/DbPassword' ('db-password'), which has no local value: mlplane run reads it from the environment variable MLPLANE_SECRET_DB_PASSWORD or the file ${path.join('.mlplane', 'secrets', 'db-password')}; set one of them (keep the file out of version control)`,
      },
    ]);
  });
});
