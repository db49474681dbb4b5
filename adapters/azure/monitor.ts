import type { DatasetModel, DriftMonitorModel, MonitorSignalModel } from '../../lib/model/types';
import { metricSupport, resolveSignalFeatures } from '../../lib/monitor-metrics';
import { AZURE_METRICS } from './capabilities';
import { ArmExpr, armLiteral, armNumber, concat, renderArm, type ArmObject, type ArmValue } from './arm';
import { addMlChild, ownedIdentity, scheduleTrigger, userAssigned, yamlTrigger, type OwnedIdentity } from './common';
import { API, ML_API, type SynthContext } from './context';
import { dataRef } from './data';
import { RULES } from './names';
import type { MappedPipeline } from './pipeline';
import { assignRole, AZUREML_CONTAINERS_ONLY, CUSTOM_ROLES, ROLES } from './roles';
import { endpointName } from './serving';

/** Marker Azure ML model monitoring puts on a run whose metrics breached a threshold (Event Grid filter). */
export const THRESHOLD_BREACHED_TAG = 'data.RunTags.azureml_modelmonitor_threshold_breached';
/** Value of that tag. */
export const THRESHOLD_BREACHED_TEXT = 'has failed due to one or more features violating metric thresholds';

/**
 * The deployments a monitor on an endpoint watches: the one it names, else every deployment of
 * the endpoint (each compared on its own).
 */
export function monitoredDeployments(ctx: SynthContext, m: DriftMonitorModel): string[] {
  if (m.target.kind !== 'endpoint') return [];
  const e = ctx.resource(m.target.endpoint);
  if (e === undefined || e.kind !== 'onlineEndpoint') return [];
  if (m.target.deployment) return [m.target.deployment];
  return e.deployments.map((d) => d.name);
}

/** Where one monitored stream of inputs comes from: a deployment's collected inputs, or a batch's input data. */
interface Production {
  /** Suffix of signal names (the deployment), empty for a batch. */
  readonly label: string;
  readonly uri: string;
  readonly dataContext: string;
}

/**
 * Drift monitor → `workspaces/schedules` with a CreateMonitor action: one DataDrift signal per
 * (signal, data type, threshold) group — Azure ML thresholds are per signal and data type, so
 * per-feature thresholds become feature subsets — email notifications, serverless Spark compute
 * under the monitor's own identity. Webhook alerts and retraining → Event Grid (see README).
 */
