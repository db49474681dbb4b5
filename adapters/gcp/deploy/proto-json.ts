/**
 * Conversions between proto3 JSON (what synth writes and the REST API speaks) and the object form
 * the aiplatform clients take and return (`google.protobuf.Struct` as `{fields}`, Timestamps as
 * `{seconds, nanos}`, every default value present). Driven by the protos' reflection.
 */
import type * as protobuf from 'protobufjs';
import { protoRoot } from '../simulator/protos';

/** A JSON object. */
export type Json = Record<string, unknown>;

/** The message type `google.cloud.aiplatform.v1.Endpoint`. */
export function messageType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

/** proto3 JSON → client object form (for requests). */
export function jsonToObject(type: protobuf.Type, json: unknown): unknown {
  switch (type.fullName) {
    case '.google.protobuf.Struct':
      return structFromJson(json as Json);
    case '.google.protobuf.Value':
      return valueFromJson(json);
    case '.google.protobuf.ListValue':
      return { values: (json as unknown[]).map(valueFromJson) };
    case '.google.protobuf.Timestamp': {
      const ms = Date.parse(String(json));
      return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
    }
    case '.google.protobuf.Duration': {
      const m = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(String(json));
      return { seconds: m?.[1] ?? '0', nanos: m?.[2] ? Number(m[2].padEnd(9, '0')) : 0 };
    }
    default:
      break;
  }
  if (typeof json !== 'object' || json === null) return json;
  const out: Json = {};
  for (const [k, v] of Object.entries(json as Json)) {
    const f = type.fields[k];
    if (!f) {
      out[k] = v;
      continue;
    }
    const rt = f.resolvedType;
    const conv = (x: unknown) => (rt && 'fields' in rt ? jsonToObject(rt as protobuf.Type, x) : x);
    if (f.map) out[k] = Object.fromEntries(Object.entries(v as Json).map(([mk, mv]) => [mk, conv(mv)]));
    else if (f.repeated) out[k] = (v as unknown[]).map(conv);
    else out[k] = conv(v);
  }
  return out;
}

/**
 * Client object form → canonical proto3 JSON: default values dropped, enums as names, WKTs in
 * their JSON form, oneof virtual fields removed.
 */
export function objectToJson(type: protobuf.Type, obj: unknown): unknown {
  switch (type.fullName) {
    case '.google.protobuf.Struct':
      return structToJson(obj as Json);
    case '.google.protobuf.Value':
      return valueToJson(obj as Json);
    case '.google.protobuf.ListValue':
      return (((obj as Json).values as Json[] | undefined) ?? []).map(valueToJson);
    case '.google.protobuf.Timestamp': {
      const o = obj as { seconds?: string | number; nanos?: number };
      return new Date(Number(o.seconds ?? 0) * 1000 + Math.round((o.nanos ?? 0) / 1e6)).toISOString();
    }
    case '.google.protobuf.Duration': {
      const o = obj as { seconds?: string | number; nanos?: number };
      return `${Number(o.seconds ?? 0)}${o.nanos ? `.${String(o.nanos).padStart(9, '0').replace(/0+$/, '')}` : ''}s`;
    }
    default:
      break;
  }
  if (typeof obj !== 'object' || obj === null) return obj;
  const out: Json = {};
  for (const [k, v] of Object.entries(obj as Json)) {
    const f = type.fields[k];
    if (!f || v === null || v === undefined) continue;
    const conv = (x: unknown) => scalarOrMessage(f, x);
    let value: unknown;
    if (f.map) {
      const entries = Object.entries(v as Json).map(([mk, mv]) => [mk, conv(mv)] as const);
      if (entries.length === 0) continue;
      value = Object.fromEntries(entries);
    } else if (f.repeated) {
      const arr = (v as unknown[]).map(conv);
      if (arr.length === 0) continue;
      value = arr;
    } else {
      value = conv(v);
      if (isDefault(value)) continue;
    }
    out[k] = value;
  }
  return out;
}

function scalarOrMessage(f: protobuf.Field, x: unknown): unknown {
  const rt = f.resolvedType;
  if (rt && 'fields' in rt) return objectToJson(rt as protobuf.Type, x);
  if (rt && 'values' in rt) {
    const e = rt as protobuf.Enum;
    const name = typeof x === 'number' ? e.valuesById[x] : x;
    return e.values[String(name)] === 0 ? undefined : name;
  }
  if (['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'].includes(f.type)) return String(x) === '0' ? undefined : String(x);
  return x;
}

function isDefault(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

function valueFromJson(v: unknown): Json {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(valueFromJson) } };
  return { structValue: structFromJson(v as Json) };
}

function structFromJson(o: Json): Json {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, valueFromJson(v)])) };
}

function valueToJson(v: Json): unknown {
  const kind = typeof v.kind === 'string' ? v.kind : Object.keys(v).find((k) => v[k] !== null && v[k] !== undefined);
  switch (kind) {
    case 'numberValue':
      return v.numberValue;
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'structValue':
      return structToJson(v.structValue as Json);
    case 'listValue':
      return (((v.listValue as Json).values as Json[] | undefined) ?? []).map(valueToJson);
    default:
      return null;
  }
}

function structToJson(s: Json): Json {
  const fields = (s.fields as Record<string, Json> | undefined) ?? {};
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, valueToJson(v)]));
}

/**
 * Canonical proto3 JSON of a document (defaults dropped), for comparisons. The result is computed
 * once per document object and message type (a deploy reads the live state twice, before the lock
 * and under it, and compares the same desired documents each time); callers must not modify it.
 */
export function canonical(type: protobuf.Type, json: unknown): Json {
  if (typeof json !== 'object' || json === null) return objectToJson(type, jsonToObject(type, json)) as Json;
  let byType = CANONICAL.get(json);
  if (!byType) CANONICAL.set(json, (byType = new Map()));
  let out = byType.get(type);
  if (!out) byType.set(type, (out = objectToJson(type, jsonToObject(type, json)) as Json));
  return out;
}

const CANONICAL = new WeakMap<object, Map<protobuf.Type, Json>>();
