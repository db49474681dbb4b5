/**
 * The synthesized artifact is what gets deployed: loadArtifact reads cdk.out and refuses a
 * tampered file or a model of a newer schemaVersion, saying how to re-synthesize.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { digestOf, fromArtifact, loadArtifact, schemaProblem } from '../../bin/artifact';
import { buildApp } from '../../bin/build';
import { main } from '../../bin/mlplane';
import { Dataset, Field, MlopsEnvironment, Schema, ValidationErrors } from '../../lib';
import { MODEL_SCHEMA_VERSION } from '../../lib/model/types';

async function synthesize(): Promise<string> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-artifact-'));
  const { app } = await buildApp({
    outdir,
    context: { 'mlplane:target': 'gcp', 'mlplane:gcp': { project: 'proj-ml', region: 'europe-west4' } },
    define: (scope) => {
      const env = new MlopsEnvironment(scope, 'Fraud');
      new Dataset(env, 'Data', { schema: Schema.of({ a: Field.string() }) });
    },
  });
  app.synth();
  return outdir;
}

function refused(dir: string): { path: string; message: string }[] {
  try {
    loadArtifact(dir);
  } catch (e) {
    if (ValidationErrors.isValidationErrors(e)) return [...e.problems];
    throw e;
  }
  throw new Error('the artifact was accepted');
}

/** Rewrite a file and its recorded digest, as a newer mlplane would have written it. */
function rewriteRecorded(dir: string, file: string, content: string): void {
  fs.writeFileSync(path.join(dir, file), content);
  const manifestFile = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  for (const a of Object.values(manifest.artifacts) as Array<{ properties?: { mlplane?: { file?: string; digest?: string } } }>) {
    if (a.properties?.mlplane?.file === file) a.properties.mlplane.digest = digestOf(content);
  }
  fs.writeFileSync(manifestFile, JSON.stringify(manifest));
}

describe('loadArtifact', () => {
  it('reads the model and documents exactly as synthesized', async () => {
    const dir = await synthesize();
    const artifact = loadArtifact(dir);
    expect(artifact.map((e) => e.name)).toEqual(['Fraud']);
    const { model, documents } = fromArtifact(artifact, dir, 'Fraud', 'gcp');
    expect(model.schemaVersion).toBe(MODEL_SCHEMA_VERSION);
    expect(documents['manifest.json']).toMatchObject({ target: 'gcp', environment: 'Fraud' });
  }, 30_000);

  it('fails if the model was truncated after synth, saying how to re-synthesize', async () => {
    const dir = await synthesize();
    const file = path.join(dir, 'Fraud.model.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 100));
    expect(refused(dir)).toEqual([{ path: 'Fraud.model.json', message: expect.stringMatching(/^was changed after synth \(sha256:\w+ ≠ recorded sha256:\w+\): a truncated or hand-edited artifact is not deployed; re-synthesize with `mlplane synth -o /) }]);
  }, 30_000);

  it('fails if a document was hand-edited after synth', async () => {
    const dir = await synthesize();
    const file = path.join(dir, 'Fraud.gcp', 'manifest.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('europe-west4', 'us-central1'));
    expect(refused(dir)).toEqual([{ path: 'Fraud.gcp/manifest.json', message: expect.stringMatching(/^was changed after synth/) }]);
  }, 30_000);

  it('fails if the model has a newer schemaVersion', async () => {
    const dir = await synthesize();
    const model = JSON.parse(fs.readFileSync(path.join(dir, 'Fraud.model.json'), 'utf8'));
    rewriteRecorded(dir, 'Fraud.model.json', JSON.stringify({ ...model, schemaVersion: '1.99.0' }));
    expect(refused(dir)).toEqual([{ path: 'Fraud.model.json', message: expect.stringMatching(/^model schemaVersion '1\.99\.0' is newer than the 1\.\d+\.\d+ this mlplane reads; re-synthesize/) }]);
  }, 30_000);

  it('fails if no digest was recorded, or the directory is not an assembly', async () => {
    const dir = await synthesize();
    const manifestFile = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    for (const a of Object.values(manifest.artifacts) as Array<{ properties?: { mlplane?: { digest?: string } } }>) delete a.properties?.mlplane?.digest;
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    expect(refused(dir)).toContainEqual({ path: 'Fraud.model.json', message: expect.stringMatching(/^has no digest recorded at synth/) });
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-empty-'));
    expect(refused(empty)[0]?.message).toMatch(/^is not a cloud assembly \(no manifest\.json\)/);
  }, 30_000);

  it('accepts the same or an older minor schemaVersion only', () => {
    expect(schemaProblem(MODEL_SCHEMA_VERSION)).toBeUndefined();
    expect(schemaProblem('1.0.0')).toBeUndefined();
    expect(schemaProblem('2.0.0')).toMatch(/is newer than/);
    expect(schemaProblem('0.9.0')).toMatch(/is incompatible with/);
    expect(schemaProblem(undefined)).toMatch(/is not a version/);
  });
});

describe('mlplane deploy --app', () => {
  it('fails if the artifact was changed after synth, before any engine runs', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-app-'));
    const sink = () => {
      const stream = new PassThrough();
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      return { stream, text: () => Buffer.concat(chunks).toString() };
    };
    const synthOut = sink();
    expect(await main(['synth', '-t', 'gcp', '-o', out], synthOut.stream, synthOut.stream)).toBe(0);
    const model = path.join(out, 'Fraud.model.json');
    fs.writeFileSync(model, fs.readFileSync(model, 'utf8').replace('"prod"', '"dev"'));
    const stdout = sink();
    const stderr = sink();
    const code = await main(['deploy', '--app', out, '-t', 'gcp', '--require-approval', 'never'], stdout.stream, stderr.stream);
    expect(code).toBe(1);
    expect(stderr.text()).toContain('[Fraud.model.json] was changed after synth');
    expect(stdout.text()).toBe('');
  }, 50_000);
});
