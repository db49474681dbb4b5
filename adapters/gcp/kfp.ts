/**
 * KFP v2 compiler: turns a pipeline of the environment model into a `PipelineSpec` (IR,
 * schemaVersion 2.1.0) shaped exactly as the KFP 2.x SDK compiler writes it — the same component
 * and executor naming (`comp-<task>`, `exec-<task>`), the same defaults (retry backoff, caching
 * options, `isOptional` on defaulted inputs) and the same container resource fields.
 */
import type {
  ArtifactTypeName,
  BatchInferenceModel,
  ContainerStepModel,
  DriftMonitorModel,
  IoTypeModel,
  ParameterTypeName,
  PipelineModel,
  RegisterStepModel,
  ResourcesModel,
  StepModel,
} from '../../lib/model/types';
import type { SynthContext } from './context';
import type {
  JsonValue,
  KfpArtifactType,
  KfpComponentSpec,
  KfpContainerSpec,
  KfpExecutorSpec,
  KfpInputParameterSpec,
  KfpInputsSpec,
  KfpOutputsSpec,
  KfpParameterType,
  KfpResourceSpec,
  KfpTaskArtifactInput,
  KfpTaskParameterInput,
  KfpTaskSpec,
  PipelineSpec,
} from './kfp-types';
import type { MachineSpecBody } from './documents';
import { machineSpec, vertexAccelerator } from './machines';
import { dnsName, labelValue } from './names';
import { CHECK_DRIFT_SOURCE, REGISTER_SOURCE } from './python-components';

/** The KFP SDK release whose compiler output mlplane reproduces (the golden corpus version). */
export const KFP_SDK_VERSION = '2.14.3';
/** Google Cloud Pipeline Components image used for Vertex-native tasks (batch prediction). */
export const GCPC_IMAGE = 'gcr.io/ml-pipeline/google-cloud-pipeline-components:2.14.1';
/** Base image of mlplane's lightweight Python components (register, drift check). */
export const PYTHON_IMAGE = 'python:3.11';
/** Pinned Vertex AI SDK the lightweight components install. */
export const AIPLATFORM_PACKAGE = 'google-cloud-aiplatform==1.71.1';

const PARAMETER_TYPES: Readonly<Record<ParameterTypeName, KfpParameterType>> = {
  string: 'STRING',
  int: 'NUMBER_INTEGER',
  float: 'NUMBER_DOUBLE',
  bool: 'BOOLEAN',
};

const ARTIFACT_TITLES: Readonly<Record<ArtifactTypeName, string>> = {
  dataset: 'system.Dataset',
  model: 'system.Model',
  metrics: 'system.Metrics',
  artifact: 'system.Artifact',
};

/** The artifact type schema of an mlplane artifact type. */
export function artifactType(type: ArtifactTypeName): KfpArtifactType {
  return { schemaTitle: ARTIFACT_TITLES[type], schemaVersion: '0.0.1' };
}

/** The KFP parameter type of an mlplane parameter type. */
export function parameterType(type: ParameterTypeName): KfpParameterType {
  return PARAMETER_TYPES[type];
}

/** Retry policy with the KFP SDK's defaults (`set_retry(n)`). */
function retryPolicy(retries: number) {
  return { backoffDuration: '0s', backoffFactor: 2, backoffMaxDuration: '3600s', maxRetryCount: retries };
}

/** `cachingOptions` exactly as the compiler writes it: `{enableCache: true}` or `{}`. */
function caching(enabled: boolean): { enableCache?: boolean } {
  return enabled ? { enableCache: true } : {};
}

/** Round to 12 significant digits so GiB → GB conversions print without float noise. */
function tidy(n: number): number {
  return Number(n.toPrecision(12));
}

/** Container resources as `set_cpu_limit` / `set_memory_limit` / `set_accelerator_*` write them. */
export function containerResources(ctx: SynthContext, resources: ResourcesModel, path: string): KfpResourceSpec | undefined {
  const milli = Math.round(resources.cpu * 1000);
  const cpu = milli % 1000 === 0 ? `${milli / 1000}` : `${milli}m`;
  const mib = Math.round(resources.memoryGiB * 1024);
  const memory = mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
  const base = {
    cpuLimit: tidy(milli / 1000),
    memoryLimit: tidy((mib * 1024 * 1024) / 1e9),
    resourceCpuLimit: cpu,
    resourceMemoryLimit: memory,
  };
  const acc = resources.accelerator;
  if (!acc) return base;
  const r = vertexAccelerator(acc);
  if ('problem' in r) {
    ctx.problem(path, r.problem);
    return base;
  }
  const count = `${acc.count}`;
  return { ...base, accelerator: { count, resourceCount: count, resourceType: r.type, type: r.type } };
}

