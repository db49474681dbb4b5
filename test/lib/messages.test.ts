/**
 * Every message names the value given, its type when the type is wrong, the rule and a fix.
 */
import { describe, expect, it } from 'vitest';
import { ComputePool, Duration, ModelRegistry, OnlineEndpoint, Pipeline, ServingContainer, ValidationErrors, wholeNumberProblem } from '../../lib';
import { problemsOf, newEnv } from '../support/fixtures';

function messagesAt(env: ReturnType<typeof newEnv>, path: string): string[] {
  return problemsOf(env).filter((p) => p.path === path).map((p) => p.message);
}

describe('whole numbers', () => {
  it('fails if maxNodes is a string, saying it is a string', () => {
    const env = newEnv('Bad');
    new ComputePool(env, 'Cpu', { maxNodes: '4' as unknown as number });
    expect(messagesAt(env, 'Bad/Cpu')).toEqual(["maxNodes '4' is a string, not a number; give a whole number between 1 and 1000, e.g. 4 without quotes"]);
  });

  it('fails if maxNodes is 0 or Infinity, saying why and what to give', () => {
    const env = newEnv('Bad');
    new ComputePool(env, 'Zero', { maxNodes: 0 });
    new ComputePool(env, 'Inf', { maxNodes: Infinity });
    expect(messagesAt(env, 'Bad/Zero')).toEqual(['maxNodes 0 is below 1; give a whole number between 1 and 1000, e.g. 1']);
    expect(messagesAt(env, 'Bad/Inf')).toEqual(['maxNodes Infinity is not a finite number; give a whole number between 1 and 1000, e.g. 1000']);
  });

  it('fails if a count is fractional, null or an array', () => {
    expect(wholeNumberProblem('retries', 2.5, 0, 10)).toBe('retries 2.5 is not a whole number; give a whole number between 0 and 10, e.g. 3');
    expect(wholeNumberProblem('retries', null, 0, 10)).toBe('retries null is null, not a number; give a whole number between 0 and 10, e.g. 0');
    expect(wholeNumberProblem('retries', [1], 0, 10)).toBe('retries [1] is an array, not a number; give a whole number between 0 and 10, e.g. 0');
    expect(wholeNumberProblem('retries', 3, 0, 10)).toBeUndefined();
  });

  it('fails if minReplicas is 0, saying endpoints do not scale to zero', () => {
    const env = newEnv('Bad');
    const registry = new ModelRegistry(env, 'Registry');
    const m = registry.addModel('M', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0'), aliases: ['champion'] });
    new OnlineEndpoint(env, 'Ep', { deployments: [{ name: 'blue', model: m.alias('champion'), minReplicas: 0 }] });
    expect(problemsOf(env).map((p) => p.message)).toContainEqual(expect.stringMatching(/minReplicas 0 is below 1; give a whole number ≥ 1; online endpoints do not scale to zero: use 1$/));
  });
});

describe('durations', () => {
  it('fails if a step timeout is negative, saying so', () => {
    const env = newEnv('Bad');
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', { image: 'ghcr.io/acme/fit:1.0', timeout: Duration.hours(-2) });
    expect(messagesAt(env, 'Bad/Train/Fit')).toEqual(['timeout -2 hours is negative; give a duration between 1 minute and 7 days, e.g. Duration.hours(2)']);
  });

  it('fails if a step timeout is too long', () => {
    const env = newEnv('Bad');
    const p = new Pipeline(env, 'Train');
    p.addStep('Fit', { image: 'ghcr.io/acme/fit:1.0', timeout: Duration.days(8) });
    expect(messagesAt(env, 'Bad/Train/Fit')).toEqual(['timeout 8 days is longer than the maximum; give a duration between 1 minute and 7 days, e.g. Duration.hours(2)']);
  });
});

describe('models', () => {
  it("fails if model version '0' is referenced, saying versions start at 1", () => {
    const env = newEnv('Bad');
    const registry = new ModelRegistry(env, 'Registry');
    const m = registry.addModel('M', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0') });
    new OnlineEndpoint(env, 'Ep', { deployments: [{ name: 'blue', model: m.version('0') }] });
    expect(problemsOf(env).map((p) => p.message)).toContainEqual(expect.stringMatching(/^deployment 'blue': model version '0' of model 'm' is not a version number \(versions start at 1\); give a positive whole number such as '1', or reference an alias/));
  });

  it('fails if alias names a model of another registry, naming that registry', () => {
    const env = newEnv('Bad');
    const registry = new ModelRegistry(env, 'Registry');
    const other = new ModelRegistry(env, 'Other');
    other.addModel('fraud', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0') });
    let thrown: unknown;
    try {
      registry.alias('fraud', 'champion');
    } catch (e) {
      thrown = e;
    }
    expect(ValidationErrors.isValidationErrors(thrown)).toBe(true);
    expect((thrown as ValidationErrors).problems).toEqual([{
      path: 'Bad/Registry',
      message: "has no model 'fraud' (models: none); model 'fraud' is defined in registry 'Bad/Other': call alias on that registry (or on the model addModel returned)",
    }]);
  });
});
