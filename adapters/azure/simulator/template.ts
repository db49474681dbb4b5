/**
 * Template evaluation: parameters, variables, resource ids, `dependsOn` ordering, `condition`,
 * and inline nested deployments (`Microsoft.Resources/deployments` with `properties.template`).
 *
 * `copy` loops, linked templates, symbolic names and user functions are refused with
 * `InvalidTemplate`: mlplane templates do not use them, and a simulator that guessed would prove
 * nothing.
 */
import { buildResourceId, evaluateDeep, isExpression, TemplateError, type EvalContext, type Json, type UnresolvedReference } from './expressions';

/** A resource as written in a template. */
export interface RawResource {
  readonly type: string;
  readonly apiVersion?: string;
  readonly name: string;
  readonly scope?: string;
  readonly location?: unknown;
  readonly kind?: unknown;
  readonly sku?: unknown;
  readonly identity?: unknown;
  readonly tags?: unknown;
  readonly properties?: unknown;
  readonly plan?: unknown;
  readonly zones?: unknown;
  readonly dependsOn?: readonly unknown[];
  readonly condition?: unknown;
  readonly copy?: unknown;
  readonly comments?: unknown;
}

/** A deployment template (the envelope this simulator reads). */
export interface RawTemplate {
  readonly parameters?: Record<string, { type?: string; defaultValue?: unknown; allowedValues?: unknown[] }>;
  readonly variables?: Record<string, unknown>;
  readonly resources?: unknown;
  readonly outputs?: Record<string, { type?: string; value?: unknown }>;
  readonly functions?: unknown;
}

/** One resource of a deployment, with its id and evaluation scope. */
export interface ResourceUnit {
  /** Full resource id (as written, case preserved). */
  readonly id: string;
  readonly type: string;
  readonly apiVersion: string;
  /** Last name segment. */
  readonly name: string;
  readonly raw: RawResource;
  /** Ids this resource waits for (resolved `dependsOn` plus, for a nested deployment, its own units). */
  readonly dependsOn: readonly string[];
  /** Expression context of the template that declares it. */
  readonly ctx: EvalContext;
  /** For an inline nested deployment: its units in order. */
  readonly nested?: readonly ResourceUnit[];
  /** Name of the nested deployment declaring it, if any. */
  readonly nestedIn?: string;
}

/** Where a template is evaluated. */
export interface TemplateScope {
  readonly subscriptionId: string;
  readonly tenantId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly deploymentName: string;
  reference(resourceId: string, full: boolean): Json;
  list(action: string, resourceId: string): Json;
}

const PARAM_TYPES = new Set(['string', 'securestring', 'int', 'bool', 'object', 'secureobject', 'array']);

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'string':
    case 'securestring':
      return typeof v === 'string';
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'object':
    case 'secureobject':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    default:
      return false;
  }
}

/** Build the expression context of a template: parameters (checked), lazily evaluated variables. */
export function templateContext(template: RawTemplate, supplied: Record<string, unknown>, scope: TemplateScope): EvalContext {
  const declared = template.parameters ?? {};
  for (const name of Object.keys(supplied)) {
    if (!Object.keys(declared).some((d) => d.toLowerCase() === name.toLowerCase())) {
      throw new TemplateError(`The template parameters '${name}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time.`);
    }
  }
  const values = new Map<string, Json>();
  const ctx: EvalContext = {
    subscriptionId: scope.subscriptionId,
    tenantId: scope.tenantId,
    resourceGroup: scope.resourceGroup,
    location: scope.location,
    deploymentName: scope.deploymentName,
    parameter(name) {
      const key = Object.keys(declared).find((d) => d.toLowerCase() === name.toLowerCase());
      if (key === undefined) throw new TemplateError(`The template parameter '${name}' is not found.`);
      const v = values.get(key);
      if (v === undefined) throw new TemplateError(`The template parameter '${name}' is not found.`);
      return v;
    },
    variable(name) {
      const vars = template.variables ?? {};
      const key = Object.keys(vars).find((d) => d.toLowerCase() === name.toLowerCase());
      if (key === undefined) throw new TemplateError(`The template variable '${name}' is not found.`);
      if (evaluating.has(key)) throw new TemplateError(`The template variable '${name}' refers to itself.`);
      evaluating.add(key);
      try {
        return evaluateDeep(vars[key], ctx);
      } finally {
        evaluating.delete(key);
      }
    },
    reference: (id, full) => scope.reference(id, full),
    list: (action, id) => scope.list(action, id),
  };
  const evaluating = new Set<string>();
  for (const [name, p] of Object.entries(declared)) {
    const type = String(p.type ?? '').toLowerCase();
    if (!PARAM_TYPES.has(type)) throw new TemplateError(`The template parameter '${name}' has an invalid type '${String(p.type)}'.`);
    const givenKey = Object.keys(supplied).find((s) => s.toLowerCase() === name.toLowerCase());
    let v: unknown;
    if (givenKey !== undefined) v = supplied[givenKey];
    else if (p.defaultValue !== undefined) v = evaluateDeep(p.defaultValue, ctx);
    else throw new TemplateError(`The value for the template parameter '${name}' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details.`, 'InvalidTemplate');
    if (!typeOk(type, v)) throw new TemplateError(`Template parameter '${name}' was provided an invalid value. Expected a value of type '${String(p.type)}', but received '${JSON.stringify(v)}'.`, 'InvalidTemplate');
    if (Array.isArray(p.allowedValues) && !p.allowedValues.some((a) => JSON.stringify(a) === JSON.stringify(v))) {
      throw new TemplateError(`The provided value '${JSON.stringify(v)}' for the template parameter '${name}' is not valid. The parameter value is not part of the allowed value(s): '${p.allowedValues.map(String).join(',')}'.`);
    }
    values.set(name, v as Json);
  }
  return ctx;
}