/** What a step input or output is in KFP terms. */
function isArtifact(type: IoTypeModel): type is Extract<IoTypeModel, { kind: 'artifact' }> {
  return type.kind === 'artifact';
}

/** Pipeline-level parameter reference, at the root or inside a condition sub-DAG. */
type ParamRef = (name: string) => KfpTaskParameterInput;

/** Tasks, components and executors of a DAG under construction. */
interface DagBuild {
  readonly tasks: Record<string, KfpTaskSpec>;
  readonly components: Record<string, KfpComponentSpec>;
  readonly executors: Record<string, KfpExecutorSpec>;
}

function newBuild(): DagBuild {
  return { tasks: {}, components: {}, executors: {} };
}

/**
 * Replace `{{inputs.<name>}}` / `{{outputs.<name>}}` in a command or argument with the KFP
 * placeholder of that input or output.
 */
function placeholderFor(kind: 'inputs' | 'outputs', name: string, type: IoTypeModel): string {
  if (kind === 'inputs') return isArtifact(type) ? `{{$.inputs.artifacts['${name}'].path}}` : `{{$.inputs.parameters['${name}']}}`;
  return isArtifact(type) ? `{{$.outputs.artifacts['${name}'].path}}` : `{{$.outputs.parameters['${name}'].output_file}}`;
}

const TOKEN = /\{\{\s*(inputs|outputs)\.([A-Za-z0-9_-]+)\s*\}\}/g;

/**
 * Command and args with mlplane tokens turned into KFP placeholders; inputs and outputs the step
 * does not mention are passed as `--<name> <placeholder>` at the end of args (the convention of
 * KFP container components).
 */
function containerArgs(step: ContainerStepModel, ctx: SynthContext): { command: string[]; args: string[] } {
  const used = new Set<string>();
  const io = new Map<string, IoTypeModel>();
  for (const i of step.inputs) io.set(`inputs.${i.name}`, i.type);
  for (const o of step.outputs) io.set(`outputs.${o.name}`, o.type);
  const sub = (s: string) =>
    s.replace(TOKEN, (whole, kind: 'inputs' | 'outputs', name: string) => {
      const type = io.get(`${kind}.${name}`);
      if (!type) {
        ctx.problem(step.path, `'${whole}' names no ${kind === 'inputs' ? 'input' : 'output'} of step '${step.name}'; declared are ${[...io.keys()].join(', ') || 'none'}; fix the token`);
        return whole;
      }
      used.add(`${kind}.${name}`);
      return placeholderFor(kind, name, type);
    });
  const command = step.command.map(sub);
  const args = step.args.map(sub);
  for (const i of step.inputs) if (!used.has(`inputs.${i.name}`)) args.push(`--${i.name}`, placeholderFor('inputs', i.name, i.type));
  for (const o of step.outputs) if (!used.has(`outputs.${o.name}`)) args.push(`--${o.name}`, placeholderFor('outputs', o.name, o.type));
  return { command, args };
}

/** Lightweight Python component container, exactly as the SDK's `@dsl.component(packages_to_install=...)`. */
export function pythonContainer(functionName: string, source: string, packages: readonly string[]): KfpContainerSpec {
  const installs = [
    `python3 -m pip install --quiet --no-warn-script-location 'kfp==${KFP_SDK_VERSION}' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<"3.9"'`,
    ...(packages.length > 0 ? [`python3 -m pip install --quiet --no-warn-script-location ${packages.map((p) => `'${p}'`).join(' ')}`] : []),
  ].join('  &&  ');
  return {
    args: ['--executor_input', '{{$}}', '--function_to_execute', functionName],
    command: [
      'sh',
      '-c',
      `\nif ! [ -x "$(command -v pip)" ]; then\n    python3 -m ensurepip || python3 -m ensurepip --user || apt-get install python3-pip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 ${installs} && "$0" "$@"\n`,
      'sh',
      '-ec',
      'program_path=$(mktemp -d)\n\nprintf "%s" "$0" > "$program_path/ephemeral_component.py"\n_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main                         --component_module_path                         "$program_path/ephemeral_component.py"                         "$@"\n',
      `\nimport kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\n${source}\n`,
    ],
    image: PYTHON_IMAGE,
  };
}

/** Google Cloud Pipeline Components launcher of Vertex custom jobs. */
const CUSTOM_JOB_LAUNCHER = 'google_cloud_pipeline_components.container.v1.custom_job.launcher';

