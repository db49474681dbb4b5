import { deterministic } from './caching';
import { ROLLOUT_PYTHON, rolloutTargets } from './alias';
import type { ContainerStepModel, DatasetModel, IoTypeModel, ParameterTypeName, PipelineModel, RegisterStepModel, StepModel } from '../../lib/model/types';
import { GATE_PYTHON } from '../shared/gate';
import { renderArm, type ArmObject, type ArmValue } from './arm';
import { addMlChild, imageEnvironment, isoDuration, ownedIdentity, scheduleTrigger, vmSize, yamlTrigger, type EnvironmentRef, type OwnedIdentity } from './common';
import { computeName } from './compute';
import { EVALUATOR_PYTHON, planGates, type ConditionGate } from './conditions';
import { ML, type SynthContext } from './context';
import { dataRef } from './data';
import { RULES, shortHash } from './names';
import { assignRole, CUSTOM_ROLES } from './roles';
import { keyVaultSecret } from './secrets';
import { AZURE_KEY_VAULT_READER } from '../shared/secret-fetch';
import { captureLines, parseWord, shellWord, type Placeholder } from './step-script';
import { valueText } from '../../lib/model/placeholders';

export { shellQuote } from './step-script';

/** Image the register step and condition evaluators run in (Azure CLI, Python 3; the `ml` extension is installed on first use). */
export const AZURE_CLI_IMAGE = 'mcr.microsoft.com/azure-cli:2.67.0';

/** Tag that marks the model version holding an alias: `mlplane-alias-<alias>` = `true`. */
export function aliasTag(alias: string): string {
  return `mlplane-alias-${alias}`;
}

/** Output every step that another step orders itself after (`dependsOn` without data) writes last. */
export const DONE_OUTPUT = 'mlplane_done';
/** Input through which a step waits for `DONE_OUTPUT` of an order-only predecessor. */
export function afterInput(node: string): string {
  return `mlplane_after_${node}`;
}
/** Input that carries pipeline parameter `<name>` to a step whose command names `{{params.<name>}}`. */
export function paramInput(name: string): string {
  return `mlplane_params_${name}`;
}
/** File inside a parameter output's folder that holds the value text. */
export const VALUE_FILE = 'value';

/** Everything the rest of the adapter needs from a mapped pipeline. */
export interface MappedPipeline {
  readonly identity: OwnedIdentity;
  /** The REST `PipelineJob` properties (for schedules and retraining), with parameter overrides. */
  jobDefinition(overrides?: Readonly<Record<string, string | number | boolean>>): ArmObject;
}

const SCHEMA = 'https://azuremlschemas.azureedge.net/latest';

/** How a node input is bound: to another node's output or a pipeline input, to a literal, or to a data URI. */
interface Binding {
  readonly name: string;
  readonly kind: 'binding' | 'literal' | 'data';
  readonly value: string;
}

/** One command node of the pipeline job and the component it runs. */
interface NodePlan {
  readonly node: string;
  readonly label: string;
  readonly path: string;
  readonly componentName: string;
  readonly spec: ArmObject;
  readonly env: EnvironmentRef;
  readonly bindings: readonly Binding[];
  /** Outputs the node mounts read-write (every output but control outputs). */
  readonly outputs: readonly { readonly name: string; readonly type: string }[];
  /** Environment variables set natively on the node (values without placeholders). */
  readonly envVars: Readonly<Record<string, string>>;
  readonly compute?: string;
  /** VM size for serverless compute (when `compute` is absent). */
  readonly instanceType?: string;
  readonly timeoutSeconds?: number;
}

/** Azure ML component IO type of a model IO type. Parameters travel as `string` so their text is never re-rendered. */
function ioType(t: IoTypeModel): string {
  if (t.kind === 'parameter') return 'string';
  return t.type === 'model' ? 'custom_model' : 'uri_folder';
}

/** A node name Azure ML accepts (lowercase identifier). */
function nodeName(ctx: SynthContext, step: StepModel): string {
  return ctx.name(RULES.component, [step.name], step.path);
}

/**
 * Pipeline → one command component version per step (`workspaces/components/versions`, versioned
 * by content hash since versions are immutable), the pipeline job definition used by schedules
 * and retraining, and readable YAML views (`azureml/…`) in the CLI v2 format.
 *
 * Steps get exactly what docs/step-contract.md promises: see `containerScript`. Order-only
 * dependencies become a data edge on a marker output (Azure ML v2 pipelines order nodes by data
 * bindings only); conditions become evaluator nodes and `if_else` nodes (see `conditions.ts`).
 */
