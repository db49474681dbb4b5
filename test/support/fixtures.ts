import { expect } from 'vitest';
import {
  Dataset, Field, MlopsEnvironment, ModelRegistry, Output, Pipeline, Schema, ServingContainer, ValidationErrors, renderEnvironment, validateTree,
  type MlopsEnvironmentProps, type Problem,
} from '../../lib';
import { TestRoot } from './examples';

/** A fresh environment under a bare root. */
export function newEnv(id = 'Test', props: MlopsEnvironmentProps = {}): MlopsEnvironment {
  return new MlopsEnvironment(new TestRoot(), id, props);
}

/** A small valid dataset. */
export function smallDataset(env: MlopsEnvironment, id = 'Data'): Dataset {
  return new Dataset(env, id, {
    schema: Schema.of({ id: Field.string({ nullable: false }), amount: Field.float(), category: Field.string(), ts: Field.timestamp(), tags: Field.array(Field.string()) }),
  });
}

/** A registry with one model `m` (aliases champion, challenger). */
export function smallRegistry(env: MlopsEnvironment) {
  const registry = new ModelRegistry(env, 'Registry');
  const model = registry.addModel('M', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0'), aliases: ['champion', 'challenger'] });
  return { registry, model };
}

/** A valid one-step pipeline reading `data`. */
export function smallPipeline(env: MlopsEnvironment, data: Dataset, id = 'Train'): Pipeline {
  const p = new Pipeline(env, id);
  p.addStep('Fit', { image: 'ghcr.io/acme/fit:1.0', inputs: { data }, outputs: { model: Output.model() } });
  return p;
}

/** Every problem of the tree under `env`'s root. */
export function problemsOf(env: MlopsEnvironment): Problem[] {
  return validateTree(env.node.root);
}

/**
 * Assert that validating `env` reports exactly one problem, at `path`, whose message matches
 * `message`, and that rendering the environment throws naming that path. An extra problem, anywhere
 * in the tree, fails the assertion: use `expectProblems` when a definition has several.
 */
export function expectProblem(env: MlopsEnvironment, path: string, message: RegExp): void {
  expectProblems(env, [[path, message]]);
}

/**
 * Assert that validating `env` reports exactly these problems (path and message pattern), in this
 * order, and that rendering the environment throws naming every path.
 */
export function expectProblems(env: MlopsEnvironment, expected: readonly (readonly [path: string, message: RegExp])[]): void {
  const problems = problemsOf(env);
  expect(problems.map((p) => ({ path: p.path, message: p.message })), `problems: ${JSON.stringify(problems, null, 2)}`).toEqual(
    expected.map(([path, message]) => ({ path, message: expect.stringMatching(message) })),
  );
  let thrown: unknown;
  try {
    renderEnvironment(env);
  } catch (e) {
    thrown = e;
  }
  expect(ValidationErrors.isValidationErrors(thrown)).toBe(true);
  for (const [path] of expected) expect((thrown as Error).message).toContain(`[${path}]`);
}
