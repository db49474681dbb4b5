/**
 * Promote a model version between stages on Vertex AI Model Registry.
 *
 * Within one project (stages in different regions) the registry copies it itself with
 * `ModelService.CopyModel` (`models.copy`, "the source Model must be in the same Project"); between
 * projects the version is uploaded into the target project's model with the source's artifact and
 * serving container (`ModelService.UploadModel` with `parentModel`), which reads the artifact from
 * the source stage's bucket. Either way the new version carries the lineage labels and, when
 * asked, the alias (`MergeVersionAliases`).
 *
 * @see https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.models/copy
 * @see https://cloud.google.com/vertex-ai/docs/model-registry/copy-model
 */
import type { protos } from '@google-cloud/aiplatform';
import { labelValue } from '../names';
import type { GcpSettings } from '../settings';
import { LINEAGE, METRIC_PREFIX, checkGate, type PromotionRequest, type PromotionResult, type PromotionSide } from '../../shared/promotion';
import { makeClients } from './clients';

type Model = protos.google.cloud.aiplatform.v1.IModel;

interface Located {
  readonly settings: GcpSettings;
  /** `projects/p/locations/r/models/id`. */
  readonly name: string;
  readonly ownership: Readonly<Record<string, string>>;
  /** The stage's customer-managed key of models, as its synthesized model document has it. */
  readonly encryptionSpec?: { readonly kmsKeyName?: string };
}

/** Run a promotion on Vertex AI. */
export async function promoteGcp(request: PromotionRequest): Promise<PromotionResult> {
  const source = locate(request, request.source, 'from');
  const target = locate(request, request.target, 'to');
  const models = makeClients(source.settings.project, source.settings.region).models;
  const targetModels = makeClients(target.settings.project, target.settings.region).models;
  let writes = 0;

  const selector = 'alias' in request.selector ? request.selector.alias : request.selector.version;
  const [version] = await models.getModel({ name: `${source.name}@${selector}` });
  const versionId = String(version.versionId);
  const sourceLabel = `${source.name}@${versionId}`;
  const labels = version.labels ?? {};
  const sourceModel = labelValue(`${source.settings.project}-${source.name.split('/').pop() as string}`);

  // Promoted before? The lineage labels say so.
  const [existing] = await targetModels.listModelVersions({ name: target.name });
  const previous = existing.find((v) => v.labels?.[LINEAGE.sourceModel] === sourceModel && v.labels?.[LINEAGE.sourceVersion] === versionId && v.labels?.[LINEAGE.fromStage] === request.spec.from);
  const alias = request.spec.alias ?? ('alias' in request.selector ? request.selector.alias : undefined);
  if (previous) {
    const id = String(previous.versionId);
    if (alias && !(previous.versionAliases ?? []).includes(alias)) {
      await targetModels.mergeVersionAliases({ name: `${target.name}@${id}`, versionAliases: [alias] });
      writes += 1;
    }
    return { outcome: 'unchanged', source: sourceLabel, sourceVersion: versionId, target: `${target.name}@${id}`, targetVersion: id, reason: `already promoted as version ${id}${writes > 0 ? ` (alias ${alias} moved back to it)` : ''}`, writes };
  }

  const gate = request.spec.gate;
  let reference: number | undefined;
  if (gate?.against.kind === 'alias') {
    const holder = existing.find((v) => (v.versionAliases ?? []).includes(gate.against.kind === 'alias' ? gate.against.alias : ''));
    reference = holder ? metricsOf(holder.labels ?? {})[metricLabelName(gate.metric)] : undefined;
  }
  const recorded = metricsOf(labels);
  // Label keys are lower-cased and shortened: read the gate's metric under its label name.
  const reason = checkGate(request, sourceLabel, gate && recorded[metricLabelName(gate.metric)] !== undefined ? { ...recorded, [gate.metric]: recorded[metricLabelName(gate.metric)] as number } : recorded, reference);

  const lineage: Record<string, string> = {
    ...labels,
    ...target.ownership,
    [LINEAGE.fromStage]: request.spec.from,
    [LINEAGE.sourceVersion]: versionId,
    [LINEAGE.sourceModel]: sourceModel,
    ...(labels['mlplane-run'] ? { [LINEAGE.sourceRun]: labels['mlplane-run'] } : {}),
    ...(request.approvedBy ? { [LINEAGE.approvedBy]: labelValue(request.approvedBy) } : {}),
  };
  let newVersion: string;
  if (source.settings.project === target.settings.project) {
    request.log(`copying ${sourceLabel} into ${target.name} (models.copy)`);
    const [operation] = await targetModels.copyModel({ parent: parentOf(target.name), sourceModel: sourceLabel, parentModel: target.name });
    const [response] = await operation.promise();
    newVersion = String(response.modelVersionId);
    await targetModels.updateModel({ model: { name: `${target.name}@${newVersion}`, labels: lineage }, updateMask: { paths: ['labels'] } });
    writes += 2;
  } else {
    request.log(`uploading ${sourceLabel} as a new version of ${target.name} (other project: models.upload with parentModel)`);
    const model: Model = {
      displayName: version.displayName,
      description: version.description,
      artifactUri: version.artifactUri,
      containerSpec: version.containerSpec,
      labels: lineage,
      versionDescription: `promoted from ${request.spec.from} (${sourceLabel})`,
      ...(target.encryptionSpec ? { encryptionSpec: target.encryptionSpec } : {}),
    };
    const [operation] = await targetModels.uploadModel({ parent: parentOf(target.name), parentModel: target.name, model });
    const [response] = await operation.promise();
    newVersion = String(response.modelVersionId);
    writes += 1;
  }
  if (alias) {
    await targetModels.mergeVersionAliases({ name: `${target.name}@${newVersion}`, versionAliases: [alias] });
    writes += 1;
  }
  return { outcome: 'promoted', source: sourceLabel, sourceVersion: versionId, target: `${target.name}@${newVersion}`, targetVersion: newVersion, reason, writes };
}

