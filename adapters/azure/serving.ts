import type {
  BatchInferenceModel,
  DatasetModel,
  DeploymentModel,
  ModelRefModel,
  ModelRegistryModel,
  OnlineEndpointModel,
  RegisteredModelModel,
} from '../../lib/model/types';
import { armNumber, ArmExpr, armLiteral, renderArm, resourceKey, type ArmObject } from './arm';
import { addMlChild, imageEnvironment, isoDuration, ownedIdentity, scheduleTrigger, userAssigned, vmSize, yamlTrigger, type OwnedIdentity } from './common';
import { computeName } from './compute';
import { API, ML, ML_API, type SynthContext } from './context';
import { dataRef } from './data';
import { RULES, fitName, NameError, shortHash } from './names';
import { aliasTag, AZURE_CLI_IMAGE, shellQuote } from './pipeline';
import { assignRole, ROLES } from './roles';
import { keyVaultSecret } from './secrets';

const SCHEMA = 'https://azuremlschemas.azureedge.net/latest';

/** Asset name of a registered model. */
export function modelAssetName(ctx: SynthContext, registryPath: string, model: string): string {
  return ctx.name(RULES.asset, [model], registryPath);
}

/**
 * Registry → `workspaces/models` containers (one per model). Versions are created by the
 * pipeline's register step at run time. Aliases are version tags `mlplane-alias-<alias>=true`,
 * the convention Azure ML users apply since workspace models have no alias field (only the
 * built-in `@latest` label).
 */
export function mapRegistry(ctx: SynthContext, r: ModelRegistryModel): void {
  for (const m of r.models) {
    addMlChild(ctx, 'models', [modelAssetName(ctx, r.path, m.name)], {
      properties: {
        description: m.description ?? `Model ${m.name} of ${r.path}`,
        tags: {
          ...ctx.tags(m.path),
          'mlplane-retain': String(r.retain),
          'mlplane-framework': m.framework,
          'mlplane-aliases': m.aliases.join(','),
        },
      },
    });
  }
}

/** The registered model a reference points to, with problems at `path`. */
function registered(ctx: SynthContext, ref: ModelRefModel, path: string): RegisteredModelModel | undefined {
  const reg = ctx.resource(ref.registry);
  if (reg === undefined || reg.kind !== 'modelRegistry') {
    ctx.problem(path, `model registry '${ref.registry}' is not part of this environment; reference a ModelRegistry of the same environment`);
    return undefined;
  }
  const m = reg.models.find((x) => x.name === ref.model);
  if (m === undefined) {
    ctx.problem(path, `model '${ref.model}' is not declared in ${ref.registry} (declared: ${reg.models.map((x) => x.name).join(', ') || 'none'}); declare it on the registry`);
    return undefined;
  }
  if ('alias' in ref && !m.aliases.includes(ref.alias)) {
    ctx.problem(path, `alias '${ref.alias}' is not declared for model '${ref.model}' (declared: ${m.aliases.join(', ') || 'none'}); declare it on the model`);
  }
  return m;
}

/** Name of the template parameter holding the version behind an alias. */
export function aliasParameter(ctx: SynthContext, registry: string, model: string, alias: string): string {
  const asset = modelAssetName(ctx, registry, model);
  return `modelVersion_${asset.replace(/[^a-zA-Z0-9]/g, '_')}_${alias.replace(/[^a-zA-Z0-9]/g, '_')}`;
}

/**
 * ARM id of the model version a reference resolves to. An alias becomes a template parameter
 * (`modelVersion_<model>_<alias>`) whose metadata tells the deploy engine which version tag to
 * resolve; `az deployment group create` users pass it with `-p`.
 */
export function modelVersionId(ctx: SynthContext, ref: ModelRefModel, path: string): ArmExpr {
  registered(ctx, ref, path);
  const asset = modelAssetName(ctx, ref.registry, ref.model);
  if ('version' in ref) return ctx.mlId('models/versions', asset, ref.version);
  const param = aliasParameter(ctx, ref.registry, ref.model, ref.alias);
  const p = ctx.parameter(
    param,
    {
      type: 'string',
      metadata: {
        description: `Version of model '${ref.model}' that holds alias '${ref.alias}' (the version tagged ${aliasTag(ref.alias)}=true); resolved by mlplane deploy`,
        'mlplane:alias': { registry: ref.registry, model: ref.model, alias: ref.alias, tag: aliasTag(ref.alias) },
      },
    },
    '1',
  );
  return new ArmExpr(
    `resourceId('${ML}/workspaces/models/versions', ${armLiteral(ctx.core.workspace)}, ${armLiteral(asset)}, ${p.text})`,
    [resourceKey(`${ML}/workspaces/models`, `${ctx.core.workspace}/${asset}`)],
  );
}

