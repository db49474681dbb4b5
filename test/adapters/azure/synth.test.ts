import { describe, expect, it } from 'vitest';
import { azureAdapter } from '../../../adapters/azure';
import type { ArmTemplate, RenderedResource } from '../../../adapters/azure/arm';
import { logicLiteral } from '../../../adapters/azure/monitor';
import { ROLES } from '../../../adapters/azure/roles';
import { GATE_PYTHON } from '../../../adapters/shared/gate';
import { ValidationErrors } from '../../../lib/core/errors';
import { stableStringify } from '../../../lib/model/stable-json';
import type { DatasetModel, DriftMonitorModel, EnvironmentModel, FeatureTableModel, OnlineEndpointModel, PipelineModel } from '../../../lib/model/types';
import { churnModel, fraudModel, SETTINGS, withResource } from './fixtures';
import { examples, settingsFor, synth } from './models';

const ML = 'Microsoft.MachineLearningServices/workspaces';

function template(model: EnvironmentModel): ArmTemplate {
  return synth(model).documents['template.json'] as ArmTemplate;
}

function ofType(t: ArmTemplate, type: string): RenderedResource[] {
  return t.resources.filter((r) => r.type === type);
}

function one(t: ArmTemplate, type: string, nameEnd?: string): RenderedResource {
  const found = ofType(t, type).filter((r) => nameEnd === undefined || r.name.endsWith(nameEnd));
  expect(found.map((r) => r.name)).toHaveLength(1);
  return found[0] as RenderedResource;
}

/** The problems of a synth that must fail. */
function problemsOf(model: EnvironmentModel, settings = settingsFor(model)): { path: string; message: string }[] {
  try {
    azureAdapter.synth(model, settings);
  } catch (e) {
    if (ValidationErrors.isValidationErrors(e)) return [...e.problems];
    throw e;
  }
  throw new Error('synth did not fail');
}

