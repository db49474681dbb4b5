/**
 * The Vertex AI v1 (and v1beta1) REST surface of the simulator, routed by the `google.api.http`
 * rules of the protos: generic Create / Get / List / Update / Delete per collection, plus model
 * upload and aliases, endpoint deploy / undeploy / mutate / traffic, IAM policies and operations.
 */
import type * as protobuf from 'protobufjs';
import { ApiError, invalidBody } from './errors';
import { checkMessage, httpRules, protoRoot, type HttpRule } from './protos';
import { fieldComment, idProblem, prepareRules, proseProblems, updateMaskProblems } from './rules';
import { copyModel } from './model-copy';
import type { Json, SimulatorState, StoredResource } from './state';

/** A parsed request. */
export interface SimRequest {
  readonly verb: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** `If-Match` header, when sent. */
  readonly ifMatch?: string;
}

/** The answer of a handler. */
export interface SimResponse {
  readonly status: number;
  readonly body: Json;
}

/** A request matched to an RPC. */
export interface VertexMatch {
  readonly rule: HttpRule;
  readonly vars: Readonly<Record<string, string>>;
  /** `EndpointService.DeployModel`. */
  readonly rpc: string;
}

const PACKAGES = ['google.cloud.aiplatform.v1', 'google.cloud.aiplatform.v1beta1'];
const OPERATION = /^\/(?:ui|v1|v1beta1)\/(projects\/[^:]+\/operations\/[^/:]+)$/;
const IAM = /^\/(?:ui|v1|v1beta1)\/(projects\/.+):(setIamPolicy|getIamPolicy)$/;

let rulesCache: HttpRule[] | undefined;

function rules(): HttpRule[] {
  rulesCache ??= httpRules(PACKAGES);
  return rulesCache;
}

/**
 * Build the router (the HTTP rules of the protos) and the request checks (field behaviours and
 * comments read from the `.proto` sources, KFP's pipeline spec) before the first request: once per
 * process, a few hundred ms of CPU that would otherwise stall the first requests that need them.
 */
export function prepareVertex(): void {
  rules();
  prepareRules();
}

/** The RPC a request is for, or undefined when no rule matches. */
export function matchVertex(verb: string, path: string): VertexMatch | undefined {
  const op = OPERATION.exec(path);
  if (op && verb === 'GET') return { rule: operationRule(), vars: { name: op[1] as string }, rpc: 'Operations.GetOperation' };
  const iam = IAM.exec(path);
  if (iam && verb === 'POST') return { rule: operationRule(), vars: { resource: iam[1] as string }, rpc: `IAMPolicy.${iam[2] === 'setIamPolicy' ? 'SetIamPolicy' : 'GetIamPolicy'}` };
  const v = verb.toLowerCase();
  const version = path.startsWith('/v1beta1/') ? 'v1beta1' : 'v1';
  for (const rule of rules()) {
    if (rule.verb !== v || !rule.template.startsWith(`/${version}/`)) continue;
    const m = rule.pattern.exec(path);
    if (!m) continue;
    const vars: Record<string, string> = {};
    rule.variables.forEach((name, i) => (vars[name] = decodeURIComponent(m[i + 1] as string)));
    return { rule, vars, rpc: `${rule.service}.${rule.method}` };
  }
  return undefined;
}

let opRule: HttpRule | undefined;
function operationRule(): HttpRule {
  // A stand-in rule for the operations / IAM mixins (not in the aiplatform service protos).
  opRule ??= rules()[0] as HttpRule;
  return opRule;
}

/** Options of the Vertex handler. */
export interface VertexOptions {
  /** GetOperation calls before a new operation is done (0: done at once). */
  readonly pollsBeforeDone: () => number;
}

