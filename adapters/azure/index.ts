import type { DocumentAdapter, DocumentSynthResult } from '../../lib/adapter';
import { ValidationErrors, type Problem } from '../../lib/core/errors';
import { unsupportedFeatures } from '../../lib/model/capabilities';
import type {
  BatchInferenceModel,
  ComputePoolModel,
  DatasetModel,
  DriftMonitorModel,
  EnvironmentModel,
  FeatureTableModel,
  ModelRegistryModel,
  OnlineEndpointModel,
  PipelineModel,
} from '../../lib/model/types';
import {
  armLiteral,
  type ArmExpr,
  collectRefs,
  PARAMETERS_SCHEMA,
  renderArm,
  resourceKey,
  TEMPLATE_SCHEMA,
  type ArmObject,
  type ArmParametersFile,
  type ArmResource,
  type ArmTemplate,
  type RenderedResource,
} from './arm';
import { nameCollisions } from '../shared/names';
import { AZURE_CAPABILITIES } from './capabilities';
import { imageHost, ownedIdentity } from './common';
import { mapComputePool } from './compute';
import { SynthContext } from './context';
import { addLifecyclePolicy, externalHost, mapDataset } from './data';
import { mapEnvironment } from './environment';
import { mapFeatureStore } from './feature-store';
import { mapGrants } from './grants';
import { mapDriftMonitor, monitoredDeployments } from './monitor';
import { AZURE_CLI_IMAGE, mapPipeline, type MappedPipeline } from './pipeline';
import { mapBatchInference, mapOnlineEndpoint, mapRegistry } from './serving';
import { locationsFor, locationSatisfies, parseAzureSettings, type AzureSettings } from './settings';
import { toYaml } from './yaml';

export type { AzureSettings } from './settings';

/** Model schema major version this adapter reads. */
const SUPPORTED_MAJOR = '1';

interface ByKind {
  datasets: DatasetModel[];
  featureTables: FeatureTableModel[];
  computePools: ComputePoolModel[];
  pipelines: PipelineModel[];
  registries: ModelRegistryModel[];
  endpoints: OnlineEndpointModel[];
  batches: BatchInferenceModel[];
  monitors: DriftMonitorModel[];
}

function groupByKind(model: EnvironmentModel): ByKind {
  const g: ByKind = { datasets: [], featureTables: [], computePools: [], pipelines: [], registries: [], endpoints: [], batches: [], monitors: [] };
  for (const r of model.resources) {
    switch (r.kind) {
      case 'dataset':
        g.datasets.push(r);
        break;
      case 'featureTable':
        g.featureTables.push(r);
        break;
      case 'computePool':
        g.computePools.push(r);
        break;
      case 'pipeline':
        g.pipelines.push(r);
        break;
      case 'modelRegistry':
        g.registries.push(r);
        break;
      case 'onlineEndpoint':
        g.endpoints.push(r);
        break;
      case 'batchInference':
        g.batches.push(r);
        break;
      case 'driftMonitor':
        g.monitors.push(r);
        break;
      case 'secret':
        break; // a reference, read by steps and deployments (secrets.ts) and granted in grants.ts
      default: {
        const never: never = r;
        throw new Error(`unhandled resource kind ${(never as { kind: string }).kind}`);
      }
    }
  }
  return g;
}

/** Hosts a registry redirects image layer downloads to (they need outbound rules too). */
const LAYER_HOSTS: Readonly<Record<string, readonly string[]>> = {
  'ghcr.io': ['pkg-containers.githubusercontent.com'],
  'docker.io': ['registry-1.docker.io', 'auth.docker.io', 'production.cloudflare.docker.com'],
  'quay.io': ['cdn.quay.io', 'cdn01.quay.io', 'cdn02.quay.io', 'cdn03.quay.io'],
};

/** Where `az extension add --name ml` downloads from (steps in the Azure CLI image). */
const CLI_EXTENSION_HOSTS = ['aka.ms', 'azcliextensionsync.blob.core.windows.net', 'azcliprod.blob.core.windows.net', 'pypi.org', 'files.pythonhosted.org'];

/** Hosts the workspace must reach (for outbound rules of a private network): image registries and their layer hosts. */
function imageHosts(g: ByKind): string[] {
  const images: string[] = [];
  for (const p of g.pipelines) {
    for (const s of p.steps) images.push(s.kind === 'container' ? s.image : AZURE_CLI_IMAGE);
  }
  for (const r of g.registries) for (const m of r.models) images.push(m.serving.image);
  if (g.batches.some((b) => b.schedules.length > 0)) images.push(AZURE_CLI_IMAGE);
  const hosts = new Set<string>();
  for (const image of images) {
    const host = imageHost(image);
    // Microsoft Container Registry is reachable through the managed network's required rules.
    if (host !== 'mcr.microsoft.com') {
      hosts.add(host);
      for (const h of LAYER_HOSTS[host] ?? []) hosts.add(h);
    }
  }
  if (images.includes(AZURE_CLI_IMAGE)) for (const h of CLI_EXTENSION_HOSTS) hosts.add(h);
  return [...hosts].sort();
}

