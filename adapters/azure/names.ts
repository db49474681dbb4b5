import { createHash } from 'node:crypto';
import { shortenMiddle } from '../shared/names';

/**
 * Physical names for Azure resources, derived from construct paths.
 *
 * Each Azure resource type has its own rules (length, characters, global uniqueness). A name is
 * built from the construct path: segments are normalised, joined, and when too long shortened
 * in the MIDDLE (the type prefix and the leaf id are the most telling parts) with a short hash of
 * the full path appended, so two long paths never collide. Two constructs whose names only
 * differ in case or punctuation still end up equal: synth reports that (see `SynthContext.add`). Globally unique names (storage account, key vault,
 * container registry, online endpoints) always carry a hash of the path and the deployment
 * scope (subscription + resource group).
 */

/** A naming rule of one Azure resource type. */
export interface NameRule {
  /** What the name is for, in messages (`workspace`). */
  readonly what: string;
  readonly min: number;
  readonly max: number;
  /** Characters allowed anywhere (a character class body, e.g. `a-z0-9-`). */
  readonly chars: string;
  /** Lowercase only. */
  readonly lower: boolean;
  /** Separator between path segments ('' for none). */
  readonly sep: '' | '-' | '_';
  /** The whole pattern the final name must match. */
  readonly pattern: RegExp;
  /** Always append a hash (for globally unique names). */
  readonly alwaysHash: boolean;
}

/** Azure naming rules used by the adapter. */
export const RULES = {
  /** `^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$` (Microsoft.MachineLearningServices/workspaces). */
  workspace: { what: 'workspace', min: 3, max: 33, chars: 'a-z0-9-', lower: true, sep: '-', pattern: /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$/, alwaysHash: false },
  /** `^[a-z0-9]{3,24}$`, globally unique. */
  storageAccount: { what: 'storage account', min: 3, max: 24, chars: 'a-z0-9', lower: true, sep: '', pattern: /^[a-z0-9]{3,24}$/, alwaysHash: true },
  /** Key Vault: 3–24, letters, digits and single hyphens, starts with a letter, globally unique. */
  keyVault: { what: 'key vault', min: 3, max: 24, chars: 'a-z0-9-', lower: true, sep: '-', pattern: /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/, alwaysHash: true },
  /** Container registry: 5–50 alphanumerics, globally unique. */
  containerRegistry: { what: 'container registry', min: 5, max: 50, chars: 'a-z0-9', lower: true, sep: '', pattern: /^[a-zA-Z0-9]{5,50}$/, alwaysHash: true },
  /** Log Analytics workspace / Application Insights: 4–63. */
  monitoring: { what: 'log analytics workspace', min: 4, max: 63, chars: 'a-z0-9-', lower: true, sep: '-', pattern: /^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/, alwaysHash: false },
  /** User-assigned identity: 3–128. */
  identity: { what: 'managed identity', min: 3, max: 128, chars: 'a-z0-9-', lower: true, sep: '-', pattern: /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/, alwaysHash: false },
  /**
   * AmlCompute: the 2026-05-01 schema says `^[a-zA-Z](?![a-zA-Z0-9-]*-\d+$)[a-zA-Z0-9\-]{2,23}$` (3–24, not ending
   * in `-<digits>`); the service documentation adds "ends with a letter or digit".
   */
  compute: { what: 'compute', min: 3, max: 24, chars: 'a-z0-9-', lower: true, sep: '-', pattern: /^[a-zA-Z](?![a-zA-Z0-9-]*-\d+$)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/, alwaysHash: false },
  /** Online/batch endpoint: 3–32, `^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`, unique in the Azure region. */
  endpoint: { what: 'endpoint', min: 3, max: 32, chars: 'a-z0-9-', lower: true, sep: '-', pattern: /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/, alwaysHash: true },
  /** Endpoint deployment: 3–32, same characters as endpoints, unique in its endpoint. */
  deployment: { what: 'deployment', min: 3, max: 32, chars: 'a-z0-9-', lower: true, sep: '-', pattern: /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/, alwaysHash: false },
  /** Asset names (data, components, environments, models, feature sets): letters, digits, `-`, `_`, `.`; up to 255. */
  asset: { what: 'asset', min: 1, max: 255, chars: 'a-z0-9_-', lower: true, sep: '-', pattern: /^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,254}$/, alwaysHash: false },
  /** Component names: lowercase letters, digits and `_`, starting with a letter. */
  component: { what: 'component', min: 1, max: 255, chars: 'a-z0-9_', lower: true, sep: '_', pattern: /^[a-z][a-z0-9_]{0,254}$/, alwaysHash: false },
  /** Workspace child resources with the workspace pattern (connections, datastores, schedules). */
  child: { what: 'workspace child', min: 3, max: 33, chars: 'a-z0-9_', lower: true, sep: '_', pattern: /^[a-zA-Z0-9][a-zA-Z0-9_]{2,32}$/, alwaysHash: false },
  /** Blob container: 3–63 lowercase letters, digits, single hyphens. */
  container: { what: 'blob container', min: 3, max: 63, chars: 'a-z0-9-', lower: true, sep: '-', pattern: /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, alwaysHash: false },
  /** Generic ARM names (Logic Apps, Event Grid, autoscale settings): 3–64. */
  generic: { what: 'resource', min: 3, max: 64, chars: 'a-z0-9-', lower: true, sep: '-', pattern: /^[a-zA-Z0-9][a-zA-Z0-9-]{1,62}[a-zA-Z0-9]$/, alwaysHash: false },
} as const satisfies Record<string, NameRule>;

