import type {
  ContainerStepModel,
  DatasetModel,
  IoTypeModel,
  PipelineModel,
  RegisterStepModel,
  StepModel,
} from '../../lib/model/types';
import { renderArm, type ArmObject, type ArmValue } from './arm';
import { addMlChild, imageEnvironment, isoDuration, ownedIdentity, scheduleTrigger, vmSize, yamlTrigger, type EnvironmentRef, type OwnedIdentity } from './common';
import { computeName } from './compute';
import type { SynthContext } from './context';
import { dataRef } from './data';
import { RULES, shortHash } from './names';

/** Image the register step runs in (Azure CLI with the `ml` extension installed on first use). */
export const AZURE_CLI_IMAGE = 'mcr.microsoft.com/azure-cli:2.67.0';

/** Tag that marks the model version holding an alias: `mlplane-alias-<alias>` = `true`. */
export function aliasTag(alias: string): string {
  return `mlplane-alias-${alias}`;
}

/** Everything the rest of the adapter needs from a mapped pipeline. */
export interface MappedPipeline {
  readonly identity: OwnedIdentity;
  /** The REST `PipelineJob` properties (for schedules and retraining), with parameter overrides. */
  jobDefinition(overrides?: Readonly<Record<string, string | number | boolean>>): ArmObject;
}

const SCHEMA = 'https://azuremlschemas.azureedge.net/latest';

/** Azure ML component IO type of a model IO type. */
function ioType(t: IoTypeModel): string {
  if (t.kind === 'parameter') return { string: 'string', int: 'integer', float: 'number', bool: 'boolean' }[t.type];
  return t.type === 'model' ? 'custom_model' : 'uri_folder';
}

/** Quote a word for a POSIX shell when needed. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** A node name Azure ML accepts (lowercase identifier). */
function nodeName(ctx: SynthContext, step: StepModel): string {
  return ctx.name(RULES.component, [step.name], step.path);
}

/**
 * Pipeline → one command component version per step (`workspaces/components/versions`, versioned
 * by content hash since versions are immutable), the pipeline job definition used by schedules
 * and retraining, and readable YAML views (`azureml/…`) in the CLI v2 format.
 */
