/**
 * The Vertex AI protos shipped in `@google-cloud/aiplatform` (plus the IAM protos of google-gax),
 * loaded with protobufjs: the simulator's router is built from their `google.api.http` rules and
 * every request body is checked against them in proto3-JSON form.
 */
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** Where the aiplatform package keeps `protos.json`. */
function aiplatformProtosJson(): string {
  const pkg = require.resolve('@google-cloud/aiplatform/package.json');
  return path.join(path.dirname(pkg), 'build', 'protos', 'protos.json');
}

/** Where google-gax keeps `iam_service.json` (google.iam.v1). */
function iamProtosJson(): string {
  const aiplatform = path.dirname(require.resolve('@google-cloud/aiplatform/package.json'));
  const gaxMain = createRequire(path.join(aiplatform, 'package.json')).resolve('google-gax');
  // google-gax/build/src/index.js → google-gax/build/protos/iam_service.json
  return path.join(path.dirname(gaxMain), '..', 'protos', 'iam_service.json');
}

let cached: protobuf.Root | undefined;

/** The resolved proto root (loaded once per process). */
export function protoRoot(): protobuf.Root {
  if (cached) return cached;
  const root = protobuf.Root.fromJSON(require(aiplatformProtosJson()) as protobuf.INamespace);
  const iam = require(iamProtosJson()) as { nested: { google: { nested: { iam: protobuf.INamespace; type?: { nested?: Record<string, protobuf.AnyNestedObject> } } } } };
  const google = root.lookup('google') as protobuf.Namespace;
  google.addJSON({ iam: iam.nested.google.nested.iam } as Record<string, protobuf.AnyNestedObject>);
  const types = google.lookup('type') as protobuf.Namespace | null;
  for (const [name, def] of Object.entries(iam.nested.google.nested.type?.nested ?? {})) {
    if (types && !types.get(name)) types.addJSON({ [name]: def });
  }
  root.resolveAll();
  cached = root;
  return root;
}

let behaviorIndex: Map<string, string[]> | undefined;

/**
 * Field behaviours read from the `.proto` sources of the aiplatform package: `protos.json` keeps
 * only one `field_behavior` per field (a `REQUIRED, IMMUTABLE` field shows as `IMMUTABLE`).
 * Keys are `.package.Message.Nested.fieldCamelCase`.
 */
function protoSourceBehaviors(): Map<string, string[]> {
  if (behaviorIndex) return behaviorIndex;
  const index = new Map<string, string[]>();
  const base = path.join(path.dirname(aiplatformProtosJson()), 'google', 'cloud', 'aiplatform');
  for (const version of ['v1', 'v1beta1']) {
    const dir = path.join(base, version);
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.proto'))) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8').replace(/\/\/[^\n]*/g, '');
      const pkg = /package\s+([\w.]+)\s*;/.exec(text)?.[1] ?? '';
      const stack: string[] = [];
      const token = /\b(message|enum|oneof|service|rpc)\s+(\w+)[^{;]*\{|\{|\}|((?:repeated\s+|optional\s+)?[\w.]+(?:<[^>]*>)?)\s+(\w+)\s*=\s*\d+\s*(\[[^;]*\])?\s*;/g;
      for (let m = token.exec(text); m; m = token.exec(text)) {
        if (m[1]) stack.push(m[1] === 'message' ? (m[2] as string) : `#${m[1]}`);
        else if (m[0] === '{') stack.push('#block');
        else if (m[0] === '}') stack.pop();
        else if (m[4] && !stack.some((x) => x === '#enum' || x === '#service' || x === '#rpc' || x === '#block')) {
          const messages = stack.filter((x) => !x.startsWith('#'));
          if (messages.length === 0) continue;
          const behaviors = [...(m[5] ?? '').matchAll(/field_behavior\)\s*=\s*([A-Z_]+)/g)].map((b) => b[1] as string);
          if (behaviors.length === 0) continue;
          const camel = (m[4] as string).replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
          index.set(`.${pkg}.${messages.join('.')}.${camel}`, behaviors);
        }
      }
    }
  }
  behaviorIndex = index;
  return index;
}

/** Field behaviours by field, once worked out (the simulator checks every request body with them). */
const behaviorsOfField = new WeakMap<protobuf.Field, readonly string[]>();

