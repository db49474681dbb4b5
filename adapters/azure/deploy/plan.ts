/**
 * ARM what-if rendered as an mlplane {@link Plan}: one item per resource, with the change in ML
 * terms (traffic shifts, model versions and aliases, drift thresholds, schedules, scale).
 */
import type { Plan, PlanAction, PlanItem, PropertyChange } from '../../deploy';
import { leafDeltas, type WhatIfChange } from './arm';
import type { TemplateIndex } from './template';

const KIND: Readonly<Record<string, string>> = {
  'microsoft.machinelearningservices/workspaces': 'workspace',
  'microsoft.machinelearningservices/workspaces/computes': 'compute pool',
  'microsoft.machinelearningservices/workspaces/onlineendpoints': 'online endpoint',
  'microsoft.machinelearningservices/workspaces/onlineendpoints/deployments': 'endpoint deployment',
  'microsoft.machinelearningservices/workspaces/batchendpoints': 'batch endpoint',
  'microsoft.machinelearningservices/workspaces/batchendpoints/deployments': 'batch deployment',
  'microsoft.machinelearningservices/workspaces/schedules': 'schedule',
  'microsoft.machinelearningservices/workspaces/models': 'registered model',
  'microsoft.machinelearningservices/workspaces/data': 'dataset',
  'microsoft.machinelearningservices/workspaces/data/versions': 'dataset version',
  'microsoft.machinelearningservices/workspaces/components/versions': 'pipeline step component',
  'microsoft.machinelearningservices/workspaces/environments/versions': 'container environment',
  'microsoft.machinelearningservices/workspaces/datastores': 'datastore',
  'microsoft.machinelearningservices/registries': 'model registry',
  'microsoft.storage/storageaccounts': 'storage account',
  'microsoft.keyvault/vaults': 'key vault',
  'microsoft.managedidentity/userassignedidentities': 'identity',
  'microsoft.authorization/roleassignments': 'role assignment',
  'microsoft.insights/autoscalesettings': 'autoscale setting',
  'microsoft.insights/components': 'application insights',
  'microsoft.operationalinsights/workspaces': 'log analytics workspace',
  'microsoft.containerregistry/registries': 'container registry',
  'microsoft.cache/redis': 'online feature store (redis)',
  'microsoft.logic/workflows': 'retrain workflow (logic app)',
  'microsoft.eventgrid/systemtopics': 'event topic',
  'microsoft.eventgrid/systemtopics/eventsubscriptions': 'event subscription',
  'microsoft.machinelearningservices/workspaces/featuresets/versions': 'feature set version',
  'microsoft.machinelearningservices/workspaces/featurestoreentities/versions': 'feature entity version',
  'microsoft.machinelearningservices/workspaces/connections': 'workspace connection',
  'microsoft.keyvault/vaults/keys': 'encryption key',
};

/** A readable name of a resource type in ML words. */
export function kindOf(type: string): string {
  return KIND[type.toLowerCase()] ?? type.split('/').slice(1).join('/');
}

/** `accessPolicyAssignments` → `access policy assignment`. */
function words(segment: string): string {
  const w = segment.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  if (/ies$/.test(w)) return w.replace(/ies$/, 'y');
  return /(ss|is|us)$/.test(w) ? w : w.replace(/s$/, '');
}

/**
 * The cloud resource an id names, as progress lines show it: `azure ml online endpoint
 * fraud-prod-scoring`, `azure ml endpoint deployment fraud-prod-scoring/blue`, `azure storage
 * account stfraud1a2b3c`, `azure storage account container ds-customers`. Azure ML children are
 * named below their workspace; a type without an ML word is named from its type segments.
 */
export function cloudResource(type: string, id: string): string {
  const rest = id.slice(id.toLowerCase().lastIndexOf('/providers/') + '/providers/'.length).split('/');
  const names: string[] = [];
  for (let k = 2; k < rest.length; k += 2) names.push(rest[k] as string);
  const t = type.toLowerCase();
  const segments = type.split('/').slice(1);
  const kind = KIND[t] ?? (segments.length > 1 ? `${words(segments[0] as string)} ${words(segments[segments.length - 1] as string)}` : words(segments[0] ?? type));
  if (t.startsWith('microsoft.machinelearningservices/')) {
    return `azure ml ${kind} ${(names.length > 1 ? names.slice(1) : names).join('/')}`;
  }
  return `azure ${kind} ${names[names.length - 1] ?? id}`;
}

