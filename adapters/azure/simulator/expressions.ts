/**
 * The ARM template expression language, as far as mlplane templates use it (and a little more):
 * a parser for `[fn(args).prop[index]]` strings and an evaluator over a small function library.
 *
 * @see https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions
 */
import { createHash } from 'node:crypto';

/** A JSON value as ARM passes it around. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A parsed expression. */
export type Expr =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[] }
  | { readonly kind: 'property'; readonly target: Expr; readonly name: string }
  | { readonly kind: 'index'; readonly target: Expr; readonly index: Expr };

/** A template the simulator cannot evaluate (ARM answers `InvalidTemplate`). */
export class TemplateError extends Error {
  constructor(
    message: string,
    /** ARM error code. @default InvalidTemplate */
    public readonly code = 'InvalidTemplate',
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

/**
 * `reference()` or `list*()` of a resource that does not exist yet. What-if keeps such values as
 * the unevaluated expression text, as ARM's what-if does.
 */
export class UnresolvedReference extends Error {
  constructor(public readonly resourceId: string) {
    super(`The Resource '${resourceId}' is not defined in the template and does not exist.`);
    this.name = 'UnresolvedReference';
  }
}

/** Whether a template string is an expression (`[...]` but not the `[[` escape). */
export function isExpression(s: string): boolean {
  return s.startsWith('[') && s.endsWith(']') && !s.startsWith('[[');
}

/** Parse the text of an expression (without the brackets). */
export function parseExpression(text: string): Expr {
  let i = 0;
  const fail = (msg: string): never => {
    throw new TemplateError(`The template language expression '${text}' is not valid: ${msg} at position ${i}.`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const primary = (): Expr => {
    ws();
    const c = text[i];
    if (c === "'") {
      let out = '';
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated string');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            out += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        out += text[i];
        i++;
      }
      return { kind: 'string', value: out };
    }
    if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(text.slice(i));
      if (!m) return fail('bad number');
      i += m[0].length;
      return { kind: 'number', value: Number(m[0]) };
    }
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i));
    if (!m) return fail(`unexpected '${c ?? 'end'}'`);
    const name = m[0];
    i += name.length;
    ws();
    if (text[i] !== '(') {
      if (name === 'true' || name === 'false') return { kind: 'call', name, args: [] };
      return fail(`expected '(' after '${name}'`);
    }
    i++;
    const args: Expr[] = [];
    ws();
    if (text[i] === ')') i++;
    else {
      for (;;) {
        args.push(chain());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ')') {
          i++;
          break;
        }
        fail("expected ',' or ')'");
      }
    }
    return { kind: 'call', name: name.toLowerCase(), args };
  };
  const chain = (): Expr => {
    let e = primary();
    for (;;) {
      ws();
      if (text[i] === '.') {
        i++;
        const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i));
        if (!m) fail('expected a property name');
        i += (m as RegExpExecArray)[0].length;
        e = { kind: 'property', target: e, name: (m as RegExpExecArray)[0] };
      } else if (text[i] === '[') {
        i++;
        const index = chain();
        ws();
        if (text[i] !== ']') fail("expected ']'");
        i++;
        e = { kind: 'index', target: e, index };
      } else return e;
    }
  };
  const e = chain();
  ws();
  if (i !== text.length) fail('unexpected trailing text');
  return e;
}