export function mapDriftMonitor(ctx: SynthContext, m: DriftMonitorModel, pipelines: ReadonlyMap<string, MappedPipeline>): OwnedIdentity {
  const identity = ownedIdentity(ctx, m.path);
  const name = ctx.name(RULES.child, ctx.localSegments(m.path), m.path);
  const baseline = ctx.resource(m.baseline);
  if (baseline === undefined || baseline.kind !== 'dataset') {
    ctx.problem(m.path, `baseline '${m.baseline}' is not a dataset of this environment; pass the training Dataset`);
  }
  const base = baseline?.kind === 'dataset' ? (baseline as DatasetModel) : undefined;

  const productions: Production[] = [];
  const deps = new Set<string>();
  if (base) for (const k of ctx.mlId('data/versions', dataRef(ctx, base).asset, base.version).refs) deps.add(k);
  if (m.target.kind === 'endpoint') {
    const e = ctx.resource(m.target.endpoint);
    const names = monitoredDeployments(ctx, m);
    if (e === undefined || e.kind !== 'onlineEndpoint' || names.length === 0) {
      ctx.problem(m.path, `target endpoint '${m.target.endpoint}' is not an online endpoint with deployments in this environment`);
    } else {
      const epName = endpointName(ctx, e.path);
      for (const dep of names) {
        if (!e.deployments.some((d) => d.name === dep)) {
          ctx.problem(m.path, `deployment '${dep}' is not a deployment of ${e.path} (deployments: ${e.deployments.map((d) => d.name).join(', ')})`);
          continue;
        }
        // The data collector registers collected inputs as data asset <endpoint>-<deployment>-model_inputs.
        productions.push({ label: dep, uri: `azureml:${epName}-${dep}-model_inputs:1`, dataContext: 'model_inputs' });
        for (const k of ctx.mlId('onlineEndpoints/deployments', epName, dep).refs) deps.add(k);
      }
      ctx.warn(
        'monitor-needs-collector',
        m.path,
        `monitoring ${names.map((d) => `${e.path}/${d}`).join(', ')} reads each deployment's collected model inputs; the serving container must log them with the Azure ML data collector (azureml-ai-monitoring) to the 'model_inputs' collection`,
      );
    }
  } else {
    const b = ctx.resource(m.target.batch);
    if (b === undefined || b.kind !== 'batchInference') {
      ctx.problem(m.path, `target batch '${m.target.batch}' is not a batch inference of this environment`);
    } else {
      // The features a batch scores are its input; the output holds predictions.
      const input = ctx.resource(b.input);
      if (input?.kind === 'dataset') {
        productions.push({ label: '', uri: dataRef(ctx, input).uri, dataContext: 'model_inputs' });
        for (const k of ctx.mlId('data/versions', dataRef(ctx, input).asset, input.version).refs) deps.add(k);
      }
    }
  }
  const signals: Record<string, ArmObject> = {};
  m.signals.forEach((signal, i) => {
    for (const p of productions) addSignals(ctx, m, signal, i, base, p, signals);
  });

  const emails = m.alerts.flatMap((a) => (a.kind === 'email' ? [a.address] : []));
  if (emails.join(',').length > 499) ctx.problem(m.path, `email recipients total ${emails.join(',').length} characters; Azure ML allows 499; use a distribution list`);
  const trigger = scheduleTrigger(ctx, m.schedule, m.path);
  addMlChild(ctx, 'schedules', [name], {
    properties: {
      displayName: `Drift monitor ${m.path}`,
      description: m.description ?? `Drift monitor ${m.path}`,
      isEnabled: true,
      tags: ctx.tags(m.path),
      trigger,
      action: {
        actionType: 'CreateMonitor',
        monitorDefinition: {
          computeConfiguration: {
            computeType: 'ServerlessSpark',
            instanceType: 'standard_e4s_v3',
            runtimeVersion: '3.4',
            computeIdentity: { computeIdentityType: 'ManagedIdentity', identity: userAssigned([identity.id]) },
          },
          signals,
          alertNotificationSettings: emails.length > 0 ? { emailNotificationSettings: { emails } } : undefined,
        },
      },
    },
    // Data assets are named by `azureml:` strings, which reveal no dependency.
    extraDependsOn: [...deps],
  });
  ctx.documents[`azureml/monitors/${name}.yml`] = renderArm({
    $schema: 'https://azuremlschemas.azureedge.net/latest/schedule.schema.json',
    name,
    display_name: `Drift monitor ${m.path}`,
    trigger: yamlTrigger(trigger) as ArmObject,
    create_monitor: {
      compute: { instance_type: 'standard_e4s_v3', runtime_version: '3.4' },
      monitoring_signals: Object.fromEntries(
        Object.entries(signals).map(([k, s]) => [
          k,
          {
            type: 'data_drift',
            features: (s.features as { features: readonly string[] }).features,
            metric_thresholds: yamlThresholds(s),
            production_data: yamlData(s.productionData as ArmObject),
            reference_data: yamlData(s.referenceData as ArmObject),
          },
        ]),
      ),
      alert_notification: emails.length > 0 ? { emails } : undefined,
    } as ArmObject,
  });

  // The monitor reads its data.
  // Production data (collected inputs) lands in the workspace's default container, named by Azure ML;
  // the baseline dataset's container is granted by the model's read grant.
  assignRole(ctx, { scopeType: 'Microsoft.Storage/storageAccounts', scopeNames: [ctx.core.storage], role: ROLES.storageBlobDataReader, condition: AZUREML_CONTAINERS_ONLY, principalId: identity.principalId, principalKey: identity.name, description: `${m.path} reads production data` });

  const webhooks = m.alerts.flatMap((a) => (a.kind === 'webhook' ? [a.url] : []));
  if (webhooks.length > 0 || m.onDrift) mapDriftEvents(ctx, m, identity, webhooks, pipelines, name);
  return identity;
}

