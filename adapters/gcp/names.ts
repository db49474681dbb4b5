/**
 * GCP naming rules: turn construct paths and ids into names Vertex AI, BigQuery and IAM accept.
 *
 * Every rule keeps what it can of the original and, when it had to change or trim something,
 * cuts out the MIDDLE (the start and the end of a path are the most telling parts) and appends a
 * short hash of the full original, so two different inputs never end up with the same name. A name that cannot
 * be fixed (a BigQuery column, which the data itself uses) is reported as a problem instead.
 */
import { createHash } from 'node:crypto';
import { shortenMiddle } from '../shared/names';

/** Length of the hash suffix appended to changed or trimmed names. */
export const HASH_LENGTH = 6;

/** A short, stable, lowercase hex hash of `text`. */
export function shortHash(text: string, length = HASH_LENGTH): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** A stable numeric id of exactly `digits` digits, not starting with 0 (DeployedModel ids: `^[0-9]{1,10}$`). */
export function numericId(text: string, digits = 10): string {
  const n = BigInt(`0x${createHash('sha256').update(text).digest('hex').slice(0, 15)}`);
  const span = 9n * 10n ** BigInt(digits - 1);
  return (10n ** BigInt(digits - 1) + (n % span)).toString();
}

/**
 * Fit `body` and `suffix` into `max` characters: a too-long body loses its middle, so its start
 * (type prefix, environment) and its end (the construct's own id) both survive.
 */
function trimLeft(body: string, max: number, suffix: string): string {
  return shortenMiddle(body, max, suffix);
}

/** Split camelCase/PascalCase words so `TrainModel` reads `train-model`. */
function kebab(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/**
 * A BigQuery dataset or table id: `^[0-9A-Za-z_]+$`, at most `max` characters.
 *
 * Characters outside the set become `_`; a changed or trimmed id gets `_<hash>`.
 */
export function bigQueryId(source: string, max = 1024): string {
  const cleaned = source.replace(/[^0-9A-Za-z_]/g, '_');
  if (cleaned === source && cleaned.length <= max && cleaned.length > 0) return cleaned;
  return trimLeft(cleaned.replace(/^_+|_+$/g, '') || 'x', max, `_${shortHash(source)}`);
}

/** BigQuery column name rule: letters, digits and `_`, not starting with a digit, ≤ 300 characters. */
export const BIGQUERY_COLUMN = /^[A-Za-z_][A-Za-z0-9_]{0,299}$/;

/** Column name prefixes BigQuery reserves. */
export const BIGQUERY_RESERVED_PREFIXES = ['_TABLE_', '_FILE_', '_PARTITION', '_ROW_TIMESTAMP', '__ROOT__', '_COLIDENTIFIER'];

/**
 * Why `name` is not a valid BigQuery column name, or `undefined` when it is.
 *
 * Columns are never renamed (the data uses them), so a bad one is a synth error.
 */
export function bigQueryColumnProblem(name: string, shown = name): string | undefined {
  if (!BIGQUERY_COLUMN.test(name)) {
    return `column name '${shown}' is not valid in BigQuery: use letters, digits and '_', not starting with a digit, at most 300 characters; rename the field`;
  }
  const upper = name.toUpperCase();
  const reserved = BIGQUERY_RESERVED_PREFIXES.find((p) => upper.startsWith(p));
  if (reserved) return `column name '${shown}' uses the prefix '${reserved}' that BigQuery reserves; rename the field`;
  return undefined;
}

/**
 * A Kubernetes-style / Vertex resource id: `^[a-z][-a-z0-9]{0,max-1}$`, not ending with `-`.
 *
 * Used for KFP pipeline and task names and Vertex pipeline job ids (max 128).
 */
export function dnsName(source: string, max = 128): string {
  const cleaned = kebab(source)
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[-0-9]+|-+$/g, '');
  const faithful = cleaned === kebab(source) && cleaned.length > 0;
  if (faithful && cleaned.length <= max) return cleaned;
  const suffix = `-${shortHash(source)}`;
  const body = trimLeft(cleaned || 'x', max, suffix);
  return /^[a-z]/.test(body) ? body : `x${body.slice(body.length - max + 1)}`;
}

/** Vertex pipeline job ids and KFP names: `^[a-z][-a-z0-9]{0,127}$`. */
export const VERTEX_JOB_ID = /^[a-z][-a-z0-9]{0,127}$/;

