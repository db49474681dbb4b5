import type { DatasetModel, DriftMetricName, DriftMonitorModel, FieldModel, MonitorSignalModel } from '../../lib/model/types';
import { ArmExpr, armLiteral, armNumber, concat, renderArm, type ArmObject, type ArmValue } from './arm';
import { addMlChild, ownedIdentity, scheduleTrigger, userAssigned, yamlTrigger, type OwnedIdentity } from './common';
import { API, ML_API, type SynthContext } from './context';
import { dataRef } from './data';
import { RULES } from './names';
import type { MappedPipeline } from './pipeline';
import { assignRole, ROLES } from './roles';
import { endpointName } from './serving';

const METRICS: Readonly<Record<DriftMetricName, { readonly numerical?: string; readonly categorical?: string }>> = {
  jensenShannonDistance: { numerical: 'JensenShannonDistance', categorical: 'JensenShannonDistance' },
  populationStabilityIndex: { numerical: 'PopulationStabilityIndex', categorical: 'PopulationStabilityIndex' },
  normalizedWassersteinDistance: { numerical: 'NormalizedWassersteinDistance' },
  lInfinity: {},
};

/** Marker Azure ML model monitoring puts on a run whose metrics breached a threshold (Event Grid filter). */
export const THRESHOLD_BREACHED_TAG = 'data.RunTags.azureml_modelmonitor_threshold_breached';
/** Value of that tag. */
export const THRESHOLD_BREACHED_TEXT = 'has failed due to one or more features violating metric thresholds';

/** The deployment a monitor on an endpoint watches (explicit, else the one with most live traffic). */
export function monitoredDeployment(ctx: SynthContext, m: DriftMonitorModel): string | undefined {
  if (m.target.kind !== 'endpoint') return undefined;
  const e = ctx.resource(m.target.endpoint);
  if (e === undefined || e.kind !== 'onlineEndpoint') return undefined;
  if (m.target.deployment) return m.target.deployment;
  const sorted = [...e.deployments].sort((a, b) => b.traffic - a.traffic);
  return sorted[0]?.name;
}

function featureType(f: FieldModel): 'Numerical' | 'Categorical' | undefined {
  if (f.type === 'int' || f.type === 'float') return 'Numerical';
  if (f.type === 'string' || f.type === 'bool') return 'Categorical';
  return undefined;
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

  let production: ArmObject | undefined;
  if (m.target.kind === 'endpoint') {
    const e = ctx.resource(m.target.endpoint);
    const dep = monitoredDeployment(ctx, m);
    if (e === undefined || e.kind !== 'onlineEndpoint' || dep === undefined) {
      ctx.problem(m.path, `target endpoint '${m.target.endpoint}' is not an online endpoint with deployments in this environment`);
    } else {
      if (!e.deployments.some((d) => d.name === dep)) ctx.problem(m.path, `deployment '${dep}' is not a deployment of ${e.path} (deployments: ${e.deployments.map((d) => d.name).join(', ')})`);
      const epName = endpointName(ctx, e.path);
      production = {
        inputDataType: 'Rolling',
        jobInputType: 'uri_folder',
        // The data collector registers collected inputs as data asset <endpoint>-<deployment>-model_inputs.
        uri: `azureml:${epName}-${dep}-model_inputs:1`,
        dataContext: 'model_inputs',
        windowSize: `P${m.lookbackDays}D`,
        windowOffset: 'P0D',
      };
      ctx.warn(
        'monitor-needs-collector',
        m.path,
        `monitoring ${e.path}/${dep} reads the deployment's collected model inputs; the serving container must log them with the Azure ML data collector (azureml-ai-monitoring) to the 'model_inputs' collection`,
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
        production = { inputDataType: 'Rolling', jobInputType: 'uri_folder', uri: dataRef(ctx, input).uri, dataContext: 'model_inputs', windowSize: `P${m.lookbackDays}D`, windowOffset: 'P0D' };
      }
    }
  }
  const reference: ArmObject | undefined = base
    ? { inputDataType: 'Fixed', jobInputType: 'uri_folder', uri: dataRef(ctx, base).uri, dataContext: 'training' }
    : undefined;

  const deps = new Set<string>();
  if (base) for (const k of ctx.mlId('data/versions', dataRef(ctx, base).asset, base.version).refs) deps.add(k);
  if (m.target.kind === 'endpoint') {
    const e = ctx.resource(m.target.endpoint);
    const dep = monitoredDeployment(ctx, m);
    if (e?.kind === 'onlineEndpoint' && dep) for (const k of ctx.mlId('onlineEndpoints/deployments', endpointName(ctx, e.path), dep).refs) deps.add(k);
  } else {
    const b = ctx.resource(m.target.batch);
    const out = b?.kind === 'batchInference' ? ctx.resource(b.input) : undefined;
    if (out?.kind === 'dataset') for (const k of ctx.mlId('data/versions', dataRef(ctx, out).asset, out.version).refs) deps.add(k);
  }
  const signals: Record<string, ArmObject> = {};
  m.signals.forEach((signal, i) => addSignals(ctx, m, signal, i, base, production, reference, signals));

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
            production_data: production ? { input_data: { path: production.uri, type: 'uri_folder' }, data_context: production.dataContext } : null,
            reference_data: reference ? { input_data: { path: reference.uri, type: 'uri_folder' }, data_context: 'training' } : null,
          },
        ]),
      ),
      alert_notification: emails.length > 0 ? { emails } : undefined,
    } as ArmObject,
  });

  // The monitor reads its data.
  assignRole(ctx, { scopeType: 'Microsoft.Storage/storageAccounts', scopeNames: [ctx.core.storage], role: ROLES.storageBlobDataReader, principalId: identity.principalId, principalKey: identity.name, description: `${m.path} reads production and baseline data` });

  const webhooks = m.alerts.flatMap((a) => (a.kind === 'webhook' ? [a.url] : []));
  if (webhooks.length > 0 || m.onDrift) mapDriftEvents(ctx, m, identity, webhooks, pipelines, name);
  return identity;
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

