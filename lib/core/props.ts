import type { IConstruct } from 'constructs';
import { addProblem } from './errors';

/**
 * The known keys of a props interface, as an object with exactly its keys (each `true`).
 *
 * Declare the list next to the interface as `const FOO_KEYS: KnownKeys<FooProps> = { ... }`: a
 * key added to the interface but not to the list, or listed but not in the interface, is then a
 * compile error, so the run-time check and the types cannot drift apart.
 */
export type KnownKeys<T> = { readonly [K in keyof Required<T>]: true };

/**
 * Problems for every key of `props` that `known` does not list: the run-time twin of the types,
 * for JavaScript users and for apps run through tsx (which does not type-check).
 *
 * Each reads `unknown property 'conditon' in ContainerStepProps (known: ...); did you mean
 * 'condition'?`. `where` names a nested object (`deployments[0]`); `hints` give a fix for keys
 * that are known mistakes (a container step's `when`).
 */
export function unknownPropsProblems(propsName: string, props: unknown, known: object, where = '', hints: Readonly<Record<string, string>> = {}): string[] {
  if (typeof props !== 'object' || props === null || Array.isArray(props)) return [];
  const knownKeys = Object.keys(known).sort();
  const problems: string[] = [];
  for (const key of Object.keys(props)) {
    if (Object.hasOwn(known, key)) continue;
    const fix = Object.hasOwn(hints, key) ? hints[key] : suggestion(key, knownKeys);
    problems.push(`unknown property '${key}' in ${propsName}${where ? ` at ${where}` : ''} (known: ${knownKeys.join(', ')}); ${fix}`);
  }
  return problems;
}

/**
 * Record a problem on `scope` for every key of `props` that `known` does not list.
 *
 * @see unknownPropsProblems
 */
export function checkKnownProps<T>(scope: IConstruct, propsName: string, props: T | undefined, known: KnownKeys<T>, where = '', hints: Readonly<Record<string, string>> = {}): void {
  for (const p of unknownPropsProblems(propsName, props, known, where, hints)) addProblem(scope, p);
}

/** `did you mean '<closest>'?` when a known key is a likely misspelling of `key`, else the fix for an extra key. */
function suggestion(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  const allowed = key.length <= 2 ? 0 : key.length <= 4 ? 1 : key.length <= 8 ? 2 : 3;
  return best !== undefined && bestDistance <= allowed ? `did you mean '${best}'?` : 'remove it or check the spelling';
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