/** Synthesize the ARM template, parameters file and Azure ML YAML views of one environment. */
export function synthAzure(model: EnvironmentModel, settings: AzureSettings): DocumentSynthResult {
  const env = model.environment;
  const major = model.schemaVersion.split('.')[0];
  if (major !== SUPPORTED_MAJOR) {
    throw new ValidationErrors([{ path: env.path, message: `model schemaVersion '${model.schemaVersion}' is not supported by the azure adapter (reads ${SUPPORTED_MAJOR}.x); upgrade mlplane` }]);
  }
  const ctx = new SynthContext(model, settings);
  ctx.problems.push(...unsupportedFeatures(model, 'azure', AZURE_CAPABILITIES));
  if (!locationSatisfies(settings.location, env.region)) {
    ctx.problem(
      env.path,
      `region '${env.region}' requires an Azure region in that geography, but mlplane:azure.location is '${settings.location}'; set mlplane:azure.location to one of: ${locationsFor(env.region).join(', ')} (or change the environment's region)`,
    );
  }

  const g = groupByKind(model);
  // Identities of the constructs whose jobs run on serverless compute: attached to the workspace.
  const jobIdentities = [...g.pipelines, ...g.batches, ...g.monitors].map((r) => ownedIdentity(ctx, r.path).id);
  mapEnvironment(
    ctx,
    imageHosts(g),
    g.datasets.flatMap((d) => {
      const h = externalHost(d);
      return h ? [h] : [];
    }),
    jobIdentities,
  );

  const lifecycle: ArmObject[] = [];
  for (const d of g.datasets) mapDataset(ctx, d, lifecycle);
  addLifecyclePolicy(ctx, lifecycle);
  mapFeatureStore(ctx, g.featureTables);

  const pipelines = new Map<string, MappedPipeline>();
  for (const p of g.pipelines) pipelines.set(p.path, mapPipeline(ctx, p));
  for (const c of g.computePools) {
    // The cluster carries the identities of the pipelines and batch inferences that run on it.
    const users = [
      ...g.pipelines.filter((p) => p.steps.some((s) => s.kind === 'container' && s.compute === c.path)),
      ...g.batches.filter((b) => b.compute === c.path),
    ];
    mapComputePool(ctx, c, users.map((u) => ownedIdentity(ctx, u.path).id));
  }
  for (const p of g.pipelines) {
    for (const s of p.steps) {
      if (s.kind === 'container' && s.compute !== undefined && !g.computePools.some((c) => c.path === s.compute)) {
        ctx.problem(s.path, `runs on '${s.compute}', which is not a compute pool of this environment`);
      }
    }
  }
  for (const r of g.registries) mapRegistry(ctx, r);

  const monitored = new Set<string>();
  for (const m of g.monitors) {
    if (m.target.kind === 'endpoint') for (const dep of monitoredDeployments(ctx, m)) monitored.add(`${m.target.endpoint}/${dep}`);
  }
  for (const e of g.endpoints) mapOnlineEndpoint(ctx, e, monitored);
  for (const b of g.batches) mapBatchInference(ctx, b);
  for (const m of g.monitors) mapDriftMonitor(ctx, m, pipelines);
  mapGrants(ctx, model.grants);
  ctx.problems.push(...nameCollisions('azure', ctx.claims));

  const problems = dedupe(ctx.problems);
  if (problems.length > 0) throw new ValidationErrors(problems, `Azure synth of ${env.path} failed`);

  const template: ArmTemplate = {
    $schema: TEMPLATE_SCHEMA,
    contentVersion: '1.0.0.0',
    metadata: {
      mlplane: { environment: env.name, path: env.path, stage: env.stage, target: 'azure', modelSchemaVersion: model.schemaVersion },
    },
    parameters: ctx.parameters,
    resources: renderResources(ctx.resources, settings.location, ctx.location()),
    outputs: Object.fromEntries(Object.entries(ctx.outputs).map(([k, o]) => [k, { type: o.type, value: renderArm(o.value) }])),
  };
  const parameters: ArmParametersFile = {
    $schema: PARAMETERS_SCHEMA,
    contentVersion: '1.0.0.0',
    parameters: Object.fromEntries(Object.entries(ctx.parameterValues).map(([k, v]) => [k, { value: v }])),
  };
  const documents: Record<string, unknown> = { 'template.json': template, 'parameters.json': parameters };
  for (const [path, doc] of Object.entries(ctx.documents).sort(([a], [b]) => a.localeCompare(b))) {
    documents[path] = typeof doc === 'string' ? doc : toYaml(doc as Record<string, unknown>);
  }
  // Top-level resources share the resource group with other environments (children are named within them).
  const names = ctx.claims.filter((c) => c.what.split('/').length === 2);
  return { documents, warnings: dedupeWarnings(ctx.warnings), names };
}

