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
 * Record a problem on a construct; it is reported with every other problem when the tree is
 * validated. `undefined` (a check that found nothing, such as `wholeNumberProblem`) records nothing.
 */
export function addProblem(scope: IConstruct, message: string | undefined): void {
  if (message === undefined) return;
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

/**
 * `id`, checked before it is added under `scope`: a string, not empty, without the path
 * separator `/`, and not the id of a sibling. Call it in the `super(...)` arguments of a
 * constructor (`super(scope, checkedId(scope, id, new.target.name))`), so a bad id is reported
 * as `[parent/path] message` with the fix instead of the constructs library's bare error.
 *
 * @throws ValidationError at the parent's path.
 */
export function checkedId(scope: IConstruct, id: unknown, what: string): string {
  const where = scope.node.path || '/';
  if (typeof id !== 'string') {
    throw new ValidationError(`${what} id ${show(id)} is ${typeName(id)}, not a string; give the ${what} a string id such as 'Transactions'`, where);
  }
  if (id.trim() === '') {
    throw new ValidationError(`${what} id ${show(id)} is empty; give every ${what} a non-empty id such as 'Transactions' (ids are part of construct paths and resource names)`, where);
  }
  if (id.includes('/')) {
    throw new ValidationError(`${what} id ${show(id)} contains '/', which separates construct paths; use '-' or nest the construct under another one`, where);
  }
  const existing = scope.node.tryFindChild(id);
  if (existing) {
    throw new ValidationError(
      `is defined twice: a ${existing.constructor.name} already has this path, and a ${what} was given the same id ${show(id)}; ids must be unique within their parent ('${where}'): give the ${what} a different id`,
      existing.node.path,
    );
  }
  return id;
}

/** Describe the JavaScript type of a value for messages: `a string`, `a number`, `an array`, `null`. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  const t = typeof value;
  return t === 'object' ? 'an object' : `a ${t}`;
}

/**
 * The `[path] message` form of an error the constructs library throws when an id is added (a
 * duplicate or empty id under a construct mlplane does not check itself), or `undefined` for any
 * other error. Used where the CLIs print errors, so no stack trace is shown for a definition problem.
 */
export function constructIdProblem(e: unknown): ValidationErrors | undefined {
  if (!(e instanceof Error)) return undefined;
  const dup = /^There is already a Construct with name '(.*)' in (\S+)(?: \[(.*)\])?$/.exec(e.message);
  if (dup) {
    const parent = dup[3] ?? '';
    return new ValidationErrors([{ path: parent ? `${parent}/${dup[1]}` : (dup[1] as string), message: `is defined twice: two constructs in ${dup[2]} '${parent || '/'}' have the id '${dup[1]}'; ids must be unique within their parent: give one of the two a different id` }]);
  }
  if (e.message === 'Only root constructs may have an empty ID') {
    return new ValidationErrors([{ path: '/', message: `a construct has an empty id; give every construct a non-empty id such as 'Transactions' (ids are part of construct paths and resource names)` }]);
  }
  return undefined;
}

/**
 * Why `value` is not a whole number in `[min, max]`, or `undefined` when it is. The message names
 * the value, its type when it is not a number, the rule and a fix:
 * `maxNodes '4' is a string, not a number; give a whole number between 1 and 1000 without quotes, e.g. 4`.
 *
 * @param fix - what to do instead, when more useful than the nearest allowed value.
 */
export function wholeNumberProblem(name: string, value: unknown, min: number, max: number, fix?: string): string | undefined {
  const rule = max === Infinity ? `a whole number ≥ ${min}` : `a whole number between ${min} and ${max}`;
  if (typeof value !== 'number') {
    const asNumber = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    const example = Number.isInteger(asNumber) && asNumber >= min && asNumber <= max ? `${asNumber} without quotes` : String(min);
    return `${name} ${show(value)} is ${typeName(value)}, not a number; give ${rule}, e.g. ${example}`;
  }
  if (!Number.isFinite(value)) return `${name} ${show(value)} is not a finite number; give ${rule}${fix ? `; ${fix}` : `, e.g. ${max === Infinity ? min : max}`}`;
  if (!Number.isInteger(value)) return `${name} ${value} is not a whole number; give ${rule}, e.g. ${Math.min(max, Math.max(min, Math.round(value)))}`;
  if (value < min) return `${name} ${value} is below ${min}; give ${rule}${fix ? `; ${fix}` : `, e.g. ${min}`}`;
  if (value > max) return `${name} ${value} is above ${max}; give ${rule}${fix ? `; ${fix}` : `, e.g. ${max}`}`;
  return undefined;
}

/**
 * Why a duration of `seconds` is not whole seconds in `[minSeconds, maxSeconds]`, or `undefined`.
 * `shown` is the duration as the user wrote it (`-2 hours`).
 */
export function durationProblem(name: string, shown: string, seconds: number, minSeconds: number, maxSeconds: number, allowed: string, example: string): string | undefined {
  if (Number.isNaN(seconds)) return `${name} ${shown} is not a number of seconds; give a duration between ${allowed}, e.g. ${example}`;
  if (seconds < 0) return `${name} ${shown} is negative; give a duration between ${allowed}, e.g. ${example}`;
  if (seconds < minSeconds) return `${name} ${shown} is shorter than the minimum; give a duration between ${allowed}, e.g. ${example}`;
  if (seconds > maxSeconds) return `${name} ${shown} is longer than the maximum; give a duration between ${allowed}, e.g. ${example}`;
  if (!Number.isInteger(seconds)) return `${name} ${shown} is not whole seconds; give a duration between ${allowed} in whole seconds, e.g. ${example}`;
  return undefined;
}
