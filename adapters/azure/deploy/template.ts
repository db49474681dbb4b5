/**
 * What the deployer reads from the synthesized template without asking Azure: resource ids,
 * construct paths (`mlplane-path` tags), `dependsOn` edges, alias parameters, desired traffic.
 *
 * Ids are computed with the ARM expression evaluator (`../simulator/expressions.ts`) restricted
 * to the functions that do not need live state (`resourceId`, `extensionResourceId`,
 * `parameters`, `concat`, ...); anything needing `reference()` is left out.
 */
import { evaluateDeep, isExpression, UnresolvedReference, type EvalContext, type Json } from '../simulator/expressions';

/** One template resource, as the deployer sees it. */
export interface TemplateEntry {
  readonly id: string;
  readonly type: string;
  readonly apiVersion: string;
  /** Construct path from the `mlplane-path` tag (ARM tags or `properties.tags`), if any. */
  readonly path?: string;
  /** Ids it depends on. */
  readonly dependsOn: readonly string[];
  readonly raw: Record<string, unknown>;
  /** Evaluated `properties` where they need no live state. */
  readonly properties?: Json;
  /** Name of the nested deployment that declares it. */
  readonly nestedIn?: string;
  /** Whether the resource carries `mlplane-retain: true` (a data-bearing resource). */
  readonly retain: boolean;
}

/** Index of a template. */
export interface TemplateIndex {
  /** Resources by lower-cased id; a resource declared twice keeps its last declaration. */
  readonly entries: ReadonlyMap<string, TemplateEntry>;
  /** Construct path of a resource: its tag, the template's, its nearest ancestor's, else the environment's. */
  pathOf(id: string, doc?: unknown): string;
  /** The alias a deployment's model follows (from the `mlplane:alias` parameter metadata). */
  aliasOf(id: string): string | undefined;
  /** Parameters that hold alias versions: name → alias metadata. */
  readonly aliasParameters: ReadonlyMap<string, AliasParameter>;
  /** Parameters that take an endpoint's live traffic: name → `workspace/endpoint`. */
  readonly liveTrafficParameters: ReadonlyMap<string, string>;
}