/**
 * The container of a step that runs as a Vertex CustomJob, as GCPC's
 * `create_custom_training_job_from_component` compiles it: the launcher gets a CustomJob payload
 * whose worker pool runs the step's image with the step's command and args (KFP placeholders
 * inside are resolved by the pipeline backend; artifact paths are `/gcs/...` FUSE paths).
 */
function customJobContainer(
  ctx: SynthContext,
  pipeline: PipelineModel,
  task: string,
  step: ContainerStepModel,
  io: { command: readonly string[]; args: readonly string[]; env: readonly { name: string; value: string }[] },
  machine: MachineSpecBody | undefined,
  spot: boolean,
): KfpContainerSpec {
  const kms = ctx.vertexKey();
  const payload = sortDeep({
    display_name: `${pipelineName(ctx, pipeline.path)}-${task}`.slice(-128),
    job_spec: {
      worker_pool_specs: [
        {
          container_spec: {
            image_uri: step.image,
            ...(io.command.length > 0 ? { command: io.command } : {}),
            ...(io.args.length > 0 ? { args: io.args } : {}),
            ...(io.env.length > 0 ? { env: io.env } : {}),
          },
          machine_spec: machine
            ? {
                machine_type: machine.machineType,
                ...(machine.acceleratorType ? { accelerator_type: machine.acceleratorType, accelerator_count: machine.acceleratorCount } : {}),
              }
            : { machine_type: 'n1-standard-4' },
          replica_count: 1,
        },
      ],
      scheduling: {
        ...(step.timeoutSeconds !== undefined ? { timeout: `${step.timeoutSeconds}s` } : {}),
        ...(spot ? { strategy: 'SPOT' } : {}),
      },
      service_account: ctx.serviceAccountEmail(pipeline.path),
      ...(ctx.settings.network ? { network: ctx.settings.network } : {}),
    },
    labels: ctx.labels(step.path),
    ...(kms ? { encryption_spec: { kms_key_name: kms.kmsKeyName } } : {}),
  });
  return {
    args: [
      '--type',
      'CustomJob',
      '--payload',
      JSON.stringify(payload),
      '--project',
      ctx.settings.project,
      '--location',
      ctx.settings.region,
      '--gcp_resources',
      "{{$.outputs.parameters['gcp_resources'].output_file}}",
    ],
    command: ['python3', '-u', '-m', CUSTOM_JOB_LAUNCHER],
    image: GCPC_IMAGE,
  };
}

/** Compiles the steps of one pipeline into a DAG. */
class StepCompiler {
  private readonly taskNames = new Map<string, string>();
  private readonly importers = new Map<string, string>();

  constructor(
    private readonly ctx: SynthContext,
    private readonly pipeline: PipelineModel,
    private readonly build: DagBuild,
    private readonly param: ParamRef,
  ) {
    const seen = new Map<string, string>();
    for (const step of pipeline.steps) {
      const task = dnsName(step.name);
      const clash = seen.get(task);
      if (clash !== undefined) {
        ctx.problem(step.path, `step '${step.name}' and step '${clash}' both become KFP task '${task}'; rename one of them`);
      }
      seen.set(task, step.name);
      this.taskNames.set(step.name, task);
    }
  }

  /** Compile every step. */
  public compile(): void {
    for (const step of this.pipeline.steps) this.step(step);
  }

  private task(step: string): string {
    return this.taskNames.get(step) ?? dnsName(step);
  }

  private step(step: StepModel): void {
    switch (step.kind) {
      case 'container':
        return this.container(step);
      case 'register':
        return this.register(step);
      default: {
        const never: never = step;
        throw new Error(`unhandled step kind ${(never as StepModel).kind}`);
      }
    }
  }

  /** An importer task bringing a dataset of the environment in as a `system.Dataset` artifact. */
  private importer(datasetPath: string, from: string): string | undefined {
    const existing = this.importers.get(datasetPath);
    if (existing) return existing;
    const dataset = this.ctx.resource(datasetPath, 'dataset', from);
    if (!dataset) return undefined;
    const task = `importer-${dnsName(dataset.id, 100)}`;
    if ([...this.taskNames.values()].includes(task)) {
      this.ctx.problem(from, `the importer task for dataset '${datasetPath}' would be named '${task}', like a step of the pipeline; rename that step`);
    }
    const uri = this.ctx.datasetUri(dataset);
    this.build.components[`comp-${task}`] = {
      executorLabel: `exec-${task}`,
      inputDefinitions: { parameters: { uri: { parameterType: 'STRING' } } },
      outputDefinitions: { artifacts: { artifact: { artifactType: artifactType('dataset') } } },
    };
    this.build.executors[`exec-${task}`] = {
      // A constant URI: the SDK writes it into the executor and passes it as the task's `uri` too.
      importer: { artifactUri: { constant: uri }, typeSchema: artifactType('dataset') },
    };
    this.build.tasks[task] = {
      cachingOptions: caching(true),
      componentRef: { name: `comp-${task}` },
      inputs: { parameters: { uri: { runtimeValue: { constant: uri } } } },
      taskInfo: { name: task },
    };
    this.importers.set(datasetPath, task);
    return task;
  }