/** Handle a matched Vertex request. */
export function handleVertex(state: SimulatorState, req: SimRequest, match: VertexMatch, options: VertexOptions): SimResponse {
  const { rule, vars, rpc } = match;
  if (rpc === 'Operations.GetOperation') return getOperation(state, vars.name as string);
  if (rpc === 'IAMPolicy.SetIamPolicy' || rpc === 'IAMPolicy.GetIamPolicy') return iamPolicy(state, req, vars.resource as string, rpc.endsWith('SetIamPolicy'));
  checkQuery(rule, req.query);
  const method = rule.method;
  const ctx = new Ctx(state, req, match, options);
  switch (method) {
    case 'UploadModel':
      return ctx.uploadModel();
    case 'DeployModel':
      return ctx.deployModel();
    case 'UndeployModel':
      return ctx.undeployModel();
    case 'MutateDeployedModel':
      return ctx.mutateDeployedModel();
    case 'MergeVersionAliases':
      return ctx.mergeVersionAliases();
    case 'ListModelVersions':
      return ctx.listModelVersions();
    case 'CopyModel':
      return copyModel(state, req, match, options.pollsBeforeDone());
    default:
      break;
  }
  if (method.startsWith('Create') && rule.body && rule.body !== '*') return ctx.create();
  if (method.startsWith('Get') && !rule.body) return ctx.get();
  if (method.startsWith('List') && !rule.body) return ctx.list();
  if ((method.startsWith('Update') || method.startsWith('Patch')) && rule.body && rule.body !== '*') return ctx.update();
  if (method.startsWith('Delete') && !rule.body) return ctx.remove();
  throw new ApiError(501, `Method ${rpc} is not implemented by the mlplane simulator`);
}

/** System parameters every Google REST API accepts. */
const SYSTEM_PARAMS = new Set(['$alt', 'alt', '$prettyPrint', 'prettyPrint', 'fields', '$fields', 'key', 'quotaUser', '$callback', 'access_token', 'upload_protocol', 'uploadType']);

/**
 * Query parameters are the request's fields that are neither in the path nor in the body
 * (`endpointId`, `updateMask`, `filter`, …); anything else is an unknown field, as on the service.
 *
 * @throws ApiError 400 naming the unknown parameter.
 */
