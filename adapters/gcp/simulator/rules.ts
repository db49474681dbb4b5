/**
 * Rules Vertex AI states only in prose, read from the comments of the aiplatform `.proto` sources
 * (never restated by hand where the comment says it): resource-id charset and length, display-name
 * length; plus the label rules, cron syntax of Schedules, a PipelineSpec valid against KFP's
 * `pipeline_spec.proto` (shipped in `spec-data/kfp/`) and update masks naming settable fields.
 */
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import protobuf from 'protobufjs';
import { specDataPath } from '../../shared/spec-data';
import { checkMessage, fieldBehaviors, prepareProtoChecks, type BodyProblem } from './protos';

const require = createRequire(import.meta.url);

let comments: Map<string, string> | undefined;

/**
 * The comment above every field of the aiplatform protos, keyed `.package.Message.fieldCamelCase`
 * (whitespace collapsed).
 */
function fieldComments(): Map<string, string> {
  if (comments) return comments;
  const index = new Map<string, string>();
  const base = path.join(path.dirname(require.resolve('@google-cloud/aiplatform/package.json')), 'build', 'protos', 'google', 'cloud', 'aiplatform');
  for (const version of ['v1', 'v1beta1']) {
    const dir = path.join(base, version);
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.proto'))) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      const pkg = /package\s+([\w.]+)\s*;/.exec(text)?.[1] ?? '';
      const stack: string[] = [];
      let pending: string[] = [];
      for (const raw of text.split('\n')) {
        const line = raw.trim();
        const comment = /^\/\/\s?(.*)$/.exec(line);
        if (comment) {
          pending.push(comment[1] as string);
          continue;
        }
        const field = /^(?:repeated\s+|optional\s+)?[\w.]+(?:<[^>]*>)?\s+(\w+)\s*=\s*\d+/.exec(line);
        const messages = stack.filter((x) => !x.startsWith('#'));
        if (field && messages.length > 0 && !stack.includes('#enum') && !stack.includes('#service') && !stack.includes('#block')) {
          const camel = (field[1] as string).replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
          index.set(`.${pkg}.${messages.join('.')}.${camel}`, pending.join(' ').replace(/\s+/g, ' '));
        }
        const open = /^(message|enum|oneof|service)\s+(\w+)\s*\{/.exec(line);
        let opens = line.split('{').length - 1;
        if (open) {
          stack.push(open[1] === 'message' ? (open[2] as string) : `#${open[1] as string}`);
          opens -= 1;
        }
        for (let i = 0; i < opens; i++) stack.push('#block');
        for (let i = 0; i < line.split('}').length - 1; i++) stack.pop();
        pending = [];
      }
    }
  }
  comments = index;
  return index;
}

/** The proto comment of a field (empty when it has none). */
export function fieldComment(field: protobuf.Field): string {
  return fieldComments().get(field.fullName) ?? '';
}

/**
 * The id rule a field's comment states, e.g. CreateEndpointRequest.endpoint_id: "If the first
 * character is a letter, this value may be up to 63 characters, and valid characters are
 * `[a-z0-9-]`. The last character must be a letter or number. If the first character is a number,
 * this value may be up to 9 characters, and valid characters are `[0-9]` with no leading zeros."
 *
 * @returns what is wrong with `id`, or undefined when it is valid (or the comment states no rule).
 */