  private outputOf(stepName: string, output: string): IoTypeModel | undefined {
    const producer = this.pipeline.steps.find((s) => s.name === stepName);
    if (producer?.kind === 'container') return producer.outputs.find((o) => o.name === output)?.type;
    return undefined;
  }

  private container(step: ContainerStepModel): void {
    const task = this.task(step.name);
    const inputDefs: { parameters: Record<string, KfpInputParameterSpec>; artifacts: Record<string, { artifactType: KfpArtifactType }> } = {
      parameters: {},
      artifacts: {},
    };
    const params: Record<string, KfpTaskParameterInput> = {};
    const arts: Record<string, KfpTaskArtifactInput> = {};
    const deps = new Set(step.dependsOn.map((d) => this.task(d)));
    for (const input of step.inputs) {
      const src = input.source;
      if (isArtifact(input.type)) {
        inputDefs.artifacts[input.name] = { artifactType: artifactType(input.type.type) };
        if (src.kind === 'step') {
          const produced = this.outputOf(src.step, src.output);
          if (produced && !isArtifact(produced)) {
            this.ctx.problem(step.path, `input '${input.name}' is an artifact but '${src.step}.${src.output}' is a parameter; make both artifacts or both parameters`);
          }
          arts[input.name] = { taskOutputArtifact: { outputArtifactKey: src.output, producerTask: this.task(src.step) } };
          deps.add(this.task(src.step));
        } else if (src.kind === 'dataset') {
          const imp = this.importer(src.dataset, step.path);
          if (imp) {
            arts[input.name] = { taskOutputArtifact: { outputArtifactKey: 'artifact', producerTask: imp } };
            deps.add(imp);
          }
        } else {
          this.ctx.problem(step.path, `input '${input.name}' is an artifact but is fed from a ${src.kind}; feed artifacts from a step output or a dataset`);
        }
      } else {
        inputDefs.parameters[input.name] = { parameterType: parameterType(input.type.type) };
        switch (src.kind) {
          case 'step':
            params[input.name] = { taskOutputParameter: { outputParameterKey: src.output, producerTask: this.task(src.step) } };
            deps.add(this.task(src.step));
            break;
          case 'parameter':
            params[input.name] = this.param(src.parameter);
            break;
          case 'value':
            params[input.name] = { runtimeValue: { constant: src.value } };
            break;
          case 'dataset': {
            const ds = this.ctx.resource(src.dataset, 'dataset', step.path);
            if (ds) params[input.name] = { runtimeValue: { constant: this.ctx.datasetUri(ds) } };
            break;
          }
          default: {
            const never: never = src;
            throw new Error(`unhandled input source ${JSON.stringify(never)}`);
          }
        }
      }
    }
    const outputDefs: {
      parameters: Record<string, { parameterType: KfpParameterType }>;
      artifacts: Record<string, { artifactType: KfpArtifactType }>;
    } = { parameters: {}, artifacts: {} };
    for (const out of step.outputs) {
      if (isArtifact(out.type)) outputDefs.artifacts[out.name] = { artifactType: artifactType(out.type.type) };
      else outputDefs.parameters[out.name] = { parameterType: parameterType(out.type.type) };
    }
    let resources = step.resources;
    const pool = step.compute ? this.ctx.resource(step.compute, 'computePool', step.path) : undefined;
    if (pool && !resources.accelerator && pool.node.accelerator) resources = { ...resources, accelerator: pool.node.accelerator };
    const { command, args } = containerArgs(step, this.ctx);
    const env = Object.keys(step.env)
      .sort()
      .map((name) => ({ name, value: step.env[name] as string }));
    const fit = machineSpec(resources);
    if ('problem' in fit) this.ctx.problem(step.path, fit.problem);
    const spot = pool?.spot === true;
    let executor: KfpExecutorSpec;
    if (step.timeoutSeconds !== undefined || spot) {
      // Vertex AI Pipelines container tasks have neither a timeout nor spot capacity; a Vertex
      // CustomJob has both, so the step runs as one through the GCPC custom job launcher.
      if ('gcp_resources' in outputDefs.parameters || 'gcp_resources' in outputDefs.artifacts) {
        this.ctx.problem(step.path, `output name 'gcp_resources' is reserved on gcp for steps that run as Vertex custom jobs; rename the output`);
      }
      for (const name of Object.keys(outputDefs.parameters)) {
        this.ctx.problem(
          step.path,
          `output '${name}' is a parameter, but the step runs as a Vertex custom job (it has a timeout or runs on a spot pool) and custom jobs can only write artifacts; make '${name}' an artifact output, or drop the timeout and the spot pool`,
        );
      }
      outputDefs.parameters.gcp_resources = { parameterType: 'STRING' };
      executor = { container: customJobContainer(this.ctx, this.pipeline, task, step, { command, args, env }, 'problem' in fit ? undefined : fit, spot) };
    } else {
      const res = containerResources(this.ctx, resources, step.path);
      executor = {
        container: {
          image: step.image,
          ...(command.length > 0 ? { command } : {}),
          ...(args.length > 0 ? { args } : {}),
          ...(env.length > 0 ? { env } : {}),
          ...(res ? { resources: res } : {}),
        },
      };
    }
    this.build.components[`comp-${task}`] = {
      executorLabel: `exec-${task}`,
      ...inputsSpec(inputDefs),
      ...outputsSpec(outputDefs),
    };
    this.build.executors[`exec-${task}`] = executor;
    this.build.tasks[task] = {
      cachingOptions: caching(step.caching),
      componentRef: { name: `comp-${task}` },
      ...(deps.size > 0 ? { dependentTasks: [...deps].sort() } : {}),
      ...taskInputs(params, arts),
      ...(step.retries > 0 ? { retryPolicy: retryPolicy(step.retries) } : {}),
      taskInfo: { name: task },
    };
  }