/** The model's resource name in one stage, from that stage's synthesized manifest. */
function locate(request: PromotionRequest, side: PromotionSide, which: 'from' | 'to'): Located {
  const settings = side.settings as GcpSettings;
  const manifest = side.documents['manifest.json'] as { entries?: Array<{ collection?: string; path?: string; parent?: string; id?: string }>; ownershipLabels?: Record<string, string> } | undefined;
  const entry = manifest?.entries?.find((e) => e.collection === 'projects.locations.models' && e.path === request.spec.modelPath) as { parent?: string; id?: string; document?: string } | undefined;
  if (!entry?.parent || !entry.id) {
    throw new Error(`[${request.spec.path}] the ${which} stage (${which === 'from' ? request.spec.from : request.spec.to}) synthesizes no Vertex model for ${request.spec.modelPath}; synthesize and deploy that stage first`);
  }
  const body = entry.document ? (side.documents[entry.document] as { encryptionSpec?: { kmsKeyName?: string } } | undefined) : undefined;
  return { settings, name: `${entry.parent}/models/${entry.id}`, ownership: manifest?.ownershipLabels ?? {}, ...(body?.encryptionSpec ? { encryptionSpec: body.encryptionSpec } : {}) };
}

function parentOf(modelName: string): string {
  return modelName.split('/models/')[0] as string;
}

/** A metric's name in its label key (`mlplane-metric-<name>`), as the register component writes it. */
function metricLabelName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').slice(0, 40);
}

/** The metrics recorded as labels (`mlplane-metric-auc: 0_93`), by the name in the label key. */
function metricsOf(labels: Readonly<Record<string, string>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (!k.startsWith(METRIC_PREFIX)) continue;
    const n = Number(v.replace(/_/g, '.').replace(/n/g, '-').replace(/p/g, '+'));
    if (Number.isFinite(n)) out[k.slice(METRIC_PREFIX.length)] = n;
  }
  return out;
}
