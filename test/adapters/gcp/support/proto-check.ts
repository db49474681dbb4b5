/**
 * Strict proto3-JSON conformance checker, reusable by the GCP deploy simulator.
 *
 * The proto3 JSON parsers (`fromProto3JSON`, protobufjs `fromObject`) silently ignore unknown
 * keys, so they cannot tell a typo from a field. This checker walks a JSON value against a
 * message type loaded with protobufjs and reports:
 *  - every key that is not a field of its message (by JSON name; original names only on request),
 *  - every value of the wrong JSON type (int64 as string, enums by name, Duration as `"<n>s"`, ...),
 *  - more than one member of a oneof,
 *  - `google.api.field_behavior`: OUTPUT_ONLY fields present, REQUIRED fields absent or empty,
 *  - `google.protobuf.Struct` fields checked as a named message where the caller says so
 *    (`PipelineSpec.deploymentSpec` as `PipelineDeploymentConfig`), free-form otherwise.
 *
 * Specs are read from `../shared/conformance` and `node_modules`, never from a copy.
 */
import { CONFORMANCE_DIR } from '../../../support/conformance';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import protobuf from 'protobufjs';

/** Repository root (this file is `test/adapters/gcp/support/proto-check.ts`). */
export const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
/** The shared conformance data, next to the repository. */
export const CONFORMANCE = CONFORMANCE_DIR;
/** Protos shipped in `@google-cloud/aiplatform`. */
export const AIPLATFORM_PROTOS = join(REPO_ROOT, 'node_modules/@google-cloud/aiplatform/build/protos');
/** google/* protos shipped in `google-gax`. */
export const GAX_PROTOS = join(REPO_ROOT, 'node_modules/google-gax/build/protos');