  private register(step: RegisterStepModel): void {
    const task = this.task(step.name);
    const registry = this.ctx.resource(step.registry, 'modelRegistry', step.path);
    const model = registry?.models.find((m) => m.name === step.model);
    if (registry && !model) {
      this.ctx.problem(step.path, `registers model '${step.model}', which registry '${step.registry}' does not declare; declared are ${registry.models.map((m) => `'${m.name}'`).join(', ') || 'none'}`);
    }
    if (step.timeoutSeconds !== undefined) {
      this.ctx.problem(step.path, `register steps cannot have a timeout on gcp (timeoutSeconds ${step.timeoutSeconds}); remove it`);
    }
    const deps = new Set(step.dependsOn.map((d) => this.task(d)));
    deps.add(this.task(step.artifact.step));
    const arts: Record<string, KfpTaskArtifactInput> = {
      model: { taskOutputArtifact: { outputArtifactKey: step.artifact.output, producerTask: this.task(step.artifact.step) } },
    };
    const artifacts: Record<string, { artifactType: KfpArtifactType; isOptional?: boolean }> = { model: { artifactType: artifactType('model') } };
    artifacts.metrics = { artifactType: artifactType('metrics'), isOptional: true };
    if (step.metrics) {
      arts.metrics = { taskOutputArtifact: { outputArtifactKey: step.metrics.output, producerTask: this.task(step.metrics.step) } };
      deps.add(this.task(step.metrics.step));
    } else if (step.gate) {
      this.ctx.problem(step.path, `the promotion gate on metric '${step.gate.metric}' needs a metrics artifact; pass metrics to the register step`);
    }
    const config = registerConfig(this.ctx, step, model?.serving.image);
    this.build.components[`comp-${task}`] = {
      executorLabel: `exec-${task}`,
      inputDefinitions: { artifacts, parameters: { config: { parameterType: 'STRING' } } },
      outputDefinitions: { parameters: { Output: { parameterType: 'STRING' } } },
    };
    this.build.executors[`exec-${task}`] = { container: pythonContainer('register', REGISTER_SOURCE, [AIPLATFORM_PACKAGE]) };
    this.build.tasks[task] = {
      cachingOptions: caching(step.caching),
      componentRef: { name: `comp-${task}` },
      dependentTasks: [...deps].sort(),
      inputs: { artifacts: arts, parameters: { config: { runtimeValue: { constant: config } } } },
      ...(step.retries > 0 ? { retryPolicy: retryPolicy(step.retries) } : {}),
      taskInfo: { name: task },
    };
  }
}

