import { DRIFT_METRICS, resolveSignalFeatures, type FeatureKind, type MetricSupport, type MetricTable } from '../monitor-metrics';
import type { DriftMetricName, EnvironmentModel, ResourceModel } from './types';

/**
 * Every feature of the model a target may or may not honour.
 *
 * Adapters declare support for each (the `Record` type makes a new feature a compile error in
 * every adapter that did not say what it does with it).
 */
export const FEATURES = {
  'environment.network.private': 'private networking (no public endpoints)',
  'environment.encryption.customerManaged': 'customer-managed encryption key',
  'dataset.managed': 'dataset in environment-managed storage',
  'dataset.external': 'dataset at an external URI',
  'dataset.nestedTypes': 'array and struct columns',
  'dataset.partitioning': 'partitioned dataset',
  'dataset.clustering': 'clustered dataset',
  'dataset.retention': 'dataset retention period',
  'featureTable.offline': 'offline feature table',
  'featureTable.online': 'online feature serving',
  'compute.cpu': 'CPU compute pool',
  'compute.gpu': 'GPU compute pool',
  'compute.spot': 'spot / low-priority nodes',
  'compute.customAccelerator': 'provider-specific accelerator',
  'pipeline.container': 'container pipeline step',
  'pipeline.retries': 'step retries',
  'pipeline.timeout': 'step timeout',
  'pipeline.caching': 'step result caching',
  'pipeline.caching.dataset': 'caching of a step that reads a dataset, keyed on the data (docs/caching.md)',
  'pipeline.condition': 'step condition (run only when a comparison holds; skipped downstream)',
  'pipeline.orderOnly': 'order-only dependency between steps (dependsOn without data)',
  'pipeline.registerStep': 'model registration step',
  'pipeline.promotionGate': 'metric-gated promotion',
  'schedule.cron': 'cron schedule with time zone',
  'schedule.rate': 'fixed-rate schedule',
  'registry.aliases': 'model version aliases',
  'endpoint.aliasRollout': 'deployment bound to an alias rolls to the version a promotion moves it to; diff reports an alias moved outside mlplane',
  'endpoint.trafficSplit': 'traffic split across deployments',
  'endpoint.mirrorTraffic': 'mirrored (shadow) traffic',
  'endpoint.autoscaling.cpu': 'autoscaling on CPU',
  'endpoint.autoscaling.requests': 'autoscaling on request rate',
  'endpoint.auth.key': 'key authentication',
  'endpoint.auth.token': 'token authentication',
  'endpoint.capture': 'request/response capture',
  'batchInference': 'batch inference',
  'batchInference.schedule': 'scheduled batch inference',
  'batchInference.timeout': 'batch run timeout (whole run)',
  'batchInference.retries': 'retries of a failed mini-batch',
  'monitor.drift': 'prediction / feature drift',
  'monitor.skew': 'training-serving skew',
  'monitor.allDeployments': 'monitoring every deployment of an endpoint, each on its own',
  'monitor.metric.jensenShannonDistance.numeric': 'Jensen-Shannon distance threshold on numeric features',
  'monitor.metric.jensenShannonDistance.categorical': 'Jensen-Shannon distance threshold on categorical features',
  'monitor.metric.populationStabilityIndex.numeric': 'population stability index threshold on numeric features',
  'monitor.metric.populationStabilityIndex.categorical': 'population stability index threshold on categorical features',
  'monitor.metric.normalizedWassersteinDistance.numeric': 'normalized Wasserstein distance threshold on numeric features',
  'monitor.metric.lInfinity.categorical': 'L-infinity distance threshold on categorical features',
  'monitor.batchTarget': 'monitoring the data a batch inference scores',
  'monitor.alert.email': 'email alerts',
  'monitor.alert.webhook': 'webhook alerts',
  'monitor.onDrift.retrain': 'retrain on drift',
  'grants': 'permission grants',
} as const;

/** A feature id. */
export type Feature = keyof typeof FEATURES;

/** How a target honours a feature. */
export type Support =
  /** `warnings`: ids of warnings synth emits about a precondition the user must meet (the meaning is the same). */
  | { readonly level: 'native'; readonly note?: string; readonly warnings?: readonly string[] }
  /**
   * Honoured with a different mechanism than the feature's name suggests; `how` says which.
   * `warnings`: the ids of the warnings synth emits because the result only approximates the
   * feature (absent = same meaning).
   */
  | { readonly level: 'emulated'; readonly how: string; readonly warnings?: readonly string[] }
  /** Not honoured: synth fails and names the alternative. */
  | { readonly level: 'unsupported'; readonly alternative: string };

/** A target's full declaration. */
export type Capabilities = Readonly<Record<Feature, Support>>;

/** The feature id of a metric on a feature kind (`monitor.metric.lInfinity.categorical`). */
export function metricFeature(metric: DriftMetricName, kind: FeatureKind): Feature | undefined {
  const id = `monitor.metric.${metric}.${kind}`;
  return id in FEATURES ? (id as Feature) : undefined;
}

