/**
 * Typed ARM template documents and the small expression language the adapter writes into them.
 *
 * Every value in a template is built from {@link ArmValue}s. ARM expressions are {@link ArmExpr}
 * objects, never hand-written strings, so that {@link renderArm} can tell them apart from user
 * text: a user string that happens to start with `[` is escaped to `[[` (ARM's own escape), and
 * the resources an expression refers to become `dependsOn` entries automatically.
 */

/** An ARM template expression (written without the surrounding brackets). */
export class ArmExpr {
  constructor(
    /** Expression text, e.g. `resourceId('Microsoft.Storage/storageAccounts', 'st1')`. */
    public readonly text: string,
    /** Keys (`type/name`) of the template resources this expression refers to. */
    public readonly refs: readonly string[] = [],
  ) {}
}

/** Any value that can appear in a template before rendering. */
export type ArmValue =
  | string
  | number
  | boolean
  | null
  | ArmExpr
  | readonly ArmValue[]
  | { readonly [key: string]: ArmValue | undefined };

/** An object of template values. */
export type ArmObject = { readonly [key: string]: ArmValue | undefined };

/** One resource of a template, before rendering. */
export interface ArmResource {
  /** Full resource type, e.g. `Microsoft.MachineLearningServices/workspaces/computes`. */
  readonly type: string;
  readonly apiVersion: string;
  /** Full name: `parent/child` for child resources declared at the top level. */
  readonly name: string;
  readonly location?: ArmValue;
  readonly kind?: string;
  readonly sku?: ArmObject;
  readonly identity?: ArmObject;
  readonly tags?: Readonly<Record<string, string>>;
  /** Extension resources (role assignments): the resource they apply to. */
  readonly scope?: ArmExpr;
  readonly properties?: ArmObject;
  /** Extra dependencies that no expression reveals (resource keys). */
  readonly extraDependsOn?: readonly string[];
}

/** A template parameter. */
/** A parameter value: a scalar or a JSON object (ARM `object` parameters). */
export type ArmParameterValue = string | number | boolean | Readonly<Record<string, number | string | boolean>>;

export interface ArmParameter {
  readonly type: 'string' | 'int' | 'bool' | 'object' | 'array';
  readonly defaultValue?: ArmParameterValue;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** A rendered ARM resource, as written to `template.json`. */
export interface RenderedResource {
  readonly type: string;
  readonly apiVersion: string;
  readonly name: string;
  readonly location?: unknown;
  readonly kind?: string;
  readonly sku?: unknown;
  readonly identity?: unknown;
  readonly tags?: Readonly<Record<string, string>>;
  readonly scope?: string;
  readonly properties?: Record<string, unknown>;
  readonly dependsOn?: readonly string[];
}

/** A rendered deployment template (`deploymentTemplate.json` 2019-04-01). */
export interface ArmTemplate {
  readonly $schema: string;
  readonly contentVersion: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly parameters: Readonly<Record<string, ArmParameter>>;
  readonly resources: readonly RenderedResource[];
  readonly outputs: Readonly<Record<string, { readonly type: string; readonly value: unknown }>>;
}

/** A deployment parameters file (`deploymentParameters.json` 2019-04-01). */
export interface ArmParametersFile {
  readonly $schema: string;
  readonly contentVersion: string;
  readonly parameters: Readonly<Record<string, { readonly value: ArmParameterValue }>>;
}

/** `$schema` of deployment templates. */
export const TEMPLATE_SCHEMA = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#';
/** `$schema` of parameters files. */
export const PARAMETERS_SCHEMA = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#';

/** Quote a literal for use inside an ARM expression. */
export function armLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Key that identifies a template resource: `type/name`. */
export function resourceKey(type: string, name: string): string {
  return `${type}/${name}`;
}

/** `resourceId('type', 'n1', 'n2', ...)` for a resource in the deployment's resource group. */
export function resourceId(type: string, ...names: string[]): ArmExpr {
  return new ArmExpr(`resourceId(${[type, ...names].map(armLiteral).join(', ')})`, [resourceKey(type, names.join('/'))]);
}

/** `reference(resourceId(...), 'apiVersion').<path>` */
export function reference(id: ArmExpr, apiVersion: string, path: string): ArmExpr {
  return new ArmExpr(`reference(${id.text}, ${armLiteral(apiVersion)}).${path}`, id.refs);
}

/** `concat(...)` of literals and expressions. */
export function concat(...parts: (string | ArmExpr)[]): ArmExpr {
  const refs: string[] = [];
  const args = parts.map((p) => {
    if (typeof p === 'string') return armLiteral(p);
    refs.push(...p.refs);
    return p.text;
  });
  return new ArmExpr(`concat(${args.join(', ')})`, refs);
}

/** A floating point number. Some ML schema fields are typed integer but take fractions; ARM's `json()` passes the number through. */
export function armNumber(value: number): ArmValue {
  return Number.isInteger(value) ? value : new ArmExpr(`json(${armLiteral(String(value))})`);
}

/** Collect every resource key an ArmValue refers to. */
export function collectRefs(value: ArmValue | undefined, into: Set<string>): void {
  if (value === undefined || value === null) return;
  if (value instanceof ArmExpr) {
    for (const r of value.refs) into.add(r);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v as ArmValue, into);
    return;
  }
  if (typeof value === 'object') {
    for (const v of Object.values(value)) collectRefs(v as ArmValue | undefined, into);
  }
}

/**
 * Render a value as plain JSON data: expressions to `[...]`, user strings starting with `[` escaped,
 * `undefined` members dropped and `undefined` list items `null` (as JSON writes them).
 */
export function renderArm(value: ArmValue | undefined): unknown {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (value instanceof ArmExpr) return `[${value.text}]`;
  if (typeof value === 'string') return value.startsWith('[') ? `[${value}` : value;
  if (Array.isArray(value)) return value.map((v) => renderArm(v as ArmValue) ?? null);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = renderArm(v as ArmValue | undefined);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return value;
}

/** Plain JSON for documents that are not ARM templates (YAML views): expressions are not allowed there. */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json | undefined };