function dedupe(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path}\0${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function dedupeWarnings<T extends { id: string; path: string; message: string }>(ws: readonly T[]): T[] {
  const seen = new Set<string>();
  return ws.filter((w) => {
    const k = `${w.id}\0${w.path}\0${w.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The expression a dependsOn entry uses for a template resource. */
function idOf(r: ArmResource): string {
  if (r.scope) return `[extensionResourceId(${r.scope.text}, ${armLiteral(r.type)}, ${armLiteral(r.name)})]`;
  return `[resourceId(${[r.type, ...r.name.split('/')].map(armLiteral).join(', ')})]`;
}

/** Render resources, deriving `dependsOn` from the expressions each resource contains. */
function renderResources(resources: readonly ArmResource[], configured: string, location: ArmExpr): RenderedResource[] {
  const byKey = new Map<string, ArmResource>();
  for (const r of resources) byKey.set(resourceKey(r.type, r.name), r);
  return resources.map((r) => {
    const self = resourceKey(r.type, r.name);
    const refs = new Set<string>();
    collectRefs(r.properties, refs);
    collectRefs(r.identity, refs);
    collectRefs(r.location, refs);
    if (r.scope) for (const x of r.scope.refs) refs.add(x);
    for (const x of r.extraDependsOn ?? []) refs.add(x);
    // Identity maps use expression keys: recover their references.
    const identityKeys = r.identity && typeof r.identity.userAssignedIdentities === 'object' && r.identity.userAssignedIdentities !== null ? Object.keys(r.identity.userAssignedIdentities) : [];
    for (const k of identityKeys) {
      const m = /^\[resourceId\('Microsoft\.ManagedIdentity\/userAssignedIdentities', '([^']+)'\)\]$/.exec(k);
      if (m) refs.add(resourceKey('Microsoft.ManagedIdentity/userAssignedIdentities', m[1] as string));
    }
    // The parent of a child resource declared at the top level.
    const typeParts = r.type.split('/');
    const nameParts = r.name.split('/');
    // The nearest ancestor of a child resource declared at the top level (`versions` → workspace).
    for (let up = 1; up < nameParts.length && typeParts.length - up >= 2; up++) {
      const parent = resourceKey(typeParts.slice(0, -up).join('/'), nameParts.slice(0, -up).join('/'));
      if (byKey.has(parent)) {
        refs.add(parent);
        break;
      }
    }
    refs.delete(self);
    const dependsOn = [...refs].filter((k) => byKey.has(k)).sort().map((k) => idOf(byKey.get(k) as ArmResource));
    // Plain JSON data, as a JSON round trip would leave it (renderArm builds new objects without
    // `undefined` members; the members left out here are absent, not `undefined`), without the
    // round trip: serializing and parsing every resource again was ~2 % of an azure+gcp synth.
    const out: { -readonly [K in keyof RenderedResource]: RenderedResource[K] } = { type: r.type, apiVersion: r.apiVersion, name: r.name };
    if (r.scope) out.scope = `[${r.scope.text}]`;
    // Nothing baked: the configured location is the template's `location` parameter.
    const loc = renderArm(r.location === configured ? location : r.location);
    if (loc !== undefined) out.location = loc;
    if (r.kind !== undefined) out.kind = r.kind;
    const sku = renderArm(r.sku);
    if (sku !== undefined) out.sku = sku;
    const identity = renderArm(r.identity);
    if (identity !== undefined) out.identity = identity;
    if (r.tags !== undefined) out.tags = { ...r.tags };
    const properties = renderArm(r.properties) as Record<string, unknown> | undefined;
    if (properties !== undefined) out.properties = properties;
    if (dependsOn.length > 0) out.dependsOn = dependsOn;
    return out;
  });
}

/**
 * The azure target: Azure Machine Learning through one ARM template per environment.
 *
 * @see adapters/azure/README.md
 */
export const azureAdapter: DocumentAdapter<AzureSettings> = {
  kind: 'documents',
  target: 'azure',
  description: 'Azure Machine Learning: one ARM template (+ parameters) per environment, deployed by Azure Resource Manager',
  capabilities: AZURE_CAPABILITIES,
  docs: 'adapters/azure/README.md',
  parseSettings: parseAzureSettings,
  synth: synthAzure,
};
