/**
 * The discovery documents of the platform APIs the gcp engine uses besides Vertex AI and BigQuery
 * (Cloud Storage v1, Cloud KMS v1, IAM v1, Cloud Resource Manager v3), shipped in `spec-data/gcp/`,
 * and the simulator's router and request checker built from them: a request is answered only when
 * its verb and path are a method of the document, its required parameters are there, and its body
 * matches the method's request schema (unknown fields, output-only fields, types, and the fields
 * the document marks required for that method).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { specDataPath } from '../../shared/spec-data';
import { checkDiscovery, type DiscoveryDocument, type DiscoverySchema } from './discovery';
import { ApiError, invalidBody } from './errors';
import type { BodyProblem } from './protos';

/** The platform APIs and their discovery documents (`spec-data/gcp/<file>`). */
export const PLATFORM_APIS = {
  storage: 'storage.v1.discovery.json',
  cloudkms: 'cloudkms.v1.discovery.json',
  iam: 'iam.v1.discovery.json',
  cloudresourcemanager: 'cloudresourcemanager.v3.discovery.json',
} as const;

/** A platform API name. */
export type PlatformApi = keyof typeof PLATFORM_APIS;

/** The methods the simulator routes, by id prefix (the rest of each document is not served). */
const SERVED = [/^storage\.(buckets|objects)\./, /^cloudkms\.projects\.locations\.keyRings\./, /^iam\.projects\.serviceAccounts\./, /^iam\.projects\.roles\./, /^cloudresourcemanager\.projects\./];

interface DiscoveryParameter {
  readonly location?: string;
  readonly required?: boolean;
}

interface DiscoveryMethod {
  readonly id: string;
  readonly httpMethod: string;
  readonly path: string;
  readonly flatPath?: string;
  readonly parameters?: Readonly<Record<string, DiscoveryParameter>>;
  readonly parameterOrder?: readonly string[];
  readonly request?: { readonly $ref: string };
}

interface Document extends DiscoveryDocument {
  readonly servicePath: string;
  readonly resources: Readonly<Record<string, DiscoveryResource>>;
  readonly schemas: Readonly<Record<string, DiscoverySchema & { readonly properties?: Readonly<Record<string, DiscoverySchema & { readonly annotations?: { readonly required?: readonly string[] } }>> }>>;
}

interface DiscoveryResource {
  readonly methods?: Readonly<Record<string, DiscoveryMethod>>;
  readonly resources?: Readonly<Record<string, DiscoveryResource>>;
}

/** One routable method. */
interface Route {
  readonly api: PlatformApi;
  readonly doc: Document;
  readonly method: DiscoveryMethod;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

/** A request matched to a discovery method. */
export interface PlatformMatch {
  readonly api: PlatformApi;
  /** The discovery method id (`cloudkms.projects.locations.keyRings.create`). */
  readonly rpc: string;
  /** Path parameters by the document's names (`projectsId`, `bucket`, …), URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** Check query parameters and body against the document; returns the body. */
  check(query: URLSearchParams, body: unknown): unknown;
}

/** The four discovery documents and the routes built from them. */
export class PlatformDiscovery {
  private readonly routes: Route[] = [];