export function idProblem(comment: string, id: string): string | undefined {
  const numeric = /If the first character is a number, this value may be up to (\d+) characters, and valid characters are `\[0-9\]` with no leading zeros/.exec(comment);
  if (numeric && /^[0-9]/.test(id)) {
    return new RegExp(`^[1-9][0-9]{0,${Number(numeric[1]) - 1}}$`).test(id) ? undefined : `an id starting with a number may be up to ${numeric[1]} digits with no leading zeros`;
  }
  const charset = /valid characters are `(\[[^\]`]+\])`/.exec(comment)?.[1] ?? (/Valid characters are `\/\[a-z\]\[0-9\]-\/`/.test(comment) ? '[a-z0-9-]' : undefined);
  const max = /(?:may be up to|maximum length is) (\d+) characters/i.exec(comment)?.[1] ?? /(\d+)-(\d+) characters/.exec(comment)?.[2] ?? (/less than (\d+) characters/.exec(comment) ? String(Number(/less than (\d+) characters/.exec(comment)?.[1]) - 1) : undefined);
  if (!charset && !max) return undefined;
  const rules: string[] = [];
  if (max && id.length > Number(max)) rules.push(`at most ${max} characters (got ${id.length})`);
  if (charset && !new RegExp(`^${charset}*$`).test(id)) rules.push(`only the characters ${charset}`);
  if (/first character cannot be a number or hyphen/.test(comment) && /^[0-9-]/.test(id)) rules.push('a first character that is not a number or hyphen');
  else if (/first character cannot be a number/.test(comment) && /^[0-9]/.test(id)) rules.push('a first character that is not a number');
  if (/first character must be a letter/.test(comment) && !/^[a-z]/.test(id)) rules.push('a letter first');
  if (/last character must be a letter or number/.test(comment) && !/[a-z0-9]$/.test(id)) rules.push('a letter or number last');
  if (id === '') rules.push('at least one character');
  return rules.length > 0 ? `must have ${rules.join(', ')}` : undefined;
}

/** The length limit a `display_name` comment states ("can be up to 128 characters long"). */
export function displayNameLimit(comment: string): number | undefined {
  const m = /(?:can|may) be up to (\d+) characters/.exec(comment);
  return m ? Number(m[1]) : undefined;
}

/**
 * Label rules of Google Cloud (https://cloud.google.com/resource-manager/docs/labels-overview#requirements):
 * at most 64 labels; keys 1-63 characters, values 0-63, of lowercase letters, digits, `_` and `-`
 * (international lowercase letters too); keys start with a lowercase letter.
 */
export function labelProblems(labels: unknown, field: string): BodyProblem[] {
  if (typeof labels !== 'object' || labels === null) return [];
  const entries = Object.entries(labels as Record<string, unknown>);
  const problems: BodyProblem[] = [];
  const chars = /^[\p{Ll}\p{Lo}0-9_-]*$/u;
  if (entries.length > 64) problems.push({ field, message: `There can be no more than 64 labels attached to a single resource (got ${entries.length}).` });
  for (const [k, v] of entries) {
    const value = typeof v === 'string' ? v : '';
    if (k.length === 0 || k.length > 63 || !chars.test(k) || !/^[\p{Ll}\p{Lo}]/u.test(k)) {
      problems.push({ field, message: `Label key '${k}' is invalid: label keys must be 1-63 characters of lowercase letters, numbers, dashes and underscores, starting with a lowercase letter.` });
    }
    if (value.length > 63 || !chars.test(value)) {
      problems.push({ field, message: `Label value '${value}' of key '${k}' is invalid: label values must be at most 63 characters of lowercase letters, numbers, dashes and underscores.` });
    }
  }
  return problems;
}

/**
 * Build what the prose rules read from files (the proto comments, KFP's `pipeline_spec.proto`) and
 * the proto indexes now, once per process, rather than on the first request that needs them.
 */
export function prepareRules(): void {
  prepareProtoChecks();
  fieldComments();
  pipelineSpec();
  // The first time zone checked loads ICU's zone data (~25 ms); the next ones cost ~0.3 ms.
  isTimeZone('UTC');
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * A Schedule's `cron` (schedule.proto: "Cron schedule (https://en.wikipedia.org/wiki/Cron) …
 * apply a prefix in the cron tab: "CRON_TZ=${IANA_TIME_ZONE}" or "TZ=${IANA_TIME_ZONE}""):
 * five fields of numbers, ranges, steps, lists, `*` (and month/day names), after an optional
 * time-zone prefix naming an IANA zone.
 *
 * @returns what is wrong, or undefined when valid.
 */
export function cronProblem(cron: string): string | undefined {
  let rest = cron.trim();
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(rest);
  if (tz) {
    if (!isTimeZone(tz[1] as string)) return `'${tz[1] as string}' is not an IANA time zone`;
    rest = tz[2] as string;
  }
  const fields = rest.split(/\s+/);
  if (fields.length !== 5) return `a cron tab has 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  const specs: [string, number, number, readonly string[]][] = [
    ['minute', 0, 59, []],
    ['hour', 0, 23, []],
    ['day-of-month', 1, 31, []],
    ['month', 1, 12, MONTHS],
    ['day-of-week', 0, 7, DAYS],
  ];
  for (let i = 0; i < 5; i++) {
    const [name, lo, hi, names] = specs[i] as [string, number, number, readonly string[]];
    const value = (s: string): number | undefined => {
      const n = names.indexOf(s.toUpperCase());
      if (n >= 0) return n + lo;
      return /^\d+$/.test(s) ? Number(s) : undefined;
    };
    for (const part of (fields[i] as string).split(',')) {
      const m = /^(\*|[^/-]+(?:-[^/-]+)?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `the ${name} field '${fields[i] as string}' is not valid cron syntax`;
      if (m[2] !== undefined && Number(m[2]) === 0) return `the ${name} field '${fields[i] as string}' has a step of 0`;
      if (m[1] === '*') continue;
      for (const bound of (m[1] as string).split('-')) {
        const n = value(bound);
        if (n === undefined || n < lo || n > hi) return `the ${name} field '${fields[i] as string}' must be within ${lo}-${hi}`;
      }
    }
  }
  return undefined;
}

/**
 * Time zones already checked (an `Intl.DateTimeFormat` costs ~0.1 ms; a deploy names a few zones in
 * many schedules). The simulator asks the runtime itself rather than using `lib/schedule.ts`'s check:
 * it stands for the cloud, and sharing mlplane's own validation would hide that check's mistakes.
 */
const timeZones = new Map<string, boolean>();

function isTimeZone(zone: string): boolean {
  let known = timeZones.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      known = true;
    } catch {
      known = false;
    }
    timeZones.set(zone, known);
  }
  return known;
}

let pipelineSpecType: protobuf.Type | undefined;