/** The capability entries of a target's metric table (exact → native, converted → emulated with its warning, refused → unsupported). */
export function metricCapabilities(table: MetricTable): Record<Feature & `monitor.metric.${string}`, Support> {
  const out: Record<string, Support> = {};
  for (const metric of Object.keys(DRIFT_METRICS) as DriftMetricName[]) {
    for (const kind of DRIFT_METRICS[metric].appliesTo) {
      const id = metricFeature(metric, kind);
      const support: MetricSupport | undefined = table[metric][kind];
      if (id === undefined || support === undefined) throw new Error(`metric table lacks ${metric} on ${kind} features`);
      out[id] =
        support.level === 'exact'
          ? { level: 'native', note: support.as }
          : support.level === 'converted'
            ? { level: 'emulated', how: support.how, warnings: [support.warning] }
            : { level: 'unsupported', alternative: support.alternative };
    }
  }
  return out as Record<Feature & `monitor.metric.${string}`, Support>;
}

/** One use of a feature in a model. */
export interface FeatureUse {
  readonly feature: Feature;
  readonly path: string;
}

/** Every feature the model uses, with the path that uses it, in a stable order. */
export function featuresUsed(model: EnvironmentModel): FeatureUse[] {
  const uses: FeatureUse[] = [];
  const use = (feature: Feature, path: string) => uses.push({ feature, path });
  const env = model.environment;
  if (env.network.mode === 'private') use('environment.network.private', env.path);
  if (env.encryption.kind === 'customer-managed') use('environment.encryption.customerManaged', env.path);
  for (const r of model.resources) resourceFeatures(r, use, model);
  if (model.grants.length > 0) use('grants', env.path);
  return uses;
}

function resourceFeatures(r: ResourceModel, use: (f: Feature, path: string) => void, model: EnvironmentModel): void {
  switch (r.kind) {
    case 'dataset':
      use(r.source.kind === 'managed' ? 'dataset.managed' : 'dataset.external', r.path);
      if (r.schema.some((f) => f.type === 'array' || f.type === 'struct')) use('dataset.nestedTypes', r.path);
      if (r.partitionBy) use('dataset.partitioning', r.path);
      if (r.clusterBy.length > 0) use('dataset.clustering', r.path);
      if (r.retentionDays !== undefined) use('dataset.retention', r.path);
      return;
    case 'featureTable':
      use('featureTable.offline', r.path);
      if (r.online) use('featureTable.online', r.path);
      return;
    case 'computePool':
      use(r.node.accelerator ? 'compute.gpu' : 'compute.cpu', r.path);
      if (r.node.accelerator?.kind === 'custom') use('compute.customAccelerator', r.path);
      if (r.spot) use('compute.spot', r.path);
      return;
    case 'pipeline':
      for (const s of r.steps) {
        if (s.kind === 'container') {
          use('pipeline.container', s.path);
          if (s.resources.accelerator?.kind === 'custom') use('compute.customAccelerator', s.path);
        } else {
          use('pipeline.registerStep', s.path);
          if (s.gate) use('pipeline.promotionGate', s.path);
        }
        if (s.retries > 0) use('pipeline.retries', s.path);
        if (s.timeoutSeconds !== undefined) use('pipeline.timeout', s.path);
        if (s.caching) use('pipeline.caching', s.path);
        if (s.kind === 'container' && s.caching && s.inputs.some((i) => i.source.kind === 'dataset')) use('pipeline.caching.dataset', s.path);
        if (s.conditions.some((c) => c.declaredOn === s.name)) use('pipeline.condition', s.path);
        if (s.orderOnly.length > 0) use('pipeline.orderOnly', s.path);
      }
      for (const s of r.schedules) use(s.kind === 'cron' ? 'schedule.cron' : 'schedule.rate', r.path);
      return;
    case 'modelRegistry':
      if (r.models.some((m) => m.aliases.length > 0)) use('registry.aliases', r.path);
      return;
    case 'onlineEndpoint':
      use(r.auth === 'key' ? 'endpoint.auth.key' : 'endpoint.auth.token', r.path);
      if (r.deployments.length > 1) use('endpoint.trafficSplit', r.path);
      if (r.deployments.some((d) => d.mirror > 0)) use('endpoint.mirrorTraffic', r.path);
      for (const d of r.deployments) {
        use(d.autoscaling.metric === 'cpu' ? 'endpoint.autoscaling.cpu' : 'endpoint.autoscaling.requests', `${r.path}/${d.name}`);
        if (d.resources.accelerator?.kind === 'custom') use('compute.customAccelerator', `${r.path}/${d.name}`);
      }
      if (r.capture.requests || r.capture.responses) use('endpoint.capture', r.path);
      for (const d of r.deployments) if ('alias' in d.model && promotes(model, d.model)) use('endpoint.aliasRollout', `${r.path}/${d.name}`);
      return;
    case 'batchInference':
      use('batchInference', r.path);
      if (r.schedules.length > 0) use('batchInference.schedule', r.path);
      if (r.timeoutSeconds !== undefined) use('batchInference.timeout', r.path);
      if (r.retries > 0) use('batchInference.retries', r.path);
      for (const s of r.schedules) use(s.kind === 'cron' ? 'schedule.cron' : 'schedule.rate', r.path);
      return;
    case 'driftMonitor':
      for (const s of r.signals) use(s.kind === 'drift' ? 'monitor.drift' : 'monitor.skew', r.path);
      if (r.target.kind === 'batch') use('monitor.batchTarget', r.path);
      else if (r.target.deployment === undefined) {
        const endpointPath = r.target.endpoint;
        const e = model.resources.find((x) => x.path === endpointPath);
        if (e?.kind === 'onlineEndpoint' && e.deployments.length > 1) use('monitor.allDeployments', r.path);
      }
      {
        const b = model.resources.find((x) => x.path === r.baseline);
        const schema = b?.kind === 'dataset' ? b.schema : [];
        for (const s of r.signals) {
          for (const f of resolveSignalFeatures(s, schema)) {
            const id = f.kind ? metricFeature(f.metric, f.kind) : undefined;
            if (id) use(id, r.path);
          }
        }
      }
      for (const a of r.alerts) use(a.kind === 'email' ? 'monitor.alert.email' : 'monitor.alert.webhook', r.path);
      if (r.onDrift) use('monitor.onDrift.retrain', r.path);
      use(r.schedule.kind === 'cron' ? 'schedule.cron' : 'schedule.rate', r.path);
      return;
    case 'secret':
      return;
    default: {
      const never: never = r;
      throw new Error(`unhandled resource kind ${(never as ResourceModel).kind}`);
    }
  }
}