/** The JSON configuration the register component reads. */
function registerConfig(ctx: SynthContext, step: RegisterStepModel, servingImage: string | undefined): string {
  const registry = ctx.model.resources.find((r) => r.path === step.registry);
  const model = registry?.kind === 'modelRegistry' ? registry.models.find((m) => m.name === step.model) : undefined;
  const cfg = {
    project: ctx.settings.project,
    location: ctx.settings.region,
    model_id: dnsName(`${ctx.envLabel}-${step.model}`, 63),
    display_name: step.model,
    promote_to: step.promoteTo ?? '',
    gate: step.gate
      ? {
          metric: step.gate.metric,
          comparison: step.gate.comparison,
          against_alias: step.gate.against.kind === 'alias' ? step.gate.against.alias : '',
          against_value: step.gate.against.kind === 'value' ? step.gate.against.value : null,
          min_delta: step.gate.minDelta,
        }
      : null,
    serving: model
      ? {
          image: servingImage ?? model.serving.image,
          port: model.serving.port,
          predict_route: model.serving.predictRoute,
          health_route: model.serving.healthRoute,
          env: Object.fromEntries(Object.keys(model.serving.env).sort().map((k) => [k, model.serving.env[k] as string])),
        }
      : null,
    // Versions carry the registered model's labels, so the engine keeps finding the model by them.
    labels: ctx.labels(model?.path ?? step.path),
    kms_key_name: ctx.vertexKey()?.kmsKeyName ?? '',
  };
  return JSON.stringify(sortDeep(cfg));
}

/** A deep copy with sorted object keys (stable constants inside the spec). */
function sortDeep(value: unknown): JsonValue {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortDeep((value as Record<string, unknown>)[k]);
    return out;
  }
  return value as JsonValue;
}

function inputsSpec(defs: {
  parameters: Record<string, KfpInputParameterSpec>;
  artifacts: Record<string, { artifactType: KfpArtifactType }>;
}): { inputDefinitions?: KfpInputsSpec } {
  const out: { parameters?: typeof defs.parameters; artifacts?: typeof defs.artifacts } = {};
  if (Object.keys(defs.parameters).length > 0) out.parameters = defs.parameters;
  if (Object.keys(defs.artifacts).length > 0) out.artifacts = defs.artifacts;
  return Object.keys(out).length > 0 ? { inputDefinitions: out } : {};
}

function outputsSpec(defs: {
  parameters: Record<string, { parameterType: KfpParameterType }>;
  artifacts: Record<string, { artifactType: KfpArtifactType }>;
}): { outputDefinitions?: KfpOutputsSpec } {
  const out: { parameters?: typeof defs.parameters; artifacts?: typeof defs.artifacts } = {};
  if (Object.keys(defs.parameters).length > 0) out.parameters = defs.parameters;
  if (Object.keys(defs.artifacts).length > 0) out.artifacts = defs.artifacts;
  return Object.keys(out).length > 0 ? { outputDefinitions: out } : {};
}

function taskInputs(params: Record<string, KfpTaskParameterInput>, arts: Record<string, KfpTaskArtifactInput>): Pick<KfpTaskSpec, 'inputs'> {
  const inputs: { parameters?: Record<string, KfpTaskParameterInput>; artifacts?: Record<string, KfpTaskArtifactInput> } = {};
  if (Object.keys(params).length > 0) inputs.parameters = params;
  if (Object.keys(arts).length > 0) inputs.artifacts = arts;
  return Object.keys(inputs).length > 0 ? { inputs } : {};
}

/** Root input definitions of a pipeline's parameters. */
function pipelineParameters(pipeline: PipelineModel): Record<string, KfpInputParameterSpec> {
  const out: Record<string, KfpInputParameterSpec> = {};
  for (const p of pipeline.parameters) {
    out[p.name] = {
      parameterType: parameterType(p.type),
      ...(p.default !== undefined ? { defaultValue: p.default, isOptional: true } : {}),
      ...(p.description ? { description: p.description } : {}),
    };
  }
  return out;
}

/** KFP pipeline name of a pipeline-like construct. */
export function pipelineName(ctx: SynthContext, path: string): string {
  return dnsName(`${ctx.envLabel}-${path.split('/').slice(1).join('-')}`, 128);
}

function spec(
  name: string,
  description: string | undefined,
  pipelineRoot: string,
  build: DagBuild,
  root: KfpComponentSpec & { dag: { tasks: Record<string, KfpTaskSpec> } },
): PipelineSpec {
  return {
    components: build.components,
    // As `@dsl.pipeline(pipeline_root=...)` writes it; Vertex runs use runtimeConfig.gcsOutputDirectory.
    defaultPipelineRoot: pipelineRoot,
    deploymentSpec: { executors: build.executors },
    pipelineInfo: { name, ...(description ? { description } : {}) },
    root,
    schemaVersion: '2.1.0',
    sdkVersion: `kfp-${KFP_SDK_VERSION}`,
  };
}