export function mapPipeline(ctx: SynthContext, p: PipelineModel): MappedPipeline {
  const identity = ownedIdentity(ctx, p.path);
  const local = ctx.localSegments(p.path);
  const stepNames = new Map(p.steps.map((s) => [s.name, nodeName(ctx, s)]));
  const components = new Map<string, { name: string; version: string }>();

  for (const step of p.steps) {
    const [spec, env] = step.kind === 'container' ? containerComponent(ctx, step) : registerComponent(ctx, step);
    const name = ctx.name(RULES.component, [...local, step.name], step.path);
    const version = shortHash([JSON.stringify(renderArm(spec))], 10);
    const full: ArmObject = { $schema: `${SCHEMA}/commandComponent.schema.json`, name, version, ...spec };
    components.set(step.name, { name, version });
    addMlChild(ctx, 'components/versions', [name, version], {
      properties: { componentSpec: full, description: `Step ${step.path}`, tags: ctx.tags(step.path), isAnonymous: false },
      // The spec names its environment as an asset string, which reveals no dependency.
      extraDependsOn: env.id.refs,
    });
    ctx.documents[`azureml/components/${name}.yml`] = renderArm(full);
  }

  const seen = new Map<string, string>();
  for (const step of p.steps) {
    const node = stepNames.get(step.name) as string;
    const other = seen.get(node);
    if (other !== undefined) ctx.problem(step.path, `step '${step.name}' and step '${other}' both become Azure ML node '${node}' (node names are lowercase identifiers); rename one of them`);
    seen.set(node, step.name);
  }
  const known = new Set(p.steps.map((s) => s.name));
  for (const step of p.steps) {
    for (const dep of step.dependsOn) {
      if (!known.has(dep)) ctx.problem(step.path, `depends on step '${dep}', which is not in pipeline ${p.path}; steps: ${[...known].join(', ')}`);
    }
  }

  const restJobs = (): Record<string, ArmObject> => {
    const jobs: Record<string, ArmObject> = {};
    for (const step of p.steps) {
      const c = components.get(step.name) as { name: string; version: string };
      jobs[stepNames.get(step.name) as string] = restNode(ctx, step, c, identity, stepNames);
    }
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
      inputs[param.name] = { jobInputType: 'literal', value: String(v) };
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
  for (const step of p.steps) {
    const c = components.get(step.name) as { name: string; version: string };
    yamlJobs[stepNames.get(step.name) as string] = yamlNode(ctx, step, c, stepNames);
  }
  const yamlInputs: Record<string, unknown> = {};
  for (const param of p.parameters) if (param.default !== undefined) yamlInputs[param.name] = param.default;
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

function containerComponent(ctx: SynthContext, step: ContainerStepModel): [ArmObject, EnvironmentRef] {
  const env = imageEnvironment(ctx, step.image, step.path);
  const inputs: Record<string, ArmObject> = {};
  for (const i of step.inputs) {
    const input: Record<string, ArmValue> = { type: ioType(i.type) };
    if (i.source.kind === 'value') input.default = i.source.value;
    inputs[i.name] = input;
  }
  const outputs: Record<string, ArmObject> = {};
  for (const o of step.outputs) {
    if (o.type.kind === 'parameter') {
      ctx.problem(step.path, `output '${o.name}' is a ${o.type.type} parameter; Azure ML command components only have data/model outputs; write it to a file in an artifact output`);
      continue;
    }
    outputs[o.name] = { type: ioType(o.type) };
  }
  if (step.command.length === 0) {
    ctx.problem(
      step.path,
      `has no command (it relies on the image's entrypoint, args ${JSON.stringify(step.args)}); Azure ML command components run their 'command' in the container and never call the image ENTRYPOINT; give the step an explicit command, e.g. command: ['python', '-m', '<module>'] (the entrypoint of ${step.image})`,
    );
  }
  const command = withRetries([...step.command, ...step.args].map(azureArg).join(' '), step.retries);
  const spec: ArmObject = {
    type: 'command',
    display_name: step.name,
    description: `Step ${step.path}`,
    is_deterministic: step.caching,
    tags: { 'mlplane-path': step.path },
    inputs,
    outputs,
    environment: env.asset,
    command,
  };
  return [spec, env];
}

/** One command word: mlplane placeholders `{{inputs.x}}` become Azure ML's `${{inputs.x}}`; the rest is shell-quoted. */
export function azureArg(word: string): string {
  const parts = word.split(/(\{\{(?:inputs|outputs)\.[A-Za-z0-9_]+\}\})/);
  return parts
    .map((p) => {
      const m = /^\{\{((?:inputs|outputs)\.[A-Za-z0-9_]+)\}\}$/.exec(p);
      if (m) return `\${{${m[1]}}}`;
      return p === '' ? '' : shellQuote(p);
    })
    .join('');
}

/** Run a command again on failure, at most `retries` more times (Azure ML command jobs have no retry setting). */
export function withRetries(command: string, retries: number, prelude = ''): string {
  if (retries <= 0) return `${prelude}${command}`;
  return `${prelude}n=0; until ${command}; do n=$((n+1)); if [ "$n" -gt ${retries} ]; then exit 1; fi; echo "mlplane: attempt $n failed, retrying" >&2; done`;
}

function registerComponent(ctx: SynthContext, step: RegisterStepModel): [ArmObject, EnvironmentRef] {
  const env = imageEnvironment(ctx, AZURE_CLI_IMAGE, step.path);
  const registry = ctx.resource(step.registry);
  if (registry === undefined || registry.kind !== 'modelRegistry') {
    ctx.problem(step.path, `registry '${step.registry}' is not a model registry of this environment; pass a ModelRegistry of the same environment`);
  } else if (!registry.models.some((m) => m.name === step.model)) {
    ctx.problem(step.path, `model '${step.model}' is not declared in registry ${step.registry} (declared: ${registry.models.map((m) => m.name).join(', ') || 'none'}); declare it with registry.addModel`);
  }
  const s = ctx.settings;
  const where = `--workspace-name ${ctx.core.workspace} --resource-group ${shellQuote(s.resourceGroup)} --subscription ${s.subscriptionId}`;
  const lines = [
    'set -eu',
    'az extension add --name ml --only-show-errors >/dev/null 2>&1 || true',
    'az login --identity --client-id "$MLPLANE_CLIENT_ID" --only-show-errors >/dev/null',
  ];
  const gate = step.gate;
  const tagMetric = gate ? ` --set tags.mlplane-metric-${gate.metric}="$CAND"` : '';
  if (gate) {
    if (!step.metrics) ctx.problem(step.path, `has a promotion gate on '${gate.metric}' but no metrics artifact; wire the metrics output of the training step`);
    lines.push(
      `CAND=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1] + "/metrics.json"))[sys.argv[2]])' "\${{inputs.metrics}}" ${shellQuote(gate.metric)})`,
    );
    if (gate.against.kind === 'alias') {
      lines.push(
        `REF=$(az ml model list --name ${shellQuote(step.model)} ${where} --query "[?tags.\\"${aliasTag(gate.against.alias)}\\"=='true'] | [0].tags.\\"mlplane-metric-${gate.metric}\\"" -o tsv)`,
      );
    } else {
      lines.push(`REF=${gate.against.value}`);
    }
  }
  lines.push(`VER=$(az ml model create --name ${shellQuote(step.model)} --type custom_model --path "\${{inputs.model}}"${tagMetric} ${where} --query version -o tsv)`);
  if (step.promoteTo) {
    const tag = aliasTag(step.promoteTo);
    const cmp = gate?.comparison === 'lessThan' ? 'c < r - d' : 'c > r + d';
    const pass = gate
      ? `[ -z "$REF" ] || python3 -c 'import sys; c, r, d = map(float, sys.argv[1:]); sys.exit(0 if ${cmp} else 1)' "$CAND" "$REF" ${gate.minDelta}`
      : 'true';
    lines.push(
      `if ${pass}; then`,
      `  for V in $(az ml model list --name ${shellQuote(step.model)} ${where} --query "[?tags.\\"${tag}\\"=='true'].version" -o tsv); do az ml model update --name ${shellQuote(step.model)} --version "$V" --remove tags.${tag} ${where} >/dev/null; done`,
      `  az ml model update --name ${shellQuote(step.model)} --version "$VER" --set tags.${tag}=true ${where} >/dev/null`,
      `  echo "mlplane: ${step.model} version $VER promoted to ${step.promoteTo}"`,
      'else',
      `  echo "mlplane: ${step.model} version $VER registered, gate not passed; ${step.promoteTo} unchanged"`,
      'fi',
    );
  }
  const inputs: Record<string, ArmObject> = { model: { type: 'custom_model' } };
  if (step.metrics) inputs.metrics = { type: 'uri_folder' };
  const spec: ArmObject = {
    type: 'command',
    display_name: step.name,
    description: `Register ${step.model} in ${step.registry}${step.promoteTo ? ` and move alias '${step.promoteTo}'` : ''}`,
    is_deterministic: false,
    tags: { 'mlplane-path': step.path },
    inputs,
    outputs: {},
    environment: env.asset,
    command: step.retries > 0 ? withRetries(`(mlplane_register)`, step.retries, `mlplane_register() {\n${lines.map((l) => `  ${l}`).join('\n')}\n}\n`) : lines.join('\n'),
  };
  return [spec, env];
}

/** Inputs of a step as (name, binding). */
function stepBindings(ctx: SynthContext, step: StepModel, names: ReadonlyMap<string, string>): { name: string; kind: 'binding' | 'data' | 'literal'; value: string }[] {
  const out: { name: string; kind: 'binding' | 'data' | 'literal'; value: string }[] = [];
  const stepRef = (s: string, o: string) => `\${{parent.jobs.${names.get(s) ?? s}.outputs.${o}}}`;
  if (step.kind === 'register') {
    out.push({ name: 'model', kind: 'binding', value: stepRef(step.artifact.step, step.artifact.output) });
    if (step.metrics) out.push({ name: 'metrics', kind: 'binding', value: stepRef(step.metrics.step, step.metrics.output) });
    return out;
  }
  for (const i of step.inputs) {
    const src = i.source;
    switch (src.kind) {
      case 'step':
        out.push({ name: i.name, kind: 'binding', value: stepRef(src.step, src.output) });
        break;
      case 'parameter':
        out.push({ name: i.name, kind: 'binding', value: `\${{parent.inputs.${src.parameter}}}` });
        break;
      case 'value':
        out.push({ name: i.name, kind: 'literal', value: String(src.value) });
        break;
      case 'dataset': {
        const d = ctx.resource(src.dataset);
        if (d === undefined || d.kind !== 'dataset') {
          ctx.problem(step.path, `input '${i.name}' reads '${src.dataset}', which is not a dataset of this environment`);
          break;
        }
        out.push({ name: i.name, kind: 'data', value: dataRef(ctx, d as DatasetModel).uri });
        break;
      }
      default: {
        const never: never = src;
        throw new Error(`unhandled input source ${JSON.stringify(never)}`);
      }
    }
  }
  return out;
}

function restNode(
  ctx: SynthContext,
  step: StepModel,
  c: { name: string; version: string },
  identity: OwnedIdentity,
  names: ReadonlyMap<string, string>,
): ArmObject {
  const inputs: Record<string, ArmObject> = {};
  for (const b of stepBindings(ctx, step, names)) {
    inputs[b.name] = b.kind === 'data' ? { job_input_type: 'uri_folder', uri: b.value, mode: 'ReadOnlyMount' } : { job_input_type: 'literal', value: b.value };
  }
  const outputs: Record<string, ArmObject> = {};
  if (step.kind === 'container') {
    for (const o of step.outputs) {
      if (o.type.kind === 'artifact') outputs[o.name] = { job_output_type: ioType(o.type), mode: 'ReadWriteMount' };
    }
  }
  const envVars: Record<string, ArmValue> = step.kind === 'container' ? { ...step.env } : {};
  envVars.MLPLANE_CLIENT_ID = identity.clientId;
  const compute = step.kind === 'container' ? step.compute : undefined;
  return {
    type: 'command',
    name: names.get(step.name),
    display_name: step.name,
    componentId: ctx.mlId('components/versions', c.name, c.version),
    computeId: compute ? ctx.mlId('computes', computeName(ctx, compute)) : undefined,
    resources: compute === undefined ? { instance_type: step.kind === 'container' ? vmSize(ctx, step.resources, step.path, 'cluster') : 'Standard_D2s_v5', instance_count: 1 } : undefined,
    inputs,
    outputs,
    environment_variables: envVars,
    limits: step.timeoutSeconds !== undefined ? { job_limits_type: 'Command', timeout: isoDuration(step.timeoutSeconds) } : undefined,
    identity: { identity_type: 'Managed', client_id: identity.clientId, resource_id: identity.id },
    _source: 'REMOTE.WORKSPACE.COMPONENT',
  };
}

function yamlNode(ctx: SynthContext, step: StepModel, c: { name: string; version: string }, names: ReadonlyMap<string, string>): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const b of stepBindings(ctx, step, names)) {
    inputs[b.name] = b.kind === 'data' ? { type: 'uri_folder', path: b.value } : b.value;
  }
  const outputs: Record<string, unknown> = {};
  if (step.kind === 'container') for (const o of step.outputs) if (o.type.kind === 'artifact') outputs[o.name] = { mode: 'rw_mount' };
  const compute = step.kind === 'container' ? step.compute : undefined;
  return {
    type: 'command',
    component: `azureml:${c.name}:${c.version}`,
    compute: compute ? `azureml:${computeName(ctx, compute)}` : undefined,
    resources: compute === undefined && step.kind === 'container' ? { instance_type: vmSize(ctx, step.resources, step.path, 'cluster') } : undefined,
    inputs,
    outputs: Object.keys(outputs).length > 0 ? outputs : undefined,
    environment_variables: step.kind === 'container' && Object.keys(step.env).length > 0 ? { ...step.env } : undefined,
    limits: step.timeoutSeconds !== undefined ? { timeout: step.timeoutSeconds } : undefined,
  };
}