/** `ml_pipelines.PipelineSpec` from the KFP IR proto shipped in `spec-data/kfp/pipeline_spec.proto`. */
function pipelineSpec(): protobuf.Type {
  if (pipelineSpecType) return pipelineSpecType;
  const gax = path.dirname(createRequire(require.resolve('@google-cloud/aiplatform/package.json')).resolve('google-gax'));
  const gaxProtos = path.join(gax, '..', 'protos');
  const root = new protobuf.Root();
  // google/protobuf/* are protobufjs's common types; google/rpc/status.proto ships with google-gax.
  root.resolvePath = (origin, target) => (target === 'pipeline_spec.proto' ? specDataPath('kfp', 'pipeline_spec.proto') : target.startsWith('google/rpc/') ? path.join(gaxProtos, target) : protobuf.util.path.resolve(origin, target));
  root.loadSync('pipeline_spec.proto', { keepCase: false });
  root.resolveAll();
  pipelineSpecType = root.lookupType('ml_pipelines.PipelineSpec');
  return pipelineSpecType;
}

/**
 * A `pipelineSpec` (a Struct in Vertex's PipelineJob) must be a KFP `PipelineSpec` in proto3 JSON:
 * no unknown fields, right types, and what the KFP backend needs to run it (`pipelineInfo.name`,
 * `root`, `schemaVersion`).
 */
export function pipelineSpecProblems(spec: unknown, field: string): BodyProblem[] {
  const problems = checkMessage(pipelineSpec(), spec, { checkRequired: false }, field);
  if (problems.length > 0 || typeof spec !== 'object' || spec === null) return problems;
  const s = spec as { pipelineInfo?: { name?: unknown }; root?: unknown; schemaVersion?: unknown };
  if (typeof s.pipelineInfo?.name !== 'string' || s.pipelineInfo.name === '') problems.push({ field: `${field}.pipelineInfo.name`, message: 'required field is missing' });
  if (s.root === undefined) problems.push({ field: `${field}.root`, message: 'required field is missing' });
  if (typeof s.schemaVersion !== 'string') problems.push({ field: `${field}.schemaVersion`, message: 'required field is missing' });
  return problems;
}

/**
 * Every path of an update mask must name a field of the resource (snake or camel case) that a
 * client may set, not an OUTPUT_ONLY one (google.api.field_behavior; AIP-134: "the service must
 * error with INVALID_ARGUMENT if a field mask includes a field that does not exist" and output-only
 * fields cannot be updated).
 */
export function updateMaskProblems(type: protobuf.Type, paths: readonly string[]): BodyProblem[] {
  const problems: BodyProblem[] = [];
  for (const p of paths) {
    let t: protobuf.Type | undefined = type;
    for (const segment of p.split('.')) {
      const camel = segment.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      const f: protobuf.Field | undefined = t?.fields[camel];
      if (!t || !f) {
        // A map key (`labels.team`) ends the walk.
        if (t === undefined) break;
        problems.push({ field: 'update_mask', message: `Invalid update_mask path '${p}': ${type.name} has no field '${segment}'` });
        break;
      }
      const behaviors = fieldBehaviors(f);
      if (behaviors.includes('OUTPUT_ONLY')) {
        problems.push({ field: 'update_mask', message: `Invalid update_mask path '${p}': ${segment} is output only and cannot be updated` });
        break;
      }
      t = f.map || !(f.resolvedType instanceof protobuf.Type) ? undefined : f.resolvedType;
    }
  }
  return problems;
}

/**
 * The prose rules over a resource body (walking its message type): labels, display-name length,
 * a Schedule's cron, a PipelineJob's pipelineSpec.
 */
export function proseProblems(type: protobuf.Type, value: unknown, at: string): BodyProblem[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const obj = value as Record<string, unknown>;
  const out: BodyProblem[] = [];
  for (const f of type.fieldsArray) {
    const v = obj[f.name] ?? obj[f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
    if (v === undefined || v === null) continue;
    const p = at ? `${at}.${f.name}` : f.name;
    if (f.name === 'labels' && f.map) out.push(...labelProblems(v, p));
    else if (f.name === 'displayName' && typeof v === 'string') {
      const limit = displayNameLimit(fieldComment(f));
      if (limit !== undefined && [...v].length > limit) out.push({ field: p, message: `The display name can be up to ${limit} characters long (got ${[...v].length}).` });
    } else if (f.name === 'cron' && type.name === 'Schedule' && typeof v === 'string') {
      const problem = cronProblem(v);
      if (problem) out.push({ field: p, message: `Invalid cron '${v}': ${problem}.` });
    } else if (f.name === 'pipelineSpec' && type.name === 'PipelineJob') out.push(...pipelineSpecProblems(v, p));
    else if (f.resolvedType instanceof protobuf.Type && !f.map && !f.resolvedType.fullName.startsWith('.google.protobuf.')) {
      const items = f.repeated && Array.isArray(v) ? v : [v];
      items.forEach((x, i) => out.push(...proseProblems(f.resolvedType as protobuf.Type, x, f.repeated ? `${p}[${i}]` : p)));
    }
  }
  return out;
}