/** Field behaviours of a field (`REQUIRED`, `OUTPUT_ONLY`, `IMMUTABLE`, …). */
export function fieldBehaviors(field: protobuf.Field): readonly string[] {
  let known = behaviorsOfField.get(field);
  if (!known) {
    known = behaviorsOf(field);
    behaviorsOfField.set(field, known);
  }
  return known;
}

/**
 * Build the indexes read from the `.proto` sources (field behaviours) now rather than on the
 * first request that needs them (a few hundred ms of CPU, once per process).
 */
export function prepareProtoChecks(): void {
  protoRoot();
  protoSourceBehaviors();
}

function behaviorsOf(field: protobuf.Field): string[] {
  const fromSource = protoSourceBehaviors().get(field.fullName);
  if (fromSource) return fromSource;
  const out = new Set<string>();
  const direct = field.options?.['(google.api.field_behavior)'];
  if (typeof direct === 'string') out.add(direct);
  const parsed = (field.parsedOptions ?? []) as unknown;
  for (const o of Array.isArray(parsed) ? (parsed as unknown[]) : []) {
    const v = (o as Record<string, unknown>)['(google.api.field_behavior)'];
    if (typeof v === 'string') out.add(v);
    if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') out.add(x);
  }
  return [...out];
}

/** One problem found in a body: a dotted path and what is wrong. */
export interface BodyProblem {
  readonly field: string;
  readonly message: string;
}

/** What to check besides types. */
export interface ProtoCheckOptions {
  /** Report fields marked OUTPUT_ONLY. @default true */
  readonly rejectOutputOnly?: boolean;
  /** Report missing REQUIRED fields (on the top message and nested messages). @default true */
  readonly checkRequired?: boolean;
  /** Top-level fields not to require (path parameters sent in the URL). */
  readonly notRequired?: readonly string[];
}

const INT32 = new Set(['int32', 'sint32', 'sfixed32', 'uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const FLOAT = new Set(['double', 'float']);

/**
 * Check a proto3-JSON value against a message type: unknown fields, wrong types, OUTPUT_ONLY
 * fields set, REQUIRED fields missing.
 */
export function checkMessage(type: protobuf.Type, value: unknown, options: ProtoCheckOptions = {}, at = ''): BodyProblem[] {
  const problems: BodyProblem[] = [];
  collectMessage(type, value, options, at, problems);
  return problems;
}

/** `checkMessage` into `out` (one array for a whole body: the walk of a large document allocates little). */
function collectMessage(type: protobuf.Type, value: unknown, options: ProtoCheckOptions, at: string, out: BodyProblem[]): void {
  const wkt = checkWellKnown(type.fullName, value, at);
  if (wkt !== undefined) {
    for (const p of wkt) out.push(p);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    out.push({ field: at || '(body)', message: `expected a ${type.name} object, got ${describe(value)}` });
    return;
  }
  const obj = value as Record<string, unknown>;
  const byJson = jsonNames(type);
  // Nested messages are checked with the same options, without the top level's path parameters.
  const sub: ProtoCheckOptions = options.notRequired === undefined || options.notRequired.length === 0 ? options : { ...options, notRequired: [] };
  let seenOneofs: Map<string, string> | undefined;
  for (const key in obj) {
    const v = obj[key];
    const field = byJson.get(key);
    const p = at ? `${at}.${key}` : key;
    if (!field) {
      out.push({ field: p, message: `Invalid JSON payload received. Unknown name "${key}" at '${at || type.name}': Cannot find field.` });
      continue;
    }
    if (v === null) continue;
    if ((options.rejectOutputOnly ?? true) && fieldBehaviors(field).includes('OUTPUT_ONLY')) {
      out.push({ field: p, message: `field is output only and must not be set` });
      continue;
    }
    if (field.partOf) {
      seenOneofs ??= new Map<string, string>();
      const other = seenOneofs.get(field.partOf.name);
      if (other !== undefined) out.push({ field: p, message: `oneof '${field.partOf.name}' already set by '${other}'` });
      seenOneofs.set(field.partOf.name, key);
    }
    collectField(field, v, sub, p, out);
  }
  if (options.checkRequired ?? true) {
    const skip = at === '' ? options.notRequired ?? [] : [];
    for (const f of requiredFields(type)) {
      if (skip.includes(f.name)) continue;
      const v = obj[f.name] ?? obj[snake(f.name)];
      if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) {
        out.push({ field: at ? `${at}.${f.name}` : f.name, message: `required field is missing` });
      }
    }
  }
}

/** The fields of each message type by their proto3-JSON names (lowerCamel and the original snake_case). */
const jsonNamesOfType = new WeakMap<protobuf.Type, ReadonlyMap<string, protobuf.Field>>();

function jsonNames(type: protobuf.Type): ReadonlyMap<string, protobuf.Field> {
  let byJson = jsonNamesOfType.get(type);
  if (!byJson) {
    const m = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) {
      m.set(f.name, f);
      m.set(snake(f.name), f);
    }
    byJson = m;
    jsonNamesOfType.set(type, byJson);
  }
  return byJson;
}

