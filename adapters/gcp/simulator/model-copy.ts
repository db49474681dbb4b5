/**
 * `ModelService.CopyModel` (`POST /v1/{parent=projects/*\/locations/*}/models:copy`), the Vertex
 * Model Registry copy `mlplane promote` uses between regions of one project: the source version
 * becomes a new model (`modelId`) or a new version of an existing one (`parentModel`), through a
 * long-running operation answering `CopyModelResponse { model, modelVersionId }`.
 *
 * As the proto says, the source "must be in the same Project"; another project is refused.
 *
 * @see https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/copy
 */
import { ApiError, invalidBody } from './errors';
import { checkMessage, protoRoot } from './protos';
import type { Json, SimulatorState } from './state';
import type { SimRequest, SimResponse, VertexMatch } from './vertex';

const MODEL = /^(projects\/([^/]+)\/locations\/[^/]+\/models\/[^/@]+)(?:@([^/]+))?$/;

/** Answer a CopyModel request; `polls` GetOperation calls pass before the operation is done. */
export function copyModel(state: SimulatorState, req: SimRequest, match: VertexMatch, polls: number): SimResponse {
  const { rule, vars } = match;
  const problems = checkMessage(rule.requestType, req.body ?? {}, { checkRequired: true, notRequired: [...rule.variables] });
  const body = (req.body ?? {}) as Json;
  if ('parent' in body) problems.push({ field: 'parent', message: 'path parameter must not be repeated in the body' });
  if (typeof body.modelId === 'string' && typeof body.parentModel === 'string') problems.push({ field: 'destination_model', message: 'modelId and parentModel are one of; set one' });
  if (problems.length > 0) throw invalidBody(`CopyModelRequest in ${rule.service}.${rule.method}`, problems);
  const parent = vars.parent as string;
  const source = MODEL.exec(String(body.sourceModel));
  if (!source) throw new ApiError(400, `sourceModel '${String(body.sourceModel)}' is not a model resource name`, 'INVALID_ARGUMENT', [{ field: 'source_model', message: 'invalid name' }]);
  const [, sourceName, sourceProject, sourceVersion] = source as unknown as [string, string, string, string | undefined];
  if (sourceProject !== parent.split('/')[1]) {
    throw new ApiError(400, `sourceModel ${sourceName} must be in the same project as ${parent}; copy between projects by uploading the artifact`, 'INVALID_ARGUMENT', [{ field: 'source_model', message: 'other project' }]);
  }
  const versions = versionsOf(state, sourceName);
  const picked = sourceVersion === undefined ? versions.find((v) => aliasesOf(v).includes('default')) : versions.find((v) => v.versionId === sourceVersion || aliasesOf(v).includes(sourceVersion));
  if (!picked) throw new ApiError(404, `Model ${String(body.sourceModel)} not found`);
  const now = state.now();
  const copy = (name: string, versionId: string, aliases: string[]): Json => ({
    ...structuredClone(picked),
    name,
    versionId,
    versionAliases: aliases,
    versionCreateTime: now,
    versionUpdateTime: now,
    createTime: now,
    updateTime: now,
    etag: state.etag(),
    ...(body.encryptionSpec ? { encryptionSpec: body.encryptionSpec } : {}),
  });
  let result: { model: string; modelVersionId: string };
  if (typeof body.parentModel === 'string' && body.parentModel !== '') {
    const target = body.parentModel;
    if (!target.startsWith(`${parent}/models/`)) throw new ApiError(400, `parentModel ${target} is not in ${parent}`, 'INVALID_ARGUMENT', [{ field: 'parent_model', message: 'other location' }]);
    if (!state.get(target)) throw new ApiError(404, `parent model ${target} not found`);
    const list = versionsOf(state, target);
    const versionId = String(list.length + 1);
    list.push(copy(target, versionId, []));
    result = { model: target, modelVersionId: versionId };
  } else {
    const id = typeof body.modelId === 'string' && body.modelId !== '' ? body.modelId : state.nextId();
    const name = `${parent}/models/${id}`;
    if (state.get(name)) throw new ApiError(409, `Model ${name} already exists; copy into it with parentModel`);
    const stored = copy(name, '1', ['default']);
    state.put(name, 'google.cloud.aiplatform.v1.Model', stored);
    state.modelVersions.set(name, [stored]);
    result = { model: name, modelVersionId: '1' };
  }
  const responseType = protoRoot().lookupType('google.cloud.aiplatform.v1.CopyModelResponse');
  const response = { '@type': `type.googleapis.com/${responseType.fullName.slice(1)}`, ...result };
  const name = `${parent}/operations/${state.nextId()}`;
  state.operations.set(name, { name, pollsLeft: polls, result: { response } });
  return { status: 200, body: polls > 0 ? { name, done: false } : { name, done: true, response } };
}

function versionsOf(state: SimulatorState, model: string): Json[] {
  const r = state.get(model);
  if (!r) throw new ApiError(404, `Model ${model} not found`);
  const list = state.modelVersions.get(model) ?? [r.body];
  state.modelVersions.set(model, list);
  return list;
}

function aliasesOf(v: Json): string[] {
  return (v.versionAliases as string[] | undefined) ?? [];
}