/** `production_data` / `reference_data` of the CLI v2 YAML (a rolling window as `data_window`). */
function yamlData(d: ArmObject): ArmObject {
  return {
    input_data: { path: d.uri as string, type: d.jobInputType as string },
    data_context: d.dataContext as string,
    ...(d.inputDataType === 'Rolling' ? { data_window: { lookback_window_size: d.windowSize as string, lookback_window_offset: d.windowOffset as string } } : {}),
  };
}

/** `metric_thresholds` of the CLI v2 YAML (`numerical: { jensen_shannon_distance: 0.1 }`). */
function yamlThresholds(signal: ArmObject): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const t of signal.metricThresholds as readonly { dataType: string; metric: string; threshold: { value: ArmValue } }[]) {
    const metric = t.metric.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
    const v = t.threshold.value;
    const value = v instanceof ArmExpr ? Number(/json\('([^']+)'\)/.exec(v.text)?.[1]) : Number(v);
    out[t.dataType.toLowerCase()] = { ...(out[t.dataType.toLowerCase()] ?? {}), [metric]: value };
  }
  return out;
}

/**
 * The DataDrift signals of one monitor signal on one production stream. Skew compares the
 * production window with the training baseline (a Fixed reference); drift compares it with the
 * production window of the same length just before it (a Rolling reference on the same data,
 * `windowOffset` = `windowSize` = lookback). Azure ML thresholds are per signal and data type, so
 * per-feature thresholds become feature subsets; `featureDataTypeOverride` pins each feature's
 * kind to the one lib/monitor-metrics.ts gives it.
 */
function addSignals(ctx: SynthContext, m: DriftMonitorModel, signal: MonitorSignalModel, index: number, base: DatasetModel | undefined, production: Production, into: Record<string, ArmObject>): void {
  const window = `P${m.lookbackDays}D`;
  const productionData: ArmObject = { inputDataType: 'Rolling', jobInputType: 'uri_folder', uri: production.uri, dataContext: production.dataContext, windowSize: window, windowOffset: 'P0D' };
  const referenceData: ArmObject =
    signal.kind === 'skew'
      ? { inputDataType: 'Fixed', jobInputType: 'uri_folder', uri: base ? dataRef(ctx, base).uri : 'azureml:missing:1', dataContext: 'training' }
      : { inputDataType: 'Rolling', jobInputType: 'uri_folder', uri: production.uri, dataContext: production.dataContext, windowSize: window, windowOffset: window };
  const groups = new Map<string, { type: 'Numerical' | 'Categorical'; metric: string; threshold: number; features: string[] }>();
  for (const f of resolveSignalFeatures(signal, base?.schema ?? [])) {
    if (base && f.kind === undefined) {
      const field = base.schema.find((c) => c.name === f.feature);
      ctx.problem(m.path, field ? `feature '${f.feature}' has type ${field.type}; Azure ML drift signals compute on numerical (int, float) or categorical (string, bool) features; drop it or derive a numeric feature` : `feature '${f.feature}' is not a column of baseline ${base.path} (columns: ${base.schema.map((c) => c.name).join(', ')}); fix the feature name`);
      continue;
    }
    const kind = f.kind ?? 'numeric';
    const support = metricSupport(AZURE_METRICS, f.metric, kind);
    if (support === undefined) {
      ctx.problem(m.path, `metric '${f.metric}' is not defined on ${kind} features such as '${f.feature}'; use ${kind === 'numeric' ? 'jensenShannonDistance' : 'categoricalMetric jensenShannonDistance'}`);
      continue;
    }
    // A refused metric is reported by the capability check (monitor.metric.*).
    if (support.level === 'refused') continue;
    const type = kind === 'numeric' ? 'Numerical' : 'Categorical';
    const threshold = support.level === 'converted' ? support.convert(f.threshold) : f.threshold;
    const key = `${type}:${support.as}:${threshold}`;
    const g = groups.get(key) ?? { type, metric: support.as, threshold, features: [] };
    g.features.push(f.feature);
    groups.set(key, g);
  }
  const counters = new Map<string, number>();
  const label = production.label ? `_${production.label.replace(/[^A-Za-z0-9]/g, '_')}` : '';
  for (const g of [...groups.values()].sort((a, b) => a.type.localeCompare(b.type) || a.metric.localeCompare(b.metric) || a.threshold - b.threshold)) {
    const n = (counters.get(g.type) ?? 0) + 1;
    counters.set(g.type, n);
    const name = `${signal.kind}_${index + 1}${label}_${g.type.toLowerCase()}_${n}`;
    const features = g.features.sort();
    into[name] = {
      signalType: 'DataDrift',
      notificationTypes: ['AmlNotification'],
      features: { filterType: 'FeatureSubset', features },
      featureDataTypeOverride: Object.fromEntries(features.map((f) => [f, g.type])),
      metricThresholds: [{ dataType: g.type, metric: g.metric, threshold: { value: armNumber(g.threshold) } }],
      productionData,
      referenceData,
      properties: { 'mlplane-signal': signal.kind, 'mlplane-metric': signal.metric, ...(production.label ? { 'mlplane-deployment': production.label } : {}) },
    };
  }
}

