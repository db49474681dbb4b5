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
  StepConditionModel,
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
import { splitPlaceholders } from '../../lib/model/placeholders';
import { rolloutTargets } from './alias';
import { dataInputName, FINGERPRINT_SOURCE } from './fingerprint';
import { CHECK_DRIFT_SOURCE, EXPORT_DATASET_SOURCE, READ_METRIC_SOURCE, REGISTER_SOURCE } from './python-components';
import { GCP_SECRET_MANAGER_WRAPPER } from '../shared/secret-fetch';

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

/** Channel name KFP uses for a value passed into a sub-DAG (`pipelinechannel--<task>-<output>`). */
function channel(name: string): string {
  return `pipelinechannel--${name}`;
}

/**
 * The KFP placeholder of a step input or output (docs/step-contract.md, "Where each target takes
 * it"): artifacts as the local `.path` of the artifact (`/gcs/…` through Cloud Storage FUSE, a
 * directory), input parameters as their value, output parameters as the file the step writes.
 */
function placeholderFor(kind: 'inputs' | 'outputs', name: string, type: IoTypeModel): string {
  if (kind === 'inputs') return isArtifact(type) ? `{{$.inputs.artifacts['${name}'].path}}` : `{{$.inputs.parameters['${name}']}}`;
  return isArtifact(type) ? `{{$.outputs.artifacts['${name}'].path}}` : `{{$.outputs.parameters['${name}'].output_file}}`;
}

/** Component input a `{{params.<name>}}` placeholder reads (cannot clash with a step input name). */
export function paramInputName(name: string): string {
  return channel(name);
}

/** Any `{{…}}` left in literal text: not a placeholder mlplane knows. */
const TOKEN = /\{\{[^}]*\}\}/g;

/** Command, args and env of a step with mlplane placeholders turned into KFP placeholders. */
interface ResolvedIo {
  readonly command: string[];
  readonly args: string[];
  /** Env vars without placeholders, `$` escaped against `$(VAR)` expansion. */
  readonly env: { name: string; value: string }[];
  /** Env vars whose values hold placeholders (KFP placeholders inside), plain and `$`-escaped. */
  readonly dynamicEnv: { name: string; value: string; escaped: string }[];
  /** Pipeline parameters named by `{{params.<name>}}`. */
  readonly params: Set<string>;
}

/**
 * Translate the step's placeholders (docs/step-contract.md, "What the step sees"). Nothing is
 * appended: an input or output no placeholder names is still wired, but the step is not told
 * where it is. A token that names nothing fails synth.
 */
function resolveIo(step: ContainerStepModel, pipeline: PipelineModel, ctx: SynthContext): ResolvedIo {
  const io = new Map<string, IoTypeModel>();
  for (const i of step.inputs) io.set(`inputs.${i.name}`, i.type);
  for (const o of step.outputs) io.set(`outputs.${o.name}`, o.type);
  const params = new Set<string>();
  const declared = () => [...io.keys(), ...pipeline.parameters.map((p) => `params.${p.name}`)].join(', ') || 'none declared';
  const unresolvable = (where: string, token: string) =>
    ctx.problem(step.path, `${where}: placeholder '${token}' cannot be resolved on gcp; use {{inputs.<name>}}, {{outputs.<name>}} or {{params.<name>}} with a declared name (${declared()})`);
  const sub = (word: string, where: string, escape: boolean) =>
    splitPlaceholders(word)
      .map((part) => {
        if (part.kind === 'text') {
          for (const m of part.text.matchAll(TOKEN)) unresolvable(where, m[0]);
          return escape ? escapeEnv(part.text) : part.text;
        }
        const token = `{{${part.kind}.${part.name}}}`;
        if (part.kind === 'params') {
          const p = pipeline.parameters.find((x) => x.name === part.name);
          if (!p) {
            ctx.problem(step.path, `${where}: '${token}' names no parameter of pipeline '${pipeline.path}'; declared are ${pipeline.parameters.map((x) => x.name).join(', ') || 'none'}; fix the placeholder`);
            return token;
          }
          params.add(p.name);
          return `{{$.inputs.parameters['${paramInputName(p.name)}']}}`;
        }
        const type = io.get(`${part.kind}.${part.name}`);
        if (!type) {
          unresolvable(where, token);
          return token;
        }
        return placeholderFor(part.kind, part.name, type);
      })
      .join('');
  const command = step.command.map((c, i) => sub(c, `command[${i}]`, false));
  const args = step.args.map((a, i) => sub(a, `args[${i}]`, false));
  const env: { name: string; value: string }[] = [];
  const dynamicEnv: { name: string; value: string; escaped: string }[] = [];
  for (const name of Object.keys(step.env).sort()) {
    const raw = step.env[name] as string;
    if (splitPlaceholders(raw).some((p) => p.kind !== 'text')) dynamicEnv.push({ name, value: sub(raw, `env ${name}`, false), escaped: sub(raw, `env ${name}`, true) });
    else env.push({ name, value: sub(raw, `env ${name}`, true) });
  }
  return { command, args, env, dynamicEnv, params };
}

/**
 * An env value with `$` doubled: Vertex and Kubernetes expand `$(VAR)` in env values and turn `$$`
 * into `$`, so doubling every `$` delivers the value exactly as written.
 *
 * @see https://cloud.google.com/vertex-ai/docs/reference/rest/v1/EnvVar
 */