export function mapPipeline(ctx: SynthContext, p: PipelineModel): MappedPipeline {
  const identity = ownedIdentity(ctx, p.path);
  const local = ctx.localSegments(p.path);
  const stepNames = new Map(p.steps.map((s) => [s.name, nodeName(ctx, s)]));
  const nodeOf = (step: string): string => stepNames.get(step) ?? step;

  const known = new Set(p.steps.map((s) => s.name));
  for (const step of p.steps) {
    for (const dep of step.dependsOn) {
      if (!known.has(dep)) ctx.problem(step.path, `depends on step '${dep}', which is not in pipeline ${p.path}; steps: ${[...known].join(', ')}`);
    }
  }
  const orderTargets = new Set(p.steps.flatMap((s) => s.orderOnly.filter((d) => known.has(d))));
  const gates = planGates(ctx, p, nodeOf);

  const plans: NodePlan[] = [];
  for (const step of p.steps) {
    const componentName = ctx.name(RULES.component, [...local, step.name], step.path);
    const writesDone = orderTargets.has(step.name);
    plans.push(
      step.kind === 'container'
        ? containerPlan(ctx, p, step, nodeOf, componentName, writesDone)
        : registerPlan(ctx, step, nodeOf, componentName, writesDone),
    );
    if (step.retries > 0) {
      ctx.warn(
        'retry-loop',
        step.path,
        `Azure ML command jobs have no retry setting: the step's ${step.retries} retr${step.retries === 1 ? 'y runs' : 'ies run'} as a shell loop inside one job, emptying the outputs before each attempt` +
          (step.timeoutSeconds !== undefined ? `; the job time limit is the timeout × ${step.retries + 1} attempts (${step.timeoutSeconds * (step.retries + 1)} s), so one slow attempt can use the time of later ones` : ''),
      );
    }
  }
  for (const gate of gates.values()) plans.push(evaluatorPlan(ctx, p, gate, nodeOf, ctx.name(RULES.component, [...local, 'when', String(gate.index)], p.path)));
  if (gates.size > 0) {
    // Writing the run property of a control output needs experiments/runs/write on the workspace.
    assignRole(ctx, {
      scopeType: `${ML}/workspaces`,
      scopeNames: [ctx.core.workspace],
      role: CUSTOM_ROLES.runPublisher,
      principalId: identity.principalId,
      principalKey: identity.name,
      description: `condition evaluators of ${p.path} publish their control outputs`,
    });
    ctx.warn(
      'control-flow-preview',
      p.path,
      `conditions run as Azure ML if_else control-flow nodes (a preview feature) fed by evaluator steps in ${AZURE_CLI_IMAGE} that publish a boolean control output (run property azureml.pipeline.control); a skipped step's downstream steps are guarded by the same conditions`,
    );
  }

  const seen = new Map<string, string>();
  const claim = (node: string, owner: string, path: string): void => {
    const other = seen.get(node);
    if (other !== undefined) ctx.problem(path, `${owner} and ${other} both become Azure ML node '${node}' (node names are lowercase identifiers); rename one of them`);
    seen.set(node, owner);
  };
  for (const step of p.steps) claim(nodeOf(step.name), `step '${step.name}'`, step.path);
  for (const gate of gates.values()) {
    claim(gate.evaluator, `the evaluator of condition set ${gate.index}`, p.path);
    claim(gate.ifNode, `the if_else node of condition set ${gate.index}`, p.path);
  }

  const components = new Map<string, { name: string; version: string }>();
  for (const plan of plans) {
    // Rendered once for the version and the YAML view (the specs have no $schema, name or version of their own).
    const rendered = renderArm(plan.spec) as Record<string, unknown>;
    const version = shortHash([JSON.stringify(rendered)], 10);
    const head = { $schema: `${SCHEMA}/commandComponent.schema.json`, name: plan.componentName, version };
    const full: ArmObject = { ...head, ...plan.spec };
    components.set(plan.node, { name: plan.componentName, version });
    addMlChild(ctx, 'components/versions', [plan.componentName, version], {
      properties: { componentSpec: full, description: `Step ${plan.path}`, tags: ctx.tags(plan.path), isAnonymous: false },
      // The spec names its environment as an asset string, which reveals no dependency.
      extraDependsOn: plan.env.id.refs,
    });
    ctx.documents[`azureml/components/${plan.componentName}.yml`] = { ...head, ...rendered };
  }
  const componentOf = (plan: NodePlan) => components.get(plan.node) as { name: string; version: string };

  const restJobs = (): Record<string, ArmObject> => {
    const jobs: Record<string, ArmObject> = {};
    for (const plan of plans) jobs[plan.node] = restNode(ctx, plan, componentOf(plan), identity);
    for (const gate of gates.values()) jobs[gate.ifNode] = { ...ifElseNode(gate), _source: 'YAML.JOB' };
    return jobs;
  };

  const params = (overrides: Readonly<Record<string, string | number | boolean>>): Record<string, ArmObject> => {
    const inputs: Record<string, ArmObject> = {};
    for (const param of p.parameters) {
      const v = overrides[param.name] ?? param.default;
      if (v === undefined) {
        ctx.problem(p.path, `parameter '${param.name}' has no default; Azure ML schedules and retraining submit the pipeline without user input; give it a default`);
        continue;
      }
      inputs[param.name] = { jobInputType: 'literal', value: valueText(v, param.type) };
    }
    return inputs;
  };

  const jobDefinition = (overrides: Readonly<Record<string, string | number | boolean>> = {}): ArmObject => {
    for (const k of Object.keys(overrides)) {
      if (!p.parameters.some((q) => q.name === k)) {
        ctx.problem(p.path, `retraining sets parameter '${k}', which pipeline ${p.path} does not declare; declared: ${p.parameters.map((q) => q.name).join(', ') || 'none'}`);
      }
    }
    return {
      jobType: 'Pipeline',
      displayName: p.id,
      description: p.description,
      experimentName: ctx.name(RULES.component, local, p.path),
      tags: ctx.tags(p.path),
      inputs: params(overrides),
      settings: { continue_on_step_failure: false, _source: 'YAML.JOB' },
      jobs: restJobs(),
    };
  };

  // YAML view of the pipeline job, in the shape of the azureml-examples pipelines.
  const yamlJobs: Record<string, unknown> = {};
  for (const plan of plans) yamlJobs[plan.node] = yamlNode(ctx, plan, componentOf(plan));
  for (const gate of gates.values()) yamlJobs[gate.ifNode] = ifElseNode(gate);
  const yamlInputs: Record<string, unknown> = {};
  for (const param of p.parameters) if (param.default !== undefined) yamlInputs[param.name] = valueText(param.default, param.type);
  const pipelineYaml = {
    $schema: `${SCHEMA}/pipelineJob.schema.json`,
    type: 'pipeline',
    display_name: p.id,
    description: p.description,
    experiment_name: ctx.name(RULES.component, local, p.path),
    inputs: Object.keys(yamlInputs).length > 0 ? yamlInputs : undefined,
    settings: { continue_on_step_failure: false },
    jobs: yamlJobs,
  };
  const pipelineDoc = `azureml/pipelines/${ctx.name(RULES.component, local, p.path)}.yml`;
  ctx.documents[pipelineDoc] = renderArm(pipelineYaml as ArmObject);

  p.schedules.forEach((schedule, i) => {
    const name = ctx.name(RULES.child, [...local, 'schedule', String(i + 1)], p.path);
    const trigger = scheduleTrigger(ctx, schedule, p.path);
    addMlChild(ctx, 'schedules', [name], {
      properties: {
        displayName: `${p.id} schedule ${i + 1}`,
        description: `Runs pipeline ${p.path}`,
        isEnabled: true,
        tags: ctx.tags(p.path),
        trigger,
        action: { actionType: 'CreateJob', jobDefinition: jobDefinition() },
      },
      extraDependsOn: dataDependencies(ctx, p),
    });
    ctx.documents[`azureml/schedules/${name}.yml`] = renderArm({
      $schema: `${SCHEMA}/schedule.schema.json`,
      name,
      display_name: `${p.id} schedule ${i + 1}`,
      description: `Runs pipeline ${p.path}`,
      trigger: yamlTrigger(trigger) as ArmObject,
      create_job: `../pipelines/${pipelineDoc.split('/').pop()}`,
    });
  });

  return { identity, jobDefinition };
}