/** Escape Logic Apps expressions in literal strings (a leading `@` and every `@{` are doubled). */
export function logicLiteral(value: ArmValue | undefined): ArmValue | undefined {
  if (typeof value === 'string') return value.replace(/^@|@\{/g, (m) => `@${m}`);
  if (value === null || value === undefined || typeof value !== 'object' || value instanceof ArmExpr) return value;
  if (Array.isArray(value)) return value.map((v) => logicLiteral(v as ArmValue) as ArmValue);
  const out: Record<string, ArmValue | undefined> = {};
  for (const [k, v] of Object.entries(value)) out[k] = logicLiteral(v as ArmValue | undefined);
  return out;
}

/**
 * Drift events: an Event Grid system topic on the workspace; monitor runs that breach a
 * threshold raise `RunStatusChanged` with a threshold-breached run tag. A subscription filtered
 * on it delivers to each webhook, and to a Logic App that submits the retraining pipeline job
 * (PUT jobs/{name} with the monitor's identity). The job name carries the cooldown window, so a
 * second submission inside one window is refused by Azure ML (job names are unique).
 */
function mapDriftEvents(ctx: SynthContext, m: DriftMonitorModel, identity: OwnedIdentity, webhooks: readonly string[], pipelines: ReadonlyMap<string, MappedPipeline>, monitorName: string): void {
  const topic = ctx.name(RULES.generic, ['events', ctx.core.workspace], ctx.env.path);
  const topicType = 'Microsoft.EventGrid/systemTopics';
  if (!ctx.has(`${topicType}/${topic}`)) {
    ctx.add({
      type: topicType,
      apiVersion: API.eventGrid,
      name: topic,
      location: ctx.settings.location,
      tags: ctx.tags(ctx.env.path),
      properties: { source: ctx.workspaceId(), topicType: 'Microsoft.MachineLearningServices.Workspaces' },
    });
  }
  const filter: ArmObject = {
    includedEventTypes: ['Microsoft.MachineLearningServices.RunStatusChanged'],
    enableAdvancedFilteringOnArrays: true,
    advancedFilters: [
      { operatorType: 'StringContains', key: THRESHOLD_BREACHED_TAG, values: [THRESHOLD_BREACHED_TEXT] },
      { operatorType: 'StringContains', key: 'data.ExperimentName', values: [monitorName] },
    ],
  };
  webhooks.forEach((url, i) => {
    if (/^[a-z]+:\/\/[^/]*@/i.test(url) || url.includes('?')) {
      ctx.problem(m.path, `webhook URL '${url.replace(/\?.*$/, '?…')}' carries credentials (user info or query string), which would be written to the template in cdk.out; use a URL without credentials and authenticate the Event Grid delivery (Entra ID) instead`);
      return;
    }
    if (!url.startsWith('https://')) ctx.problem(m.path, `webhook URL must use https:// for Event Grid delivery, got '${url}'`);
    ctx.add({
      type: 'Microsoft.EventGrid/systemTopics/eventSubscriptions',
      apiVersion: API.eventGrid,
      name: `${topic}/${ctx.name(RULES.generic, [...ctx.localSegments(m.path), 'hook', String(i + 1)], m.path)}`,
      properties: { eventDeliverySchema: 'EventGridSchema', destination: { endpointType: 'WebHook', properties: { endpointUrl: url } }, filter },
    });
  });

  if (!m.onDrift) return;
  const retrain = m.onDrift;
  const mapped = pipelines.get(retrain.pipeline);
  if (mapped === undefined) {
    ctx.problem(m.path, `onDrift retrains '${retrain.pipeline}', which is not a pipeline of this environment`);
    return;
  }
  const pipeline = ctx.resource(retrain.pipeline);
  if (retrain.gateStep && pipeline?.kind === 'pipeline' && !pipeline.steps.some((s) => s.kind === 'register' && s.name === retrain.gateStep)) {
    ctx.problem(m.path, `gate step '${retrain.gateStep}' is not a register step of ${retrain.pipeline}; name the register step whose gate decides promotion`);
  }
  if (retrain.cooldownSeconds < 60) ctx.problem(m.path, `cooldown of ${retrain.cooldownSeconds} seconds is below 60; the azure target windows retraining by whole minutes; use at least 60`);
  const workflow = ctx.name(RULES.generic, ctx.staged(['retrain', ...ctx.localSegments(m.path)]), m.path);
  const jobPrefix = ctx.name(RULES.generic, ['retrain', ...ctx.localSegments(m.path)], m.path);
  const windowExpr = `@{div(div(sub(ticks(utcNow()), ticks('2020-01-01T00:00:00Z')), 10000000), ${Math.max(60, retrain.cooldownSeconds)})}`;
  const uri = concat('https://management.azure.com', ctx.workspaceId(), `/jobs/${jobPrefix}-${windowExpr}?api-version=${ML_API}`);
  const jobDefinition = logicLiteral(mapped.jobDefinition(retrain.parameters)) as ArmObject;
  ctx.add({
    type: 'Microsoft.Logic/workflows',
    apiVersion: API.logic,
    name: workflow,
    location: ctx.settings.location,
    tags: ctx.tags(m.path),
    identity: userAssigned([identity.id]),
    properties: {
      state: 'Enabled',
      definition: {
        $schema: 'https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#',
        contentVersion: '1.0.0.0',
        triggers: { drift: { type: 'Request', kind: 'Http', inputs: { schema: { type: 'array' } } } },
        actions: {
          route: {
            type: 'If',
            expression: { and: [{ equals: ["@triggerBody()?[0]?['eventType']", 'Microsoft.EventGrid.SubscriptionValidationEvent'] }] },
            actions: {
              validate: { type: 'Response', kind: 'Http', inputs: { statusCode: 200, body: { validationResponse: "@triggerBody()?[0]?['data']?['validationCode']" } } },
            },
            else: {
              actions: {
                submit: {
                  type: 'Http',
                  inputs: {
                    method: 'PUT',
                    uri,
                    body: { properties: jobDefinition },
                    authentication: { type: 'ManagedServiceIdentity', identity: identity.id, audience: 'https://management.azure.com/' },
                  },
                },
                done: { type: 'Response', kind: 'Http', inputs: { statusCode: 202 }, runAfter: { submit: ['Succeeded', 'Failed'] } },
              },
            },
            runAfter: {},
          },
        },
      },
    },
  });
  ctx.add({
    type: 'Microsoft.EventGrid/systemTopics/eventSubscriptions',
    apiVersion: API.eventGrid,
    name: `${topic}/${ctx.name(RULES.generic, [...ctx.localSegments(m.path), 'retrain'], m.path)}`,
    properties: {
      eventDeliverySchema: 'EventGridSchema',
      destination: {
        endpointType: 'WebHook',
        properties: {
          // The callback URL is resolved by ARM at deploy time; it never appears in cdk.out.
          endpointUrl: new ArmExpr(
            `listCallbackUrl(resourceId('Microsoft.Logic/workflows/triggers', ${armLiteral(workflow)}, 'drift'), ${armLiteral(API.logic)}).value`,
            [`Microsoft.Logic/workflows/${workflow}`],
          ),
        },
      },
      filter,
    },
  });
  // Submitting jobs needs AzureML Data Scientist on the workspace (the narrowest built-in role with jobs/write).
  assignRole(ctx, { scopeType: 'Microsoft.MachineLearningServices/workspaces', scopeNames: [ctx.core.workspace], role: CUSTOM_ROLES.jobSubmitter, principalId: identity.principalId, principalKey: identity.name, description: `${m.path} submits retraining of ${retrain.pipeline}` });
}