/** Compile a pipeline of the model into a PipelineSpec. */
export function compilePipeline(ctx: SynthContext, pipeline: PipelineModel): PipelineSpec {
  const build = newBuild();
  for (const p of pipeline.parameters) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name)) {
      ctx.problem(pipeline.path, `parameter name '${p.name}' is not a valid KFP input name (letters, digits, '_', not starting with a digit); rename it`);
    }
  }
  new StepCompiler(ctx, pipeline, build, (name) => ({ componentInputParameter: name })).compile();
  const params = pipelineParameters(pipeline);
  return spec(pipelineName(ctx, pipeline.path), pipeline.description, ctx.pipelineRoot(pipeline.path), build, {
    dag: { tasks: build.tasks },
    ...(Object.keys(params).length > 0 ? { inputDefinitions: { parameters: params } } : {}),
  });
}

/**
 * Compile a batch inference into a one-task pipeline running a Vertex batch prediction job through
 * Google Cloud Pipeline Components (`ModelBatchPredictOp`'s launcher).
 */
export function compileBatchPipeline(ctx: SynthContext, batch: BatchInferenceModel, modelResource: string): PipelineSpec {
  const build = newBuild();
  const task = 'model-batch-predict';
  const inputDs = ctx.resource(batch.input, 'dataset', batch.path);
  const outputDs = ctx.resource(batch.output, 'dataset', batch.path);
  const pool = batch.compute ? ctx.resource(batch.compute, 'computePool', batch.path) : undefined;
  const resources = pool?.node.accelerator && !batch.resources.accelerator ? { ...batch.resources, accelerator: pool.node.accelerator } : batch.resources;
  if (pool?.spot) {
    ctx.warn('batch-spot-on-demand', batch.path, `compute pool '${pool.path}' is spot, but Vertex batch prediction jobs have no spot option; the job runs on on-demand capacity`);
  }
  const fit = machineSpec(resources);
  if ('problem' in fit) ctx.problem(batch.path, fit.problem);
  const machine = 'problem' in fit ? { machineType: 'n1-standard-4' } : fit;
  const kms = ctx.vertexKey();
  const payload = sortDeep({
    display_name: dnsName(`${ctx.envLabel}-${batch.id}`, 128),
    model: modelResource,
    input_config: { instances_format: 'bigquery', bigquery_source: { input_uri: inputDs ? ctx.tableUri(ctx.tableId(inputDs)) : '' } },
    output_config: {
      predictions_format: 'bigquery',
      bigquery_destination: { output_uri: `bq://${ctx.settings.project}.${ctx.bqDatasetId}` },
    },
    dedicated_resources: {
      machine_spec: {
        machine_type: machine.machineType,
        ...(machine.acceleratorType ? { accelerator_type: machine.acceleratorType, accelerator_count: machine.acceleratorCount } : {}),
      },
      starting_replica_count: batch.instanceCount,
      max_replica_count: batch.instanceCount,
    },
    manual_batch_tuning_parameters: { batch_size: batch.miniBatchSize },
    service_account: ctx.serviceAccountEmail(batch.path),
    labels: { ...ctx.labels(batch.path), 'mlplane-output': labelValue(outputDs ? ctx.tableId(outputDs).toLowerCase() : 'none') },
    ...(kms ? { encryption_spec: { kms_key_name: kms.kmsKeyName } } : {}),
  });
  build.components[`comp-${task}`] = {
    executorLabel: `exec-${task}`,
    inputDefinitions: {
      parameters: {
        location: { parameterType: 'STRING', defaultValue: ctx.settings.region, isOptional: true },
        project: { parameterType: 'STRING', defaultValue: '{{$.pipeline_google_cloud_project_id}}', isOptional: true },
      },
    },
    outputDefinitions: { parameters: { gcp_resources: { parameterType: 'STRING' } } },
  };
  build.executors[`exec-${task}`] = {
    container: {
      args: [
        '--type',
        'BatchPredictionJob',
        '--payload',
        JSON.stringify(payload),
        '--project',
        "{{$.inputs.parameters['project']}}",
        '--location',
        "{{$.inputs.parameters['location']}}",
        '--gcp_resources',
        "{{$.outputs.parameters['gcp_resources'].output_file}}",
      ],
      command: ['python3', '-u', '-m', 'google_cloud_pipeline_components.container.v1.batch_prediction_job.launcher'],
      image: GCPC_IMAGE,
    },
  };
  build.tasks[task] = {
    cachingOptions: caching(false),
    componentRef: { name: `comp-${task}` },
    inputs: { parameters: { location: { runtimeValue: { constant: ctx.settings.region } }, project: { runtimeValue: { constant: ctx.settings.project } } } },
    ...(batch.retries > 0 ? { retryPolicy: retryPolicy(batch.retries) } : {}),
    taskInfo: { name: task },
  };
  if (batch.timeoutSeconds !== undefined) {
    ctx.warn('batch-timeout', batch.path, `timeout ${batch.timeoutSeconds}s is not enforced: Vertex batch prediction jobs have no timeout field; the pipeline run ends when the job does`);
  }
  return spec(pipelineName(ctx, batch.path), batch.description, ctx.pipelineRoot(batch.path), build, { dag: { tasks: build.tasks } });
}