/** Name of an online endpoint (unique in the region: always hashed). */
export function endpointName(ctx: SynthContext, path: string): string {
  return ctx.name(RULES.endpoint, ctx.staged(ctx.localSegments(path)), path, [ctx.settings.subscriptionId, ctx.settings.resourceGroup]);
}

function deploymentName(ctx: SynthContext, e: OnlineEndpointModel, d: DeploymentModel): string {
  try {
    return fitName(RULES.deployment, d.name);
  } catch (err) {
    if (err instanceof NameError) {
      ctx.problem(`${e.path}/${d.name}`, `${err.message}; name the deployment with letters, digits and '-', starting with a letter`);
      return 'invalid';
    }
    throw err;
  }
}

/** Deployments a monitor watches (they also collect model inputs/outputs). */
export type MonitoredDeployments = ReadonlySet<string>;

/**
 * Online endpoint → `workspaces/onlineEndpoints` + one managed `deployments` per deployment
 * (serving image as an environment with inference routes, model version, VM size, request
 * capture through the data collector), Azure Monitor autoscale settings, and the traffic /
 * mirror traffic split applied after every deployment exists (a nested deployment).
 */
export function mapOnlineEndpoint(ctx: SynthContext, e: OnlineEndpointModel, monitored: MonitoredDeployments): void {
  const name = endpointName(ctx, e.path);
  const identity = ownedIdentity(ctx, e.path);
  const isPrivate = ctx.env.network.mode === 'private';
  const authMode = e.auth === 'key' ? 'Key' : 'AADToken';
  const total = e.deployments.reduce((s, d) => s + d.traffic, 0);
  if (e.deployments.length > 0 && total !== 100) {
    ctx.problem(e.path, `traffic must sum to 100, got ${total} (${e.deployments.map((d) => `${d.name}=${d.traffic}`).join(', ')}); adjust one deployment`);
  }
  const mirrorTotal = e.deployments.reduce((s, d) => s + d.mirror, 0);
  if (mirrorTotal > 50) ctx.problem(e.path, `mirror traffic sums to ${mirrorTotal}%, Azure ML allows at most 50%; lower the mirror shares`);
  const mirrored = e.deployments.filter((d) => d.mirror > 0).map((d) => d.name);
  if (mirrored.length > 1) ctx.problem(e.path, `mirrors traffic to ${mirrored.length} deployments (${mirrored.join(', ')}); Azure ML mirrors to one deployment per endpoint; keep mirror on one of them`);
  for (const d of e.deployments) {
    if (d.mirror > 0 && d.traffic > 0) {
      ctx.problem(`${e.path}/${d.name}`, `receives live traffic (${d.traffic}%) and mirrored traffic (${d.mirror}%); Azure ML mirrors only to a deployment with 0% live traffic; set traffic to 0 for the shadow deployment`);
    }
  }

  const endpointProps = (withTraffic: boolean): ArmObject => {
    const traffic: Record<string, number> = {};
    const mirror: Record<string, number> = {};
    for (const d of e.deployments) {
      traffic[deploymentName(ctx, e, d)] = d.traffic;
      if (d.mirror > 0) mirror[deploymentName(ctx, e, d)] = d.mirror;
    }
    return {
      authMode,
      description: e.description ?? `Online endpoint ${e.path}`,
      publicNetworkAccess: isPrivate ? 'Disabled' : 'Enabled',
      traffic: withTraffic ? traffic : undefined,
      mirrorTraffic: withTraffic && Object.keys(mirror).length > 0 ? mirror : undefined,
    };
  };
  const endpointType = `${ML}/workspaces/onlineEndpoints`;
  const endpointResource = {
    location: ctx.settings.location,
    kind: 'Managed',
    tags: ctx.tags(e.path),
    identity: userAssigned([identity.id]),
  };
  // ARM re-PUTs every resource on every deployment. The endpoint is declared before its
  // deployments exist, so it cannot carry the new split yet; it carries the split that is live
  // (a parameter the deploy engine reads from Azure ML, `{}` on a first deploy), so a redeploy never
  // drops traffic before the traffic step below sets the defined split.
  const liveTraffic = ctx.parameter(
    `liveTraffic_${name.replace(/[^a-zA-Z0-9]/g, '_')}`,
    {
      type: 'object',
      defaultValue: {},
      metadata: {
        description: `Traffic split live on online endpoint '${name}' before this deployment; resolved by mlplane deploy (az users: pass the current split, or {} on a first deploy)`,
        'mlplane:liveTraffic': { endpoint: `${ctx.core.workspace}/${name}` },
      },
    },
    {},
  );
  addMlChild(ctx, 'onlineEndpoints', [name], { ...endpointResource, properties: { ...endpointProps(false), traffic: liveTraffic } });

  const deploymentKeys: string[] = [];
  for (const d of e.deployments) {
    const dPath = `${e.path}/${d.name}`;
    const dName = deploymentName(ctx, e, d);
    const model = registered(ctx, d.model, dPath);
    const env = model ? imageEnvironment(ctx, model.serving.image, dPath, model.serving) : undefined;
    if (d.minReplicas < 1) ctx.problem(dPath, `minReplicas ${d.minReplicas}: managed online deployments keep at least one instance; use minReplicas >= 1`);
    if (d.maxReplicas < d.minReplicas) ctx.problem(dPath, `maxReplicas ${d.maxReplicas} is below minReplicas ${d.minReplicas}; raise maxReplicas`);
    const collections: Record<string, ArmObject> = {};
    const destination = e.capture.destination ? ctx.resource(e.capture.destination) : undefined;
    if (e.capture.destination && (destination === undefined || destination.kind !== 'dataset')) {
      ctx.problem(e.path, `capture destination '${e.capture.destination}' is not a dataset of this environment`);
    }
    const dataId = destination?.kind === 'dataset' ? ctx.mlId('data/versions', dataRef(ctx, destination).asset, destination.version) : undefined;
    const sampling = armNumber(e.capture.samplingRate);
    if (e.capture.requests) collections.request = { dataCollectionMode: 'Enabled', samplingRate: sampling, dataId, clientId: identity.clientId };
    if (e.capture.responses) collections.response = { dataCollectionMode: 'Enabled', samplingRate: sampling, dataId, clientId: identity.clientId };
    if (monitored.has(dPath) || monitored.has(e.path)) {
      collections.model_inputs = { dataCollectionMode: 'Enabled', samplingRate: 1, clientId: identity.clientId };
      collections.model_outputs = { dataCollectionMode: 'Enabled', samplingRate: 1, clientId: identity.clientId };
    }
    deploymentKeys.push(
      addMlChild(ctx, 'onlineEndpoints/deployments', [name, dName], {
        location: ctx.settings.location,
        kind: 'Managed',
        tags: ctx.tags(dPath),
        sku: { name: 'Default', capacity: Math.max(1, d.minReplicas) },
        // One operation at a time per endpoint: deployments are created one after the other.
        extraDependsOn: deploymentKeys.slice(-1),
        properties: {
          endpointComputeType: 'Managed',
          description: `Deployment ${d.name} of ${e.path}`,
          model: modelVersionId(ctx, d.model, dPath),
          environmentId: env?.id,
          environmentVariables: deploymentEnv(ctx, model?.serving.env ?? {}, d, dPath),
          instanceType: vmSize(ctx, d.resources, dPath, 'online'),
          scaleSettings: { scaleType: 'Default' },
          appInsightsEnabled: true,
          livenessProbe: { initialDelay: 'PT10S', period: 'PT10S', timeout: 'PT2S', failureThreshold: 30, successThreshold: 1 },
          readinessProbe: { initialDelay: 'PT10S', period: 'PT10S', timeout: 'PT2S', failureThreshold: 30, successThreshold: 1 },
          dataCollector: Object.keys(collections).length > 0 ? { collections, rollingRate: 'Hour' } : undefined,
        },
      }),
    );
    if (d.maxReplicas > d.minReplicas) addAutoscale(ctx, d, name, dName, dPath);
    if (model) {
      ctx.documents[`azureml/endpoints/${name}/${dName}.yml`] = renderArm({
        $schema: `${SCHEMA}/managedOnlineDeployment.schema.json`,
        name: dName,
        endpoint_name: name,
        // Workspace models have no custom labels: an alias is the template parameter holding the version.
        model: `azureml:${modelAssetName(ctx, d.model.registry, d.model.model)}:${'version' in d.model ? d.model.version : `<${aliasParameter(ctx, d.model.registry, d.model.model, d.model.alias)}>`}`,
        environment: env?.asset ?? null,
        instance_type: vmSize(ctx, d.resources, dPath, 'online'),
        instance_count: Math.max(1, d.minReplicas),
      });
    }
  }
  ctx.documents[`azureml/endpoints/${name}/endpoint.yml`] = renderArm({
    $schema: `${SCHEMA}/managedOnlineEndpoint.schema.json`,
    name,
    auth_mode: e.auth === 'key' ? 'key' : 'aad_token',
  });

  // Traffic needs the deployments to exist: set it in a nested deployment that runs after them.
  if (e.deployments.length > 0) {
    ctx.add({
      type: 'Microsoft.Resources/deployments',
      apiVersion: '2022-09-01',
      name: ctx.name(RULES.generic, ['traffic', name], e.path),
      tags: ctx.tags(e.path),
      properties: {
        mode: 'Incremental',
        template: {
          $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
          contentVersion: '1.0.0.0',
          resources: [
            {
              type: endpointType,
              apiVersion: ML_API,
              name: `${ctx.core.workspace}/${name}`,
              location: ctx.location(), // the outer template's parameter (nested templates evaluate in the outer scope)
              kind: 'Managed',
              tags: ctx.tags(e.path),
              identity: userAssigned([identity.id]),
              properties: endpointProps(true),
            },
          ],
        },
      },
      extraDependsOn: deploymentKeys,
    });
  }
  ctx.outputs[`scoringUri_${name.replace(/-/g, '_')}`] = { type: 'string', value: new ArmExpr(`reference(${ctx.mlId('onlineEndpoints', name).text}, '${ML_API}').scoringUri`, ctx.mlId('onlineEndpoints', name).refs) };
}

