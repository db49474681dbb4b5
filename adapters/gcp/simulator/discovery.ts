/**
 * The BigQuery v2 discovery document (shipped in `spec-data/gcp/bigquery.v2.discovery.json`) and
 * a checker of request bodies against its schemas: unknown properties and read-only properties
 * are errors, types must match.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { specDataPath } from '../../shared/spec-data';
import type { BodyProblem } from './protos';

/** A JSON schema of a discovery document. */
export interface DiscoverySchema {
  readonly type?: string;
  readonly $ref?: string;
  readonly properties?: Readonly<Record<string, DiscoverySchema>>;
  readonly additionalProperties?: DiscoverySchema;
  readonly items?: DiscoverySchema;
  readonly readOnly?: boolean;
  readonly enum?: readonly string[];
  readonly format?: string;
}

/** A discovery document (the parts the simulator reads). */
export interface DiscoveryDocument {
  readonly schemas: Readonly<Record<string, DiscoverySchema>>;
}

/**
 * The folder holding `gcp/bigquery.v2.discovery.json`: an explicit option, else the spec data
 * shipped in the package (`spec-data/`). Nothing outside the package is read by default.
 *
 * @throws Error naming the folder when it does not hold the document.
 */
export function conformanceDir(explicit?: string): string {
  const dir = explicit ?? specDataPath();
  if (!fs.existsSync(path.join(dir, 'gcp', 'bigquery.v2.discovery.json'))) {
    throw new Error(`BigQuery discovery document not found: ${path.join(dir, 'gcp', 'bigquery.v2.discovery.json')} does not exist; ${explicit ? 'pass a folder holding gcp/bigquery.v2.discovery.json' : 'the mlplane installation is incomplete (spec-data/ is missing); reinstall mlplane'}`);
  }
  return dir;
}

/** Load the BigQuery v2 discovery document. */
export function loadBigQueryDiscovery(dir?: string): DiscoveryDocument {
  const file = path.join(conformanceDir(dir), 'gcp', 'bigquery.v2.discovery.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as DiscoveryDocument;
}

/** Properties a client may send although the schema marks them read-only (`etag` drives If-Match). */
const TOLERATED_READ_ONLY = new Set(['etag']);

/** Check `value` against schema `name` of the document. */
export function checkDiscovery(doc: DiscoveryDocument, name: string, value: unknown, at = ''): BodyProblem[] {
  const schema = doc.schemas[name];
  if (!schema) return [{ field: at || '(body)', message: `unknown schema ${name}` }];
  return checkSchema(doc, schema, value, at, name);
}

function checkSchema(doc: DiscoveryDocument, schema: DiscoverySchema, value: unknown, at: string, name: string): BodyProblem[] {
  if (schema.$ref) return checkDiscovery(doc, schema.$ref, value, at);
  const where = at || '(body)';
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [{ field: where, message: `expected an object (${name})` }];
      const out: BodyProblem[] = [];
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const p = at ? `${at}.${k}` : k;
        const prop = schema.properties?.[k] ?? schema.additionalProperties;
        if (!prop) {
          out.push({ field: p, message: `Invalid field selection ${k}: no such field in ${name}` });
          continue;
        }
        if (prop.readOnly && !TOLERATED_READ_ONLY.has(k)) {
          out.push({ field: p, message: `${k} is output only and cannot be set` });
          continue;
        }
        out.push(...checkSchema(doc, prop, v, p, name));
      }
      return out;
    }
    case 'array':
      if (!Array.isArray(value)) return [{ field: where, message: 'expected an array' }];
      return value.flatMap((v, i) => (schema.items ? checkSchema(doc, schema.items, v, `${at}[${i}]`, name) : []));
    case 'string':
      if (typeof value !== 'string') return [{ field: where, message: `expected a string, got ${JSON.stringify(value)}` }];
      if (schema.format === 'int64' && !/^-?\d+$/.test(value)) return [{ field: where, message: `expected an int64 string, got ${JSON.stringify(value)}` }];
      return [];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [{ field: where, message: `expected a boolean, got ${JSON.stringify(value)}` }];
    case 'integer':
    case 'number':
      return typeof value === 'number' || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) ? [] : [{ field: where, message: `expected a number, got ${JSON.stringify(value)}` }];
    case 'any':
    case undefined:
      return [];
    default:
      return [];
  }
}