/** Channel name KFP uses for a value passed into a sub-DAG. */
function channel(name: string): string {
  return `pipelinechannel--${name}`;
}

/**
 * Compile the drift gate of a monitor: a `check-drift` task reads the monitoring job's anomalies
 * (and the retraining cooldown) and a `condition-1` sub-DAG holding the training pipeline's tasks
 * runs only when it answers `true` — the structure the KFP compiler gives `dsl.If`.
 */
export function compileDriftGatePipeline(ctx: SynthContext, monitor: DriftMonitorModel, training: PipelineModel, deployedModelIds: readonly string[]): PipelineSpec {
  const build = newBuild();
  const inner = newBuild();
  new StepCompiler(ctx, training, inner, (name) => ({ componentInputParameter: channel(name) })).compile();
  Object.assign(build.components, inner.components);
  Object.assign(build.executors, inner.executors);
  const config = JSON.stringify(
    sortDeep({
      project: ctx.settings.project,
      location: ctx.settings.region,
      monitor_label: labelValue(monitor.path),
      env_label: ctx.envLabel,
      deployed_model_ids: [...deployedModelIds],
      lookback_seconds: monitor.lookbackDays * 86400,
      cooldown_seconds: monitor.onDrift?.cooldownSeconds ?? 0,
      gate_label: labelValue(`${monitor.path}/gate`),
    }),
  );
  build.components['comp-check-drift'] = {
    executorLabel: 'exec-check-drift',
    inputDefinitions: { parameters: { config: { parameterType: 'STRING' } } },
    outputDefinitions: { parameters: { Output: { parameterType: 'STRING' } } },
  };
  build.executors['exec-check-drift'] = { container: pythonContainer('check_drift', CHECK_DRIFT_SOURCE, [AIPLATFORM_PACKAGE]) };
  const driftOut = channel('check-drift-Output');
  const conditionParams: Record<string, KfpInputParameterSpec> = { [driftOut]: { parameterType: 'STRING' } };
  const conditionInputs: Record<string, KfpTaskParameterInput> = {
    [driftOut]: { taskOutputParameter: { outputParameterKey: 'Output', producerTask: 'check-drift' } },
  };
  for (const p of training.parameters) {
    conditionParams[channel(p.name)] = { parameterType: parameterType(p.type) };
    conditionInputs[channel(p.name)] = { componentInputParameter: p.name };
  }
  build.components['comp-condition-1'] = { dag: { tasks: inner.tasks }, inputDefinitions: { parameters: conditionParams } };
  build.tasks['check-drift'] = {
    cachingOptions: caching(false),
    componentRef: { name: 'comp-check-drift' },
    inputs: { parameters: { config: { runtimeValue: { constant: config } } } },
    taskInfo: { name: 'check-drift' },
  };
  build.tasks['condition-1'] = {
    componentRef: { name: 'comp-condition-1' },
    dependentTasks: ['check-drift'],
    inputs: { parameters: conditionInputs },
    taskInfo: { name: 'condition-1' },
    triggerPolicy: { condition: `inputs.parameter_values['${driftOut}'] == 'true'` },
  };
  const params = pipelineParameters(training);
  return spec(pipelineName(ctx, `${monitor.path}/retrain`), `Retrain '${training.path}' when '${monitor.path}' reports drift`, ctx.pipelineRoot(`${monitor.path}/gate`), build, {
    dag: { tasks: build.tasks },
    ...(Object.keys(params).length > 0 ? { inputDefinitions: { parameters: params } } : {}),
  });
}
