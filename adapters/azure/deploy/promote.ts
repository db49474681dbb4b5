/**
 * Promote a model version between stages on Azure Machine Learning by copying it between the
 * stages' workspaces: the target workspace gets a new version of the same model asset whose
 * `modelUri` is the source version's artifact (`azureml://…` of the source workspace's datastore),
 * with the source's tags (recorded metrics) and the lineage tags. Aliases are the
 * `mlplane-alias-<alias>` tags the register steps use (Azure ML model versions have no aliases).
 *
 * @see https://learn.microsoft.com/rest/api/azureml/model-versions/create-or-update
 * @see https://learn.microsoft.com/azure/machine-learning/how-to-manage-models#copy-a-model-across-workspaces
 */
import type { ModelVersion } from '@azure/arm-machinelearning';
import type { AzureSettings } from '../settings';
import { LINEAGE, METRIC_PREFIX, checkGate, type PromotionRequest, type PromotionResult, type PromotionSide } from '../../shared/promotion';
import { createClients } from './transport';

interface Located {
  readonly settings: AzureSettings;
  readonly workspace: string;
  readonly asset: string;
}

const aliasTag = (alias: string) => `mlplane-alias-${alias}`;

/** Run a promotion between two Azure ML workspaces. */
export async function promoteAzure(request: PromotionRequest): Promise<PromotionResult> {
  const source = locate(request, request.source, 'from');
  const target = locate(request, request.target, 'to');
  const src = createClients({ subscriptionId: source.settings.subscriptionId }).ml;
  const dst = createClients({ subscriptionId: target.settings.subscriptionId }).ml;
  const list = async (ml: typeof src, at: Located): Promise<ModelVersion[]> => {
    const out: ModelVersion[] = [];
    for await (const v of ml.modelVersions.list(at.settings.resourceGroup, at.workspace, at.asset)) out.push(v);
    return out;
  };
  let writes = 0;

  const sourceVersions = await list(src, source);
  const version =
    'alias' in request.selector
      ? sourceVersions.find((v) => v.properties.tags?.[aliasTag((request.selector as { alias: string }).alias)] === 'true')
      : sourceVersions.find((v) => v.name === (request.selector as { version: string }).version);
  const sourceId = `${source.settings.resourceGroup}/${source.workspace}/${source.asset}`;
  const selectorText = 'alias' in request.selector ? `@${request.selector.alias}` : `:${request.selector.version}`;
  if (!version?.name) {
    throw new Error(`[${request.spec.path}] ${request.spec.from} has no version ${source.asset}${selectorText} in workspace ${source.workspace} (versions: ${sourceVersions.map((v) => v.name).join(', ') || 'none'}); register one there first`);
  }
  const versionId = version.name;
  const sourceLabel = `${sourceId}:${versionId}`;
  const tags = version.properties.tags ?? {};

  const targetVersions = await list(dst, target);
  const previous = targetVersions.find((v) => v.properties.tags?.[LINEAGE.sourceModel] === sourceId && v.properties.tags?.[LINEAGE.sourceVersion] === versionId && v.properties.tags?.[LINEAGE.fromStage] === request.spec.from);
  const alias = request.spec.alias ?? ('alias' in request.selector ? request.selector.alias : undefined);
  const holders = alias ? targetVersions.filter((v) => v.properties.tags?.[aliasTag(alias)] === 'true') : [];
  const moveAlias = async (to: string) => {
    for (const h of holders.filter((x) => x.name !== to)) {
      const { [aliasTag(alias as string)]: _dropped, ...rest } = h.properties.tags ?? {};
      await dst.modelVersions.createOrUpdate(target.settings.resourceGroup, target.workspace, target.asset, h.name as string, { properties: { ...h.properties, tags: rest } });
      writes += 1;
    }
  };
  if (previous?.name) {
    if (alias && previous.properties.tags?.[aliasTag(alias)] !== 'true') {
      await moveAlias(previous.name);
      await dst.modelVersions.createOrUpdate(target.settings.resourceGroup, target.workspace, target.asset, previous.name, { properties: { ...previous.properties, tags: { ...previous.properties.tags, [aliasTag(alias)]: 'true' } } });
      writes += 1;
    }
    return { outcome: 'unchanged', source: sourceLabel, sourceVersion: versionId, target: `${target.workspace}/${target.asset}:${previous.name}`, targetVersion: previous.name, reason: `already promoted as version ${previous.name}${writes > 0 ? ` (alias ${alias as string} moved back to it)` : ''}`, writes };
  }

  const gate = request.spec.gate;
  const reference = gate?.against.kind === 'alias' ? numberOf(targetVersions.find((v) => v.properties.tags?.[aliasTag(gate.against.kind === 'alias' ? gate.against.alias : '')] === 'true')?.properties.tags?.[`${METRIC_PREFIX}${gate.metric}`]) : undefined;
  const reason = checkGate(request, sourceLabel, metricsOf(tags), reference);

  const next = String(Math.max(0, ...targetVersions.map((v) => Number(v.name)).filter(Number.isFinite)) + 1);
  const copied = Object.fromEntries(Object.entries(tags).filter(([k]) => !k.startsWith('mlplane-alias-')));
  request.log(`copying ${sourceLabel} into workspace ${target.workspace} as ${target.asset}:${next}`);
  await moveAlias(next);
  await dst.modelVersions.createOrUpdate(target.settings.resourceGroup, target.workspace, target.asset, next, {
    properties: {
      description: version.properties.description ?? `promoted from ${request.spec.from}`,
      modelType: version.properties.modelType,
      modelUri: version.properties.modelUri,
      properties: version.properties.properties ?? {},
      tags: {
        ...copied,
        'mlplane-stage': request.spec.to,
        [LINEAGE.fromStage]: request.spec.from,
        [LINEAGE.sourceVersion]: versionId,
        [LINEAGE.sourceModel]: sourceId,
        ...(version.properties.jobName ? { [LINEAGE.sourceRun]: version.properties.jobName } : {}),
        ...(request.approvedBy ? { [LINEAGE.approvedBy]: request.approvedBy } : {}),
        ...(alias ? { [aliasTag(alias)]: 'true' } : {}),
      },
    },
  });
  writes += 1;
  return { outcome: 'promoted', source: sourceLabel, sourceVersion: versionId, target: `${target.workspace}/${target.asset}:${next}`, targetVersion: next, reason, writes };
}