/** Whether a register step of the environment promotes to the alias `ref` follows. */
function promotes(model: EnvironmentModel, ref: { readonly registry: string; readonly model: string; readonly alias: string }): boolean {
  return model.resources.some((p) => p.kind === 'pipeline' && p.steps.some((s) => s.kind === 'register' && s.registry === ref.registry && s.model === ref.model && s.promoteTo === ref.alias));
}

/**
 * Problems for every feature the model uses that the target cannot honour: path, target and the
 * alternative, all at once.
 */
export function unsupportedFeatures(model: EnvironmentModel, target: string, capabilities: Capabilities): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const seen = new Set<string>();
  for (const use of featuresUsed(model)) {
    const support = capabilities[use.feature];
    const key = `${use.feature}\0${use.path}`;
    if (support.level !== 'unsupported' || seen.has(key)) continue;
    seen.add(key);
    problems.push({
      path: use.path,
      message: `target '${target}' cannot honour ${FEATURES[use.feature]} (${use.feature}); ${support.alternative}`,
    });
  }
  return problems;
}

/** What a user gets for a feature on a target, in one word plus the warnings or error that announce it. */
export interface Parity {
  readonly verdict: 'same' | 'approximated' | 'refused';
  /** Warning ids synth emits when the feature is used. */
  readonly warnings: readonly string[];
  /** `same`: how (when emulated or warned); `approximated`: how; `refused`: the alternative. */
  readonly detail: string;
}

/**
 * The parity verdict of one declaration: native (with or without a precondition warning) and
 * emulated without warnings are the same meaning; emulated with warnings approximates it,
 * announced by those warnings; unsupported is refused by synth with the alternative.
 */
export function parityOf(support: Support): Parity {
  switch (support.level) {
    case 'native':
      return { verdict: 'same', warnings: support.warnings ?? [], detail: support.note ?? '' };
    case 'emulated':
      return { verdict: support.warnings && support.warnings.length > 0 ? 'approximated' : 'same', warnings: support.warnings ?? [], detail: support.how };
    case 'unsupported':
      return { verdict: 'refused', warnings: [], detail: support.alternative };
    default: {
      const never: never = support;
      throw new Error(`unhandled support ${JSON.stringify(never)}`);
    }
  }
}

/** One cell of the parity table as text: `same`, `same (warns id)`, `approximated (id)` or `refused (error)`. */
export function parityCell(p: Parity): string {
  const ids = p.warnings.join(', ');
  if (p.verdict === 'refused') return 'refused (error)';
  if (p.verdict === 'approximated') return `approximated (${ids})`;
  return ids ? `same (warns ${ids})` : 'same';
}

/**
 * The generated parity section of a target's README: every feature, its verdict and how.
 * Kept in sync with capabilities.ts by a test (test/parity/readme.test.ts).
 */
export function renderParityMarkdown(target: string, capabilities: Capabilities): string {
  const rows = (Object.keys(FEATURES) as Feature[]).map((f) => {
    const p = parityOf(capabilities[f]);
    return `| \`${f}\` | ${parityCell(p)} | ${p.detail.replace(/\|/g, '\\|')} |`;
  });
  return [
    PARITY_BEGIN,
    `<!-- generated from adapters/${target}/capabilities.ts by \`mlplane check --parity --markdown --target ${target}\`; test/parity/readme.test.ts keeps it in sync -->`,
    '',
    '| feature | on this target | how / alternative |',
    '|---|---|---|',
    ...rows,
    PARITY_END,
  ].join('\n');
}

/** Markers of the generated parity section in an adapter README. */
export const PARITY_BEGIN = '<!-- mlplane:parity:begin -->';
export const PARITY_END = '<!-- mlplane:parity:end -->';
