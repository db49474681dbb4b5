/**
 * What the simulator stores: Vertex AI resources and BigQuery datasets/tables by resource name,
 * IAM policies, and long-running operations.
 */

/** A JSON object. */
export type Json = Record<string, unknown>;

/** A stored resource. */
export interface StoredResource {
  /** `google.cloud.aiplatform.v1.Endpoint`, `bigquery#dataset`, `bigquery#table`. */
  readonly type: string;
  body: Json;
}

/** A long-running operation. */
export interface StoredOperation {
  readonly name: string;
  /** GetOperation calls left before it is done. */
  pollsLeft: number;
  /** The operation's `response` (with `@type`) or `error` once done. */
  readonly result: { readonly response: Json } | { readonly error: Json };
}

/** The simulator's store. Tests may read it and seed it (a foreign resource, a drifted field). */
export class SimulatorState {
  public readonly resources = new Map<string, StoredResource>();
  public readonly policies = new Map<string, Json>();
  public readonly operations = new Map<string, StoredOperation>();
  /** Versions of each model (the model resource itself is its default version). */
  public readonly modelVersions = new Map<string, Json[]>();
  private counter = 0;
  private clock = Date.parse('2026-01-01T00:00:00Z');

  /** A fresh numeric id (service-assigned ids). */
  public nextId(): string {
    this.counter += 1;
    return `${1_000_000_000 + this.counter}`;
  }

  /** A fresh etag. */
  public etag(): string {
    this.counter += 1;
    return `etag-${this.counter.toString(36)}`;
  }

  /** The simulated clock (RFC 3339), advancing one second per call. */
  public now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }

  /** The resource at `name`, if any. */
  public get(name: string): StoredResource | undefined {
    return this.resources.get(name);
  }

  /** Resources whose name is `<parent>/<collection>/<id>`. */
  public children(parent: string, collection: string): [string, StoredResource][] {
    const prefix = `${parent}/${collection}/`;
    return [...this.resources.entries()].filter(([n]) => n.startsWith(prefix) && !n.slice(prefix.length).includes('/')).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Store (or replace) a resource; returns its body. */
  public put(name: string, type: string, body: Json): Json {
    this.resources.set(name, { type, body });
    return body;
  }

  /** Remove a resource and everything under it. */
  public remove(name: string): void {
    for (const n of [...this.resources.keys()]) if (n === name || n.startsWith(`${name}/`)) this.resources.delete(n);
    this.policies.delete(name);
    this.modelVersions.delete(name);
  }

  /** Names of the stored resources of a type (for assertions). */
  public namesOf(type: string): string[] {
    return [...this.resources.entries()].filter(([, r]) => r.type === type || r.type.endsWith(`.${type}`)).map(([n]) => n).sort();
  }
}