/** Data asset versions a pipeline reads (job inputs name them as `azureml:` strings). */
export function dataDependencies(ctx: SynthContext, p: PipelineModel): string[] {
  const keys: string[] = [];
  for (const s of p.steps) {
    if (s.kind !== 'container') continue;
    for (const i of s.inputs) {
      if (i.source.kind !== 'dataset') continue;
      const d = ctx.resource(i.source.dataset);
      if (d?.kind === 'dataset') keys.push(...ctx.mlId('data/versions', dataRef(ctx, d).asset, d.version).refs);
    }
  }
  return keys;
}

/** `${{parent.jobs.<node>.outputs.<output>}}`. */
function jobOutput(node: string, output: string): string {
  return `\${{parent.jobs.${node}.outputs.${output}}}`;
}

/** Inputs and bindings every step gets for its order-only predecessors. */
function orderInputs(step: StepModel, nodeOf: (s: string) => string): { inputs: Record<string, ArmObject>; bindings: Binding[] } {
  const inputs: Record<string, ArmObject> = {};
  const bindings: Binding[] = [];
  for (const dep of step.orderOnly) {
    const name = afterInput(nodeOf(dep));
    inputs[name] = { type: 'uri_folder', description: `Order-only: runs after step ${dep}` };
    bindings.push({ name, kind: 'binding', value: jobOutput(nodeOf(dep), DONE_OUTPUT) });
  }
  return { inputs, bindings };
}

/** Shell lines that mark the step done for its order-only successors. */
function doneLines(): string[] {
  return [...captureLines('MLPLANE_DONE', `\${{outputs.${DONE_OUTPUT}}}`), 'mkdir -p "$MLPLANE_DONE" && echo done > "$MLPLANE_DONE/done"'];
}