function evalString(v: unknown, ctx: EvalContext, what: string): string {
  const r = evaluateDeep(v, ctx);
  if (typeof r !== 'string') throw new TemplateError(`The ${what} must be a string, got ${JSON.stringify(r)}.`);
  return r;
}

/** The id of a template resource. */
export function resourceIdOf(r: RawResource, ctx: EvalContext): string {
  const type = evalString(r.type, ctx, 'resource type');
  const name = evalString(r.name, ctx, 'resource name');
  const segments = name.split('/');
  if (r.scope !== undefined) {
    const scope = evalString(r.scope, ctx, 'resource scope').replace(/\/$/, '');
    return buildResourceId(scope, type, segments);
  }
  if (type.toLowerCase() === 'microsoft.resources/deployments') {
    return `/subscriptions/${ctx.subscriptionId}/resourceGroups/${ctx.resourceGroup}/providers/Microsoft.Resources/deployments/${name}`;
  }
  try {
    return buildResourceId(`/subscriptions/${ctx.subscriptionId}/resourceGroups/${ctx.resourceGroup}`, type, segments);
  } catch {
    throw new TemplateError(`The template resource '${name}' for type '${type}' has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name.`);
  }
}

function asResources(value: unknown): RawResource[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TemplateError('The template resources must be an array (symbolic-name resources are not supported by the mlplane ARM simulator).');
  return value.map((r, i) => {
    if (r === null || typeof r !== 'object' || typeof (r as RawResource).type !== 'string' || typeof (r as RawResource).name !== 'string') {
      throw new TemplateError(`The template resource at index ${i} must have a string 'type' and 'name'.`);
    }
    return r as RawResource;
  });
}

/**
 * Resolve the resources of a template into units in a dependency order (a stable topological
 * sort: template order among independent resources), with nested inline deployments expanded.
 *
 * @throws TemplateError for copy loops, unknown `dependsOn` targets, cycles, bad names.
 */