/** A short, stable hash (hex) of `parts`. */
export function shortHash(parts: readonly string[], length = 6): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, length);
}

/** Why a name could not be made. */
export class NameError extends Error {}

/** A derived name, and whether deriving it cut characters out of the original. */
export interface DerivedName {
  readonly name: string;
  /** The readable part was too long and its middle was cut out (the hash keeps it distinct). */
  readonly shortened: boolean;
  /** The readable name before shortening (`stfrauddetectionwesteurope`). */
  readonly readable: string;
}

/**
 * A name satisfying `rule`, derived from path segments.
 *
 * @param segments - path segments, most general first (`['Fraud', 'Scoring']`).
 * @param salt - extra input to the hash (deployment scope) for globally unique names.
 * @throws NameError when nothing valid can be derived (e.g. no usable character at all).
 */
export function makeName(rule: NameRule, segments: readonly string[], salt: readonly string[] = []): string {
  return deriveName(rule, segments, salt).name;
}

/**
 * `makeName`, also saying whether the name had to be shortened.
 *
 * A name that does not fit is shortened in the middle, so its start (the resource-type prefix
 * such as `st`, and the environment) and its end (the construct's own id) both survive
 * (`stfrauddetectionwesteurope` → `stfrauddeesteurope8c16ce`), and a hash of the full path keeps
 * two shortened names apart.
 *
 * @throws NameError when nothing valid can be derived.
 */
export function deriveName(rule: NameRule, segments: readonly string[], salt: readonly string[] = []): DerivedName {
  const clean = segments
    .map((s) => normalise(s, rule))
    .filter((s) => s.length > 0);
  const joined = clean.join(rule.sep);
  if (joined.replace(/[^a-z0-9]/gi, '').length === 0) {
    throw new NameError(`cannot derive a ${rule.what} name from '${segments.join('/')}': it has no letter or digit`);
  }
  const fits = (n: string) => n.length >= rule.min && n.length <= rule.max && rule.pattern.test(n);
  if (!rule.alwaysHash && fits(joined)) return { name: joined, shortened: false, readable: joined };
  const hash = shortHash([...segments, ...salt]);
  const sep = rule.sep;
  const room = rule.max - hash.length - sep.length;
  const shortened = joined.length > room;
  let head = shortened ? shortenMiddle(joined, room, '', sep) : joined;
  head = stripEdges(head, rule);
  let candidate = head.length > 0 ? `${head}${sep}${hash}` : hash;
  candidate = ensureStart(candidate, rule);
  if (fits(candidate)) return { name: candidate, shortened, readable: joined };
  throw new NameError(`cannot derive a ${rule.what} name from '${segments.join('/')}' (tried '${candidate}', must match ${rule.pattern.source})`);
}

/**
 * Use `name` as is when it satisfies `rule`, else derive one from it.
 *
 * @throws NameError when nothing valid can be derived.
 */
export function fitName(rule: NameRule, name: string): string {
  if (name.length >= rule.min && name.length <= rule.max && rule.pattern.test(name) && !rule.alwaysHash) return name;
  return makeName(rule, [name]);
}

function normalise(segment: string, rule: NameRule): string {
  // camelCase → kebab, then keep allowed characters only.
  let s = segment.replace(/([a-z0-9])([A-Z])/g, `$1${rule.sep || ''}$2`);
  if (rule.lower) s = s.toLowerCase();
  s = s.replace(disallowed(rule), rule.sep);
  if (rule.sep) s = s.split(rule.sep).filter((p) => p.length > 0).join(rule.sep);
  return s;
}

/** Runs of characters a rule does not allow, one expression per character set. */
function disallowed(rule: NameRule): RegExp {
  let re = DISALLOWED.get(rule.chars);
  if (!re) DISALLOWED.set(rule.chars, (re = new RegExp(`[^${rule.chars}]+`, 'g')));
  return re;
}

const DISALLOWED = new Map<string, RegExp>();

function stripEdges(s: string, rule: NameRule): string {
  let out = s;
  if (rule.sep) {
    while (out.startsWith(rule.sep)) out = out.slice(1);
    while (out.endsWith(rule.sep)) out = out.slice(0, -1);
  }
  return out;
}

function ensureStart(s: string, rule: NameRule): string {
  // Names that must start with a letter: prefix one when the trimmed name starts with a digit.
  if (/^[0-9]/.test(s) && !rule.pattern.test(s)) {
    const trimmed = s.length >= rule.max ? s.slice(1) : s;
    return `m${trimmed.replace(/^[-_]+/, '')}`;
  }
  return s;
}