/** What the evaluator needs from the deployment. */
export interface EvalContext {
  readonly subscriptionId: string;
  readonly tenantId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly deploymentName: string;
  parameter(name: string): Json;
  variable(name: string): Json;
  /** `reference(id, apiVersion, 'Full'?)`: the resource's runtime state. @throws UnresolvedReference */
  reference(resourceId: string, full: boolean): Json;
  /** `list*(id, apiVersion)`: a list action's result. @throws UnresolvedReference */
  list(action: string, resourceId: string): Json;
}

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{t1}/{n1}/{t2}/{n2}...` */
export function buildResourceId(prefix: string, type: string, names: readonly string[]): string {
  const parts = type.split('/');
  const ns = parts[0] as string;
  const types = parts.slice(1);
  if (types.length !== names.length) {
    throw new TemplateError(`Unable to evaluate template language function 'resourceId': the type '${type}' requires ${types.length} resource name argument(s), got ${names.length}.`);
  }
  return `${prefix}/providers/${ns}/${types.map((t, k) => `${t}/${names[k]}`).join('/')}`;
}

/** A deterministic 13-character id like ARM's `uniqueString` (not byte-equal to Azure's hash). */
export function uniqueString(...parts: readonly string[]): string {
  const h = createHash('sha256').update(parts.join('-')).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  for (let k = 0; k < 13; k++) out += alphabet[(h[k] as number) % 32];
  return out;
}

/** A deterministic GUID from strings, like ARM's `guid()` (UUID v5 layout). */
export function guid(...parts: readonly string[]): string {
  const h = createHash('sha1').update(parts.join('-')).digest('hex');
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function str(v: Json, fn: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new TemplateError(`Unable to evaluate template language function '${fn}': expected a string, got ${JSON.stringify(v)}.`);
}

function num(v: Json, fn: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  throw new TemplateError(`Unable to evaluate template language function '${fn}': expected an integer, got ${JSON.stringify(v)}.`);
}

function isObject(v: Json): v is { [key: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function arity(name: string, args: readonly Json[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    throw new TemplateError(`Unable to evaluate template language function '${name}': expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}.`);
  }
}

/** Evaluate a parsed expression. */
export function evaluate(e: Expr, ctx: EvalContext): Json {
  switch (e.kind) {
    case 'string':
    case 'number':
      return e.value;
    case 'property': {
      const t = evaluate(e.target, ctx);
      if (!isObject(t)) throw new TemplateError(`The language expression property '${e.name}' can't be evaluated: the value is not an object.`);
      const key = Object.keys(t).find((k) => k.toLowerCase() === e.name.toLowerCase());
      if (key === undefined) throw new TemplateError(`The language expression property '${e.name}' doesn't exist, available properties are '${Object.keys(t).join(', ')}'.`);
      return t[key] as Json;
    }
    case 'index': {
      const t = evaluate(e.target, ctx);
      const k = evaluate(e.index, ctx);
      if (Array.isArray(t)) {
        const v = t[num(k, 'index')];
        if (v === undefined) throw new TemplateError(`The language expression index '${String(k)}' is out of range.`);
        return v;
      }
      if (isObject(t)) {
        const name = str(k, 'index');
        const key = Object.keys(t).find((x) => x.toLowerCase() === name.toLowerCase());
        if (key === undefined) throw new TemplateError(`The language expression property '${name}' doesn't exist.`);
        return t[key] as Json;
      }
      throw new TemplateError('The language expression index cannot be applied to a scalar.');
    }
    case 'call':
      return call(e.name, e.args, ctx);
    default: {
      const never: never = e;
      throw new TemplateError(`unknown expression ${JSON.stringify(never)}`);
    }
  }
}

