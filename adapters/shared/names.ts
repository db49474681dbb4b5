/**
 * What every target's naming shares: a registry of derived names that finds collisions, and the
 * one way a too-long name is shortened.
 *
 * Each adapter derives physical names, prefixes and labels from construct paths and sanitises them
 * to its provider's rules (lowercase, allowed characters, length). Two different constructs can
 * end up with the same derived value (`Score_A` and `Score-A` → `score-a`; environments `Myenv`
 * and `MYENV` → workspace `myenv`). Each adapter claims every derived value with its scope, and
 * the claims are checked once: within one environment by the adapter's synth, across the
 * environments of an app by the build (`bin/build.ts`), which sees every environment's claims.
 */
import type { NameClaim } from '../../lib/adapter';
import type { Problem } from '../../lib/core/errors';
import type { EnvironmentInfo } from '../../lib/model/types';

export type { NameClaim } from '../../lib/adapter';

/**
 * The environment's name in what the stages of one definition share (aws: stacks, Glue database,
 * metric namespace; azure: the ARM deployment, custom role names): `<Env>-<stage>` when the
 * definition declares its stages, so the stages may share an account, region or resource group;
 * `<Env>` for a single-stage environment, whose deployed names must not change.
 */
export function stagedEnvironmentName(env: Pick<EnvironmentInfo, 'name' | 'stage' | 'stages'>): string {
  return env.stages ? `${env.name}-${env.stage}` : env.name;
}

/**
 * Problems for every derived name two different constructs would share in the same scope.
 *
 * A construct that claims the same name twice (the same resource named in two places) is not a
 * collision. Each collision is reported once, at the first path, naming both paths, the derived
 * name and the fix.
 */
export function nameCollisions(target: string, claims: readonly NameClaim[]): Problem[] {
  const owners = new Map<string, NameClaim>();
  const problems: Problem[] = [];
  const reported = new Set<string>();
  for (const claim of claims) {
    const key = `${claim.scope}\0${claim.what}\0${claim.ignoreCase ? claim.name.toLowerCase() : claim.name}`;
    const owner = owners.get(key);
    if (owner === undefined) {
      owners.set(key, claim);
      continue;
    }
    if (owner.path === claim.path) continue;
    const [first, second] = [owner.path, claim.path].sort();
    const once = `${key}\0${first}\0${second}`;
    if (reported.has(once)) continue;
    reported.add(once);
    problems.push({
      path: first as string,
      message:
        `'${first}' and '${second}' both become ${target} ${claim.what} '${claim.name}' (${describeScope(claim.scope)}); ` +
        `${target} sanitises names (case, characters, length), so both would use the same one: rename one of the two constructs so their ids differ in more than case or punctuation`,
    });
  }
  return problems;
}

function describeScope(scope: string): string {
  return `in ${scope}`;
}

/**
 * Shorten `name` to at most `max` characters by cutting out its middle, so the start (the resource
 * type prefix and the environment) and the end (the construct's own id) both survive; `suffix`
 * (a hash of the full original, keeping shortened names distinct) is appended.
 *
 * `name` is returned unchanged when it fits with its suffix. `separator` characters at the cut are
 * dropped, so the result never shows two in a row.
 */
export function shortenMiddle(name: string, max: number, suffix = '', separator = ''): string {
  if (name.length + suffix.length <= max) return `${name}${suffix}`;
  const room = Math.max(0, max - suffix.length - separator.length);
  const headLength = Math.ceil(room / 2);
  let head = name.slice(0, headLength);
  let tail = room > headLength ? name.slice(name.length - (room - headLength)) : '';
  if (separator) {
    while (head.endsWith(separator)) head = head.slice(0, -separator.length);
    while (tail.startsWith(separator)) tail = tail.slice(separator.length);
  }
  return `${head}${head && tail ? separator : ''}${tail}${suffix}`;
}