function escapeEnv(value: string): string {
  return value.replace(/\$/g, '$$$$');
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

/**
 * A DAG of the compiled pipeline: the compile root (`n` 0) or a condition group `condition-<n>`
 * (the sub-DAG the KFP compiler gives a `dsl.If`), nested once per condition a step runs under.
 */
interface Group {
  readonly n: number;
  readonly parent?: Group;
  readonly condition?: StepConditionModel;
  readonly children: Map<string, Group>;
  readonly tasks: Record<string, KfpTaskSpec>;
  /** Inputs of the group's component (`pipelinechannel--…`) and how its task feeds them. */
  readonly inputParams: Record<string, KfpInputParameterSpec>;
  readonly inputArtifacts: Record<string, { artifactType: KfpArtifactType }>;
  readonly feedParams: Record<string, KfpTaskParameterInput>;
  readonly feedArtifacts: Record<string, KfpTaskArtifactInput>;
  readonly deps: Set<string>;
  triggerCondition?: string;
}

function newGroup(n: number, tasks: Record<string, KfpTaskSpec>, parent?: Group, condition?: StepConditionModel): Group {
  return { n, parent, condition, children: new Map(), tasks, inputParams: {}, inputArtifacts: {}, feedParams: {}, feedArtifacts: {}, deps: new Set() };
}

/** Where a parameter a task reads comes from. */
type ParamSource =
  | { readonly kind: 'task'; readonly task: string; readonly key: string; readonly type: KfpParameterType; readonly group: Group }
  | { readonly kind: 'pipeline'; readonly name: string; readonly type: KfpParameterType };

/** Where an artifact a task reads comes from. */
interface ArtifactSource {
  readonly task: string;
  readonly key: string;
  readonly type: KfpArtifactType;
  readonly group: Group;
}

/** Whether `inner` is `outer` or nested inside it. */
function within(inner: Group, outer: Group): boolean {
  for (let g: Group | undefined = inner; g; g = g.parent) if (g === outer) return true;
  return false;
}

/** Identity of a condition regardless of the step that declared it. */
function conditionKey(c: StepConditionModel): string {
  return JSON.stringify([c.operand, c.op, c.value]);
}

/** How a condition reads in an error message. */
function describeCondition(c: StepConditionModel): string {
  const o = c.operand;
  const lhs = o.kind === 'parameter' ? `parameter ${o.parameter}` : o.kind === 'metric' ? `metric ${o.metric} of ${o.step}.${o.output}` : `${o.step}.${o.output}`;
  return `${lhs} ${c.op} ${JSON.stringify(c.value)}`;
}

/** A CEL string literal. */
function celString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** A CEL double literal (always with a `.` or an exponent, so CEL never reads it as an int). */
function celDouble(n: number): string {
  const s = String(n);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * The `triggerPolicy.condition` of a condition group, as the KFP compiler writes `dsl.If`
 * (`_resolve_condition_operands`): CEL over `inputs.parameter_values['<channel>']`, integers cast
 * with `int(…)` (parameter values are JSON numbers), an int compared with a float as `double(…)`.
 *
 * @see ../shared/conformance/kfp/golden/essential__pipeline_with_condition.yaml
 */
function celCondition(c: StepConditionModel, input: string, type: ParameterTypeName): { cel: string } | { problem: string } {
  const lhs = `inputs.parameter_values['${input}']`;
  const v = c.value;
  const ordered = c.op !== '==' && c.op !== '!=';
  switch (type) {
    case 'string':
      if (typeof v !== 'string') return { problem: `compares a string with ${JSON.stringify(v)}; compare with a string` };
      if (ordered) return { problem: `uses '${c.op}' on a string; strings compare with == and != only` };
      return { cel: `${lhs} ${c.op} ${celString(v)}` };
    case 'bool':
      if (typeof v !== 'boolean') return { problem: `compares a boolean with ${JSON.stringify(v)}; compare with true or false` };
      if (ordered) return { problem: `uses '${c.op}' on a boolean; booleans compare with == and != only` };
      return { cel: `${lhs} ${c.op} ${v}` };
    case 'int':
    case 'float': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return { problem: `compares a number with ${JSON.stringify(v)}; compare with a finite number` };
      if (type === 'int') return Number.isInteger(v) ? { cel: `int(${lhs}) ${c.op} ${v}` } : { cel: `double(int(${lhs})) ${c.op} ${celDouble(v)}` };
      return { cel: `${lhs} ${c.op} ${celDouble(v)}` };
    }
    default: {
      const never: never = type;
      throw new Error(`unhandled parameter type ${String(never)}`);
    }
  }
}

/** Pinned BigQuery client the dataset export component installs. */
export const BIGQUERY_PACKAGE = 'google-cloud-bigquery==3.25.0';

/** Cloud Storage client of the fingerprint component (external tables over gs:// files). */
export const STORAGE_PACKAGE = 'google-cloud-storage==2.18.2';

/** BigQuery `EXPORT DATA` formats of the dataset formats a step can receive. */
const EXPORT_FORMATS: ReadonlySet<string> = new Set(['parquet', 'csv', 'jsonl']);

/** Compiles the steps of one pipeline into a DAG (condition groups nested inside). */
class StepCompiler {
  private readonly taskNames = new Map<string, string>();
  private readonly usedNames = new Set<string>();
  private readonly groupOfTask = new Map<string, Group>();
  private readonly exports = new Map<string, ArtifactSource>();
  private readonly fingerprints = new Map<string, ParamSource>();
  private readonly readers = new Map<string, ParamSource>();
  private readonly conditionOrder = new Map<string, number>();
  private readonly groups: Group[] = [];
  private readonly root: Group;
  private nextGroup: number;

  constructor(
    private readonly ctx: SynthContext,
    private readonly pipeline: PipelineModel,
    private readonly build: DagBuild,
    private readonly param: ParamRef,
    firstGroup = 1,
    private readonly quiet = false,
  ) {
    this.root = newGroup(0, build.tasks);
    this.nextGroup = firstGroup;
    const seen = new Map<string, string>();
    const respelled: string[] = [];
    for (const step of pipeline.steps) {
      const task = dnsName(step.name);
      const clash = seen.get(task);
      if (clash !== undefined) {
        ctx.problem(step.path, `step '${step.name}' and step '${clash}' both become KFP task '${task}'; rename one of them`);
      }
      if (/^condition-\d+$/.test(task)) {
        ctx.problem(step.path, `step '${step.name}' would become KFP task '${task}', a name gcp keeps for condition groups (dsl.If sub-DAGs); rename the step`);
      }
      seen.set(task, step.name);
      this.taskNames.set(step.name, task);
      this.usedNames.add(task);
      if (task !== step.name) respelled.push(`${step.name} → ${task}`);
      for (const c of step.conditions) {
        const key = conditionKey(c);
        if (!this.conditionOrder.has(key)) this.conditionOrder.set(key, this.conditionOrder.size);
      }
    }
    if (respelled.length > 0) {
      this.warn(
        'task-names-respelled',
        pipeline.path,
        `KFP task names are lowercase DNS labels, so the Vertex console and run details show ${respelled.join(', ')}; caching is not affected (the KFP cache key does not include task names)`,
      );
    }
  }

  /** A warning, unless this compile repeats one already warned about (a drift gate's copy of a pipeline). */
  private warn(id: string, path: string, message: string): void {
    if (!this.quiet) this.ctx.warn(id, path, message);
  }

  /** Compile every step, then close the condition groups. */
  public compile(): void {
    for (const step of this.pipeline.steps) this.step(step);
    for (const g of this.groups) this.closeGroup(g);
  }

  private task(step: string): string {
    return this.taskNames.get(step) ?? dnsName(step);
  }

  /** A task name for a helper task, unique in the pipeline, never a step's name (`-2`, `-3`… when taken). */
  private helperName(base: string): string {
    let name = dnsName(base, 100);
    for (let i = 2; this.usedNames.has(name); i++) name = dnsName(`${base}-${i}`, 100);
    this.usedNames.add(name);
    return name;
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

  // ------------------------------------------------------------------------------------------
  // Condition groups

  /**
   * The group a step runs in: one nested `condition-<n>` per condition it runs under, outermost
   * first in the order conditions first appear in the pipeline (upstream conditions first).
   */
  private groupFor(step: StepModel): Group {
    const conditions = [...new Map(step.conditions.map((c) => [conditionKey(c), c])).values()].sort(
      (a, b) => (this.conditionOrder.get(conditionKey(a)) ?? 0) - (this.conditionOrder.get(conditionKey(b)) ?? 0),
    );
    let g = this.root;
    for (const c of conditions) {
      const key = conditionKey(c);
      let child = g.children.get(key);
      if (!child) {
        child = newGroup(this.nextGroup++, {}, g, c);
        g.children.set(key, child);
        this.groups.push(child);
        this.wireCondition(child, step);
      }
      g = child;
    }
    return g;
  }

  /** Feed a group the operand of its condition and write its `triggerPolicy`. */
  private wireCondition(g: Group, step: StepModel): void {
    const c = g.condition;
    const parent = g.parent;
    if (!c || !parent) return;
    let src: ParamSource | undefined;
    let type: ParameterTypeName;
    const o = c.operand;
    switch (o.kind) {
      case 'parameter': {
        const p = this.pipeline.parameters.find((x) => x.name === o.parameter);
        if (!p) {
          this.ctx.problem(step.path, `condition ${describeCondition(c)} reads parameter '${o.parameter}', which pipeline '${this.pipeline.path}' does not declare`);
          return;
        }
        type = p.type;
        src = { kind: 'pipeline', name: p.name, type: parameterType(p.type) };
        break;
      }
      case 'stepOutput': {
        type = o.type;
        const producer = this.groupOfTask.get(this.task(o.step));
        if (producer) src = { kind: 'task', task: this.task(o.step), key: o.output, type: parameterType(o.type), group: producer };
        break;
      }
      case 'metric':
        type = 'float';
        src = this.metricReader(o.step, o.output, o.metric);
        break;
      default: {
        const never: never = o;
        throw new Error(`unhandled condition operand ${JSON.stringify(never)}`);
      }
    }
    if (!src) {
      this.ctx.problem(step.path, `condition ${describeCondition(c)} reads step '${'step' in o ? o.step : ''}', which does not run before this step; make the condition read an upstream step`);
      return;
    }
    if (src.kind === 'task' && !within(parent, src.group)) {
      this.ctx.problem(step.path, this.nestingProblem(`condition ${describeCondition(c)} (declared on '${c.declaredOn}')`, parent, src.task, src.group));
      return;
    }
    const input = this.paramInto(g, src);
    const cel = celCondition(c, input, type);
    if ('problem' in cel) this.ctx.problem(step.path, `condition ${describeCondition(c)} (declared on '${c.declaredOn}') ${cel.problem}`);
    else g.triggerCondition = cel.cel;
  }

  /** The conditions of a group, outermost first. */
  private chain(g: Group): string {
    const out: string[] = [];
    for (let x: Group | undefined = g; x?.condition; x = x.parent) out.unshift(describeCondition(x.condition));
    return out.length > 0 ? out.join(' and then ') : 'no condition';
  }

  private nestingProblem(reader: string, g: Group, producer: string, pg: Group): string {
    return `${reader} reads '${producer}' across KFP condition groups: on gcp conditions nest like KFP dsl.If groups, outermost first, so a step can only read steps whose conditions are an outer part of its own; here the reader runs under ${this.chain(g)} and '${producer}' under ${this.chain(pg)}. This happens when a step joins branches that run under different conditions: declare the condition on a step after the join instead`;
  }

  /**
   * The group's input for `src`: `pipelinechannel--<task>-<key>` (or `pipelinechannel--<param>`)
   * fed by the parent group, exactly as the KFP compiler punches values into a `dsl.If`.
   */
  private paramInto(g: Group, src: ParamSource): string {
    const name = channel(src.kind === 'task' ? `${src.task}-${src.key}` : src.name);
    if (!g.inputParams[name]) {
      g.inputParams[name] = { parameterType: src.type };
      g.feedParams[name] = this.paramIn(g.parent as Group, src, g.deps);
    }
    return name;
  }

  /** How a task in group `g` reads parameter `src` (adding the dependency to `deps`). */
  private paramIn(g: Group, src: ParamSource, deps: Set<string>): KfpTaskParameterInput {
    if (src.kind === 'task' && src.group === g) {
      deps.add(src.task);
      return { taskOutputParameter: { outputParameterKey: src.key, producerTask: src.task } };
    }
    if (!g.parent) {
      if (src.kind === 'pipeline') return this.param(src.name);
      throw new Error(`task '${src.task}' is not visible from the pipeline root`);
    }
    return { componentInputParameter: this.paramInto(g, src) };
  }

  /** How a task in group `g` reads artifact `src` (adding the dependency to `deps`). */
  private artifactIn(g: Group, src: ArtifactSource, deps: Set<string>): KfpTaskArtifactInput {
    if (src.group === g) {
      deps.add(src.task);
      return { taskOutputArtifact: { outputArtifactKey: src.key, producerTask: src.task } };
    }
    if (!g.parent) throw new Error(`task '${src.task}' is not visible from the pipeline root`);
    const name = channel(`${src.task}-${src.key}`);
    if (!g.inputArtifacts[name]) {
      g.inputArtifacts[name] = { artifactType: src.type };
      g.feedArtifacts[name] = this.artifactIn(g.parent, src, g.deps);
    }
    return { componentInputArtifact: name };
  }

  /** Order a task of group `g` after `producer` (order-only: `dependentTasks` on the task or on its enclosing group). */
  private after(g: Group, producer: string, producerGroup: Group, deps: Set<string>): void {
    if (producerGroup === g) deps.add(producer);
    else if (g.parent) this.after(g.parent, producer, producerGroup, g.deps);
  }

  /** The group of an upstream step's task, or a problem when the step cannot see it. */
  private upstream(step: StepModel, g: Group, producerStep: string): Group | undefined {
    const task = this.task(producerStep);
    const pg = this.groupOfTask.get(task);
    if (!pg) {
      this.ctx.problem(step.path, `reads step '${producerStep}', which is not a step before it in pipeline '${this.pipeline.path}'`);
      return undefined;
    }
    if (!within(g, pg)) {
      this.ctx.problem(step.path, this.nestingProblem(`step '${step.name}'`, g, producerStep, pg));
      return undefined;
    }
    return pg;
  }

  /** Write the component and the task of a condition group. */
  private closeGroup(g: Group): void {
    const parent = g.parent;
    if (!parent) return;
    const name = `condition-${g.n}`;
    this.build.components[`comp-${name}`] = {
      dag: { tasks: g.tasks },
      ...inputsSpec({ parameters: g.inputParams, artifacts: g.inputArtifacts }),
    };
    parent.tasks[name] = {
      componentRef: { name: `comp-${name}` },
      ...(g.deps.size > 0 ? { dependentTasks: [...g.deps].sort() } : {}),
      ...taskInputs(g.feedParams, g.feedArtifacts),
      taskInfo: { name },
      ...(g.triggerCondition !== undefined ? { triggerPolicy: { condition: g.triggerCondition } } : {}),
    };
  }

  // ------------------------------------------------------------------------------------------
  // Helper tasks

  /**
   * A task reading one metric of an upstream metrics output (`metrics.json`) as a float parameter,
   * in the producer's group, so a condition can compare it.
   */
  private metricReader(stepName: string, output: string, metric: string): ParamSource | undefined {
    const producer = this.task(stepName);
    const pg = this.groupOfTask.get(producer);
    if (!pg) return undefined;
    const id = `${producer}/${output}/${metric}`;
    const existing = this.readers.get(id);
    if (existing) return existing;
    const task = this.helperName(`read-${producer}-${output}-${metric}`);
    this.build.components[`comp-${task}`] = {
      executorLabel: `exec-${task}`,
      inputDefinitions: { artifacts: { metrics: { artifactType: artifactType('metrics') } }, parameters: { name: { parameterType: 'STRING' } } },
      outputDefinitions: { parameters: { Output: { parameterType: 'NUMBER_DOUBLE' } } },
    };
    this.build.executors[`exec-${task}`] = { container: pythonContainer('read_metric', READ_METRIC_SOURCE, []) };
    pg.tasks[task] = {
      cachingOptions: caching(false),
      componentRef: { name: `comp-${task}` },
      dependentTasks: [producer],
      inputs: {
        artifacts: { metrics: { taskOutputArtifact: { outputArtifactKey: output, producerTask: producer } } },
        parameters: { name: { runtimeValue: { constant: metric } } },
      },
      taskInfo: { name: task },
    };
    this.groupOfTask.set(task, pg);
    const src: ParamSource = { kind: 'task', task, key: 'Output', type: 'NUMBER_DOUBLE', group: pg };
    this.readers.set(id, src);
    return src;
  }

  /**
   * For a cached step reading a dataset: the fingerprint of its data as input
   * `mlplane_data_<input>`, so the step's cache key changes when the data does (docs/caching.md).
   */
  private dataFingerprint(step: ContainerStepModel, input: string, datasetPath: string, g: Group, defs: Record<string, KfpInputParameterSpec>, params: Record<string, KfpTaskParameterInput>, deps: Set<string>): void {
    if (!step.caching) return;
    const dataset = this.ctx.resource(datasetPath, 'dataset', step.path);
    if (!dataset) return;
    defs[dataInputName(input)] = { parameterType: 'STRING' };
    params[dataInputName(input)] = this.paramIn(g, this.fingerprintTask(dataset), deps);
  }

  /**
   * The uncached task computing the data fingerprint of a dataset's table, at the pipeline root
   * (one per dataset), for the cache keys of the tasks reading it (./fingerprint.ts).
   */
  private fingerprintTask(dataset: { readonly path: string; readonly id: string } & Parameters<SynthContext['tableId']>[0]): ParamSource {
    const existing = this.fingerprints.get(dataset.path);
    if (existing) return existing;
    const task = this.helperName(`fingerprint-${dataset.id}`);
    this.build.components[`comp-${task}`] = {
      executorLabel: `exec-${task}`,
      inputDefinitions: { parameters: { location: { parameterType: 'STRING' }, project: { parameterType: 'STRING' }, table: { parameterType: 'STRING' } } },
      outputDefinitions: { parameters: { Output: { parameterType: 'STRING' } } },
    };
    this.build.executors[`exec-${task}`] = { container: pythonContainer('fingerprint_dataset', FINGERPRINT_SOURCE, [BIGQUERY_PACKAGE, STORAGE_PACKAGE]) };
    this.root.tasks[task] = {
      cachingOptions: caching(false),
      componentRef: { name: `comp-${task}` },
      inputs: {
        parameters: {
          location: { runtimeValue: { constant: this.ctx.settings.bigqueryLocation } },
          project: { runtimeValue: { constant: this.ctx.settings.project } },
          table: { runtimeValue: { constant: `${this.ctx.settings.project}.${this.ctx.bqDatasetId}.${this.ctx.tableId(dataset)}` } },
        },
      },
      taskInfo: { name: task },
    };
    this.groupOfTask.set(task, this.root);
    const src: ParamSource = { kind: 'task', task, key: 'Output', type: 'STRING', group: this.root };
    this.fingerprints.set(dataset.path, src);
    return src;
  }

  /**
   * A task exporting a dataset's BigQuery table as files in the dataset's format (step contract,
   * "Datasets"), in the consumer's group so it is skipped with it. For a cached consumer it is
   * cached too, keyed on the table's data fingerprint, so the export is reused exactly while the
   * data is unchanged; otherwise it never uses the cache.
   */
  private exportTask(datasetPath: string, g: Group, from: string, cached = false): ArtifactSource | undefined {
    const id = `${datasetPath}@${g.n}${cached ? '#cached' : ''}`;
    const existing = this.exports.get(id);
    if (existing) return existing;
    const dataset = this.ctx.resource(datasetPath, 'dataset', from);
    if (!dataset) return undefined;
    if (!EXPORT_FORMATS.has(dataset.format)) {
      this.ctx.problem(from, `reads dataset '${datasetPath}' of format '${dataset.format}', which BigQuery cannot export to files for the step; on gcp a dataset a step reads must be parquet, csv or jsonl`);
      return undefined;
    }
    if (dataset.format === 'csv' && dataset.schema.some((f) => f.type === 'array' || f.type === 'struct')) {
      this.ctx.problem(from, `reads dataset '${datasetPath}' as csv, but it has nested or repeated columns, which BigQuery cannot export as CSV; make the dataset parquet or jsonl`);
      return undefined;
    }
    if (dataset.format === 'jsonl' && dataset.schema.some((f) => f.type === 'int')) {
      this.warn('jsonl-int64-as-string', from, `dataset '${datasetPath}' is exported by BigQuery as JSON lines, which writes INT64 columns as JSON strings ("42") to keep 64-bit precision; parse them as integers in the step, or use parquet`);
    }
    const task = this.helperName(`export-${dataset.id}`);
    this.build.components[`comp-${task}`] = {
      executorLabel: `exec-${task}`,
      inputDefinitions: {
        parameters: {
          file_format: { parameterType: 'STRING' },
          location: { parameterType: 'STRING' },
          project: { parameterType: 'STRING' },
          table: { parameterType: 'STRING' },
          ...(cached ? { [dataInputName('table')]: { parameterType: 'STRING' as const } } : {}),
        },
      },
      outputDefinitions: { artifacts: { dataset: { artifactType: artifactType('dataset') } } },
    };
    this.build.executors[`exec-${task}`] = { container: pythonContainer('export_dataset', EXPORT_DATASET_SOURCE, [BIGQUERY_PACKAGE]) };
    const table = `${this.ctx.settings.project}.${this.ctx.bqDatasetId}.${this.ctx.tableId(dataset)}`;
    const exportDeps = new Set<string>();
    const fingerprint = cached ? this.paramIn(g, this.fingerprintTask(dataset), exportDeps) : undefined;
    g.tasks[task] = {
      cachingOptions: caching(cached),
      componentRef: { name: `comp-${task}` },
      ...(exportDeps.size > 0 ? { dependentTasks: [...exportDeps].sort() } : {}),
      inputs: {
        parameters: {
          file_format: { runtimeValue: { constant: dataset.format } },
          location: { runtimeValue: { constant: this.ctx.settings.bigqueryLocation } },
          project: { runtimeValue: { constant: this.ctx.settings.project } },
          table: { runtimeValue: { constant: table } },
          ...(fingerprint ? { [dataInputName('table')]: fingerprint } : {}),
        },
      },
      taskInfo: { name: task },
    };
    this.groupOfTask.set(task, g);
    const src: ArtifactSource = { task, key: 'dataset', type: artifactType('dataset'), group: g };
    this.exports.set(id, src);
    return src;
  }

  private outputOf(stepName: string, output: string): IoTypeModel | undefined {
    const producer = this.pipeline.steps.find((s) => s.name === stepName);
    if (producer?.kind === 'container') return producer.outputs.find((o) => o.name === output)?.type;
    return undefined;
  }

  /** Order-only edges of a step (`dependsOn` without data). */
  private orderOnly(step: StepModel, g: Group, deps: Set<string>): void {
    for (const name of step.orderOnly) {
      const pg = this.upstream(step, g, name);
      if (pg) this.after(g, this.task(name), pg, deps);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Steps

  private container(step: ContainerStepModel): void {
    const task = this.task(step.name);
    const g = this.groupFor(step);
    this.groupOfTask.set(task, g);
    const inputDefs: { parameters: Record<string, KfpInputParameterSpec>; artifacts: Record<string, { artifactType: KfpArtifactType }> } = {
      parameters: {},
      artifacts: {},
    };
    const params: Record<string, KfpTaskParameterInput> = {};
    const arts: Record<string, KfpTaskArtifactInput> = {};
    const deps = new Set<string>();
    this.orderOnly(step, g, deps);
    for (const input of step.inputs) {
      const src = input.source;
      if (isArtifact(input.type)) {
        inputDefs.artifacts[input.name] = { artifactType: artifactType(input.type.type) };
        if (src.kind === 'step') {
          const produced = this.outputOf(src.step, src.output);
          if (produced && !isArtifact(produced)) {
            this.ctx.problem(step.path, `input '${input.name}' is an artifact but '${src.step}.${src.output}' is a parameter; make both artifacts or both parameters`);
          }
          const pg = this.upstream(step, g, src.step);
          if (pg) arts[input.name] = this.artifactIn(g, { task: this.task(src.step), key: src.output, type: artifactType(input.type.type), group: pg }, deps);
        } else if (src.kind === 'dataset') {
          const exported = this.exportTask(src.dataset, g, step.path, step.caching);
          if (exported) arts[input.name] = this.artifactIn(g, exported, deps);
          this.dataFingerprint(step, input.name, src.dataset, g, inputDefs.parameters, params, deps);
        } else {
          this.ctx.problem(step.path, `input '${input.name}' is an artifact but is fed from a ${src.kind}; feed artifacts from a step output or a dataset`);
        }
      } else {
        const kfpType = parameterType(input.type.type);
        inputDefs.parameters[input.name] = { parameterType: kfpType };
        switch (src.kind) {
          case 'step': {
            const pg = this.upstream(step, g, src.step);
            if (pg) params[input.name] = this.paramIn(g, { kind: 'task', task: this.task(src.step), key: src.output, type: kfpType, group: pg }, deps);
            break;
          }
          case 'parameter':
            params[input.name] = this.paramIn(g, { kind: 'pipeline', name: src.parameter, type: kfpType }, deps);
            break;
          case 'value':
            params[input.name] = { runtimeValue: { constant: src.value } };
            break;
          case 'dataset': {
            const ds = this.ctx.resource(src.dataset, 'dataset', step.path);
            if (ds) params[input.name] = { runtimeValue: { constant: this.ctx.datasetUri(ds) } };
            this.dataFingerprint(step, input.name, src.dataset, g, inputDefs.parameters, params, deps);
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
    const io = resolveIo(step, this.pipeline, this.ctx);
    for (const name of [...io.params].sort()) {
      const p = this.pipeline.parameters.find((x) => x.name === name);
      if (!p) continue;
      inputDefs.parameters[paramInputName(name)] = { parameterType: parameterType(p.type) };
      params[paramInputName(name)] = this.paramIn(g, { kind: 'pipeline', name, type: parameterType(p.type) }, deps);
    }
    this.warnings(step, outputDefs.parameters);
    let resources = step.resources;
    const pool = step.compute ? this.ctx.resource(step.compute, 'computePool', step.path) : undefined;
    if (pool && !resources.accelerator && pool.node.accelerator) resources = { ...resources, accelerator: pool.node.accelerator };
    const fit = machineSpec(resources);
    if ('problem' in fit) this.ctx.problem(step.path, fit.problem);
    const spot = pool?.spot === true;
    let executor: KfpExecutorSpec;
    if (step.timeoutSeconds !== undefined || spot) {
      // Vertex AI Pipelines container tasks have neither a timeout nor spot capacity; a Vertex
      // CustomJob has both, so the step runs as one through the GCPC custom job launcher. Its
      // payload is one placeholder-resolved argument, so env placeholders resolve there too.
      if ('gcp_resources' in outputDefs.parameters || 'gcp_resources' in outputDefs.artifacts) {
        this.ctx.problem(step.path, `output name 'gcp_resources' is reserved on gcp for steps that run as Vertex custom jobs; rename the output`);
      }
      for (const name of Object.keys(outputDefs.parameters)) {
        this.ctx.problem(
          step.path,
          `output '${name}' is a parameter, but the step runs as a Vertex custom job (it has a timeout or runs on a spot pool) and custom jobs can only write artifacts; make '${name}' an artifact output, or drop the timeout and the spot pool`,
        );
      }
      const strings = step.inputs.filter((i) => i.type.kind === 'parameter' && i.type.type === 'string' && i.source.kind !== 'value').map((i) => i.name);
      for (const name of io.params) if (this.pipeline.parameters.find((p) => p.name === name)?.type === 'string') strings.push(`params.${name}`);
      if (strings.length > 0) {
        this.warn(
          'custom-job-parameter-text',
          step.path,
          `the step runs as a Vertex custom job whose JSON payload receives the text of ${strings.join(', ')} unescaped; a value holding '"', '\\' or a line break makes the payload invalid and the step fails`,
        );
      }
      outputDefs.parameters.gcp_resources = { parameterType: 'STRING' };
      const env = [...io.env, ...io.dynamicEnv.map((e) => ({ name: e.name, value: e.escaped }))].sort((a, b) => (a.name < b.name ? -1 : 1));
      const command = this.withSecrets(step, io.command);
      executor = { container: customJobContainer(this.ctx, this.pipeline, task, step, { command, args: io.args, env }, 'problem' in fit ? undefined : fit, spot) };
    } else {
      const res = containerResources(this.ctx, resources, step.path);
      let command = io.command;
      if (io.dynamicEnv.length > 0) {
        // KFP resolves placeholders in command and args only, never in env
        // (backend/src/v2/driver/driver.go initPodSpecPatch copies env values verbatim), so env
        // values with placeholders are set by `env NAME=value … <command>`.
        if (command.length === 0) {
          this.ctx.problem(
            step.path,
            `env ${io.dynamicEnv.map((e) => e.name).join(', ')} uses placeholders, which KFP does not resolve in env; on gcp mlplane sets them through the step's command, and this step has none; give the step a command`,
          );
        } else if (command[0]?.includes('=')) {
          this.ctx.problem(step.path, `command[0] '${command[0]}' contains '=', so it cannot follow 'env NAME=value' (env would read it as a variable); rename the program`);
        } else {
          command = ['env', ...io.dynamicEnv.map((e) => `${e.name}=${e.value}`), ...command];
          this.warn(
            'env-placeholders-via-env-command',
            step.path,
            `KFP does not resolve placeholders in env, so env ${io.dynamicEnv.map((e) => e.name).join(', ')} ${io.dynamicEnv.length === 1 ? 'is' : 'are'} set by running the command through 'env NAME=value …'; the image needs an 'env' program on its PATH (coreutils or busybox)`,
          );
        }
      }
      command = this.withSecrets(step, command);
      if (step.caching && io.env.length > 0) {
        // The KFP cache key covers image, command, args and input values, not env
        // (api/v2alpha1/cache_key.proto); the env rides along as an input so a change misses the cache.
        inputDefs.parameters[ENV_CACHE_INPUT] = { parameterType: 'STRING' };
        params[ENV_CACHE_INPUT] = { runtimeValue: { constant: JSON.stringify(Object.fromEntries(io.env.map((e) => [e.name, e.value]))) } };
      }
      executor = {
        container: {
          image: step.image,
          ...(command.length > 0 ? { command } : {}),
          ...(io.args.length > 0 ? { args: io.args } : {}),
          ...(io.env.length > 0 ? { env: io.env } : {}),
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
    g.tasks[task] = {
      cachingOptions: caching(step.caching),
      componentRef: { name: `comp-${task}` },
      ...(deps.size > 0 ? { dependentTasks: [...deps].sort() } : {}),
      ...taskInputs(params, arts),
      ...(step.retries > 0 ? { retryPolicy: retryPolicy(step.retries) } : {}),
      taskInfo: { name: task },
    };
  }

  /**
   * The command run through the Secret Manager wrapper when the step reads secrets. Neither KFP
   * container tasks nor Vertex CustomJob `ContainerSpec.env` take a Secret Manager reference (the
   * v1 protos use `SecretEnvVar` only for reasoning engines), so the task reads each secret version
   * as its own service account, which alone is granted secretAccessor on it, and execs the command
   * with the values in its environment (warning secret-read-in-step).
   *
   * @see https://cloud.google.com/vertex-ai/docs/reference/rest/v1/CustomJobSpec#ContainerSpec
   */
  private withSecrets(step: ContainerStepModel, command: string[]): string[] {
    const names = Object.keys(step.secretEnv ?? {}).sort();
    if (names.length === 0) return command;
    const specs: string[] = [];
    for (const name of names) {
      const r = this.ctx.model.resources.find((x) => x.path === step.secretEnv?.[name]);
      if (r === undefined || r.kind !== 'secret') {
        this.ctx.problem(step.path, `env ${name} reads secret '${step.secretEnv?.[name]}', which is not a Secret of this environment; define it with new Secret(env, ...)`);
        continue;
      }
      specs.push(`${name}=projects/${r.gcp.project ?? this.ctx.settings.project}/secrets/${r.gcp.secretName}/versions/${r.gcp.version}`);
    }
    if (command.length === 0) {
      this.ctx.problem(step.path, `env ${names.join(', ')} ${names.length === 1 ? 'is a secret' : 'are secrets'}, which on gcp the step reads before its command starts, and this step has no command (it relies on the image's entrypoint); give the step a command`);
      return command;
    }
    this.warn(
      'secret-read-in-step',
      step.path,
      `Vertex AI pipeline tasks take no Secret Manager reference in env, so the task reads secret env ${names.join(', ')} from Secret Manager as the pipeline's service account and then runs the command (the image needs python3 on its PATH and a route to secretmanager.googleapis.com); only that service account gets secretAccessor, on each secret it reads`,
    );
    return ['python3', '-c', GCP_SECRET_MANAGER_WRAPPER, ...specs, '--', ...command];
  }

  /** Warnings where KFP delivers the contract approximately. */
  private warnings(step: ContainerStepModel, outputParams: Record<string, { parameterType: KfpParameterType }>): void {
    const strings = Object.entries(outputParams).filter(([, p]) => p.parameterType === 'STRING').map(([n]) => n);
    if (strings.length > 0) {
      this.warn(
        'string-output-trailing-newline',
        step.path,
        `string output${strings.length === 1 ? '' : 's'} ${strings.join(', ')}: KFP keeps the file's text as written, including a trailing newline, where the contract ignores it; write the value without a trailing newline`,
      );
    }
  }

  private register(step: RegisterStepModel): void {
    const task = this.task(step.name);
    const g = this.groupFor(step);
    this.groupOfTask.set(task, g);
    const registry = this.ctx.resource(step.registry, 'modelRegistry', step.path);
    const model = registry?.models.find((m) => m.name === step.model);
    if (registry && !model) {
      this.ctx.problem(step.path, `registers model '${step.model}', which registry '${step.registry}' does not declare; declared are ${registry.models.map((m) => `'${m.name}'`).join(', ') || 'none'}`);
    }
    if (step.timeoutSeconds !== undefined) {
      this.ctx.problem(step.path, `register steps cannot have a timeout on gcp (timeoutSeconds ${step.timeoutSeconds}); remove it`);
    }
    const deps = new Set<string>();
    this.orderOnly(step, g, deps);
    const arts: Record<string, KfpTaskArtifactInput> = {};
    const modelGroup = this.upstream(step, g, step.artifact.step);
    if (modelGroup) arts.model = this.artifactIn(g, { task: this.task(step.artifact.step), key: step.artifact.output, type: artifactType('model'), group: modelGroup }, deps);
    const artifacts: Record<string, { artifactType: KfpArtifactType; isOptional?: boolean }> = { model: { artifactType: artifactType('model') } };
    artifacts.metrics = { artifactType: artifactType('metrics'), isOptional: true };
    if (step.metrics) {
      const metricsGroup = this.upstream(step, g, step.metrics.step);
      if (metricsGroup) arts.metrics = this.artifactIn(g, { task: this.task(step.metrics.step), key: step.metrics.output, type: artifactType('metrics'), group: metricsGroup }, deps);
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
    g.tasks[task] = {
      cachingOptions: caching(step.caching),
      componentRef: { name: `comp-${task}` },
      ...(deps.size > 0 ? { dependentTasks: [...deps].sort() } : {}),
      inputs: { artifacts: arts, parameters: { config: { runtimeValue: { constant: config } } } },
      ...(step.retries > 0 ? { retryPolicy: retryPolicy(step.retries) } : {}),
      taskInfo: { name: task },
    };
  }
}

/** Input carrying a step's env into the KFP cache key (a name no step input can have). */
export const ENV_CACHE_INPUT = 'mlplane--env';

/** The JSON configuration the register component reads; `gate` is the model's gate as is (read by `decide_gate`). */
function registerConfig(ctx: SynthContext, step: RegisterStepModel, servingImage: string | undefined): string {
  const registry = ctx.model.resources.find((r) => r.path === step.registry);
  const model = registry?.kind === 'modelRegistry' ? registry.models.find((m) => m.name === step.model) : undefined;
  const cfg = {
    project: ctx.settings.project,
    location: ctx.settings.region,
    model_id: dnsName(`${ctx.envLabel}-${step.model}`, 63),
    display_name: step.model,
    promote_to: step.promoteTo ?? '',
    rollout: rolloutTargets(ctx, step),
    gate: step.gate ?? null,
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

/**
 * Compile the drift gate of a monitor: a `check-drift` task reads the monitoring job's anomalies
 * (and the retraining cooldown) and a `condition-1` sub-DAG holding the training pipeline's tasks
 * runs only when it answers `true` — the structure the KFP compiler gives `dsl.If`.
 */
export function compileDriftGatePipeline(ctx: SynthContext, monitor: DriftMonitorModel, training: PipelineModel, deployedModelIds: readonly string[]): PipelineSpec {
  const build = newBuild();
  const inner = newBuild();
  // condition-1 is the drift gate; conditions of the training pipeline nest inside it from condition-2.
  new StepCompiler(ctx, training, inner, (name) => ({ componentInputParameter: channel(name) }), 2, true).compile();
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
