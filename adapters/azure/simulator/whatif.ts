/**
 * What-if: the change a deployment would make to each resource, in ARM's shape
 * (`WhatIfOperationResult`: `changes[]` of `{ resourceId, changeType, before, after, delta }`).
 */
import type { Json } from './expressions';
import type { ResourceBody } from './template';

/** ARM's change types. */
export type ChangeType = 'Create' | 'Delete' | 'Ignore' | 'Deploy' | 'NoChange' | 'Modify' | 'Unsupported';

/** One property delta (ARM `WhatIfPropertyChange`): arrays carry their element changes in `children`. */
export interface PropertyDelta {
  readonly path: string;
  readonly propertyChangeType: 'Create' | 'Delete' | 'Modify' | 'Array' | 'NoEffect';
  readonly before?: Json;
  readonly after?: Json;
  readonly children?: readonly PropertyDelta[];
}

/** One resource change (ARM `WhatIfChange`). */
export interface ResourceChange {
  readonly resourceId: string;
  readonly changeType: ChangeType;
  readonly before?: Json;
  readonly after?: Json;
  readonly delta?: readonly PropertyDelta[];
  readonly unsupportedReason?: string;
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
}

function same(a: Json | undefined, b: Json | undefined, path: string): boolean {
  if (typeof a === 'string' && typeof b === 'string' && (path === 'location' || path.endsWith('.location'))) {
    return a.toLowerCase().replace(/\s/g, '') === b.toLowerCase().replace(/\s/g, '');
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Property deltas from `before` to `after` as ARM's what-if reports them: object members as dotted
 * paths, an array as one `Array` change whose `children` are its changed elements (by index).
 */
export function diffValues(before: Json | undefined, after: Json | undefined, path = ''): PropertyDelta[] {
  if (isObject(before) && isObject(after)) {
    const out: PropertyDelta[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const k of keys) {
      const p = path ? `${path}.${k}` : k;
      const b = before[k];
      const a = after[k];
      if (b === undefined) out.push({ path: p, propertyChangeType: 'Create', after: a as Json });
      else if (a === undefined) out.push({ path: p, propertyChangeType: 'Delete', before: b });
      else out.push(...diffValues(b, a, p));
    }
    return out;
  }
  if (same(before, after, path)) return [];
  if (Array.isArray(before) && Array.isArray(after)) {
    const children: PropertyDelta[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const b = before[i];
      const a = after[i];
      if (b === undefined) children.push({ path: String(i), propertyChangeType: 'Create', after: a as Json });
      else if (a === undefined) children.push({ path: String(i), propertyChangeType: 'Delete', before: b });
      else if (isObject(b) && isObject(a)) {
        const inner = diffValues(b, a);
        if (inner.length > 0) children.push({ path: String(i), propertyChangeType: 'Modify', children: inner });
      } else if (!same(b, a, '')) children.push({ path: String(i), propertyChangeType: 'Modify', before: b, after: a });
    }
    return [{ path, propertyChangeType: 'Array', children }];
  }
  return [{ path, propertyChangeType: 'Modify', before: before as Json, after: after as Json }];
}

/** The comparable document of a body: the keys a PUT sends. */
export function comparable(body: ResourceBody): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const k of ['location', 'kind', 'sku', 'identity', 'tags', 'properties', 'plan', 'zones'] as const) {
    const v = body[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