  /**
   * @param dir a folder holding `gcp/<api>.discovery.json` for the four APIs
   * @throws Error naming the file that is missing
   */
  constructor(dir: string = specDataPath()) {
    for (const [api, file] of Object.entries(PLATFORM_APIS) as [PlatformApi, string][]) {
      const full = path.join(dir, 'gcp', file);
      if (!fs.existsSync(full)) throw new Error(`discovery document not found: ${full} does not exist; the mlplane installation is incomplete (spec-data/ is missing); reinstall mlplane`);
      const doc = JSON.parse(fs.readFileSync(full, 'utf8')) as Document;
      for (const method of methodsOf(doc.resources)) {
        if (!SERVED.some((r) => r.test(method.id))) continue;
        const template = `/${doc.servicePath}${method.flatPath ?? method.path}`;
        const names: string[] = [];
        const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\+?([A-Za-z0-9_]+)\}/g, (_, n: string) => {
          names.push(n);
          return '([^/:]+)';
        });
        this.routes.push({ api, doc, method, pattern: new RegExp(`^${source}$`), names });
      }
    }
  }

  /** The API whose served paths `path` falls under (whatever the verb), if any. */
  public owns(path: string): boolean {
    return this.routes.some((r) => r.pattern.test(path));
  }

  /**
   * The method of `verb path`.
   *
   * @throws ApiError 404 when the path is served but no method of the document has this verb and path
   */
  public match(verb: string, urlPath: string): PlatformMatch | undefined {
    const onPath = this.routes.filter((r) => r.pattern.test(urlPath));
    if (onPath.length === 0) return undefined;
    const route = onPath.find((r) => r.method.httpMethod === verb);
    if (!route) {
      throw new ApiError(404, `No ${verb} method at ${urlPath} in ${PLATFORM_APIS[onPath[0]?.api as PlatformApi]} (it has ${onPath.map((r) => `${r.method.httpMethod} ${r.method.id}`).join(', ')})`);
    }
    const m = route.pattern.exec(urlPath) as RegExpExecArray;
    const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(m[i + 1] as string)]));
    return { api: route.api, rpc: route.method.id, params, check: (query, body) => checkRequest(route, query, body) };
  }
}

function* methodsOf(resources: Readonly<Record<string, DiscoveryResource>>): Generator<DiscoveryMethod> {
  for (const r of Object.values(resources)) {
    for (const m of Object.values(r.methods ?? {})) yield m;
    yield* methodsOf(r.resources ?? {});
  }
}

/** Query parameters every Google API accepts (the document's top-level `parameters`) and the clients' transport ones. */
const STANDARD_QUERY = new Set(['$alt', 'alt', 'fields', 'key', 'prettyPrint', 'quotaUser', 'userIp', 'uploadType', 'upload_protocol', 'callback', 'access_token', 'oauth_token', '$.xgafv']);

function checkRequest(route: Route, query: URLSearchParams, body: unknown): unknown {
  const { method, doc } = route;
  const problems: BodyProblem[] = [];
  for (const [name, p] of Object.entries(method.parameters ?? {})) {
    if (p.location === 'query' && p.required && !query.has(name)) problems.push({ field: name, message: `required query parameter ${name} of ${method.id} is missing` });
  }
  for (const name of new Set(query.keys())) {
    // Nested request fields travel as dotted query parameters (`updateMask`, `options.requestedPolicyVersion`).
    const known = method.parameters?.[name] ?? method.parameters?.[name.split('.')[0] as string];
    if (!known && !STANDARD_QUERY.has(name)) problems.push({ field: name, message: `unknown query parameter ${name} of ${method.id}` });
  }
  if (!method.request) {
    if (body !== undefined && !(typeof body === 'object' && body !== null && Object.keys(body).length === 0)) problems.push({ field: '(body)', message: `${method.id} takes no request body` });
  } else {
    // google-gax's REST transcoding sends an empty message as the JSON string "" (createKeyRing with `keyRing: {}`).
    const value = body === undefined || body === '' ? {} : body;
    problems.push(...checkDiscovery(doc, method.request.$ref, value));
    const schema = doc.schemas[method.request.$ref];
    for (const [field, prop] of Object.entries(schema?.properties ?? {})) {
      if (prop.annotations?.required?.includes(method.id) && (typeof value !== 'object' || value === null || (value as Record<string, unknown>)[field] === undefined)) {
        problems.push({ field, message: `${field} is required by ${method.id}` });
      }
    }
  }
  if (problems.length > 0) throw invalidBody(`request of ${method.id}`, problems);
  return body;
}