function typeOfId(id: string): string {
  const at = id.toLowerCase().lastIndexOf('/providers/');
  const rest = id.slice(at + '/providers/'.length).split('/');
  const types = [rest[0]];
  for (let k = 1; k < rest.length; k += 2) types.push(rest[k]);
  return types.join('/');
}

function fmt(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  const s = JSON.stringify(v);
  return s === undefined ? '(none)' : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function pct(v: unknown): string {
  return typeof v === 'number' ? `${v}%` : '0%';
}

function get(o: unknown, path: string): unknown {
  let cur = o;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

const MODEL_VERSION = /\/models\/([^/]+)\/versions\/([^/]+)$/i;

/** ML-terms summary lines of one what-if change. */
export function summarize(change: WhatIfChange, index: TemplateIndex): string[] {
  const type = typeOfId(change.resourceId).toLowerCase();
  const lines: string[] = [];
  const name = change.resourceId.split('/').pop() ?? '';
  if (change.changeType === 'Create') {
    lines.push(`create ${kindOf(type)} '${name}'`);
    const traffic = get(change.after, 'properties.traffic');
    if (type.endsWith('/onlineendpoints') && traffic && typeof traffic === 'object') {
      lines.push(`traffic ${Object.entries(traffic as Record<string, unknown>).map(([d, v]) => `${d} ${pct(v)}`).join(', ')}`);
    }
    return lines;
  }
  if (change.changeType !== 'Modify') return lines;
  const delta = leafDeltas(change.delta).filter((d) => d.propertyChangeType !== 'NoEffect');
  // Traffic: one line for the whole shift.
  const traffic = delta.filter((d) => d.path.startsWith('properties.traffic'));
  if (traffic.length > 0) {
    const before = (get(change.before, 'properties.traffic') ?? {}) as Record<string, unknown>;
    const after = (get(change.after, 'properties.traffic') ?? {}) as Record<string, unknown>;
    const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    const moved = names.filter((d) => before[d] !== after[d]);
    lines.push(`traffic ${moved.map((d) => `${d} ${pct(before[d])} → ${pct(after[d])}`).join(', ')}`);
  }
  for (const d of delta) {
    if (d.path.startsWith('properties.traffic')) continue;
    if (d.path === 'properties.model' && typeof d.before === 'string' && typeof d.after === 'string') {
      const b = MODEL_VERSION.exec(d.before);
      const a = MODEL_VERSION.exec(d.after);
      if (b && a) {
        lines.push(`model ${a[1] as string} version ${b[2] as string} → ${a[2] as string}`);
        const alias = index.aliasOf(change.resourceId);
        // The register step rolls its own promotions: a move seen here happened outside mlplane (adapters/azure/alias.ts).
        if (alias) lines.push(`alias ${alias}: v${b[2] as string} → v${a[2] as string}`, `rolls to version ${a[2] as string} (the alias moved outside mlplane's register step)`);
        continue;
      }
    }
    const threshold = /^properties\.action\.monitorDefinition\.signals\.([^.]+)\.metricThresholds\.(\d+)\.threshold\.value$/.exec(d.path);
    if (threshold) {
      const signal = get(change.after, `properties.action.monitorDefinition.signals.${threshold[1] as string}`) ?? get(change.before, `properties.action.monitorDefinition.signals.${threshold[1] as string}`);
      const features = (get(signal, 'features.features') as string[] | undefined)?.join(', ') ?? (threshold[1] as string);
      const metric = get((get(signal, 'metricThresholds') as unknown[] | undefined)?.[Number(threshold[2])], 'metric');
      // The same threshold on every monitored deployment is one change to the reader.
      const line = `threshold ${features} ${String(metric ?? '')} ${String(d.before ?? '(none)')} → ${String(d.after ?? '(none)')}`.replace(/\s+/g, ' ');
      if (!lines.includes(line)) lines.push(line);
      continue;
    }
    if (/^properties\.trigger\.(expression|interval|frequency)$/.test(d.path)) {
      lines.push(`schedule ${fmt(d.before)} → ${fmt(d.after)}`);
      continue;
    }
    if (d.path === 'sku.capacity') {
      lines.push(`replicas ${String(d.before)} → ${String(d.after)}`);
      continue;
    }
    const nodes = /scaleSettings\.(minNodeCount|maxNodeCount)$/.exec(d.path);
    if (nodes) {
      lines.push(`${nodes[1] === 'maxNodeCount' ? 'max' : 'min'} nodes ${String(d.before)} → ${String(d.after)}`);
      continue;
    }
    const verb = d.propertyChangeType === 'Create' ? 'add' : d.propertyChangeType === 'Delete' ? 'remove' : 'change';
    lines.push(`${verb} ${d.path}${d.propertyChangeType === 'Delete' ? '' : d.propertyChangeType === 'Create' ? ` = ${fmt(d.after)}` : `: ${fmt(d.before)} → ${fmt(d.after)}`}`);
  }
  return lines;
}

const ACTION: Readonly<Record<WhatIfChange['changeType'], PlanAction | undefined>> = {
  Create: 'create',
  Modify: 'update',
  Deploy: 'update',
  Delete: 'delete',
  NoChange: 'noop',
  Ignore: undefined,
  Unsupported: 'update',
};

/** Build the plan of a deploy from what-if (resources the template does not declare are left out). */
export function planFromWhatIf(environment: string, changes: readonly WhatIfChange[], index: TemplateIndex): Plan {
  const items: PlanItem[] = [];
  for (const c of changes) {
    let action = ACTION[c.changeType];
    if (action === undefined) continue;
    // ARM marks property changes the provider will ignore as NoEffect: not a change.
    const leaves = leafDeltas(c.delta).filter((d) => d.propertyChangeType !== 'NoEffect');
    if (action === 'update' && c.changeType === 'Modify' && leaves.length === 0) action = 'noop';
    const changes: PropertyChange[] = leaves.map((d) => ({ property: d.path, before: d.before, after: d.after }));
    items.push({ id: c.resourceId, type: typeOfId(c.resourceId), path: index.pathOf(c.resourceId, c.after ?? c.before), action, changes, summary: action === 'noop' ? [] : summarize(c, index) });
  }
  items.sort((a, b) => a.path.localeCompare(b.path) || a.id.localeCompare(b.id));
  return { target: 'azure', environment, items };
}

interface SchemaField {
  readonly name: string;
  readonly type: string;
  readonly nullable?: boolean;
  readonly fields?: readonly SchemaField[];
}

function schemaOf(doc: unknown): SchemaField[] | undefined {
  const raw = get(doc, 'properties.properties');
  const text = raw && typeof raw === 'object' ? (raw as Record<string, unknown>)['mlplane.schema'] : undefined;
  if (typeof text !== 'string') return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? (parsed as SchemaField[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Why a schema change is not additive (a column removed, retyped, or made required), or undefined. */
function whyNotAdditive(before: readonly SchemaField[], after: readonly SchemaField[], prefix = ''): string | undefined {
  const next = new Map(after.map((f) => [f.name.toLowerCase(), f]));
  for (const f of before) {
    const n = next.get(f.name.toLowerCase());
    if (!n) return `column '${prefix}${f.name}' would be removed`;
    if (n.type !== f.type) return `column '${prefix}${f.name}' would change type ${f.type} → ${n.type}`;
    if (f.nullable !== false && n.nullable === false) return `column '${prefix}${f.name}' would become required`;
    if (f.fields) {
      const inner = whyNotAdditive(f.fields, n.fields ?? [], `${prefix}${f.name}.`);
      if (inner) return inner;
    }
  }
  const old = new Set(before.map((f) => f.name.toLowerCase()));
  for (const n of after) if (!old.has(n.name.toLowerCase()) && n.nullable === false) return `new column '${prefix}${n.name}' is required (existing rows have no value)`;
  return undefined;
}

/**
 * The first dataset version whose schema would change in place in a way that is not additive, as
 * an error naming the construct path — the same rule as the gcp target (BigQuery): columns may be
 * added (nullable) or relaxed, never removed, retyped or made required. The approved replacement
 * is a new dataset version (a new resource), never an in-place rewrite.
 */
export function nonAdditiveSchemaChange(changes: readonly WhatIfChange[], index: TemplateIndex): { path: string; message: string } | undefined {
  for (const c of changes) {
    if (c.changeType !== 'Modify' || !/\/workspaces\/data\/versions$/i.test(typeOfId(c.resourceId))) continue;
    const before = schemaOf(c.before);
    const after = schemaOf(c.after);
    if (!before || !after) continue;
    const why = whyNotAdditive(before, after);
    if (!why) continue;
    const [, asset, version] = /\/data\/([^/]+)\/versions\/([^/]+)$/i.exec(c.resourceId) ?? [];
    return {
      path: index.pathOf(c.resourceId, c.after ?? c.before),
      message: `schema change of dataset '${asset ?? ''}' version ${version ?? ''} is not additive: ${why}. A dataset version's schema only gains nullable columns in place; define a new dataset version (version: '${Number(version) + 1 || 'next'}') and migrate the data, or make the change additive; nothing was sent`,
    };
  }
  return undefined;
}