function addAutoscale(ctx: SynthContext, d: DeploymentModel, endpoint: string, deployment: string, path: string): void {
  const deploymentId = ctx.mlId('onlineEndpoints/deployments', endpoint, deployment);
  const endpointId = ctx.mlId('onlineEndpoints', endpoint);
  const cpu = d.autoscaling.metric === 'cpu';
  const trigger = (operator: string, threshold: number): ArmObject =>
    cpu
      ? {
          metricName: 'CpuUtilizationPercentage',
          metricNamespace: 'microsoft.machinelearningservices/workspaces/onlineendpoints/deployments',
          metricResourceUri: deploymentId,
          timeGrain: 'PT1M',
          statistic: 'Average',
          timeWindow: 'PT5M',
          timeAggregation: 'Average',
          operator,
          threshold,
        }
      : {
          // Requests per second per replica → the endpoint's RequestsPerMinute for this deployment, divided per instance.
          metricName: 'RequestsPerMinute',
          metricNamespace: 'microsoft.machinelearningservices/workspaces/onlineendpoints',
          metricResourceUri: endpointId,
          dimensions: [{ DimensionName: 'deployment', Operator: 'Equals', Values: [deployment] }],
          dividePerInstance: true,
          timeGrain: 'PT1M',
          statistic: 'Average',
          timeWindow: 'PT5M',
          timeAggregation: 'Total',
          operator,
          threshold,
        };
  const target = cpu ? d.autoscaling.target : d.autoscaling.target * 60;
  const name = ctx.name(RULES.generic, ['autoscale', endpoint, deployment], path);
  ctx.add({
    type: 'Microsoft.Insights/autoscalesettings',
    apiVersion: API.autoscale,
    name,
    location: ctx.settings.location,
    tags: ctx.tags(path),
    properties: {
      name,
      enabled: true,
      targetResourceUri: deploymentId,
      profiles: [
        {
          name: 'default',
          capacity: { minimum: String(d.minReplicas), maximum: String(d.maxReplicas), default: String(d.minReplicas) },
          rules: [
            { metricTrigger: trigger('GreaterThan', target), scaleAction: { direction: 'Increase', type: 'ChangeCount', value: '1', cooldown: 'PT5M' } },
            { metricTrigger: trigger('LessThan', Math.floor(target / 2)), scaleAction: { direction: 'Decrease', type: 'ChangeCount', value: '1', cooldown: 'PT10M' } },
          ],
        },
      ],
    },
  });
}