/** Run `attempt` (a shell function) up to `retries` + 1 times, emptying `outputDirs` before each retry. */
function runLines(retries: number, outputDirs: readonly string[], what: string): string[] {
  if (retries <= 0) return ['mlplane_attempt || exit $?'];
  const clear = outputDirs.length > 0 ? [`  for d in ${outputDirs.map((d) => `"${d}"`).join(' ')}; do [ -d "$d" ] && find "$d" -mindepth 1 -delete; done`] : [];
  return [
    'n=0',
    'until mlplane_attempt; do',
    '  n=$((n+1))',
    `  if [ "$n" -gt ${retries} ]; then echo "mlplane: ${what} failed after ${retries + 1} attempts" >&2; exit 1; fi`,
    '  echo "mlplane: attempt $n failed, retrying with empty outputs" >&2',
    ...clear,
    'done',
  ];
}

/**
 * The command of a container step: the argv of `command` + `args` with every placeholder resolved
 * as docs/step-contract.md defines, the `env` values with placeholders exported, nothing else
 * passed to the program.
 *
 * - `{{inputs.x}}` artifact → its mount path `${{inputs.x}}`; parameter → its value text (a
 *   parameter output of an upstream step arrives as a folder; the value is read from its `value` file).
 * - `{{outputs.x}}` artifact → its mount path `${{outputs.x}}`; parameter output → the file
 *   `${{outputs.x}}/value` (Azure ML has no documented primitive outputs for command components,
 *   so a parameter output is a `uri_folder` holding the value text; a step that does not write it fails).
 * - `{{params.x}}` → the pipeline parameter, wired in as input `mlplane_params_x`.
 */
function containerScript(
  ctx: SynthContext,
  p: PipelineModel,
  step: ContainerStepModel,
  writesDone: boolean,
): { command: string; params: string[]; exported: string[] } {
  const inputs = new Map(step.inputs.map((i) => [i.name, i]));
  const outputs = new Map(step.outputs.map((o) => [o.name, o]));
  const prelude: string[] = [];
  const captured = new Set<string>();
  const params: string[] = [];

  const capture = (variable: string, text: string): void => {
    if (captured.has(variable)) return;
    captured.add(variable);
    prelude.push(...captureLines(variable, text));
  };
  const outputDir = (name: string): string => {
    capture(`MLPLANE_OD_${name}`, `\${{outputs.${name}}}`);
    return `\${MLPLANE_OD_${name}}`;
  };
  const resolve = (ref: Placeholder): string => {
    if (ref.scope === 'params') {
      if (!p.parameters.some((q) => q.name === ref.name)) {
        ctx.problem(step.path, `{{params.${ref.name}}} names no parameter of pipeline ${p.path}; parameters: ${p.parameters.map((q) => q.name).join(', ') || 'none'}`);
      } else if (!params.includes(ref.name)) params.push(ref.name);
      capture(`MLPLANE_P_${ref.name}`, `\${{inputs.${paramInput(ref.name)}}}`);
      return `\${MLPLANE_P_${ref.name}}`;
    }
    if (ref.scope === 'outputs') {
      const o = outputs.get(ref.name);
      if (o === undefined) {
        ctx.problem(step.path, `{{outputs.${ref.name}}} names no output of the step; outputs: ${[...outputs.keys()].join(', ') || 'none'}`);
        return '';
      }
      return o.type.kind === 'parameter' ? `${outputDir(ref.name)}/${VALUE_FILE}` : outputDir(ref.name);
    }
    const i = inputs.get(ref.name);
    if (i === undefined) {
      ctx.problem(step.path, `{{inputs.${ref.name}}} names no input of the step; inputs: ${[...inputs.keys()].join(', ') || 'none'}`);
      return '';
    }
    const variable = `MLPLANE_I_${ref.name}`;
    if (i.type.kind === 'parameter' && i.source.kind === 'step') {
      if (!captured.has(variable)) {
        capture(`MLPLANE_ID_${ref.name}`, `\${{inputs.${ref.name}}}`);
        captured.add(variable);
        prelude.push(
          `${variable}=$(cat "$MLPLANE_ID_${ref.name}/${VALUE_FILE}") || { echo "mlplane: input ${ref.name} (parameter output ${i.source.output} of step ${i.source.step}) has no value" >&2; exit 1; }`,
        );
      }
    } else capture(variable, `\${{inputs.${ref.name}}}`);
    return `\${${variable}}`;
  };

  for (const word of [...step.command, ...step.args, ...Object.values(step.env)]) {
    for (const part of parseWord(word)) {
      const stray = part.kind === 'text' ? /\{\{.*?\}\}/.exec(part.text) : null;
      if (stray) ctx.problem(step.path, `${stray[0]} in '${word}' is not a placeholder of the step contract; use {{inputs.<name>}}, {{outputs.<name>}} or {{params.<name>}}`);
    }
  }
  const argv = [...step.command, ...step.args].map((w) => shellWord(parseWord(w), resolve));
  const exported: string[] = [];
  const exports: string[] = [];
  for (const [key, value] of Object.entries(step.env)) {
    const parts = parseWord(value);
    if (parts.every((x) => x.kind === 'text')) continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      ctx.problem(step.path, `env '${key}' holds a placeholder but is not a shell variable name; Azure ML sets it through the command's shell; use letters, digits and underscores`);
      continue;
    }
    exported.push(key);
    exports.push(`export ${key}=${shellWord(parts, resolve)}`);
  }
  // Azure ML command jobs have no Key Vault reference for environment variables: the job reads each
  // secret as its own identity (warning secret-read-in-step) and exports it for the command only.
  const secretNames = Object.keys(step.secretEnv ?? {}).sort();
  for (const name of secretNames) {
    const ref = keyVaultSecret(ctx, step.secretEnv?.[name] as string, step.path);
    if (!ref) continue;
    exported.push(name);
    exports.push(`${name}="$(python3 -c '${AZURE_KEY_VAULT_READER}' '${ref.url}')" || exit 1`, `export ${name}`);
  }
  if (secretNames.length > 0) {
    ctx.warn(
      'secret-read-in-step',
      step.path,
      `Azure ML command jobs take no Key Vault reference in environment variables, so the job reads secret env ${secretNames.join(', ')} from Key Vault as the pipeline identity before the command starts (the image needs python3 and a route to the vault); only that identity gets Key Vault Secrets User, on each secret it reads`,
    );
  }
  const paramOutputs = step.outputs.filter((o) => o.type.kind === 'parameter');
  const checks = paramOutputs.map(
    (o) => `  [ -f "${outputDir(o.name)}/${VALUE_FILE}" ] || { echo "mlplane: step ${step.name} did not write parameter output ${o.name} to ${outputDir(o.name)}/${VALUE_FILE}" >&2; return 1; }`,
  );
  const clearDirs = step.retries > 0 ? step.outputs.map((o) => outputDir(o.name)) : [];
  const lines = [
    ...prelude,
    ...exports,
    'mlplane_attempt() {',
    `  ${argv.join(' ')} || return $?`,
    ...checks,
    '}',
    ...runLines(step.retries, clearDirs, `step ${step.name}`),
    ...(writesDone ? doneLines() : []),
  ];
  return { command: lines.join('\n'), params, exported };
}

