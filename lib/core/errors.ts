import type { IConstruct } from 'constructs';

const BRAND = Symbol.for('mlplane.ValidationErrors');

/** One problem found in a definition: where, and what is wrong. */
export interface Problem {
  /** Construct path (`Fraud/Scoring`), or the context key for configuration problems. */
  readonly path: string;
  /** What is wrong: the value given, what is allowed, and the fix. */
  readonly message: string;
}

/** Format a problem the way every mlplane message reads: `[path] message`. */
export function formatProblem(problem: Problem): string {
  return `[${problem.path}] ${problem.message}`;
}

/**
 * Every problem found in a definition, thrown once.
 *
 * Validation collects all problems of the whole tree before throwing, so a user sees everything
 * that is wrong in one run. The message lists each problem as `[path] message`.
 */
export class ValidationErrors extends Error {
  /** Whether `x` is a `ValidationErrors` (works across module copies). */
  public static isValidationErrors(x: unknown): x is ValidationErrors {
    return typeof x === 'object' && x !== null && (x as { [BRAND]?: boolean })[BRAND] === true;
  }

  public readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[], heading = 'Validation failed') {
    const sorted = [...problems].sort((a, b) => (a.path === b.path ? 0 : a.path < b.path ? -1 : 1));
    super(`${heading} with ${sorted.length} problem${sorted.length === 1 ? '' : 's'}:\n${sorted.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    this.name = 'ValidationErrors';
    this.problems = sorted;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * A single problem raised where the construct is known (a prop that cannot be used at all).
 *
 * Prefer recording problems with `addProblem` so that all are reported together; throw this only
 * when going on would make no sense.
 */
export class ValidationError extends ValidationErrors {
  constructor(message: string, scope: IConstruct | string) {
    super([{ path: typeof scope === 'string' ? scope : scope.node.path, message }]);
    this.name = 'ValidationError';
  }
}

/**
 * Record a problem on a construct; it is reported with every other problem when the tree is validated.
 */
export function addProblem(scope: IConstruct, message: string): void {
  scope.node.addValidation({ validate: () => [message] });
}

/** Render a value the way error messages quote it. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