/** Workspace and model asset of the model in one stage, from that stage's synthesized template. */
function locate(request: PromotionRequest, side: PromotionSide, which: 'from' | 'to'): Located {
  const template = side.documents['template.json'] as { resources?: Array<{ type?: string; name?: string; properties?: { tags?: Record<string, string> } }> } | undefined;
  const resource = template?.resources?.find((r) => /^Microsoft\.MachineLearningServices\/workspaces\/models$/i.test(r.type ?? '') && r.properties?.tags?.['mlplane-path'] === request.spec.modelPath);
  const [workspace, asset] = (resource?.name ?? '').split('/');
  if (!workspace || !asset) {
    throw new Error(`[${request.spec.path}] the ${which} stage (${which === 'from' ? request.spec.from : request.spec.to}) synthesizes no Azure ML model for ${request.spec.modelPath}; synthesize and deploy that stage first`);
  }
  return { settings: side.settings as AzureSettings, workspace, asset };
}

function numberOf(raw: string | null | undefined): number | undefined {
  const n = raw === undefined || raw === null ? Number.NaN : Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** The metrics the register step recorded as `mlplane-metric-<name>` tags. */
function metricsOf(tags: Readonly<Record<string, string | null>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(tags)) {
    const n = k.startsWith(METRIC_PREFIX) ? numberOf(v) : undefined;
    if (n !== undefined) out[k.slice(METRIC_PREFIX.length)] = n;
  }
  return out;
}