function addSignals(
  ctx: SynthContext,
  m: DriftMonitorModel,
  signal: MonitorSignalModel,
  index: number,
  base: DatasetModel | undefined,
  production: ArmObject | undefined,
  reference: ArmObject | undefined,
  into: Record<string, ArmObject>,
): void {
  const metric = METRICS[signal.metric];
  if (metric.numerical === undefined && metric.categorical === undefined) {
    ctx.problem(m.path, `drift metric '${signal.metric}' is not offered by Azure ML data drift signals (JensenShannonDistance, PopulationStabilityIndex, NormalizedWassersteinDistance, TwoSampleKolmogorovSmirnovTest, PearsonsChiSquaredTest); use jensenShannonDistance or populationStabilityIndex`);
    return;
  }
  const groups = new Map<string, { type: 'Numerical' | 'Categorical'; threshold: number; features: string[] }>();
  for (const t of signal.thresholds) {
    const field = base?.schema.find((f) => f.name === t.feature);
    if (base && field === undefined) {
      ctx.problem(m.path, `feature '${t.feature}' is not a column of baseline ${base.path} (columns: ${base.schema.map((f) => f.name).join(', ')}); fix the feature name`);
      continue;
    }
    const type = field ? featureType(field) : 'Numerical';
    if (type === undefined) {
      ctx.problem(m.path, `feature '${t.feature}' has type ${field?.type}; Azure ML drift signals compute on numerical (int, float) or categorical (string, bool) features; drop it or derive a numeric feature`);
      continue;
    }
    const azureMetric = type === 'Numerical' ? metric.numerical : metric.categorical;
    if (azureMetric === undefined) {
      ctx.problem(m.path, `drift metric '${signal.metric}' applies to numerical features only, but '${t.feature}' is categorical; use jensenShannonDistance or populationStabilityIndex for categorical features`);
      continue;
    }
    const key = `${type}:${t.threshold}`;
    const g = groups.get(key) ?? { type, threshold: t.threshold, features: [] };
    g.features.push(t.feature);
    groups.set(key, g);
  }
  const counters = new Map<string, number>();
  for (const g of [...groups.values()].sort((a, b) => a.type.localeCompare(b.type) || a.threshold - b.threshold)) {
    const n = (counters.get(g.type) ?? 0) + 1;
    counters.set(g.type, n);
    const name = `${signal.kind}_${index + 1}_${g.type.toLowerCase()}_${n}`;
    into[name] = {
      signalType: 'DataDrift',
      notificationTypes: ['AmlNotification'],
      features: { filterType: 'FeatureSubset', features: g.features.sort() },
      metricThresholds: [{ dataType: g.type, metric: g.type === 'Numerical' ? (metric.numerical as string) : (metric.categorical as string), threshold: { value: armNumber(g.threshold) } }],
      productionData: production ?? { inputDataType: 'Fixed', jobInputType: 'uri_folder', uri: 'azureml:missing:1' },
      referenceData: reference ?? { inputDataType: 'Fixed', jobInputType: 'uri_folder', uri: 'azureml:missing:1' },
      properties: { 'mlplane-signal': signal.kind, 'mlplane-metric': signal.metric },
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
  const workflow = ctx.name(RULES.generic, ['retrain', ...ctx.localSegments(m.path)], m.path);
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
  assignRole(ctx, { scopeType: 'Microsoft.MachineLearningServices/workspaces', scopeNames: [ctx.core.workspace], role: ROLES.azureMlDataScientist, principalId: identity.principalId, principalKey: identity.name, description: `${m.path} submits retraining of ${retrain.pipeline}` });
}