describe('environment', () => {
  const t = template(fraudModel());

  it('defines a workspace with storage, key vault, app insights, registry and the environment identity', () => {
    const ws = ofType(t, ML).find((r) => r.kind === 'Default') as RenderedResource;
    const p = ws.properties as Record<string, unknown>;
    expect(p.storageAccount).toMatch(/^\[resourceId\('Microsoft\.Storage\/storageAccounts', 'st/);
    expect(p.keyVault).toMatch(/Microsoft\.KeyVault\/vaults/);
    expect(p.applicationInsights).toMatch(/Microsoft\.Insights\/components/);
    expect(p.containerRegistry).toMatch(/Microsoft\.ContainerRegistry\/registries/);
    expect((ws.identity as { type: string }).type).toBe('SystemAssigned,UserAssigned');
  });

  it('defines the default storage without hierarchical namespace', () => {
    const st = ofType(t, 'Microsoft.Storage/storageAccounts').find((s) => s.name.startsWith('stfraud')) as RenderedResource;
    expect(st.properties?.isHnsEnabled).toBe(false);
    expect(st.properties?.allowBlobPublicAccess).toBe(false);
  });

  it('turns a private network into publicNetworkAccess Disabled and an approved-outbound managed network with rules for image registries', () => {
    const p = one(t, ML, 'fraud').properties as Record<string, any>;
    expect(p.publicNetworkAccess).toBe('Disabled');
    expect(p.managedNetwork.isolationMode).toBe('AllowOnlyApprovedOutbound');
    const destinations = Object.values(p.managedNetwork.outboundRules).map((r: any) => r.destination);
    expect(destinations).toEqual(expect.arrayContaining(['ghcr.io', 'pkg-containers.githubusercontent.com', 'azcliextensionsync.blob.core.windows.net']));
    expect(destinations).not.toContain('mcr.microsoft.com');
  });

  it('turns a public network into publicNetworkAccess Enabled without managed network', () => {
    const p = one(template(churnModel()), ML).properties as Record<string, unknown>;
    expect(p.publicNetworkAccess).toBe('Enabled');
    expect(p.managedNetwork).toBeUndefined();
  });

  it('turns customer-managed encryption into a rotating key used by workspace and storage through the environment identity', () => {
    const key = one(t, 'Microsoft.KeyVault/vaults/keys');
    expect(key.name).toMatch(/\/mlplane-cmk$/);
    expect((key.properties as any).rotationPolicy.lifetimeActions[0]).toEqual({ trigger: { timeAfterCreate: 'P90D' }, action: { type: 'rotate' } });
    const enc = (one(t, ML, 'fraud').properties as any).encryption;
    expect(enc.status).toBe('Enabled');
    expect(enc.identity.userAssignedIdentity).toMatch(/userAssignedIdentities', 'id-fraud'/);
    expect(enc.keyVaultProperties.keyIdentifier).toMatch(/keyUriWithVersion/);
    const kv = one(t, 'Microsoft.KeyVault/vaults');
    expect(kv.properties?.enablePurgeProtection).toBe(true);
    const crypto = ofType(t, 'Microsoft.Authorization/roleAssignments').filter((r) => String(r.properties?.roleDefinitionId).includes(ROLES.keyVaultCryptoServiceEncryptionUser.id));
    expect(crypto.map((r) => r.scope)).toEqual([expect.stringContaining("'Microsoft.KeyVault/vaults/keys'")]);
  });

  it('fails if the region hint does not match the location, naming the environment path', () => {
    const problems = problemsOf(fraudModel(), { ...SETTINGS, location: 'eastus' });
    expect(problems).toEqual([{ path: 'Fraud', message: expect.stringContaining("region 'eu' requires an Azure region in that geography, but mlplane:azure.location is 'eastus'") }]);
    expect(problems[0]?.message).toContain('westeurope');
  });
});

describe('data', () => {
  const t = template(fraudModel());

  it('registers a managed dataset as a data asset version on an identity-based datastore over its own container', () => {
    const v = one(t, `${ML}/data/versions`, 'transactions/1');
    expect(v.properties).toMatchObject({ dataType: 'uri_folder', dataUri: 'azureml://datastores/ds_transactions/paths/parquet/' });
    const ds = one(t, `${ML}/datastores`);
    expect(ds.properties).toMatchObject({ datastoreType: 'AzureBlob', credentials: { credentialsType: 'None' }, containerName: 'ds-transactions' });
    // A value starting with '[' is escaped as '[[' (ARM's escape for literal brackets).
    const schema = String((v.properties as any).properties['mlplane.schema']);
    expect(schema.startsWith('[[{')).toBe(true);
    expect(JSON.parse(schema.slice(1))).toContainEqual({ name: 'tags', type: 'array', items: { type: 'string' }, nullable: true });
  });

  it('turns retention into a storage lifecycle rule on the dataset container', () => {
    const policy = one(t, 'Microsoft.Storage/storageAccounts/managementPolicies');
    expect((policy.properties as any).policy.rules[0].definition).toEqual({
      filters: { blobTypes: ['blockBlob'], prefixMatch: ['ds-transactions/'] },
      actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 365 } } },
    });
  });

  it('fails if an external dataset lives on a non-Azure scheme, naming the dataset', () => {
    const model = withResource<DatasetModel>(churnModel(), 'Churn/Customers', (d) => ({ ...d, source: { kind: 'external', uri: 's3://acme/customers' } }));
    expect(problemsOf(model)).toEqual([{ path: 'Churn/Customers', message: expect.stringContaining("external URI 's3://acme/customers' cannot back an Azure ML data asset") }]);
  });

  it('warns (mlplane:azure:clustering-hint) that clustering is only recorded', () => {
    const model = withResource<DatasetModel>(fraudModel(), 'Fraud/Transactions', (d) => ({ ...d, clusterBy: ['cardId'] }));
    expect(synth(model).warnings).toContainEqual(expect.objectContaining({ id: 'mlplane:azure:clustering-hint', path: 'Fraud/Transactions' }));
  });
});

describe('compute', () => {
  it('defines an AmlCompute cluster: min 0, local auth off, low priority for spot, idle scale-down, no public IP when private', () => {
    const c = one(template(fraudModel()), `${ML}/computes`);
    expect(c.name).toBe('fraud/gpu');
    expect(c.properties).toMatchObject({
      computeType: 'AmlCompute',
      disableLocalAuth: true,
      properties: {
        vmSize: 'Standard_NC4as_T4_v3',
        vmPriority: 'LowPriority',
        scaleSettings: { minNodeCount: 0, maxNodeCount: 4, nodeIdleTimeBeforeScaleDown: 'PT10M' },
        enableNodePublicIp: false,
        remoteLoginPortPublicAccess: 'Disabled',
      },
    });
  });

  it('gives the cluster the identities of the pipelines that run on it', () => {
    const c = one(template(fraudModel()), `${ML}/computes`);
    expect(Object.keys((c.identity as any).userAssignedIdentities)).toEqual([
      "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-fraud')]",
      "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-train')]",
    ]);
  });

  it('fails if no Azure VM size has the accelerator, naming the pool', () => {
    const model = withResource(fraudModel(), 'Fraud/Gpu', (c) => (c.kind === 'computePool' ? { ...c, node: { cpu: 8, memoryGiB: 32, accelerator: { kind: 'known', name: 'nvidia-l4', count: 1 } } } : c));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Gpu', message: expect.stringContaining('Azure has no VM size with nvidia-l4') }]);
  });
});

describe('pipelines and schedules', () => {
  const result = synth(fraudModel());
  const t = result.documents['template.json'] as ArmTemplate;
  const schedule = one(t, `${ML}/schedules`, 'train_schedule_1');
  const job = (schedule.properties as any).action.jobDefinition;

  it('defines one command component version per container and register step, versioned by content', () => {
    const components = ofType(t, `${ML}/components/versions`);
    expect(components.map((r) => r.name.split('/')[1])).toEqual(['train_validate', 'train_fit', 'train_register']);
    for (const c of components) {
      expect((c.properties as any).componentSpec.version).toBe(c.name.split('/')[2]);
      expect(c.name.split('/')[2]).toMatch(/^[0-9a-f]{10}$/);
    }
  });

  it('maps the cron schedule to a CreateJob schedule with the Windows time zone', () => {
    expect((schedule.properties as any).trigger).toEqual({ triggerType: 'Cron', expression: '0 2 * * *', timeZone: 'W. Europe Standard Time' });
    expect(job.jobType).toBe('Pipeline');
  });

  it('wires step outputs to inputs with ${{parent.jobs...}} bindings and datasets as uri_folder inputs', () => {
    expect(job.jobs.fit.inputs.data).toEqual({ job_input_type: 'literal', value: '${{parent.jobs.validate.outputs.clean}}' });
    expect(job.jobs.validate.inputs.data).toEqual({ job_input_type: 'uri_folder', uri: 'azureml:transactions:1', mode: 'ReadOnlyMount' });
    expect(job.jobs.fit.inputs.learning_rate).toEqual({ job_input_type: 'literal', value: '${{parent.inputs.learningRate}}' });
    expect(job.inputs.learningRate).toEqual({ jobInputType: 'literal', value: '0.05' });
  });

  it('runs retries as a bounded shell loop, timeouts as limits, caching as is_deterministic', () => {
    const fit = ofType(t, `${ML}/components/versions`).find((r) => r.name.includes('train_fit')) as RenderedResource;
    const spec = (fit.properties as any).componentSpec;
    expect(spec.command).toContain('  python train.py --data "${MLPLANE_I_data}" --lr "${MLPLANE_I_learning_rate}" --model "${MLPLANE_OD_model}" --metrics "${MLPLANE_OD_metrics}" || return $?');
    expect(spec.command).toContain('until mlplane_attempt; do');
    expect(spec.command).toContain('if [ "$n" -gt 2 ]; then');
    expect(spec.command).toContain('for d in "${MLPLANE_OD_model}" "${MLPLANE_OD_metrics}"; do [ -d "$d" ] && find "$d" -mindepth 1 -delete; done');
    expect(spec.is_deterministic).toBe(false);
    // The job limit bounds all attempts together: 2 h × 3 attempts.
    expect(job.jobs.fit.limits).toEqual({ job_limits_type: 'Command', timeout: 'PT6H' });
    expect(result.warnings).toContainEqual({ id: 'mlplane:azure:retry-loop', path: 'Fraud/Train/Fit', message: expect.stringContaining('the job time limit is the timeout × 3 attempts (21600 s)') });
  });

  it('runs steps on their compute pool or, without one, on serverless compute of a fitting size', () => {
    expect(job.jobs.fit.computeId).toBe("[resourceId('Microsoft.MachineLearningServices/workspaces/computes', 'fraud', 'gpu')]");
    expect(job.jobs.validate.computeId).toBeUndefined();
    expect(job.jobs.validate.resources).toEqual({ instance_type: 'Standard_D2s_v5', instance_count: 1 });
  });

  it('maps a rate schedule to a recurrence', () => {
    const monitor = one(t, `${ML}/schedules`, '/drift');
    expect((monitor.properties as any).trigger).toEqual({ triggerType: 'Recurrence', frequency: 'Hour', interval: 6, timeZone: 'UTC' });
  });

  it('captures the ${{inputs.x}} substitutions of the example steps in shell variables the argv uses quoted', () => {
    const fraud = (examples()[0] as EnvironmentModel);
    const docs = synth(fraud).documents;
    const component = String(docs['azureml/components/train_validate_data.yml']);
    expect(component).toContain("MLPLANE_I_transactions=$(cat <<'MLPLANE_EOF'\n  ${{inputs.transactions}}\n  MLPLANE_EOF\n  )");
    expect(component).toContain('python3 examples/fraud/validate.py --data "${MLPLANE_I_transactions}" --window-days "${MLPLANE_I_window_days}"');
  });

  it('fails if a schedule uses a time zone without Windows mapping, naming the pipeline', () => {
    const model = withResource<PipelineModel>(fraudModel(), 'Fraud/Train', (p) => ({ ...p, schedules: [{ kind: 'cron', expression: '0 2 * * *', timeZone: 'Mars/Olympus_Mons' }] }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Train', message: expect.stringContaining("time zone 'Mars/Olympus_Mons' has no Windows time zone mapping") }]);
  });

  it('fails if a rate is not a whole number of minutes, naming the pipeline', () => {
    const model = withResource<PipelineModel>(fraudModel(), 'Fraud/Train', (p) => ({ ...p, schedules: [{ kind: 'rate', seconds: 90 }] }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Train', message: expect.stringContaining('rate of 90 seconds cannot be expressed by an Azure ML recurrence') }]);
  });

  it('fails if a container step has no command, naming the step (Azure ML never runs the image entrypoint)', () => {
    const churn = examples()[1] as EnvironmentModel;
    const model = withResource<PipelineModel>(churn, 'Churn/Train', (p) => ({
      ...p,
      steps: p.steps.map((s) => (s.kind === 'container' && s.name === 'Prepare' ? { ...s, command: [] } : s)),
    }));
    expect(problemsOf(model)).toEqual([{ path: 'Churn/Train/Prepare', message: expect.stringContaining('has no command (it relies on the image') }]);
  });
});

describe('registry and aliases', () => {
  const t = template(fraudModel());

  it('defines a model container per model, listing its aliases', () => {
    const m = one(t, `${ML}/models`);
    expect((m.properties as any).tags['mlplane-aliases']).toBe('champion,challenger');
  });

  it('resolves an alias reference through a template parameter that names the alias tag', () => {
    const param = t.parameters.modelVersion_fraud_champion;
    expect(param?.metadata?.['mlplane:alias']).toEqual({ registry: 'Fraud/Registry', model: 'fraud', alias: 'champion', tag: 'mlplane-alias-champion' });
    const blue = one(t, `${ML}/onlineEndpoints/deployments`, '/blue');
    expect(blue.properties?.model).toBe("[resourceId('Microsoft.MachineLearningServices/workspaces/models/versions', 'fraud', 'fraud', parameters('modelVersion_fraud_champion'))]");
  });

  it('moves the alias tag in the register step only when the gate passes', () => {
    const reg = ofType(t, `${ML}/components/versions`).find((r) => r.name.includes('train_register')) as RenderedResource;
    const command = String((reg.properties as any).componentSpec.command);
    expect(command).toContain(GATE_PYTHON);
    expect(command).toContain('outcome, reason = decide_gate(GATE, metrics, reference)');
    expect(command).toContain(`GATE = json.loads(${JSON.stringify(JSON.stringify({ metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.01 }))})`);
  });
});

describe('online endpoints', () => {
  const t = template(fraudModel());

  it('defines the endpoint with its live traffic, then sets traffic and mirror traffic after the deployments exist', () => {
    const ep = one(t, `${ML}/onlineEndpoints`);
    const param = String(ep.properties?.traffic).replace(/^\[parameters\('(.+)'\)\]$/, '$1');
    expect(ep.properties).toEqual({ authMode: 'AADToken', description: 'Online endpoint Fraud/Scoring', publicNetworkAccess: 'Disabled', traffic: `[parameters('${param}')]` });
    expect(t.parameters[param]).toMatchObject({ type: 'object', defaultValue: {}, metadata: { 'mlplane:liveTraffic': { endpoint: ep.name } } });
    const nested = one(t, 'Microsoft.Resources/deployments');
    const inner = (nested.properties as any).template.resources[0];
    expect(inner.properties.traffic).toEqual({ blue: 100, green: 0 });
    expect(inner.properties.mirrorTraffic).toEqual({ green: 10 });
    expect(nested.dependsOn).toEqual(expect.arrayContaining([expect.stringContaining("'blue')]"), expect.stringContaining("'green')]")]));
  });

  it('serves the registered image with its routes and captures requests and responses at the sampling rate', () => {
    const blue = one(t, `${ML}/onlineEndpoints/deployments`, '/blue');
    expect(blue.sku).toEqual({ name: 'Default', capacity: 2 });
    expect(blue.properties).toMatchObject({ endpointComputeType: 'Managed', instanceType: 'Standard_F2s_v2', scaleSettings: { scaleType: 'Default' } });
    expect((blue.properties as any).dataCollector.collections.request).toMatchObject({ dataCollectionMode: 'Enabled', samplingRate: "[json('0.25')]" });
    const env = ofType(t, `${ML}/environments/versions`).find((r) => r.name.includes('serve-'));
    expect((env?.properties as any).inferenceConfig.scoringRoute).toEqual({ port: 8080, path: '/predict' });
  });

  it('autoscales on requests per instance and on CPU with Azure Monitor autoscale settings', () => {
    const [blue, green] = ofType(t, 'Microsoft.Insights/autoscalesettings') as [RenderedResource, RenderedResource];
    const blueRule = (blue.properties as any).profiles[0].rules[0].metricTrigger;
    expect(blueRule).toMatchObject({ metricName: 'RequestsPerMinute', dividePerInstance: true, threshold: 3000 });
    expect((green.properties as any).profiles[0].rules[0].metricTrigger).toMatchObject({ metricName: 'CpuUtilizationPercentage', threshold: 70 });
    expect((blue.properties as any).profiles[0].capacity).toEqual({ minimum: '2', maximum: '6', default: '2' });
  });

  it('creates the deployments of an endpoint one after the other', () => {
    const green = one(t, `${ML}/onlineEndpoints/deployments`, '/green');
    expect(green.dependsOn).toContain("[resourceId('Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments', 'fraud', 'scoring-4290e6', 'blue')]");
  });

  it('fails if traffic is mirrored to two deployments, naming the endpoint', () => {
    const model = withResource<OnlineEndpointModel>(fraudModel(), 'Fraud/Scoring', (e) => ({
      ...e,
      deployments: [...e.deployments, { ...(e.deployments[1] as OnlineEndpointModel['deployments'][number]), name: 'shadow', mirror: 5 }],
    }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Scoring', message: expect.stringContaining('mirrors traffic to 2 deployments (green, shadow)') }]);
  });

  it('fails if traffic does not sum to 100, naming the endpoint', () => {
    const model = withResource<OnlineEndpointModel>(fraudModel(), 'Fraud/Scoring', (e) => ({ ...e, deployments: e.deployments.map((d) => ({ ...d, traffic: d.name === 'blue' ? 90 : 0 })) }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Scoring', message: 'traffic must sum to 100, got 90 (blue=90, green=0); adjust one deployment' }]);
  });

  it('fails if traffic sums to more than 100, naming the endpoint', () => {
    const model = withResource<OnlineEndpointModel>(fraudModel(), 'Fraud/Scoring', (e) => ({ ...e, deployments: e.deployments.map((d) => ({ ...d, traffic: d.name === 'blue' ? 110 : 0 })) }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Scoring', message: 'traffic must sum to 100, got 110 (blue=110, green=0); adjust one deployment' }]);
  });

  it('fails if a deployment receives live and mirrored traffic, naming the deployment', () => {
    const model = withResource<OnlineEndpointModel>(fraudModel(), 'Fraud/Scoring', (e) => ({
      ...e,
      deployments: e.deployments.map((d) => ({ ...d, traffic: d.name === 'blue' ? 90 : 10 })),
    }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Scoring/green', message: expect.stringContaining('receives live traffic (10%) and mirrored traffic (10%)') }]);
  });
});

describe('batch inference', () => {
  const t = template(churnModel());

  it('defines a batch endpoint and a model deployment on the compute pool', () => {
    const d = one(t, `${ML}/batchEndpoints/deployments`);
    expect(d.properties).toMatchObject({
      model: { referenceType: 'Id', assetId: "[resourceId('Microsoft.MachineLearningServices/workspaces/models/versions', 'churn', 'churn', '3')]" },
      compute: "[resourceId('Microsoft.MachineLearningServices/workspaces/computes', 'churn', 'cpu')]",
      resources: { instanceCount: 2 },
      miniBatchSize: 10,
      // retrySettings.timeout bounds one mini-batch, not the run: Azure's 5-minute value, not the run timeout.
      retrySettings: { maxRetries: 3, timeout: 'PT5M' },
    });
  });

  it('schedules batch scoring through a pipeline that invokes the batch endpoint', () => {
    const s = one(t, `${ML}/schedules`, 'batch_schedule_1');
    expect((s.properties as any).trigger).toEqual({ triggerType: 'Cron', expression: '0 6 * * 1', timeZone: 'Eastern Standard Time' });
    const comp = ofType(t, `${ML}/components/versions`).find((r) => r.name.includes('batch_invoke')) as RenderedResource;
    expect(String((comp.properties as any).componentSpec.command)).toMatch(/az ml batch-endpoint invoke --name batch-[0-9a-f]{6} --deployment-name main --input azureml:customers:2026-11/);
  });

  it('lets the batch identity invoke its own endpoint, scoped to that endpoint', () => {
    const invoke = ofType(t, 'Microsoft.Authorization/roleAssignments').filter(
      (r) => String(r.properties?.principalId).includes("'id-batch'") && String(r.properties?.roleDefinitionId).includes(ROLES.azureMlDataScientist.id),
    );
    expect(invoke.map((r) => r.scope)).toEqual([expect.stringMatching(/^\[resourceId\('Microsoft\.MachineLearningServices\/workspaces\/batchEndpoints', 'churn', 'batch-[0-9a-f]{6}'\)\]$/)]);
  });

  it('fails if the batch has no compute pool, naming the batch', () => {
    const model = withResource(churnModel(), 'Churn/Batch', (b) => (b.kind === 'batchInference' ? { ...b, compute: undefined } : b));
    expect(problemsOf(model)).toEqual([{ path: 'Churn/Batch', message: expect.stringContaining('has no compute pool') }]);
  });
});

describe('drift monitors and retraining', () => {
  const t = template(fraudModel());
  const monitor = one(t, `${ML}/schedules`, '/drift');
  const def = (monitor.properties as any).action.monitorDefinition;

  it('defines a CreateMonitor schedule with per-feature thresholds grouped into DataDrift signals by data type and threshold', () => {
    expect((monitor.properties as any).action.actionType).toBe('CreateMonitor');
    expect(Object.keys(def.signals)).toEqual(['drift_1_blue_categorical_1', 'drift_1_blue_numerical_1']);
    expect(def.signals.drift_1_blue_numerical_1).toMatchObject({
      signalType: 'DataDrift',
      features: { filterType: 'FeatureSubset', features: ['amount'] },
      metricThresholds: [{ dataType: 'Numerical', metric: 'JensenShannonDistance', threshold: { value: "[json('0.15')]" } }],
      productionData: { inputDataType: 'Rolling', uri: expect.stringMatching(/^azureml:scoring-[0-9a-f]{6}-blue-model_inputs:1$/), windowSize: 'P7D' },
      // Drift: the production window vs the window of the same length before it.
      referenceData: { inputDataType: 'Rolling', uri: expect.stringMatching(/-blue-model_inputs:1$/), windowSize: 'P7D', windowOffset: 'P7D' },
    });
    expect(def.alertNotificationSettings).toEqual({ emailNotificationSettings: { emails: ['ml-oncall@acme.example'] } });
  });

  it('collects model inputs on the monitored deployment', () => {
    const blue = one(t, `${ML}/onlineEndpoints/deployments`, '/blue');
    expect(Object.keys((blue.properties as any).dataCollector.collections).sort()).toEqual(['model_inputs', 'model_outputs', 'request', 'response']);
  });

  it('retrains on drift: Event Grid on threshold-breached monitor runs → Logic App that PUTs the pipeline job, one per cooldown window', () => {
    const sub = ofType(t, 'Microsoft.EventGrid/systemTopics/eventSubscriptions')[0] as RenderedResource;
    expect((sub.properties as any).filter.advancedFilters[0]).toEqual({
      operatorType: 'StringContains',
      key: 'data.RunTags.azureml_modelmonitor_threshold_breached',
      values: ['has failed due to one or more features violating metric thresholds'],
    });
    expect((sub.properties as any).destination.properties.endpointUrl).toMatch(/^\[listCallbackUrl\(resourceId\('Microsoft\.Logic\/workflows\/triggers', 'retrain-drift', 'drift'\)/);
    const wf = one(t, 'Microsoft.Logic/workflows');
    const submit = (wf.properties as any).definition.actions.route.else.actions.submit.inputs;
    expect(submit.method).toBe('PUT');
    expect(submit.uri).toContain("'/jobs/retrain-drift-@{div(div(sub(ticks(utcNow()), ticks(''2020-01-01T00:00:00Z'')), 10000000), 86400)}?api-version=2026-05-01'");
    expect(submit.body.properties.inputs.learningRate).toEqual({ jobInputType: 'literal', value: '0.03' });
    // Submitting the retraining job takes the Job Submitter custom role on the workspace, never AzureML Data Scientist.
    const drift = ofType(t, 'Microsoft.Authorization/roleAssignments').filter((r) => String(r.properties?.principalId).includes("'id-drift'"));
    expect(drift.filter((r) => String(r.properties?.roleDefinitionId).includes(ROLES.azureMlDataScientist.id))).toEqual([]);
    expect(drift.filter((r) => String(r.properties?.description).startsWith('mlplane Job Submitter — ')).map((r) => r.scope)).toEqual(["[resourceId('Microsoft.MachineLearningServices/workspaces', 'fraud')]"]);
  });

  it('sends webhook alerts through an Event Grid subscription', () => {
    const sub = one(template(churnModel()), 'Microsoft.EventGrid/systemTopics/eventSubscriptions');
    expect((sub.properties as any).destination).toEqual({ endpointType: 'WebHook', properties: { endpointUrl: 'https://hooks.acme.example/ml-alerts' } });
  });

  it('fails if the drift metric has no Azure ML equivalent, naming the monitor', () => {
    const model = withResource<DriftMonitorModel>(fraudModel(), 'Fraud/Drift', (m) => ({ ...m, signals: [{ ...(m.signals[0] as DriftMonitorModel['signals'][number]), metric: 'jensenShannonDistance', categoricalMetric: 'lInfinity' }] }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Drift', message: expect.stringContaining("target 'azure' cannot honour L-infinity distance threshold on categorical features (monitor.metric.lInfinity.categorical); Azure ML data drift signals measure categorical features with JensenShannonDistance") }]);
  });

  it('fails if a monitored feature is not in the baseline, naming the monitor', () => {
    const model = withResource<DriftMonitorModel>(fraudModel(), 'Fraud/Drift', (m) => ({ ...m, signals: [{ kind: 'drift', metric: 'jensenShannonDistance', thresholds: [{ feature: 'nope', threshold: 0.1 }] }] }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/Drift', message: expect.stringContaining("feature 'nope' is not a column of baseline Fraud/Transactions") }]);
  });

  it('fails if a webhook URL carries credentials, without writing them into the message', () => {
    const model = withResource<DriftMonitorModel>(churnModel(), 'Churn/Drift', (m) => ({ ...m, alerts: [{ kind: 'webhook', url: 'https://hooks.acme.example/x?token=s3cr3t' }] }));
    const problems = problemsOf(model);
    expect(problems).toEqual([{ path: 'Churn/Drift', message: expect.stringContaining('carries credentials') }]);
    expect(JSON.stringify(problems)).not.toContain('s3cr3t');
  });
});

describe('feature store', () => {
  const result = synth(fraudModel());
  const t = result.documents['template.json'] as ArmTemplate;

  it('defines a FeatureStore workspace with an ADLS Gen2 offline store and a Redis online store, connected by identity', () => {
    const fs = one(t, ML, 'fraud-fs');
    expect(fs.kind).toBe('FeatureStore');
    expect((fs.properties as any).featureStoreSettings).toEqual({ computeRuntime: { sparkRuntimeVersion: '3.4' }, offlineStoreConnectionName: 'offline_store', onlineStoreConnectionName: 'online_store' });
    const offline = ofType(t, 'Microsoft.Storage/storageAccounts').find((s) => s.name.startsWith('stfs'));
    expect(offline?.properties?.isHnsEnabled).toBe(true);
    expect(one(t, `${ML}/connections`, 'online_store').properties).toMatchObject({ category: 'Redis', authType: 'ManagedIdentity' });
  });

  it('defines the entity with typed index columns and the feature set with online+offline materialization', () => {
    expect(one(t, `${ML}/featurestoreEntities/versions`).properties).toMatchObject({ indexColumns: [{ columnName: 'cardId', dataType: 'String' }] });
    const set = one(t, `${ML}/featuresets/versions`);
    expect((set.properties as any).materializationSettings).toMatchObject({ storeType: 'OnlineAndOffline', schedule: { triggerType: 'Recurrence', frequency: 'Hour', interval: 1 } });
    const spec = Object.entries(result.documents).find(([k]) => k.endsWith('FeaturesetSpec.yaml'));
    expect(String(spec?.[1])).toContain('timestamp_column:');
  });

  it('fails if a feature table has no timestamp field, naming the table', () => {
    const model = withResource<FeatureTableModel>(fraudModel(), 'Fraud/CardFeatures', (f) => ({ ...f, timestampField: undefined }));
    expect(problemsOf(model)).toEqual([{ path: 'Fraud/CardFeatures', message: expect.stringContaining('has no timestampField') }]);
  });

  it('warns (mlplane:azure:online-ttl) that an online TTL applies to offline joins only', () => {
    const model = withResource<FeatureTableModel>(fraudModel(), 'Fraud/CardFeatures', (f) => ({ ...f, ttlSeconds: 86400 }));
    expect(synth(model).warnings).toContainEqual(expect.objectContaining({ id: 'mlplane:azure:online-ttl', path: 'Fraud/CardFeatures' }));
  });
});

describe('grants', () => {
  const t = template(fraudModel());
  const assignments = ofType(t, 'Microsoft.Authorization/roleAssignments');

  it('grants dataset reads as Storage Blob Data Reader scoped to the dataset container, to the pipeline identity', () => {
    const read = assignments.find(
      (r) => String(r.scope).includes('ds-transactions') && String(r.properties?.roleDefinitionId).includes(ROLES.storageBlobDataReader.id) && String(r.properties?.principalId).includes("'id-train'"),
    );
    expect(read?.scope).toBe("[resourceId('Microsoft.Storage/storageAccounts/blobServices/containers', 'stfraudaf3ab6', 'default', 'ds-transactions')]");
    expect(read?.properties?.description).toContain('Fraud/Train read Fraud/Transactions (wiring)');
  });

  it('grants registry writes as the Model Registrar custom role on the workspace, with no blob write (versions register job outputs in place)', () => {
    const granted = assignments.filter((r) => String(r.properties?.description).includes('Fraud/Train write Fraud/Registry'));
    expect(granted.map((r) => String(r.properties?.description))).toEqual([expect.stringMatching(/^mlplane Model Registrar — /)]);
    expect(granted.map((r) => r.scope)).toEqual(["[resourceId('Microsoft.MachineLearningServices/workspaces', 'fraud')]"]);
    expect(JSON.stringify(granted)).not.toContain(ROLES.azureMlDataScientist.id);
    expect(JSON.stringify(granted)).not.toContain(ROLES.storageBlobDataContributor.id);
  });
});

describe('determinism', () => {
  it('gives byte-identical documents for two synths of each example', () => {
    for (const model of examples()) {
      const a = synth(model).documents;
      const b = synth(model).documents;
      expect(stableStringify(a)).toBe(stableStringify(b));
    }
  });

  it('does not modify the model it reads', () => {
    const freeze = <T>(v: T): T => {
      if (v !== null && typeof v === 'object') {
        for (const x of Object.values(v)) freeze(x);
        Object.freeze(v);
      }
      return v;
    };
    const model = freeze(examples()[0] as EnvironmentModel);
    const before = stableStringify(model);
    expect(() => synth(model)).not.toThrow();
    expect(stableStringify(model)).toBe(before);
  });

  it('does not depend on the order of resources in the model', () => {
    const model = fraudModel();
    const reversed = { ...model, resources: [...model.resources].reverse() };
    expect(stableStringify(synth(reversed).documents['parameters.json'])).toBe(stableStringify(synth(model).documents['parameters.json']));
  });
});

describe('Logic App literals', () => {
  it('escapes Logic Apps expression markers in user text', () => {
    expect(logicLiteral('@me')).toBe('@@me');
    expect(logicLiteral('echo a@{b}')).toBe('echo a@@{b}');
    expect(logicLiteral({ k: ['@x', 'plain'] })).toEqual({ k: ['@@x', 'plain'] });
  });
});

describe('pipeline node names', () => {
  it('fails if two steps become the same Azure ML node name, naming the step', () => {
    const model = withResource<PipelineModel>(fraudModel(), 'Fraud/Train', (p) => ({
      ...p,
      steps: [...p.steps, { ...(p.steps[0] as PipelineModel['steps'][number]), name: 'validate', path: 'Fraud/Train/validate', dependsOn: [] }],
    }));
    let problems: readonly { path: string; message: string }[] = [];
    try {
      synth(model);
    } catch (e) {
      if (ValidationErrors.isValidationErrors(e)) problems = e.problems;
    }
    expect(problems).toEqual([{ path: 'Fraud/Train/validate', message: expect.stringContaining("step 'validate' and step 'Validate' both become Azure ML node 'validate'") }]);
  });
});

describe('register step retries', () => {
  it('runs the registration script again when the step has retries', () => {
    const model = withResource<PipelineModel>(fraudModel(), 'Fraud/Train', (p) => ({ ...p, steps: p.steps.map((s) => (s.kind === 'register' ? { ...s, retries: 1 } : s)) }));
    const t = synth(model).documents['template.json'] as ArmTemplate;
    const reg = t.resources.find((r) => r.name.includes('/train_register/')) as RenderedResource;
    const command = String((reg.properties as any).componentSpec.command);
    expect(command.startsWith('set -eu\n')).toBe(true);
    expect(command).toContain('until mlplane_attempt; do');
    expect(command).toContain('if [ "$n" -gt 1 ]; then');
  });
});