/** Invocation timeout of one mini-batch on Azure ML batch deployments (mlplane has no such setting; Azure's own value). */
const MINI_BATCH_TIMEOUT_SECONDS = 300;

/**
 * Where a batch run writes its predictions: the output dataset's own folder (a managed dataset's
 * data URI, or an external `azureml://datastores/...` URI); `undefined` when Azure ML cannot
 * write there.
 */
function batchOutputPath(ctx: SynthContext, output: DatasetModel): string | undefined {
  if (output.source.kind === 'external') return output.source.uri.startsWith('azureml://datastores/') ? (output.source.uri.endsWith('/') ? output.source.uri : `${output.source.uri}/`) : undefined;
  return `azureml://datastores/${dataRef(ctx, output).datastore as string}/paths/${output.format}/`;
}

/** Names of a batch inference's endpoint. */
export function batchEndpointName(ctx: SynthContext, path: string): string {
  return ctx.name(RULES.endpoint, ctx.staged(ctx.localSegments(path)), path, [ctx.settings.subscriptionId, ctx.settings.resourceGroup]);
}

/**
 * Batch inference → `workspaces/batchEndpoints` + a model deployment on the compute pool.
 * Schedules → a workspace schedule (CreateJob) running a one-step pipeline that invokes the
 * batch endpoint with `az ml batch-endpoint invoke` under the batch identity (batch endpoints
 * have no schedule of their own; the REST `InvokeBatchEndpoint` action is undocumented).
 */