/**
 * A Vertex resource id of the form `^[a-z_][a-z0-9_]{0,59}$` (feature online stores, feature views).
 */
export function snakeId(source: string, max = 60): string {
  const cleaned = kebab(source).replace(/[^a-z0-9_]+/g, '_').replace(/_+/g, '_').replace(/^[0-9]+/, '');
  const faithful = cleaned === kebab(source).replace(/-/g, '_') && cleaned.length > 0 && !/^[0-9]/.test(source);
  if (faithful && cleaned.length <= max) return cleaned;
  return trimLeft(cleaned.replace(/^_+|_+$/g, '') || 'x', max, `_${shortHash(source)}`);
}

/** Vertex feature online store / feature view ids. */
export const VERTEX_SNAKE_ID = /^[a-z_][a-z0-9_]{0,59}$/;

/** Maximum length of a Vertex display name (UTF-8 characters). */
export const DISPLAY_NAME_MAX = 128;

/** A Vertex display name: at most 128 characters, trimmed from the left with a hash. */
export function displayName(source: string): string {
  if ([...source].length <= DISPLAY_NAME_MAX) return source;
  return trimLeft(source, DISPLAY_NAME_MAX, `~${shortHash(source)}`);
}

/** Label keys: lowercase letter first, then lowercase letters, digits, `_` and `-`, ≤ 63. */
export const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
/** Label values: lowercase letters, digits, `_` and `-`, ≤ 63 (may be empty). */
export const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

/**
 * A label value for a construct path or name: lossless when it is already a valid value, or when
 * it is lowercase `[a-z0-9_]` segments (`fraud/scoring` → `fraud-scoring`); else sanitized,
 * trimmed from the left and suffixed with a hash of the full original.
 */
export function labelValue(source: string): string {
  if (/^[a-z0-9_]+(\/[a-z0-9_]+)*$/.test(source) && source.length <= 63) return source.replace(/\//g, '-');
  if (/^[a-z0-9_-]{0,63}$/.test(source)) return source;
  const cleaned = source
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return trimLeft(cleaned, 63, `-${shortHash(source)}`);
}

/**
 * A label key from a user tag key: kebab-case lowercase (`costCenter` → `cost-center`), starting
 * with a letter, ≤ 63 (trimmed from the left with a hash). Tags that end up equal are told apart
 * by the caller (`uniqueLabelKeys`).
 */
export function labelKey(source: string): string {
  const cleaned = kebab(source)
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  const body = /^[a-z]/.test(cleaned) ? cleaned : `t-${cleaned}`;
  return body.length <= 63 ? body : trimLeft(body, 63, `-${shortHash(source)}`);
}

/** Label keys for several tag keys, adding a hash to the keys that would otherwise collide. */
export function uniqueLabelKeys(sources: readonly string[]): Map<string, string> {
  const first = new Map(sources.map((s) => [s, labelKey(s)]));
  const counts = new Map<string, number>();
  for (const k of first.values()) counts.set(k, (counts.get(k) ?? 0) + 1);
  return new Map(sources.map((s) => {
    const k = first.get(s) ?? labelKey(s);
    return [s, (counts.get(k) ?? 0) > 1 ? trimLeft(k, 63, `-${shortHash(s)}`) : k];
  }));
}

/** A label value from a user tag value: lowercase, other characters → `-`, at most 63 characters. */
export function tagValue(source: string): string {
  return source
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

/** IAM service account ids: `^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$` (6–30 characters). */
export const SERVICE_ACCOUNT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/**
 * A service account id `mlp-<readable>-<hash>` within 6–30 characters: `readable` is trimmed from
 * the left, `hash` is taken over `unique` (which must identify the account).
 */
export function serviceAccountId(readable: string, unique: string): string {
  const suffix = `-${shortHash(unique)}`;
  const room = 30 - 'mlp-'.length - suffix.length;
  const body = kebab(readable)
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const trimmed = body.length > room ? body.slice(body.length - room).replace(/^-+/, '') : body;
  return `mlp-${trimmed || 'x'}${suffix}`;
}

/** A Vertex endpoint id: letter first, `[a-z0-9-]`, at most 63 characters, ending with a letter or digit. */
export function endpointId(source: string): string {
  return dnsName(source, 63);
}

/** A Vertex model id (`^[a-z0-9][a-z0-9-]{0,62}$`, at most 63 characters). */
export function modelId(source: string): string {
  return dnsName(source, 63);
}