function call(name: string, argExprs: readonly Expr[], ctx: EvalContext): Json {
  // `if` evaluates one branch only.
  if (name === 'if') {
    if (argExprs.length !== 3) throw new TemplateError("Unable to evaluate template language function 'if': expected 3 arguments.");
    const c = evaluate(argExprs[0] as Expr, ctx);
    return evaluate((c === true ? argExprs[1] : argExprs[2]) as Expr, ctx);
  }
  const a = argExprs.map((x) => evaluate(x, ctx));
  const rgPrefix = `/subscriptions/${ctx.subscriptionId}/resourceGroups/${ctx.resourceGroup}`;
  if (name.startsWith('list') && name !== 'list') {
    arity(name, a, 2, 3);
    return ctx.list(name, str(a[0] as Json, name));
  }
  switch (name) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'null':
      return null;
    case 'parameters':
      arity(name, a, 1);
      return ctx.parameter(str(a[0] as Json, name));
    case 'variables':
      arity(name, a, 1);
      return ctx.variable(str(a[0] as Json, name));
    case 'resourceid': {
      // resourceId([subscriptionId], [resourceGroupName], type, name1, ...)
      const s = a.map((x) => str(x, name));
      const ti = s.findIndex((x) => x.includes('/'));
      if (ti < 0) throw new TemplateError("Unable to evaluate template language function 'resourceId': no resource type argument.");
      const sub = ti >= 2 ? (s[0] as string) : ctx.subscriptionId;
      const rg = ti >= 1 ? (s[ti - 1] as string) : ctx.resourceGroup;
      return buildResourceId(`/subscriptions/${sub}/resourceGroups/${rg}`, s[ti] as string, s.slice(ti + 1));
    }
    case 'subscriptionresourceid': {
      const s = a.map((x) => str(x, name));
      const ti = s.findIndex((x) => x.includes('/'));
      if (ti < 0) throw new TemplateError("Unable to evaluate template language function 'subscriptionResourceId': no resource type argument.");
      const sub = ti >= 1 ? (s[0] as string) : ctx.subscriptionId;
      return buildResourceId(`/subscriptions/${sub}`, s[ti] as string, s.slice(ti + 1));
    }
    case 'tenantresourceid': {
      const s = a.map((x) => str(x, name));
      return buildResourceId('', s[0] as string, s.slice(1));
    }
    case 'extensionresourceid': {
      const s = a.map((x) => str(x, name));
      if (s.length < 3) throw new TemplateError("Unable to evaluate template language function 'extensionResourceId': expected a scope, a type and names.");
      return buildResourceId(s[0] as string, s[1] as string, s.slice(2));
    }
    case 'reference': {
      arity(name, a, 1, 3);
      let id = str(a[0] as Json, name);
      if (!id.startsWith('/')) throw new TemplateError(`Unable to evaluate template language function 'reference': '${id}' is not a resource id (the simulator needs resourceId(...)).`);
      id = id.replace(/\/$/, '');
      return ctx.reference(id, a[2] === 'Full');
    }
    case 'resourcegroup':
      return { id: rgPrefix, name: ctx.resourceGroup, type: 'Microsoft.Resources/resourceGroups', location: ctx.location, properties: { provisioningState: 'Succeeded' } };
    case 'subscription':
      return { id: `/subscriptions/${ctx.subscriptionId}`, subscriptionId: ctx.subscriptionId, tenantId: ctx.tenantId, displayName: 'mlplane simulator' };
    case 'tenant':
      return { tenantId: ctx.tenantId, countryCode: 'NL', displayName: 'mlplane simulator' };
    case 'deployment':
      return { name: ctx.deploymentName, properties: { templateHash: '0' } };
    case 'environment':
      return { name: 'AzureCloud', resourceManager: 'https://management.azure.com/', suffixes: { storage: 'core.windows.net', keyvaultDns: '.vault.azure.net', acrLoginServer: '.azurecr.io' } };
    case 'concat':
      if (a.length > 0 && a.every(Array.isArray)) return (a as Json[][]).flat();
      return a.map((x) => str(x, name)).join('');
    case 'format': {
      const fmt = str(a[0] as Json, name);
      return fmt.replace(/\{(\d+)(:[^}]*)?\}/g, (_m, n: string) => str(a[Number(n) + 1] as Json, name));
    }
    case 'json':
      arity(name, a, 1);
      try {
        return JSON.parse(str(a[0] as Json, name)) as Json;
      } catch {
        throw new TemplateError(`Unable to evaluate template language function 'json': '${String(a[0])}' is not valid JSON.`);
      }
    case 'string':
      arity(name, a, 1);
      return typeof a[0] === 'string' ? a[0] : JSON.stringify(a[0]);
    case 'int':
      return num(a[0] as Json, name);
    case 'bool':
      return a[0] === true || String(a[0]).toLowerCase() === 'true';
    case 'tolower':
      return str(a[0] as Json, name).toLowerCase();
    case 'toupper':
      return str(a[0] as Json, name).toUpperCase();
    case 'trim':
      return str(a[0] as Json, name).trim();
    case 'replace':
      return str(a[0] as Json, name).split(str(a[1] as Json, name)).join(str(a[2] as Json, name));
    case 'substring': {
      const s = str(a[0] as Json, name);
      const start = num(a[1] as Json, name);
      return a.length > 2 ? s.substr(start, num(a[2] as Json, name)) : s.slice(start);
    }
    case 'split':
      return str(a[0] as Json, name).split(str(a[1] as Json, name));
    case 'startswith':
      return str(a[0] as Json, name).toLowerCase().startsWith(str(a[1] as Json, name).toLowerCase());
    case 'endswith':
      return str(a[0] as Json, name).toLowerCase().endsWith(str(a[1] as Json, name).toLowerCase());
    case 'uniquestring':
      return uniqueString(...a.map((x) => str(x, name)));
    case 'guid':
      return guid(...a.map((x) => str(x, name)));
    case 'equals':
      return JSON.stringify(a[0]) === JSON.stringify(a[1]);
    case 'not':
      return a[0] !== true;
    case 'and':
      return a.every((x) => x === true);
    case 'or':
      return a.some((x) => x === true);
    case 'empty':
      return a[0] === null || a[0] === '' || (Array.isArray(a[0]) && a[0].length === 0) || (isObject(a[0] as Json) && Object.keys(a[0] as object).length === 0);
    case 'length': {
      const v = a[0] as Json;
      if (typeof v === 'string' || Array.isArray(v)) return v.length;
      if (isObject(v)) return Object.keys(v).length;
      throw new TemplateError("Unable to evaluate template language function 'length'.");
    }
    case 'coalesce':
      return a.find((x) => x !== null) ?? null;
    case 'add':
      return num(a[0] as Json, name) + num(a[1] as Json, name);
    case 'sub':
      return num(a[0] as Json, name) - num(a[1] as Json, name);
    case 'mul':
      return num(a[0] as Json, name) * num(a[1] as Json, name);
    case 'div':
      return Math.trunc(num(a[0] as Json, name) / num(a[1] as Json, name));
    case 'mod':
      return num(a[0] as Json, name) % num(a[1] as Json, name);
    case 'createarray':
      return a;
    case 'createobject': {
      const o: { [key: string]: Json } = {};
      for (let k = 0; k + 1 < a.length; k += 2) o[str(a[k] as Json, name)] = a[k + 1] as Json;
      return o;
    }
    case 'union': {
      if (a.every(Array.isArray)) return [...new Set((a as Json[][]).flat().map((x) => JSON.stringify(x)))].map((x) => JSON.parse(x) as Json);
      return Object.assign({}, ...a.filter(isObject)) as { [key: string]: Json };
    }
    case 'contains': {
      const c = a[0] as Json;
      if (typeof c === 'string') return c.toLowerCase().includes(str(a[1] as Json, name).toLowerCase());
      if (Array.isArray(c)) return c.some((x) => JSON.stringify(x) === JSON.stringify(a[1]));
      if (isObject(c)) return Object.keys(c).some((k) => k.toLowerCase() === str(a[1] as Json, name).toLowerCase());
      return false;
    }
    case 'first': {
      const v = a[0] as Json;
      return typeof v === 'string' ? v.slice(0, 1) : Array.isArray(v) ? (v[0] ?? null) : null;
    }
    case 'last': {
      const v = a[0] as Json;
      return typeof v === 'string' ? v.slice(-1) : Array.isArray(v) ? (v[v.length - 1] ?? null) : null;
    }
    case 'base64':
      return Buffer.from(str(a[0] as Json, name)).toString('base64');
    case 'uri':
      return new URL(str(a[1] as Json, name), str(a[0] as Json, name)).toString();
    default:
      throw new TemplateError(`The template function '${name}' is not supported by the mlplane ARM simulator; mlplane templates should not need it.`);
  }
}

/**
 * Evaluate every expression inside a template value (object keys included), returning plain JSON.
 *
 * `onUnresolved` decides what an unresolved `reference()` becomes; by default it is rethrown.
 */
export function evaluateDeep(value: unknown, ctx: EvalContext, onUnresolved?: (text: string, e: UnresolvedReference) => Json): Json {
  if (typeof value === 'string') {
    if (!isExpression(value)) return value.startsWith('[[') ? value.slice(1) : value;
    try {
      return evaluate(parseExpression(value.slice(1, -1)), ctx);
    } catch (e) {
      if (e instanceof UnresolvedReference && onUnresolved) return onUnresolved(value, e);
      throw e;
    }
  }
  if (Array.isArray(value)) return value.map((v) => evaluateDeep(v, ctx, onUnresolved));
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) {
      const key = evaluateDeep(k, ctx, onUnresolved);
      out[typeof key === 'string' ? key : JSON.stringify(key)] = evaluateDeep(v, ctx, onUnresolved);
    }
    return out;
  }
  if (value === undefined) return null;
  return value as Json;
}