/** The REQUIRED fields of each message type. */
const requiredOfType = new WeakMap<protobuf.Type, readonly protobuf.Field[]>();

function requiredFields(type: protobuf.Type): readonly protobuf.Field[] {
  let required = requiredOfType.get(type);
  if (!required) {
    required = type.fieldsArray.filter((f) => fieldBehaviors(f).includes('REQUIRED'));
    requiredOfType.set(type, required);
  }
  return required;
}

function collectField(field: protobuf.Field, v: unknown, options: ProtoCheckOptions, at: string, out: BodyProblem[]): void {
  if (field.map) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      out.push({ field: at, message: `expected a map object, got ${describe(v)}` });
      return;
    }
    for (const k in v as Record<string, unknown>) collectScalarOrMessage(field, (v as Record<string, unknown>)[k], options, `${at}.${k}`, out);
    return;
  }
  if (field.repeated) {
    if (!Array.isArray(v)) {
      out.push({ field: at, message: `expected a list, got ${describe(v)}` });
      return;
    }
    for (let i = 0; i < v.length; i++) collectScalarOrMessage(field, v[i], options, `${at}[${i}]`, out);
    return;
  }
  collectScalarOrMessage(field, v, options, at, out);
}

function collectScalarOrMessage(field: protobuf.Field, v: unknown, options: ProtoCheckOptions, at: string, out: BodyProblem[]): void {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    collectMessage(rt, v, options, at, out);
    return;
  }
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'number' && Object.values(rt.values).includes(v)) return;
    if (typeof v === 'string' && v in rt.values) return;
    out.push({ field: at, message: `Invalid value for enum ${rt.name}: ${JSON.stringify(v)}` });
    return;
  }
  for (const p of checkScalar(field.type, v, at)) out.push(p);
}

function checkScalar(type: string, v: unknown, at: string): BodyProblem[] {
  const bad = (what: string) => [{ field: at, message: `Invalid value at '${at}' (${type}): expected ${what}, got ${describe(v)}` }];
  if (type === 'string') return typeof v === 'string' ? [] : bad('a string');
  if (type === 'bool') return typeof v === 'boolean' ? [] : bad('a boolean');
  if (type === 'bytes') return typeof v === 'string' && /^[A-Za-z0-9+/_-]*=*$/.test(v) ? [] : bad('base64 bytes');
  if (INT32.has(type)) return typeof v === 'number' && Number.isInteger(v) ? [] : typeof v === 'string' && /^-?\d+$/.test(v) ? [] : bad('an integer');
  if (INT64.has(type)) return (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v)) ? [] : bad('an int64 (string or integer)');
  if (FLOAT.has(type)) return typeof v === 'number' || (typeof v === 'string' && /^(NaN|-?Infinity|-?\d+(\.\d+)?([eE][-+]?\d+)?)$/.test(v)) ? [] : bad('a number');
  return bad(`a known scalar type`);
}