function containerPlan(
  ctx: SynthContext,
  p: PipelineModel,
  step: ContainerStepModel,
  nodeOf: (s: string) => string,
  componentName: string,
  writesDone: boolean,
): NodePlan {
  const env = imageEnvironment(ctx, step.image, step.path);
  if (step.command.length === 0) {
    ctx.problem(
      step.path,
      `has no command (it relies on the image's entrypoint, args ${JSON.stringify(step.args)}); Azure ML command components run their 'command' in the container and never call the image ENTRYPOINT; give the step an explicit command, e.g. command: ['python', '-m', '<module>'] (the entrypoint of ${step.image})`,
    );
  }
  const script = containerScript(ctx, p, step, writesDone);
  const inputs: Record<string, ArmObject> = {};
  const bindings: Binding[] = [];
  for (const i of step.inputs) {
    const fromStepParameter = i.type.kind === 'parameter' && i.source.kind === 'step';
    inputs[i.name] = { type: fromStepParameter ? 'uri_folder' : ioType(i.type) };
    const b = inputBinding(ctx, step, i.name, i.source, nodeOf, i.type.kind === 'parameter' ? i.type.type : undefined);
    if (b) bindings.push(b);
  }
  for (const name of script.params) {
    const input = paramInput(name);
    if (inputs[input] !== undefined) ctx.problem(step.path, `input '${input}' is reserved for {{params.${name}}}; rename the input`);
    inputs[input] = { type: 'string', description: `Pipeline parameter ${name}` };
    bindings.push({ name: input, kind: 'binding', value: `\${{parent.inputs.${name}}}` });
  }
  const order = orderInputs(step, nodeOf);
  Object.assign(inputs, order.inputs);
  bindings.push(...order.bindings);
  // A parameter output is a folder holding the value text in its `value` file.
  const outputs: { name: string; type: string }[] = step.outputs.map((o) => ({ name: o.name, type: o.type.kind === 'parameter' ? 'uri_folder' : ioType(o.type) }));
  if (writesDone) outputs.push({ name: DONE_OUTPUT, type: 'uri_folder' });
  const specOutputs: Record<string, ArmObject> = {};
  for (const o of outputs) specOutputs[o.name] = { type: o.type };
  const envVars: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.env)) if (!script.exported.includes(k) && parseWord(v).every((x) => x.kind === 'text')) envVars[k] = v;
  return {
    node: nodeOf(step.name),
    label: step.name,
    path: step.path,
    componentName,
    env,
    bindings,
    outputs,
    envVars,
    compute: step.compute,
    instanceType: step.compute === undefined ? vmSize(ctx, step.resources, step.path, 'cluster') : undefined,
    // One job runs every attempt: its limit covers them all (warning retry-loop).
    timeoutSeconds: step.timeoutSeconds !== undefined ? step.timeoutSeconds * (step.retries + 1) : undefined,
    spec: {
      type: 'command',
      display_name: step.name,
      description: `Step ${step.path}`,
      // Never reused on a constant dataset reference (./caching.ts).
      is_deterministic: deterministic(ctx, step),
      tags: { 'mlplane-path': step.path },
      inputs,
      outputs: specOutputs,
      environment: env.asset,
      command: script.command,
    },
  };
}