export function mapBatchInference(ctx: SynthContext, b: BatchInferenceModel): OwnedIdentity {
  const name = batchEndpointName(ctx, b.path);
  const identity = ownedIdentity(ctx, b.path);
  const model = registered(ctx, b.model, b.path);
  const env = model ? imageEnvironment(ctx, model.serving.image, b.path, model.serving) : undefined;
  const input = ctx.resource(b.input);
  const output = ctx.resource(b.output);
  if (input === undefined || input.kind !== 'dataset') ctx.problem(b.path, `input '${b.input}' is not a dataset of this environment`);
  if (output === undefined || output.kind !== 'dataset') ctx.problem(b.path, `output '${b.output}' is not a dataset of this environment`);
  if (b.compute === undefined) {
    ctx.problem(b.path, `has no compute pool; Azure ML batch deployments run on an AmlCompute cluster; pass compute: a ComputePool of this environment`);
  }
  const outputPath = output?.kind === 'dataset' ? batchOutputPath(ctx, output) : undefined;
  if (output?.kind === 'dataset' && outputPath === undefined) {
    ctx.problem(b.path, `output '${output.path}' is external data at '${output.source.kind === 'external' ? output.source.uri : ''}', where Azure ML batch jobs cannot write (they write to a datastore path); use a managed output dataset or an azureml://datastores/<datastore>/paths/<path> URI`);
  }
  if (output?.kind === 'dataset' && output.format !== 'csv') {
    ctx.warn('batch-output-csv', b.path, `Azure ML batch deployments append predictions to one CSV file (predictions.csv) in '${output.path}', whose format is ${output.format}; readers of the dataset must read that file as CSV`);
  }
  if (b.timeoutSeconds !== undefined) {
    ctx.warn(
      'batch-timeout-scheduled-only',
      b.path,
      `batch deployments have no job timeout (retrySettings.timeout bounds one mini-batch); scheduled runs are cancelled after ${b.timeoutSeconds}s by the invoking step, runs invoked on demand are not bounded`,
    );
  }
  addMlChild(ctx, 'batchEndpoints', [name], {
    location: ctx.settings.location,
    tags: ctx.tags(b.path),
    identity: userAssigned([identity.id]),
    properties: { authMode: 'AADToken', description: b.description ?? `Batch inference ${b.path}`, defaults: { deploymentName: 'main' } },
  });
  ctx.warn(
    'batch-mlflow-model',
    b.path,
    `batch deployment 'main' has no scoring script (mlplane defines none), so Azure ML runs it as a no-code deployment: the registered versions of '${b.model.model}' must be MLflow models`,
  );
  addMlChild(ctx, 'batchEndpoints/deployments', [name, 'main'], {
    location: ctx.settings.location,
    tags: ctx.tags(b.path),
    properties: {
      description: `Scores ${b.input} into ${b.output}`,
      model: { referenceType: 'Id', assetId: modelVersionId(ctx, b.model, b.path) },
      environmentId: env?.id,
      compute: b.compute ? ctx.mlId('computes', computeName(ctx, b.compute)) : undefined,
      resources: { instanceCount: b.instanceCount },
      miniBatchSize: b.miniBatchSize,
      maxConcurrencyPerInstance: 1,
      outputAction: 'AppendRow',
      outputFileName: 'predictions.csv',
      errorThreshold: -1,
      loggingLevel: 'Info',
      // retrySettings bounds one mini-batch (BatchRetrySettings: "Maximum retry count for a
      // mini-batch", "Invocation timeout for a mini-batch",
      // https://learn.microsoft.com/javascript/api/@azure/arm-machinelearning/batchretrysettings):
      // retries map exactly; the run timeout is not a mini-batch timeout (see the invocation below).
      retrySettings: { maxRetries: b.retries, timeout: isoDuration(MINI_BATCH_TIMEOUT_SECONDS) },
    },
  });

  if (b.schedules.length > 0 && input?.kind === 'dataset' && output?.kind === 'dataset' && outputPath !== undefined) {
    const inRef = dataRef(ctx, input);
    const cli = imageEnvironment(ctx, AZURE_CLI_IMAGE, b.path);
    // The scheduled invocation runs as the batch identity: it may score on its own endpoint and read the workspace's assets.
    assignRole(ctx, {
      scopeType: `${ML}/workspaces/batchEndpoints`,
      scopeNames: [ctx.core.workspace, name],
      role: ROLES.azureMlDataScientist,
      principalId: identity.principalId,
      principalKey: identity.name,
      description: `${b.path}: scheduled invocation of its batch endpoint`,
    });
    assignRole(ctx, {
      scopeType: `${ML}/workspaces`,
      scopeNames: [ctx.core.workspace],
      role: ROLES.reader,
      principalId: identity.principalId,
      principalKey: identity.name,
      description: `${b.path}: reads the input data asset when invoking`,
    });
    const componentName = ctx.name(RULES.component, [...ctx.localSegments(b.path), 'invoke'], b.path);
    // The workspace the job runs in, from the variables Azure ML sets in every job: nothing baked.
    const where = '--workspace-name "$AZUREML_ARM_WORKSPACE_NAME" --resource-group "$AZUREML_ARM_RESOURCEGROUP" --subscription "$AZUREML_ARM_SUBSCRIPTION"';
    const command = [
      'set -eu',
      'az extension add --name ml --only-show-errors >/dev/null 2>&1 || true',
      'az login --identity --client-id "$MLPLANE_CLIENT_ID" --only-show-errors >/dev/null',
      `job=$(az ml batch-endpoint invoke --name ${name} --deployment-name main --input ${inRef.uri} --output-path ${shellQuote(outputPath)} ${where} --query name -o tsv)`,
      ...(b.timeoutSeconds !== undefined
        ? [
            // The run timeout: wait for the job at most that long, then cancel it.
            `if ! timeout ${b.timeoutSeconds} az ml job stream --name "$job" ${where} >/dev/null; then az ml job cancel --name "$job" ${where} --only-show-errors; echo "batch run $job did not finish within ${b.timeoutSeconds}s; cancelled" >&2; exit 1; fi`,
          ]
        : []),
    ].join('\n');
    const body: ArmObject = {
      type: 'command',
      display_name: `${b.id} invoke`,
      description: `Invokes batch endpoint ${name}`,
      is_deterministic: false,
      tags: { 'mlplane-path': b.path },
      inputs: {},
      outputs: {},
      environment: cli.asset,
      command,
    };
    // Component versions are immutable: version by content.
    const version = shortHash([JSON.stringify(renderArm(body))], 10);
    const spec: ArmObject = { $schema: `${SCHEMA}/commandComponent.schema.json`, name: componentName, version, ...body };
    addMlChild(ctx, 'components/versions', [componentName, version], {
      properties: { componentSpec: spec, description: `Invoke ${b.path}`, tags: ctx.tags(b.path), isAnonymous: false },
      extraDependsOn: cli.id.refs,
    });
    ctx.documents[`azureml/components/${componentName}.yml`] = renderArm(spec);
    const pipelineDoc = `azureml/pipelines/${componentName}.yml`;
    ctx.documents[pipelineDoc] = renderArm({
      $schema: `${SCHEMA}/pipelineJob.schema.json`,
      type: 'pipeline',
      display_name: `${b.id} batch scoring`,
      experiment_name: componentName,
      settings: { continue_on_step_failure: false },
      jobs: { invoke: { type: 'command', component: `azureml:${componentName}:${version}`, resources: { instance_type: 'Standard_D2s_v5' } } },
    });
    b.schedules.forEach((schedule, i) => {
      const sName = ctx.name(RULES.child, [...ctx.localSegments(b.path), 'schedule', String(i + 1)], b.path);
      addMlChild(ctx, 'schedules', [sName], {
        properties: {
          displayName: `${b.id} schedule ${i + 1}`,
          description: `Runs batch inference ${b.path}`,
          isEnabled: true,
          tags: ctx.tags(b.path),
          trigger: scheduleTrigger(ctx, schedule, b.path),
          action: {
            actionType: 'CreateJob',
            jobDefinition: {
              jobType: 'Pipeline',
              displayName: `${b.id} batch scoring`,
              experimentName: componentName,
              tags: ctx.tags(b.path),
              settings: { continue_on_step_failure: false, _source: 'YAML.JOB' },
              jobs: {
                invoke: {
                  type: 'command',
                  name: 'invoke',
                  componentId: ctx.mlId('components/versions', componentName, version),
                  resources: { instance_type: 'Standard_D2s_v5', instance_count: 1 },
                  inputs: {},
                  outputs: {},
                  environment_variables: { MLPLANE_CLIENT_ID: identity.clientId },
                  identity: { identity_type: 'Managed', client_id: identity.clientId, resource_id: identity.id },
                  _source: 'REMOTE.WORKSPACE.COMPONENT',
                },
              },
            },
          },
        },
      });
      ctx.documents[`azureml/schedules/${sName}.yml`] = renderArm({
        $schema: `${SCHEMA}/schedule.schema.json`,
        name: sName,
        display_name: `${b.id} schedule ${i + 1}`,
        description: `Runs batch inference ${b.path}`,
        trigger: yamlTrigger(scheduleTrigger(ctx, schedule, b.path)) as ArmObject,
        create_job: `../pipelines/${componentName}.yml`,
      });
    });
  }
  return identity;
}