export function orderResources(template: RawTemplate, ctx: EvalContext, scope: TemplateScope, nestedIn?: string): ResourceUnit[] {
  if (template.functions !== undefined && Array.isArray(template.functions) && template.functions.length > 0) {
    throw new TemplateError('User-defined template functions are not supported by the mlplane ARM simulator.');
  }
  const raws = asResources(template.resources);
  const units: ResourceUnit[] = [];
  const byId = new Map<string, number>();
  for (const r of raws) {
    if (r.copy !== undefined) throw new TemplateError(`The template resource '${r.name}' uses 'copy', which the mlplane ARM simulator does not support.`);
    if (r.condition !== undefined) {
      const c = evaluateDeep(r.condition, ctx);
      if (c === false) continue;
      if (c !== true) throw new TemplateError(`The template resource '${r.name}' has a condition that is not a boolean.`);
    }
    const id = resourceIdOf(r, ctx);
    const type = evalString(r.type, ctx, 'resource type');
    if (r.apiVersion === undefined) throw new TemplateError(`The template resource '${r.name}' has no 'apiVersion'.`);
    if (byId.has(id.toLowerCase())) throw new TemplateError(`The resource '${id}' is defined multiple times in a template.`, 'InvalidTemplate');
    let nested: ResourceUnit[] | undefined;
    if (type.toLowerCase() === 'microsoft.resources/deployments') {
      const props = (r.properties ?? {}) as { template?: RawTemplate; templateLink?: unknown; parameters?: Record<string, { value?: unknown }>; expressionEvaluationOptions?: { scope?: string }; mode?: string };
      if (props.templateLink !== undefined || props.template === undefined) throw new TemplateError(`The nested deployment '${r.name}' must use an inline 'template' (linked templates are not supported offline).`);
      const inner = String(props.expressionEvaluationOptions?.scope ?? 'outer').toLowerCase() === 'inner';
      const name = evalString(r.name, ctx, 'resource name');
      const innerScope: TemplateScope = { ...scope, deploymentName: name };
      let innerCtx = ctx;
      if (inner) {
        const supplied: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(props.parameters ?? {})) supplied[k] = evaluateDeep(v.value, ctx);
        innerCtx = templateContext(props.template, supplied, innerScope);
      } else if (props.template.parameters && Object.keys(props.template.parameters).length > 0) {
        throw new TemplateError(`The nested deployment '${name}' declares parameters but uses the outer evaluation scope.`);
      }
      nested = orderResources(props.template, innerCtx, innerScope, name);
    }
    const deps: string[] = [];
    for (const d of r.dependsOn ?? []) {
      const target = typeof d === 'string' && isExpression(d) ? evaluateDeep(d, ctx) : d;
      if (typeof target !== 'string') throw new TemplateError(`The dependsOn entry ${JSON.stringify(d)} of '${r.name}' is not a string.`);
      deps.push(target);
    }
    byId.set(id.toLowerCase(), units.length);
    units.push({ id, type, apiVersion: r.apiVersion, name: (evalString(r.name, ctx, 'resource name').split('/').pop() as string), raw: r, dependsOn: deps, ctx, nested, nestedIn });
  }
  // Resolve dependsOn to ids of this template.
  const resolved = units.map((u) =>
    u.dependsOn.map((d) => {
      if (byId.has(d.toLowerCase())) return d.toLowerCase();
      // A bare name or `type/name` also works in ARM.
      const match = units.find((x) => x.raw.name.toLowerCase() === d.toLowerCase() || `${x.type}/${x.raw.name}`.toLowerCase() === d.toLowerCase());
      if (match) return match.id.toLowerCase();
      throw new TemplateError(`The resource '${d}' is not defined in the template (dependsOn of '${u.raw.name}').`, 'InvalidTemplate');
    }),
  );
  // Stable topological sort.
  const out: ResourceUnit[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (i: number, chain: string[]) => {
    const s = state.get(i);
    if (s === 'done') return;
    const u = units[i] as ResourceUnit;
    if (s === 'visiting') throw new TemplateError(`Deployment template validation failed: 'Circular dependency detected on resource: '${u.id}'. Please see https://aka.ms/arm-syntax-resources for usage details.'.`, 'InvalidTemplate');
    state.set(i, 'visiting');
    for (const d of resolved[i] as string[]) visit(byId.get(d) as number, [...chain, u.id]);
    state.set(i, 'done');
    out.push({ ...u, dependsOn: (resolved[i] as string[]).map((d) => (units[byId.get(d) as number] as ResourceUnit).id) });
  };
  units.forEach((_, i) => visit(i, []));
  return out;
}

/** Every leaf unit (nested deployments replaced by their units), in order. */
export function flatten(units: readonly ResourceUnit[]): ResourceUnit[] {
  return units.flatMap((u) => (u.nested ? [u, ...flatten(u.nested)] : [u]));
}

/** The body a PUT of this unit sends (expressions evaluated). */
export function evaluateBody(u: ResourceUnit, onUnresolved?: (text: string, e: UnresolvedReference) => Json): ResourceBody {
  const r = u.raw;
  const pick = (v: unknown) => (v === undefined ? undefined : evaluateDeep(v, u.ctx, onUnresolved));
  const body: ResourceBody = {};
  const location = pick(r.location);
  if (location !== undefined) body.location = location;
  for (const k of ['kind', 'sku', 'identity', 'tags', 'properties', 'plan', 'zones'] as const) {
    const v = pick(r[k]);
    if (v !== undefined) body[k] = v;
  }
  return body;
}

/** The writable part of a resource. */
export interface ResourceBody {
  location?: Json;
  kind?: Json;
  sku?: Json;
  identity?: Json;
  tags?: Json;
  properties?: Json;
  plan?: Json;
  zones?: Json;
}