/** proto3-JSON forms of the well-known types; `undefined` when `name` is not one. */
function checkWellKnown(name: string, v: unknown, at: string): BodyProblem[] | undefined {
  const bad = (what: string) => [{ field: at || '(body)', message: `expected ${what} for ${name}, got ${describe(v)}` }];
  switch (name) {
    case '.google.protobuf.Struct':
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? [] : bad('a JSON object');
    case '.google.protobuf.Value':
      return [];
    case '.google.protobuf.ListValue':
      return Array.isArray(v) ? [] : bad('a JSON array');
    case '.google.protobuf.Timestamp':
      return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? [] : bad('an RFC 3339 timestamp');
    case '.google.protobuf.Duration':
      return typeof v === 'string' && /^-?\d+(\.\d{1,9})?s$/.test(v) ? [] : bad("a duration like '3600s'");
    case '.google.protobuf.FieldMask':
      return typeof v === 'string' ? [] : bad('a comma-separated field mask');
    case '.google.protobuf.Empty':
      return typeof v === 'object' && v !== null && Object.keys(v).length === 0 ? [] : bad('{}');
    case '.google.protobuf.Any':
      return typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)['@type'] === 'string' ? [] : bad("an object with '@type'");
    case '.google.protobuf.BoolValue':
      return typeof v === 'boolean' ? [] : bad('a boolean');
    case '.google.protobuf.StringValue':
      return typeof v === 'string' ? [] : bad('a string');
    case '.google.protobuf.DoubleValue':
    case '.google.protobuf.FloatValue':
    case '.google.protobuf.Int32Value':
    case '.google.protobuf.Int64Value':
    case '.google.protobuf.UInt32Value':
    case '.google.protobuf.UInt64Value':
      return typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) ? [] : bad('a number');
    default:
      return undefined;
  }
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** One HTTP binding of an RPC, from its `google.api.http` option. */
export interface HttpRule {
  readonly service: string;
  readonly method: string;
  readonly verb: 'get' | 'post' | 'patch' | 'delete' | 'put';
  readonly template: string;
  /** `*`, a field name, or undefined (no body). */
  readonly body?: string;
  readonly requestType: protobuf.Type;
  /** Message of the long-running operation's response, when the RPC returns an Operation. */
  readonly lroResponse?: protobuf.Type;
  readonly responseType: protobuf.Type;
  /** Compiled matcher of the URL path; groups are the template's variables in order. */
  readonly pattern: RegExp;
  readonly variables: readonly string[];
}

/** Every HTTP rule of the services in the given packages (`google.cloud.aiplatform.v1`). */
export function httpRules(packages: readonly string[]): HttpRule[] {
  const root = protoRoot();
  const out: HttpRule[] = [];
  for (const pkg of packages) {
    const ns = root.lookup(pkg) as protobuf.Namespace;
    for (const svc of ns.nestedArray) {
      if (!(svc instanceof protobuf.Service)) continue;
      for (const m of svc.methodsArray) {
        m.resolve();
        const opts = m.options ?? {};
        const lroName = opts['(google.longrunning.operation_info).response_type'] as string | undefined;
        const lroResponse = lroName ? (lookupRelative(ns, lroName) ?? undefined) : undefined;
        for (const verb of ['get', 'post', 'patch', 'delete', 'put'] as const) {
          const template = opts[`(google.api.http).${verb}`] as string | undefined;
          if (!template) continue;
          const { pattern, variables } = compileTemplate(template);
          out.push({
            service: svc.name,
            method: m.name,
            verb,
            template,
            body: opts['(google.api.http).body'] as string | undefined,
            requestType: m.resolvedRequestType as protobuf.Type,
            responseType: m.resolvedResponseType as protobuf.Type,
            ...(lroResponse ? { lroResponse } : {}),
            pattern,
            variables,
          });
        }
      }
    }
  }
  return out;
}

function lookupRelative(ns: protobuf.Namespace, name: string): protobuf.Type | undefined {
  try {
    return ns.lookupType(name);
  } catch {
    try {
      return protoRoot().lookupType(name);
    } catch {
      return undefined;
    }
  }
}

/** `/v1/{parent=projects/*\/locations/*}/endpoints` → a RegExp with one group per variable. */
export function compileTemplate(template: string): { pattern: RegExp; variables: string[] } {
  const variables: string[] = [];
  let re = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i] as string;
    if (c === '{') {
      const end = template.indexOf('}', i);
      const inner = template.slice(i + 1, end);
      const [name, sub] = inner.includes('=') ? inner.split('=') : [inner, '*'];
      variables.push(name as string);
      re += `(${segments(sub as string)})`;
      i = end + 1;
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
    }
  }
  return { pattern: new RegExp(`^${re}$`), variables };
}

function segments(sub: string): string {
  return sub
    .split('/')
    .map((s) => (s === '**' ? '.+' : s === '*' ? '[^/:]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
}