/**
 * A deployment's environment variables: the serving container's, the deployment's, and each secret
 * as a Key Vault reference that Azure ML resolves with the endpoint identity when a replica starts
 * (secret injection, a preview: warning secret-injection-preview). The identity's only right on the
 * vault is Key Vault Secrets User on that secret (grants.ts).
 *
 * @see https://learn.microsoft.com/en-us/azure/machine-learning/how-to-deploy-online-endpoint-with-secret-injection
 */
function deploymentEnv(ctx: SynthContext, serving: Readonly<Record<string, string>>, d: DeploymentModel, dPath: string): Record<string, string> | undefined {
  const env: Record<string, string> = { ...serving, ...(d.env ?? {}) };
  const secrets = Object.keys(d.secretEnv ?? {}).sort();
  for (const name of secrets) {
    const ref = keyVaultSecret(ctx, d.secretEnv?.[name] as string, dPath);
    if (ref) env[name] = `\${{keyvault:${ref.url}}}`;
  }
  if (secrets.length > 0) {
    ctx.warn('secret-injection-preview', dPath, `secret env ${secrets.join(', ')} ${secrets.length === 1 ? 'is' : 'are'} resolved by Azure ML secret injection (a preview feature) from Key Vault with the endpoint identity when a replica starts; the template holds only the references`);
  }
  return Object.keys(env).length > 0 ? env : undefined;
}