function checkQuery(rule: HttpRule, query: URLSearchParams): void {
  const allowed = new Set<string>();
  if (rule.body !== '*') {
    for (const f of rule.requestType.fieldsArray) {
      if (rule.variables.includes(f.name) || camelCase(rule.body ?? '') === f.name) continue;
      allowed.add(f.name);
      allowed.add(f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
    }
  }
  for (const key of query.keys()) {
    if (SYSTEM_PARAMS.has(key) || allowed.has(key.split('.')[0] as string)) continue;
    throw new ApiError(400, `Invalid JSON payload received. Unknown name "${key}": Cannot bind query parameter. Field '${key}' could not be found in request message.`, 'INVALID_ARGUMENT', [{ field: key, message: 'unknown query parameter' }]);
  }
}

function getOperation(state: SimulatorState, name: string): SimResponse {
  const op = state.operations.get(name);
  if (!op) throw new ApiError(404, `Operation ${name} not found`);
  if (op.pollsLeft > 0) {
    op.pollsLeft -= 1;
    return { status: 200, body: { name, done: false } };
  }
  return { status: 200, body: { name, done: true, ...op.result } };
}

function iamPolicy(state: SimulatorState, req: SimRequest, resource: string, set: boolean): SimResponse {
  const base = resource.replace(/@[^/]*$/, '');
  if (!state.get(base)) throw new ApiError(404, `Resource ${resource} not found`);
  if (!set) {
    const problems = checkMessage(protoRoot().lookupType('google.iam.v1.GetIamPolicyRequest'), req.body ?? {}, { notRequired: ['resource'] });
    if (problems.length > 0) throw invalidBody('GetIamPolicyRequest', problems);
    return { status: 200, body: state.policies.get(base) ?? { etag: 'ACAB' } };
  }
  const type = protoRoot().lookupType('google.iam.v1.SetIamPolicyRequest');
  const problems = checkMessage(type, req.body, { notRequired: ['resource'] });
  if (problems.length > 0) throw invalidBody('SetIamPolicyRequest', problems);
  const policy = { ...((req.body as Json).policy as Json), etag: Buffer.from(state.etag()).toString('base64') };
  state.policies.set(base, policy);
  return { status: 200, body: policy };
}

/** `feature_online_store` → `featureOnlineStore`. */
function camelCase(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `google.cloud.aiplatform.v1.Endpoint` → `type.googleapis.com/google.cloud.aiplatform.v1.Endpoint`. */
function typeUrl(t: protobuf.Type): string {
  return `type.googleapis.com/${t.fullName.replace(/^\./, '')}`;
}

class Ctx {
  private readonly rule: HttpRule;
  private readonly vars: Readonly<Record<string, string>>;
  constructor(
    private readonly state: SimulatorState,
    private readonly req: SimRequest,
    match: VertexMatch,
    private readonly options: VertexOptions,
  ) {
    this.rule = match.rule;
    this.vars = match.vars;
  }

  /** The message the body must be, and the body checked against it. */
  private body(creating: boolean): Json {
    const rule = this.rule;
    let type: protobuf.Type;
    let notRequired: string[] = [];
    if (rule.body === '*') {
      type = rule.requestType;
      notRequired = [...rule.variables];
    } else {
      const field = rule.requestType.fields[camelCase(rule.body as string)];
      type = field?.resolvedType as protobuf.Type;
    }
    const problems = checkMessage(type, this.req.body ?? {}, { checkRequired: creating, notRequired });
    if (rule.body === '*') {
      for (const v of rule.variables) if (this.req.body && typeof this.req.body === 'object' && v in (this.req.body as Json)) problems.push({ field: v, message: 'path parameter must not be repeated in the body' });
    }
    if (problems.length === 0) problems.push(...proseProblems(type, this.req.body ?? {}, rule.body === '*' ? '' : camelCase(rule.body as string)));
    if (problems.length > 0) throw invalidBody(`${type.name} in ${rule.service}.${rule.method}`, problems);
    return structuredClone((this.req.body ?? {}) as Json);
  }

  /** The resource type of the body field. */
  private resourceType(): protobuf.Type {
    const t = this.rule.requestType.fields[camelCase(this.rule.body as string)]?.resolvedType;
    if (!t) throw new ApiError(501, `cannot resolve the body field ${String(this.rule.body)} of ${this.rule.method}`);
    return t as protobuf.Type;
  }

  /** Last literal segment of the template (`endpoints`). */
  private collection(): string {
    const m = /\}\/([A-Za-z]+)$/.exec(this.rule.template);
    if (!m) throw new ApiError(501, `cannot derive the collection of ${this.rule.template}`);
    return m[1] as string;
  }

  private finish(resourceName: string, response: Json | undefined, responseType: protobuf.Type | undefined): SimResponse {
    const lro = this.rule.lroResponse;
    if (!lro) return { status: 200, body: response ?? {} };
    const name = `${resourceName}/operations/${this.state.nextId()}`;
    const polls = this.options.pollsBeforeDone();
    this.state.operations.set(name, { name, pollsLeft: polls, result: { response: { '@type': typeUrl(responseType ?? lro), ...(response ?? {}) } } });
    return { status: 200, body: polls > 0 ? { name, done: false } : { name, done: true, response: { '@type': typeUrl(responseType ?? lro), ...(response ?? {}) } } };
  }

  private stamp(type: protobuf.Type, body: Json, name: string, creating: boolean): Json {
    const now = this.state.now();
    const f = type.fields;
    if (f.name) body.name = name;
    if (creating && f.createTime) body.createTime = now;
    if (f.updateTime) body.updateTime = now;
    if (f.etag) body.etag = this.state.etag();
    if (creating && type.name === 'Endpoint') body.deployedModels = [];
    if (creating && type.name === 'Schedule') {
      body.state = 'ACTIVE';
      body.startTime = now;
    }
    if (creating && (type.name === 'FeatureOnlineStore' || type.name === 'ModelDeploymentMonitoringJob')) body.state = type.name === 'FeatureOnlineStore' ? 'STABLE' : 'PENDING';
    return body;
  }

  public create(): SimResponse {
    const type = this.resourceType();
    const body = this.body(true);
    const parent = this.vars.parent as string;
    const idField = this.rule.requestType.fieldsArray.find((f) => f.name.endsWith('Id') && f.type === 'string' && f.name !== 'parent');
    const requestedId = idField ? this.req.query.get(idField.name) : null;
    const id = requestedId || this.state.nextId();
    if (requestedId && idField) checkId(idField, requestedId);
    const name = `${parent}/${this.collection()}/${id}`;
    if (this.state.get(name)) throw new ApiError(409, `${type.name} ${name} already exists`);
    if (!this.state.get(parent) && parent.split('/').length > 4) throw new ApiError(404, `Parent ${parent} not found`);
    this.checkReferences(type, body);
    const stored = this.state.put(name, type.fullName.slice(1), this.stamp(type, body, name, true));
    return this.finish(name, stored, type);
  }

  public get(): SimResponse {
    const name = this.vars.name as string;
    const r = this.resolve(name);
    return { status: 200, body: r.body };
  }

  /** A resource, or for `models/x@v` the model version `v` (a version id or an alias). */
  private resolve(name: string): StoredResource {
    const [base, version] = name.split('@') as [string, string | undefined];
    const r = this.state.get(base);
    if (!r) throw new ApiError(404, `${name} not found`);
    if (version !== undefined && r.type.endsWith('.Model')) {
      const v = this.versions(base).find((x) => x.versionId === version || ((x.versionAliases as string[] | undefined) ?? []).includes(version));
      if (!v) throw new ApiError(404, `Model version ${name} not found`);
      return { type: r.type, body: v };
    }
    return r;
  }

  /** The versions of a model (the stored model alone when it has no recorded versions). */
  private versions(model: string): Json[] {
    const r = this.state.get(model);
    const list = this.state.modelVersions.get(model) ?? (r ? [r.body] : []);
    this.state.modelVersions.set(model, list);
    return list;
  }

  /** Keep the model resource equal to its default version. */
  private syncDefault(model: string): void {
    const r = this.state.get(model);
    const def = this.versions(model).find((v) => ((v.versionAliases as string[] | undefined) ?? []).includes('default'));
    if (r && def) r.body = def;
  }

  public list(): SimResponse {
    const parent = this.vars.parent as string;
    const listField = this.rule.responseType.fieldsArray.find((f) => f.repeated && f.resolvedType && 'fields' in f.resolvedType);
    if (!listField) throw new ApiError(501, `cannot list with ${this.rule.method}`);
    const filter = parseFilter(this.req.query.get('filter') ?? '');
    const all = this.state.children(parent, this.collection()).filter(([, r]) => filter(r.body));
    const size = Math.min(Number(this.req.query.get('pageSize') ?? '50') || 50, 1000);
    const start = Number(this.req.query.get('pageToken') ?? '0') || 0;
    const page = all.slice(start, start + size).map(([, r]) => r.body);
    const next = start + size < all.length ? String(start + size) : undefined;
    return { status: 200, body: { [listField.name]: page, ...(next ? { nextPageToken: next } : {}) } };
  }

  public update(): SimResponse {
    const type = this.resourceType();
    const body = this.body(false);
    const full = Object.values(this.vars)[0] as string;
    const name = full.replace(/@.*$/, '');
    const r = this.state.get(name);
    if (!r) throw new ApiError(404, `${name} not found`);
    const mask = this.req.query.get('updateMask');
    if (!mask) throw new ApiError(400, 'update_mask is required', 'INVALID_ARGUMENT', [{ field: 'update_mask', message: 'required' }]);
    const paths = mask.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const maskProblems = updateMaskProblems(type, paths);
    if (maskProblems.length > 0) throw invalidBody(`update_mask of ${this.rule.service}.${this.rule.method}`, maskProblems);
    // `models/x@v` updates version v (labels of a promoted version), not the default one.
    const versioned = full.includes('@') && r.type.endsWith('.Model');
    const next = structuredClone(versioned ? this.resolve(full).body : r.body);
    for (const p of paths) {
      const camelPath = p.split('.').map((s) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
      setPath(next, camelPath, getPath(body, camelPath));
    }
    if (type.name === 'Endpoint' && mask.split(',').some((p) => p.trim() === 'traffic_split' || p.trim() === 'trafficSplit')) checkTraffic(next);
    this.checkReferences(type, next);
    if (versioned) {
      const versions = this.versions(name);
      const i = versions.findIndex((v) => v.versionId === next.versionId);
      const stamped = this.stamp(type, next, name, false);
      if (i >= 0) versions[i] = stamped;
      this.syncDefault(name);
      return this.finish(name, stamped, type);
    }
    const stored = this.state.put(name, r.type, this.stamp(type, next, name, false));
    if (r.type.endsWith('.Model')) {
      const versions = this.versions(name);
      const i = versions.findIndex((v) => v.versionId === stored.versionId);
      if (i >= 0) versions[i] = stored;
    }
    return this.finish(name, stored, type);
  }

  public remove(): SimResponse {
    const name = this.vars.name as string;
    const r = this.state.get(name);
    if (!r) throw new ApiError(404, `${name} not found`);
    if (r.type.endsWith('.Endpoint') && ((r.body.deployedModels as unknown[] | undefined) ?? []).length > 0) {
      throw new ApiError(400, `Endpoint ${name} has deployed models; undeploy them first`, 'FAILED_PRECONDITION');
    }
    if (r.type.endsWith('.Model')) {
      const used = [...this.state.resources.values()].some((x) => x.type.endsWith('.Endpoint') && ((x.body.deployedModels as Json[] | undefined) ?? []).some((d) => String(d.model).startsWith(name)));
      if (used) throw new ApiError(400, `Model ${name} is deployed to an endpoint; undeploy it first`, 'FAILED_PRECONDITION');
    }
    if (r.type.endsWith('.FeatureOnlineStore') && this.req.query.get('force') !== 'true' && this.state.children(name, 'featureViews').length > 0) {
      throw new ApiError(400, `FeatureOnlineStore ${name} has feature views; delete them first or set force`, 'FAILED_PRECONDITION');
    }
    this.state.remove(name);
    return this.finish(name, {}, protoRoot().lookupType('google.protobuf.Empty'));
  }

  public uploadModel(): SimResponse {
    const body = this.body(true);
    const parent = this.vars.parent as string;
    const model = body.model as Json;
    const aliases = (model.versionAliases as string[] | undefined) ?? [];
    if (aliases.includes('default')) throw new ApiError(400, `alias 'default' is reserved`);
    const type = protoRoot().lookupType('google.cloud.aiplatform.v1.Model');
    const resp = this.rule.lroResponse as protobuf.Type;
    if (typeof body.parentModel === 'string' && body.parentModel !== '') {
      // A new version of an existing model: its aliases move to it.
      const name = body.parentModel;
      const r = this.state.get(name);
      if (!r) throw new ApiError(404, `parent model ${name} not found`);
      const versions = this.versions(name);
      for (const v of versions) v.versionAliases = ((v.versionAliases as string[] | undefined) ?? []).filter((a) => !aliases.includes(a));
      const versionId = String(versions.length + 1);
      versions.push(this.stamp(type, { ...r.body, ...model, versionId, versionAliases: aliases, versionCreateTime: this.state.now() }, name, true));
      this.syncDefault(name);
      return this.finish(name, { model: name, modelVersionId: versionId }, resp);
    }
    if (typeof body.modelId === 'string' && body.modelId !== '') checkId(this.rule.requestType.fields.modelId as protobuf.Field, body.modelId);
    const id = (body.modelId as string | undefined) || this.state.nextId();
    const name = `${parent}/models/${id}`;
    if (this.state.get(name)) throw new ApiError(409, `Model ${name} already exists; upload a new version with parentModel`);
    const stored = this.stamp(type, { ...model, versionId: '1', versionAliases: ['default', ...aliases], versionCreateTime: this.state.now() }, name, true);
    this.state.put(name, 'google.cloud.aiplatform.v1.Model', stored);
    this.state.modelVersions.set(name, [stored]);
    return this.finish(name, { model: name, modelVersionId: '1' }, resp);
  }

  public listModelVersions(): SimResponse {
    const name = (this.vars.name as string).replace(/@.*$/, '');
    if (!this.state.get(name)) throw new ApiError(404, `${name} not found`);
    return { status: 200, body: { models: this.versions(name) } };
  }

  /** Add (`a`) or remove (`-a`) aliases of one version; an added alias leaves every other version. */
  public mergeVersionAliases(): SimResponse {
    const body = this.body(false);
    const name = (this.vars.name as string).replace(/@.*$/, '');
    const target = this.resolve(this.vars.name as string).body;
    let aliases = [...((target.versionAliases as string[] | undefined) ?? [])];
    for (const a of (body.versionAliases as string[] | undefined) ?? []) {
      if (a.startsWith('-')) aliases = aliases.filter((x) => x !== a.slice(1));
      else if (!aliases.includes(a)) {
        aliases.push(a);
        for (const v of this.versions(name)) if (v !== target) v.versionAliases = ((v.versionAliases as string[] | undefined) ?? []).filter((x) => x !== a);
      }
    }
    target.versionAliases = aliases;
    target.updateTime = this.state.now();
    this.syncDefault(name);
    return { status: 200, body: target };
  }

  private endpoint(): [string, StoredResource] {
    const name = this.vars.endpoint as string;
    const r = this.state.get(name);
    if (!r || !r.type.endsWith('.Endpoint')) throw new ApiError(404, `Endpoint ${name} not found`);
    return [name, r];
  }

  public deployModel(): SimResponse {
    const body = this.body(true);
    const [name, ep] = this.endpoint();
    const dm = body.deployedModel as Json;
    // Vertex resolves a version alias once, at deploy time, into the output-only modelVersionId.
    const version = this.resolve(String(dm.model)).body.versionId;
    const id = (dm.id as string | undefined) || this.state.nextId();
    const models = (ep.body.deployedModels as Json[] | undefined) ?? [];
    if (models.some((m) => m.id === id)) throw new ApiError(409, `DeployedModel ${id} already exists on ${name}`);
    const stored: Json = { ...dm, id, ...(version !== undefined ? { modelVersionId: String(version) } : {}), createTime: this.state.now() };
    models.push(stored);
    ep.body.deployedModels = models;
    const split = body.trafficSplit as Record<string, number> | undefined;
    if (split && Object.keys(split).length > 0) {
      const next: Record<string, number> = {};
      for (const [k, v] of Object.entries(split)) next[k === '0' ? id : k] = v;
      ep.body.trafficSplit = next;
      checkTraffic(ep.body);
    } else if (models.length === 1) {
      ep.body.trafficSplit = { [id]: 100 };
    }
    ep.body.updateTime = this.state.now();
    return this.finish(name, { deployedModel: stored }, this.rule.lroResponse);
  }

  public undeployModel(): SimResponse {
    const body = this.body(true);
    const [name, ep] = this.endpoint();
    const id = String(body.deployedModelId);
    const models = (ep.body.deployedModels as Json[] | undefined) ?? [];
    if (!models.some((m) => m.id === id)) throw new ApiError(404, `DeployedModel ${id} not found on ${name}`);
    const split = { ...((ep.body.trafficSplit as Record<string, number> | undefined) ?? {}) };
    const newSplit = body.trafficSplit as Record<string, number> | undefined;
    if (newSplit && Object.keys(newSplit).length > 0) {
      ep.body.trafficSplit = newSplit;
    } else if ((split[id] ?? 0) > 0 && models.length > 1) {
      throw new ApiError(400, `DeployedModel ${id} still receives ${split[id]}% of the traffic; shift it away first or pass trafficSplit`, 'FAILED_PRECONDITION');
    } else {
      delete split[id];
      ep.body.trafficSplit = split;
    }
    ep.body.deployedModels = models.filter((m) => m.id !== id);
    checkTraffic(ep.body);
    ep.body.updateTime = this.state.now();
    return this.finish(name, {}, this.rule.lroResponse);
  }

  public mutateDeployedModel(): SimResponse {
    const body = this.body(true);
    const [name, ep] = this.endpoint();
    const dm = body.deployedModel as Json;
    const models = (ep.body.deployedModels as Json[] | undefined) ?? [];
    const current = models.find((m) => m.id === dm.id);
    if (!current) throw new ApiError(404, `DeployedModel ${String(dm.id)} not found on ${name}`);
    // body "*": the FieldMask travels in the body (proto3 JSON: comma-separated camelCase paths).
    const mask = this.req.query.get('updateMask') ?? (typeof body.updateMask === 'string' ? body.updateMask : '');
    const allowed = /^(dedicated_resources\.(min_replica_count|max_replica_count|autoscaling_metric_specs)|dedicatedResources\.(minReplicaCount|maxReplicaCount|autoscalingMetricSpecs)|disable_container_logging|enable_container_logging|disableContainerLogging|enableContainerLogging)$/;
    const paths = mask.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (paths.length === 0) throw new ApiError(400, 'update_mask is required', 'INVALID_ARGUMENT', [{ field: 'update_mask', message: 'required' }]);
    for (const p of paths) {
      if (!allowed.test(p)) throw new ApiError(400, `field ${p} of a deployed model cannot be mutated; deploy a new model instead`, 'INVALID_ARGUMENT', [{ field: 'update_mask', message: p }]);
      const camelPath = p.split('.').map((s) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
      setPath(current, camelPath, getPath(dm, camelPath));
    }
    return this.finish(name, { deployedModel: current }, this.rule.lroResponse);
  }

  /** Referenced resources must exist (the model of a schedule's pipeline is not checked). */
  private checkReferences(type: protobuf.Type, body: Json): void {
    if (type.name === 'ModelDeploymentMonitoringJob') {
      const ep = this.state.get(String(body.endpoint));
      if (!ep) throw new ApiError(400, `Endpoint ${String(body.endpoint)} does not exist`, 'INVALID_ARGUMENT', [{ field: 'endpoint', message: 'not found' }]);
      const ids = new Set(((ep.body.deployedModels as Json[] | undefined) ?? []).map((d) => d.id));
      for (const c of (body.modelDeploymentMonitoringObjectiveConfigs as Json[] | undefined) ?? []) {
        if (!ids.has(c.deployedModelId)) throw new ApiError(400, `DeployedModel ${String(c.deployedModelId)} is not deployed on ${String(body.endpoint)}`, 'INVALID_ARGUMENT', [{ field: 'deployedModelId', message: 'not deployed' }]);
      }
    }
    if (type.name === 'FeatureView') {
      const parent = this.vars.parent ?? String(body.name).replace(/\/featureViews\/[^/]+$/, '');
      if (!this.state.get(parent)) throw new ApiError(404, `FeatureOnlineStore ${parent} not found`);
    }
  }
}

/**
 * A client-chosen resource id must follow the rule its field's proto comment states
 * (e.g. CreateEndpointRequest.endpoint_id: `[a-z0-9-]`, up to 63 characters).
 *
 * @throws ApiError 400 INVALID_ARGUMENT naming the field.
 */
function checkId(field: protobuf.Field, id: string): void {
  const name = field.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const problem = idProblem(fieldComment(field), id);
  if (problem) throw new ApiError(400, `Invalid ${name} '${id}': it ${problem}.`, 'INVALID_ARGUMENT', [{ field: name, message: problem }]);
}

function checkTraffic(endpoint: Json): void {
  const split = (endpoint.trafficSplit as Record<string, number> | undefined) ?? {};
  const ids = new Set(((endpoint.deployedModels as Json[] | undefined) ?? []).map((d) => String(d.id)));
  const entries = Object.entries(split);
  for (const [id] of entries) if (!ids.has(id)) throw new ApiError(400, `trafficSplit names DeployedModel ${id}, which is not deployed`, 'INVALID_ARGUMENT', [{ field: 'traffic_split', message: id }]);
  const sum = entries.reduce((s, [, v]) => s + v, 0);
  if (entries.length > 0 && sum !== 100) throw new ApiError(400, `trafficSplit must sum to 100, got ${sum}`, 'INVALID_ARGUMENT', [{ field: 'traffic_split', message: `sum ${sum}` }]);
}

function getPath(obj: Json, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Json)[p];
  }
  return cur;
}

function setPath(obj: Json, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Json;
  }
  const last = path[path.length - 1] as string;
  if (value === undefined) delete cur[last];
  else cur[last] = structuredClone(value);
}

/**
 * A list filter (AIP-160 subset): `labels.k="v"`, `labels.k:*`, `display_name="x"`, joined with
 * `AND`.
 *
 * @throws ApiError 400 on anything else.
 */
export function parseFilter(filter: string): (body: Json) => boolean {
  const clauses = filter.trim() === '' ? [] : filter.split(/\s+AND\s+/);
  const tests = clauses.map((c) => {
    const m = /^\s*(labels\.([a-z0-9_-]+)|display_name|displayName)\s*(=|:)\s*"?([^"]*)"?\s*$/.exec(c);
    if (!m) throw new ApiError(400, `Unsupported filter clause '${c}'`, 'INVALID_ARGUMENT', [{ field: 'filter', message: c }]);
    const [, field, label, op, value] = m;
    return (b: Json) => {
      const actual = label !== undefined ? ((b.labels as Record<string, string> | undefined) ?? {})[label] : (b.displayName as string | undefined);
      if (op === ':' && value === '*') return actual !== undefined;
      void field;
      return actual === value;
    };
  });
  return (b) => tests.every((t) => t(b));
}
