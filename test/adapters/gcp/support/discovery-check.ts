/**
 * Strict checker of request bodies against a Google API discovery document's schemas (used for
 * BigQuery v2): unknown keys are errors, types and formats must match (int64 as a decimal
 * string), enums must be listed, read-only properties must be absent, and properties whose
 * description starts with "[Required]" / "Required." must be present.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFORMANCE, type ProtoIssue } from './proto-check';

/** A discovery schema (the subset used by Google's discovery documents). */
export interface DiscoverySchema {
  readonly id?: string;
  readonly type?: string;
  readonly format?: string;
  readonly $ref?: string;
  readonly properties?: Readonly<Record<string, DiscoverySchema>>;
  readonly additionalProperties?: DiscoverySchema;
  readonly items?: DiscoverySchema;
  readonly enum?: readonly string[];
  readonly readOnly?: boolean;
  readonly description?: string;
}

/** A loaded discovery document. */
export interface DiscoveryDoc {
  readonly schemas: Readonly<Record<string, DiscoverySchema>>;
  readonly resources: Readonly<Record<string, unknown>>;
}

/** Load `../shared/conformance/gcp/<name>.discovery.json`. */
export function loadDiscovery(name: 'bigquery.v2' | 'aiplatform.v1' | 'storage.v1' | 'cloudkms.v1' | 'iam.v1' | 'cloudresourcemanager.v3'): DiscoveryDoc {
  return JSON.parse(readFileSync(join(CONFORMANCE, 'gcp', `${name}.discovery.json`), 'utf8')) as DiscoveryDoc;
}

/** Every method id (`bigquery.tables.insert`) of a discovery document. */
export function discoveryMethodIds(doc: DiscoveryDoc): Set<string> {
  const out = new Set<string>();
  const walk = (resources: Record<string, unknown>) => {
    for (const r of Object.values(resources) as { methods?: Record<string, { id: string }>; resources?: Record<string, unknown> }[]) {
      for (const m of Object.values(r.methods ?? {})) out.add(m.id);
      if (r.resources) walk(r.resources);
    }
  };
  walk(doc.resources as Record<string, unknown>);
  return out;
}

function required(schema: DiscoverySchema): boolean {
  return /^\s*(\[Required\]|Required\.)/.test(schema.description ?? '');
}

/**
 * Check `value` against schema `name` of `doc`.
 *
 * @returns every issue found; empty when the body conforms.
 */
export function checkDiscoveryJson(doc: DiscoveryDoc, name: string, value: unknown): ProtoIssue[] {
  const issues: ProtoIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ path: path || '$', message });
  const walk = (schema: DiscoverySchema, v: unknown, path: string) => {
    if (schema.$ref) {
      const target = doc.schemas[schema.$ref];
      if (!target) {
        issue(path, `unknown schema ${schema.$ref}`);
        return;
      }
      walk(target, v, path);
      return;
    }
    switch (schema.type) {
      case 'object': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) {
          issue(path, `expected an object, got ${JSON.stringify(v)}`);
          return;
        }
        const obj = v as Record<string, unknown>;
        const props = schema.properties ?? {};
        for (const [k, child] of Object.entries(obj)) {
          const prop = props[k];
          if (prop) {
            if (prop.readOnly) issue(`${path}.${k}`, `property '${k}' of ${schema.id ?? 'object'} is read-only and must not be sent`);
            walk(prop, child, `${path}.${k}`);
          } else if (schema.additionalProperties) {
            walk(schema.additionalProperties, child, `${path}.${k}`);
          } else {
            issue(`${path}.${k}`, `unknown property '${k}' of ${schema.id ?? 'object'}; properties are ${Object.keys(props).join(', ')}`);
          }
        }
        for (const [k, prop] of Object.entries(props)) {
          if (required(prop) && !prop.readOnly && obj[k] === undefined) issue(path, `required property '${k}' of ${schema.id ?? 'object'} is missing`);
        }
        return;
      }
      case 'array':
        if (!Array.isArray(v)) {
          issue(path, `expected an array, got ${JSON.stringify(v)}`);
          return;
        }
        v.forEach((item, i) => walk(schema.items ?? {}, item, `${path}[${i}]`));
        return;
      case 'string':
        if (typeof v !== 'string') {
          issue(path, `expected a string${schema.format ? ` (${schema.format})` : ''}, got ${JSON.stringify(v)}`);
          return;
        }
        if ((schema.format === 'int64' || schema.format === 'uint64') && !/^-?\d+$/.test(v)) issue(path, `expected a decimal ${schema.format} string, got ${JSON.stringify(v)}`);
        if (schema.enum && !schema.enum.includes(v)) issue(path, `expected one of ${schema.enum.join(', ')}, got ${JSON.stringify(v)}`);
        return;
      case 'integer':
        if (typeof v !== 'number' || !Number.isInteger(v)) issue(path, `expected an integer, got ${JSON.stringify(v)}`);
        return;
      case 'number':
        if (typeof v !== 'number') issue(path, `expected a number, got ${JSON.stringify(v)}`);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') issue(path, `expected a boolean, got ${JSON.stringify(v)}`);
        return;
      case 'any':
      case undefined:
        return;
      default:
        issue(path, `unsupported schema type ${schema.type}`);
    }
  };
  const root = doc.schemas[name];
  if (!root) return [{ path: '$', message: `no schema ${name} in the discovery document` }];
  walk(root, value, '$');
  return issues;
}
