/**
 * Construct-id problems (duplicate, empty, not a string, containing '/') are reported as
 * `[path] message` with the fix, by the constructors and by both CLIs, without a stack trace.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Dataset, Field, MlopsEnvironment, ModelRegistry, Pipeline, Schema, ServingContainer, ValidationErrors } from '../../lib';
import { TestRoot } from '../support/examples';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const schema = Schema.of({ a: Field.string() });

function thrown(f: () => unknown): { path: string; message: string } {
  try {
    f();
  } catch (e) {
    if (!ValidationErrors.isValidationErrors(e)) throw e;
    expect(e.problems).toHaveLength(1);
    return e.problems[0] as { path: string; message: string };
  }
  throw new Error('nothing was thrown');
}

/** Run `node --import tsx <entry>` with `stacks/` replaced by the fixture `stacks`. */
async function runWith(stacks: string, entry: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', '--import', './test/names/fixtures/stacks-hook.mjs', entry, ...args], {
      cwd: root,
      env: { ...process.env, MLPLANE_TEST_STACKS: path.join(root, 'test/names/fixtures', stacks), CDK_DISABLE_VERSION_CHECK: '1', METADATA_SERVER_DETECTION: 'none', MLPLANE_DEBUG: '' },
      timeout: 25_000,
    });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
}

describe('construct ids in constructors', () => {
  it('fails if two datasets share an id, naming the path and the fix', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Bad');
    new Dataset(env, 'Tx', { schema });
    expect(thrown(() => new Dataset(env, 'Tx', { schema }))).toEqual({
      path: 'Bad/Tx',
      message: "is defined twice: a Dataset already has this path, and a Dataset was given the same id 'Tx'; ids must be unique within their parent ('Bad'): give the Dataset a different id",
    });
  });

  it('fails if two environments share an id', () => {
    const app = new TestRoot();
    new MlopsEnvironment(app, 'Bad');
    expect(thrown(() => new MlopsEnvironment(app, 'Bad'))).toMatchObject({ path: 'Bad', message: expect.stringMatching(/^is defined twice: .* give the environment a different id$/) });
  });

  it('fails if an id is empty', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Bad');
    expect(thrown(() => new Dataset(env, '', { schema }))).toEqual({ path: 'Bad', message: expect.stringMatching(/^Dataset id '' is empty; give every Dataset a non-empty id/) });
  });

  it('fails if an id is not a string, saying its type', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Bad');
    expect(thrown(() => new Dataset(env, 42 as unknown as string, { schema }))).toEqual({ path: 'Bad', message: expect.stringMatching(/^Dataset id 42 is a number, not a string; give the Dataset a string id/) });
  });

  it("fails if an id contains '/'", () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Bad');
    expect(thrown(() => new Dataset(env, 'a/b', { schema }))).toEqual({ path: 'Bad', message: expect.stringMatching(/^Dataset id 'a\/b' contains '\/', which separates construct paths/) });
  });

  it('fails if addStep and addModel reuse an id', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Bad');
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', { image: 'ghcr.io/acme/fit:1.0' });
    expect(thrown(() => p.addStep('Fit', { image: 'ghcr.io/acme/fit:1.0' }))).toMatchObject({ path: 'Bad/Train/Fit', message: expect.stringMatching(/^already has a step named 'Fit'; .*give one of the two steps a different id$/) });
    const registry = new ModelRegistry(env, 'Registry');
    registry.addModel('M', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0') });
    expect(thrown(() => registry.addModel('M', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0') }))).toMatchObject({ path: 'Bad/Registry/M' });
  });
});

describe('construct ids under the CLIs', () => {
  it('fails if cdk synth (bin/app.ts) meets a duplicate id, printing [path] message and no stack trace', async () => {
    const r = await runWith('duplicate-ids.ts', 'bin/app.ts');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[Bad/Tx] is defined twice: a Dataset already has this path, and a Dataset was given the same id 'Tx'");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('fails if mlplane synth meets an empty id, printing [path] message and no stack trace', async () => {
    const r = await runWith('empty-id.ts', 'bin/mlplane.ts', 'synth', '-t', 'azure', '-o', path.join(root, 'node_modules/.cache/h9-empty-id.out'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[Bad] Dataset id '' is empty; give every Dataset a non-empty id");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('fails if mlplane check meets a duplicate id of plain constructs, translating the constructs error', async () => {
    const r = await runWith('raw-duplicate.ts', 'bin/mlplane.ts', 'check');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[Bad/Group] is defined twice: two constructs in MlopsEnvironment 'Bad' have the id 'Group'");
    expect(r.stderr).not.toMatch(/\n\s+at |There is already a Construct/);
  }, 30_000);
});