/** Metadata of a parameter that carries a model version resolved from an alias. */
export interface AliasParameter {
  readonly registry: string;
  readonly model: string;
  readonly alias: string;
  /** Tag a model version carries when it holds the alias (`mlplane-alias-champion`). */
  readonly tag: string;
  readonly defaultValue?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Read `mlplane-path` from a resource document (ARM tags first, then `properties.tags`). */
export function pathTag(doc: unknown): string | undefined {
  if (!isRecord(doc)) return undefined;
  const tags = isRecord(doc.tags) ? doc.tags : isRecord(doc.properties) && isRecord(doc.properties.tags) ? doc.properties.tags : undefined;
  const v = tags?.['mlplane-path'];
  return typeof v === 'string' ? v : undefined;
}

function retainTag(doc: unknown): boolean {
  if (!isRecord(doc)) return false;
  const a = isRecord(doc.tags) ? doc.tags['mlplane-retain'] : undefined;
  const b = isRecord(doc.properties) && isRecord(doc.properties.tags) ? doc.properties.tags['mlplane-retain'] : undefined;
  return a === 'true' || b === 'true';
}

/**
 * Index a template for a subscription and resource group.
 *
 * @param parameters parameter values (alias versions resolved or defaults)
 */
export function templateIndex(template: unknown, environmentPath: string, scope: { subscriptionId: string; resourceGroup: string } = { subscriptionId: '{subscription}', resourceGroup: '{resourceGroup}' }, parameters: Record<string, unknown> = {}): TemplateIndex {
  const t = isRecord(template) ? template : {};
  const declared = isRecord(t.parameters) ? t.parameters : {};
  const aliasParameters = new Map<string, AliasParameter>();
  const liveTrafficParameters = new Map<string, string>();
  for (const [name, p] of Object.entries(declared)) {
    const live = isRecord(p) && isRecord(p.metadata) ? p.metadata['mlplane:liveTraffic'] : undefined;
    if (isRecord(live) && typeof live.endpoint === 'string') liveTrafficParameters.set(name, live.endpoint);
    const meta = isRecord(p) && isRecord(p.metadata) ? p.metadata['mlplane:alias'] : undefined;
    if (isRecord(meta) && typeof meta.alias === 'string' && typeof meta.model === 'string' && typeof meta.tag === 'string') {
      aliasParameters.set(name, { registry: String(meta.registry ?? ''), model: meta.model, alias: meta.alias, tag: meta.tag, defaultValue: isRecord(p) && typeof p.defaultValue === 'string' ? p.defaultValue : undefined });
    }
  }
  const ctx: EvalContext = {
    subscriptionId: scope.subscriptionId,
    tenantId: '{tenant}',
    resourceGroup: scope.resourceGroup,
    location: '{location}',
    deploymentName: '{deployment}',
    parameter: (name) => {
      const v = parameters[name] ?? (isRecord(declared[name]) ? (declared[name] as Record<string, unknown>).defaultValue : undefined);
      if (v === undefined) throw new UnresolvedReference(`parameters('${name}')`);
      return v as Json;
    },
    variable: (name) => {
      const vars = isRecord(t.variables) ? t.variables : {};
      return evaluateDeep(vars[name], ctx);
    },
    reference: (id) => {
      throw new UnresolvedReference(id);
    },
    list: (_action, id) => {
      throw new UnresolvedReference(id);
    },
  };
  const keep = (text: string): Json => text;
  const entries = new Map<string, TemplateEntry>();
  const walk = (resources: unknown, nestedIn?: string) => {
    if (!Array.isArray(resources)) return;
    for (const r of resources) {
      if (!isRecord(r) || typeof r.type !== 'string' || typeof r.name !== 'string') continue;
      const name = String(evaluateDeep(r.name, ctx, keep));
      const type = r.type;
      const parts = type.split('/');
      const segments = name.split('/');
      let id: string;
      if (type.toLowerCase() === 'microsoft.resources/deployments') {
        const props = isRecord(r.properties) ? r.properties : {};
        walk(isRecord(props.template) ? props.template.resources : undefined, name);
        continue;
      }
      const typePath = parts.slice(1).map((p, i) => `${p}/${segments[i] ?? ''}`).join('/');
      if (typeof r.scope === 'string') {
        const s = String(evaluateDeep(r.scope, ctx, keep));
        id = `${s}/providers/${parts[0] as string}/${typePath}`;
      } else id = `/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroup}/providers/${parts[0] as string}/${typePath}`;
      const dependsOn = (Array.isArray(r.dependsOn) ? r.dependsOn : []).map((d) => (typeof d === 'string' && isExpression(d) ? String(evaluateDeep(d, ctx, keep)) : String(d)));
      const properties = evaluateDeep(r.properties, ctx, keep);
      entries.set(id.toLowerCase(), { id, type, apiVersion: String(r.apiVersion ?? ''), path: pathTag(r), dependsOn, raw: r, properties, nestedIn, retain: retainTag(r) });
    }
  };
  walk(t.resources);
  const pathOf = (id: string, doc?: unknown): string => {
    const own = pathTag(doc) ?? entries.get(id.toLowerCase())?.path;
    if (own) return own;
    // Nearest ancestor (child resources, and extension resources by their scope).
    let cur = id;
    for (;;) {
      const at = cur.lastIndexOf('/');
      if (at <= 0) break;
      cur = cur.slice(0, at);
      const e = entries.get(cur.toLowerCase());
      if (e?.path) return e.path;
    }
    return environmentPath;
  };
  const aliasOf = (id: string): string | undefined => {
    const e = entries.get(id.toLowerCase());
    const model = e && isRecord(e.raw.properties) ? e.raw.properties.model : undefined;
    const m = typeof model === 'string' ? /parameters\('([^']+)'\)/.exec(model) : null;
    return m ? aliasParameters.get(m[1] as string)?.alias : undefined;
  };
  return { entries, pathOf, aliasOf, aliasParameters, liveTrafficParameters };
}