/** The binding of one step input. */
function inputBinding(
  ctx: SynthContext,
  step: StepModel,
  name: string,
  src: ContainerStepModel['inputs'][number]['source'],
  nodeOf: (s: string) => string,
  parameterType: ParameterTypeName | undefined,
): Binding | undefined {
  switch (src.kind) {
    case 'step':
      return { name, kind: 'binding', value: jobOutput(nodeOf(src.step), src.output) };
    case 'parameter':
      return { name, kind: 'binding', value: `\${{parent.inputs.${src.parameter}}}` };
    case 'value':
      return { name, kind: 'literal', value: valueText(src.value, parameterType) };
    case 'dataset': {
      const d = ctx.resource(src.dataset);
      if (d === undefined || d.kind !== 'dataset') {
        ctx.problem(step.path, `input '${name}' reads '${src.dataset}', which is not a dataset of this environment`);
        return undefined;
      }
      return { name, kind: 'data', value: dataRef(ctx, d as DatasetModel).uri };
    }
    default: {
      const never: never = src;
      throw new Error(`unhandled input source ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Python of the register step: registers the model folder as a new version recording every metric
 * of `metrics.json` as a tag, and moves the alias when the contract's gate (`decide_gate` of
 * adapters/shared/gate.ts, embedded verbatim) passes, then rolls the deployments bound to the alias.
 * A missing metric fails the step before anything is registered.
 */
function registerPython(ctx: SynthContext, step: RegisterStepModel): string {
  const literal = (v: unknown) => `json.loads(${JSON.stringify(JSON.stringify(v))})`;
  return [
    'import json, math, os, subprocess, sys',
    GATE_PYTHON,
    `GATE = ${literal(step.gate ?? null)}`,
    `MODEL = ${literal(step.model)}`,
    `PROMOTE_TO = ${literal(step.promoteTo ?? null)}`,
    // The workspace the job runs in, from the variables Azure ML sets in every job: nothing baked.
    "WHERE = ['--workspace-name', os.environ['AZUREML_ARM_WORKSPACE_NAME'], '--resource-group', os.environ['AZUREML_ARM_RESOURCEGROUP'], '--subscription', os.environ['AZUREML_ARM_SUBSCRIPTION']]",
    `ROLLOUT = ${literal(rolloutTargets(ctx, step))}`,
    String.raw`
def fail(message):
    print('mlplane: ' + message, file=sys.stderr)
    sys.exit(1)

def az(*args):
    out = subprocess.run(['az', *args, *WHERE, '-o', 'json'], check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out) if out.strip() else None

model_dir, metrics_dir = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ''
metrics = {}
if metrics_dir:
    path = os.path.join(metrics_dir, 'metrics.json')
    try:
        with open(path) as f:
            metrics = json.load(f)
    except (OSError, ValueError) as e:
        fail('cannot read %s: %s' % (path, e))
versions = az('ml', 'model', 'list', '--name', MODEL) or [] if PROMOTE_TO else []
tag = 'mlplane-alias-%s' % PROMOTE_TO
holders = [v for v in versions if (v.get('tags') or {}).get(tag) == 'true']
reference = None
if GATE and holders:
    raw = (holders[0].get('tags') or {}).get('mlplane-metric-%s' % GATE['metric'])
    try:
        reference = float(raw) if raw is not None else None
    except ValueError:
        reference = None
outcome, reason = decide_gate(GATE, metrics, reference)
if outcome == 'error':
    fail(reason)
recorded = []
if isinstance(metrics, dict):
    for name in sorted(metrics):
        value = metrics[name]
        if not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value):
            recorded += ['--set', 'tags.mlplane-metric-%s=%s' % (name, repr(float(value)))]
created = az('ml', 'model', 'create', '--name', MODEL, '--type', 'custom_model', '--path', model_dir, *recorded)
version = str(created['version'])
if not PROMOTE_TO:
    print('mlplane: %s version %s registered' % (MODEL, version))
elif outcome == 'promote':
    for holder in holders:
        az('ml', 'model', 'update', '--name', MODEL, '--version', str(holder['version']), '--remove', 'tags.%s' % tag)
    az('ml', 'model', 'update', '--name', MODEL, '--version', version, '--set', 'tags.%s=true' % tag)
    print('mlplane: %s version %s promoted to %s (%s)' % (MODEL, version, PROMOTE_TO, reason))
    # Deployments following the alias serve the new version now (adapters/azure/alias.ts).
${ROLLOUT_PYTHON.replace(/^/gm, '    ')}
else:
    print('mlplane: %s version %s registered, gate not passed (%s); %s unchanged' % (MODEL, version, reason, PROMOTE_TO))
`.trim(),
  ].join('\n');
}

function registerPlan(ctx: SynthContext, step: RegisterStepModel, nodeOf: (s: string) => string, componentName: string, writesDone: boolean): NodePlan {
  const env = imageEnvironment(ctx, AZURE_CLI_IMAGE, step.path);
  const registry = ctx.resource(step.registry);
  if (registry === undefined || registry.kind !== 'modelRegistry') {
    ctx.problem(step.path, `registry '${step.registry}' is not a model registry of this environment; pass a ModelRegistry of the same environment`);
  } else if (!registry.models.some((m) => m.name === step.model)) {
    ctx.problem(step.path, `model '${step.model}' is not declared in registry ${step.registry} (declared: ${registry.models.map((m) => m.name).join(', ') || 'none'}); declare it with registry.addModel`);
  }
  if (step.gate && !step.metrics) ctx.problem(step.path, `has a promotion gate on '${step.gate.metric}' but no metrics artifact; wire the metrics output of the training step`);
  const program = registerPython(ctx, step);
  const lines = [
    'set -eu',
    ...captureLines('MLPLANE_I_model', '${{inputs.model}}'),
    ...(step.metrics ? captureLines('MLPLANE_I_metrics', '${{inputs.metrics}}') : ['MLPLANE_I_metrics=']),
    'az extension add --name ml --only-show-errors >/dev/null 2>&1 || true',
    'az login --identity --client-id "$MLPLANE_CLIENT_ID" --only-show-errors >/dev/null',
    `cat > "\${TMPDIR:-/tmp}/mlplane_register.py" <<'MLPLANE_PY'`,
    program,
    'MLPLANE_PY',
    'mlplane_attempt() {',
    '  python3 "${TMPDIR:-/tmp}/mlplane_register.py" "$MLPLANE_I_model" "$MLPLANE_I_metrics"',
    '}',
    ...runLines(step.retries, [], `step ${step.name}`),
    ...(writesDone ? doneLines() : []),
  ];
  const inputs: Record<string, ArmObject> = { model: { type: 'custom_model' } };
  const bindings: Binding[] = [{ name: 'model', kind: 'binding', value: jobOutput(nodeOf(step.artifact.step), step.artifact.output) }];
  if (step.metrics) {
    inputs.metrics = { type: 'uri_folder' };
    bindings.push({ name: 'metrics', kind: 'binding', value: jobOutput(nodeOf(step.metrics.step), step.metrics.output) });
  }
  const order = orderInputs(step, nodeOf);
  Object.assign(inputs, order.inputs);
  bindings.push(...order.bindings);
  const outputs = writesDone ? [{ name: DONE_OUTPUT, type: 'uri_folder' }] : [];
  return {
    node: nodeOf(step.name),
    label: step.name,
    path: step.path,
    componentName,
    env,
    bindings,
    outputs,
    envVars: {},
    instanceType: 'Standard_D2s_v5',
    timeoutSeconds: step.timeoutSeconds !== undefined ? step.timeoutSeconds * (step.retries + 1) : undefined,
    spec: {
      type: 'command',
      display_name: step.name,
      description: `Register ${step.model} in ${step.registry}${step.promoteTo ? ` and move alias '${step.promoteTo}'` : ''}`,
      is_deterministic: false,
      tags: { 'mlplane-path': step.path },
      inputs,
      outputs: Object.fromEntries(outputs.map((o) => [o.name, { type: o.type }])),
      environment: env.asset,
      command: lines.join('\n'),
    },
  };
}

/** The evaluator node of one condition set: reads each operand, publishes control output `result`. */
function evaluatorPlan(ctx: SynthContext, p: PipelineModel, gate: ConditionGate, nodeOf: (s: string) => string, componentName: string): NodePlan {
  const env = imageEnvironment(ctx, AZURE_CLI_IMAGE, p.path);
  const inputs: Record<string, ArmObject> = {};
  const bindings: Binding[] = [];
  const prelude: string[] = [];
  const args: string[] = [];
  const described = gate.conditions.map((c, i) => {
    const name = `operand_${i + 1}`;
    const o = c.operand;
    if (o.kind === 'parameter') {
      inputs[name] = { type: 'string', description: `Pipeline parameter ${o.parameter}` };
      bindings.push({ name, kind: 'binding', value: `\${{parent.inputs.${o.parameter}}}` });
    } else {
      inputs[name] = { type: 'uri_folder', description: `${o.kind === 'metric' ? 'Metrics' : 'Parameter output'} ${o.output} of step ${o.step}` };
      bindings.push({ name, kind: 'binding', value: jobOutput(nodeOf(o.step), o.output) });
    }
    prelude.push(...captureLines(`MLPLANE_OPERAND_${i + 1}`, `\${{inputs.${name}}}`));
    args.push(`"$MLPLANE_OPERAND_${i + 1}"`);
    const label = o.kind === 'parameter' ? `parameter ${o.parameter}` : o.kind === 'metric' ? `metric ${o.metric} of ${o.step}.${o.output}` : `${o.step}.${o.output}`;
    return { operand: o, op: c.op, value: c.value, label };
  });
  const program = `import json\nCONDITIONS = json.loads(${JSON.stringify(JSON.stringify(described))})\n${EVALUATOR_PYTHON}`;
  const lines = [
    'set -eu',
    ...prelude,
    'az login --identity --client-id "$MLPLANE_CLIENT_ID" --only-show-errors >/dev/null',
    `python3 - ${args.join(' ')} <<'MLPLANE_PY'`,
    program,
    'MLPLANE_PY',
  ];
  return {
    node: gate.evaluator,
    label: `when ${gate.index}`,
    path: p.path,
    componentName,
    env,
    bindings,
    outputs: [],
    envVars: {},
    instanceType: 'Standard_D2s_v5',
    spec: {
      type: 'command',
      display_name: `mlplane condition ${gate.index}`,
      description: `Evaluates ${described.map((d) => `${d.label} ${d.op} ${JSON.stringify(d.value)}`).join(' and ')} for pipeline ${p.path}`,
      is_deterministic: false,
      tags: { 'mlplane-path': p.path },
      inputs,
      outputs: { result: { type: 'boolean', is_control: true } },
      environment: env.asset,
      command: lines.join('\n'),
    },
  };
}

/** The `if_else` node of a condition set: its members run only when the evaluator's `result` is true. */
function ifElseNode(gate: ConditionGate): ArmObject {
  const blocks = gate.members.map((m) => `\${{parent.jobs.${m}}}`);
  return { type: 'if_else', condition: jobOutput(gate.evaluator, 'result'), true_block: blocks.length === 1 ? (blocks[0] as string) : blocks };
}

function restNode(ctx: SynthContext, plan: NodePlan, c: { name: string; version: string }, identity: OwnedIdentity): ArmObject {
  const inputs: Record<string, ArmObject> = {};
  for (const b of plan.bindings) {
    inputs[b.name] = b.kind === 'data' ? { job_input_type: 'uri_folder', uri: b.value, mode: 'ReadOnlyMount' } : { job_input_type: 'literal', value: b.value };
  }
  const outputs: Record<string, ArmObject> = {};
  for (const o of plan.outputs) outputs[o.name] = { job_output_type: o.type, mode: 'ReadWriteMount' };
  const envVars: Record<string, ArmValue> = { ...plan.envVars, MLPLANE_CLIENT_ID: identity.clientId };
  return {
    type: 'command',
    name: plan.node,
    display_name: plan.label,
    componentId: ctx.mlId('components/versions', c.name, c.version),
    computeId: plan.compute ? ctx.mlId('computes', computeName(ctx, plan.compute)) : undefined,
    resources: plan.compute === undefined ? { instance_type: plan.instanceType, instance_count: 1 } : undefined,
    inputs,
    outputs,
    environment_variables: envVars,
    limits: plan.timeoutSeconds !== undefined ? { job_limits_type: 'Command', timeout: isoDuration(plan.timeoutSeconds) } : undefined,
    identity: { identity_type: 'Managed', client_id: identity.clientId, resource_id: identity.id },
    _source: 'REMOTE.WORKSPACE.COMPONENT',
  };
}

function yamlNode(ctx: SynthContext, plan: NodePlan, c: { name: string; version: string }): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const b of plan.bindings) inputs[b.name] = b.kind === 'data' ? { type: 'uri_folder', path: b.value } : b.value;
  const outputs: Record<string, unknown> = {};
  for (const o of plan.outputs) outputs[o.name] = { mode: 'rw_mount' };
  return {
    type: 'command',
    component: `azureml:${c.name}:${c.version}`,
    compute: plan.compute ? `azureml:${computeName(ctx, plan.compute)}` : undefined,
    resources: plan.compute === undefined && plan.instanceType !== undefined ? { instance_type: plan.instanceType } : undefined,
    inputs,
    outputs: Object.keys(outputs).length > 0 ? outputs : undefined,
    environment_variables: Object.keys(plan.envVars).length > 0 ? { ...plan.envVars } : undefined,
    limits: plan.timeoutSeconds !== undefined ? { timeout: plan.timeoutSeconds } : undefined,
  };
}