/** Load `.proto` files (paths relative to one of the include directories) into a resolved Root. */
export function loadProtos(files: readonly string[], includeDirs: readonly string[] = [AIPLATFORM_PROTOS, GAX_PROTOS, join(CONFORMANCE, 'kfp')]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) {
      const p = join(dir, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  root.loadSync([...files], { keepCase: false, alternateCommentMode: false });
  root.resolveAll();
  return root;
}

/** Options of a check. */
export interface ProtoCheckOptions {
  /** `"pkg.Message.fieldJsonName"` → message type to check a Struct-typed field's value as. */
  readonly structAs?: Readonly<Record<string, string>>;
  /** Check `google.api.field_behavior` (OUTPUT_ONLY absent, REQUIRED present). @default true */
  readonly fieldBehavior?: boolean;
  /** Top-level fields that travel in the URL (path parameters), exempt from REQUIRED. */
  readonly pathParams?: readonly string[];
  /** Accept the original (snake_case) field names too, as proto3 JSON parsers do. @default false */
  readonly acceptOriginalNames?: boolean;
  /** Accept int64 values as JSON numbers (parsers do; canonical form is a string). @default false */
  readonly int64AsNumber?: boolean;
}

/** One conformance issue: JSON path and what is wrong. */
export interface ProtoIssue {
  readonly path: string;
  readonly message: string;
}

const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** `google.api.field_behavior` values of a field (a field may carry several). */
export function fieldBehaviors(field: protobuf.Field): string[] {
  const out: string[] = [];
  const parsed = (field.parsedOptions ?? []) as unknown as readonly Record<string, unknown>[];
  for (const opt of parsed) {
    const v = opt['(google.api.field_behavior)'];
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) out.push(...v.filter((x): x is string => typeof x === 'string'));
  }
  const plain = field.options?.['(google.api.field_behavior)'];
  if (typeof plain === 'string' && !out.includes(plain)) out.push(plain);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Walks values against types. */
class Checker {
  public readonly issues: ProtoIssue[] = [];
  constructor(
    private readonly root: protobuf.Root,
    private readonly options: ProtoCheckOptions,
  ) {}

  private issue(path: string, message: string): void {
    this.issues.push({ path: path || '$', message });
  }

  public message(type: protobuf.Type, value: unknown, path: string, top = false): void {
    const full = type.fullName.replace(/^\./, '');
    if (this.wellKnown(full, value, path)) return;
    if (!isObject(value)) {
      this.issue(path, `expected an object (${full}), got ${JSON.stringify(value)}`);
      return;
    }
    const byJson = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) {
      byJson.set(f.name, f);
      if (this.options.acceptOriginalNames) {
        const original = f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
        byJson.set(original, f);
      }
    }
    const present = new Map<protobuf.Field, string>();
    for (const key of Object.keys(value)) {
      const field = byJson.get(key);
      if (!field) {
        this.issue(`${path}.${key}`, `unknown field '${key}' of ${full}; fields are ${type.fieldsArray.map((f) => f.name).join(', ')}`);
        continue;
      }
      if (present.has(field)) this.issue(`${path}.${key}`, `field '${field.name}' given twice (as '${present.get(field)}' and '${key}')`);
      present.set(field, key);
      this.field(type, field, value[key], `${path}.${key}`);
    }
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((f) => present.has(f));
      if (set.length > 1) this.issue(path, `oneof '${oneof.name}' of ${full} has ${set.length} members set (${set.map((f) => f.name).join(', ')}); at most one is allowed`);
    }
    if (this.options.fieldBehavior !== false) {
      for (const f of type.fieldsArray) {
        const behaviors = fieldBehaviors(f);
        const key = present.get(f);
        if (behaviors.includes('OUTPUT_ONLY') && key !== undefined) this.issue(`${path}.${key}`, `field '${f.name}' of ${full} is OUTPUT_ONLY and must not be sent`);
        if (behaviors.includes('REQUIRED')) {
          const exempt = top && (this.options.pathParams ?? []).includes(f.name);
          if (key === undefined && !exempt) this.issue(path, `REQUIRED field '${f.name}' of ${full} is missing`);
          else if (key !== undefined) {
            const v = value[key];
            if (v === '' || v === null || (Array.isArray(v) && v.length === 0)) this.issue(`${path}.${key}`, `REQUIRED field '${f.name}' of ${full} is empty`);
          }
        }
      }
    }
  }

  private field(owner: protobuf.Type, field: protobuf.Field, value: unknown, path: string): void {
    const override = this.options.structAs?.[`${owner.fullName.replace(/^\./, '')}.${field.name}`];
    const check = (v: unknown, p: string) => {
      if (override) this.message(this.root.lookupType(override), v, p);
      else this.single(field, field.type, field.resolvedType, v, p);
    };
    if (field instanceof protobuf.MapField) {
      if (!isObject(value)) {
        this.issue(path, `expected a map (object), got ${JSON.stringify(value)}`);
        return;
      }
      for (const [k, v] of Object.entries(value)) {
        if ((INT32.has(field.keyType) || INT64.has(field.keyType)) && !/^-?\d+$/.test(k)) this.issue(`${path}.${k}`, `map key '${k}' is not an integer (${field.keyType})`);
        if (field.keyType === 'bool' && k !== 'true' && k !== 'false') this.issue(`${path}.${k}`, `map key '${k}' is not a bool`);
        check(v, `${path}.${k}`);
      }
      return;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) {
        this.issue(path, `expected an array (repeated ${field.type}), got ${JSON.stringify(value)}`);
        return;
      }
      value.forEach((v, i) => check(v, `${path}[${i}]`));
      return;
    }
    check(value, path);
  }

  private single(field: protobuf.Field, typeName: string, resolved: protobuf.Type | protobuf.Enum | null, value: unknown, path: string): void {
    if (resolved instanceof protobuf.Type) {
      this.message(resolved, value, path);
      return;
    }
    if (resolved instanceof protobuf.Enum) {
      if (typeof value !== 'string' || !(value in resolved.values)) {
        this.issue(path, `expected a ${resolved.name} enum name (${Object.keys(resolved.values).join(', ')}), got ${JSON.stringify(value)}`);
      }
      return;
    }
    const bad = (what: string) => this.issue(path, `expected ${what} for ${typeName} field '${field.name}', got ${JSON.stringify(value)}`);
    if (typeName === 'string') {
      if (typeof value !== 'string') bad('a string');
    } else if (typeName === 'bool') {
      if (typeof value !== 'boolean') bad('a boolean');
    } else if (INT32.has(typeName)) {
      if (typeof value !== 'number' || !Number.isInteger(value)) bad('an integer number');
      else if (typeName.startsWith('u') && value < 0) bad('a non-negative integer');
    } else if (INT64.has(typeName)) {
      const okString = typeof value === 'string' && /^-?\d+$/.test(value);
      const okNumber = this.options.int64AsNumber === true && typeof value === 'number' && Number.isInteger(value);
      if (!okString && !okNumber) bad('an integer string (int64 in proto3 JSON)');
    } else if (typeName === 'double' || typeName === 'float') {
      if (typeof value !== 'number' && value !== 'NaN' && value !== 'Infinity' && value !== '-Infinity') bad('a number');
    } else if (typeName === 'bytes') {
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*=*$/.test(value)) bad('a base64 string');
    } else {
      this.issue(path, `unresolved type ${typeName}`);
    }
  }

  /** Well-known types with special JSON forms; true when handled. */
  private wellKnown(full: string, value: unknown, path: string): boolean {
    switch (full) {
      case 'google.protobuf.Struct':
        if (!isObject(value)) this.issue(path, `expected an object (Struct), got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.Value':
        if (value === undefined) this.issue(path, 'expected a JSON value (Value)');
        return true;
      case 'google.protobuf.ListValue':
        if (!Array.isArray(value)) this.issue(path, `expected an array (ListValue), got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.Duration':
        if (typeof value !== 'string' || !DURATION.test(value)) this.issue(path, `expected a Duration like "3600s", got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.Timestamp':
        if (typeof value !== 'string' || !TIMESTAMP.test(value)) this.issue(path, `expected an RFC 3339 Timestamp, got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.FieldMask':
        if (typeof value !== 'string') this.issue(path, `expected a FieldMask string, got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.Empty':
        if (!isObject(value) || Object.keys(value).length > 0) this.issue(path, `expected {} (Empty), got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.Any':
        if (!isObject(value) || typeof value['@type'] !== 'string') this.issue(path, `expected an Any with '@type', got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.StringValue':
        if (typeof value !== 'string') this.issue(path, `expected a string (StringValue), got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.BoolValue':
        if (typeof value !== 'boolean') this.issue(path, `expected a boolean (BoolValue), got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.Int32Value':
      case 'google.protobuf.UInt32Value':
        if (typeof value !== 'number' || !Number.isInteger(value)) this.issue(path, `expected an integer (${full}), got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.Int64Value':
      case 'google.protobuf.UInt64Value':
        if (!(typeof value === 'string' && /^-?\d+$/.test(value))) this.issue(path, `expected an integer string (${full}), got ${JSON.stringify(value)}`);
        return true;
      case 'google.protobuf.DoubleValue':
      case 'google.protobuf.FloatValue':
        if (typeof value !== 'number') this.issue(path, `expected a number (${full}), got ${JSON.stringify(value)}`);
        return true;
      default:
        return false;
    }
  }
}

/**
 * Check `value` strictly against message `typeName` of `root`.
 *
 * @returns every issue found; empty when the value conforms.
 */
export function checkProtoJson(root: protobuf.Root, typeName: string, value: unknown, options: ProtoCheckOptions = {}): ProtoIssue[] {
  const checker = new Checker(root, options);
  checker.message(root.lookupType(typeName), value, '$', true);
  return checker.issues;
}

/** Issues rendered one per line, for readable test failures. */
export function formatIssues(issues: readonly ProtoIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}
