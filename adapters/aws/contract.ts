/**
 * The step contract (docs/step-contract.md) on the aws target: what the container of a step
 * receives, resolved at synth time as far as it can be, and the JSONPath the state machine uses
 * for the rest.
 *
 * Artifacts live on a task-local volume mounted at {@link MOUNT}: inputs are staged in from S3 to
 * `/mlplane/inputs/<name>/` before the step's container starts, outputs are collected from
 * `/mlplane/outputs/<name>` after it exits 0. Artifact placeholders therefore resolve to fixed
 * paths at synth time. Parameter values are known only at run time: they travel in the execution
 * state and reach the container through container overrides, built with the intrinsic functions
 * `States.Format` and `States.Array`
 * (https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html).
 */
import type {
  ContainerStepModel,
  ParameterTypeName,
  PipelineModel,
  StepInputModel,
  StepModel,
  StepOutputModel,
} from '../../lib/model/types';
import { splitPlaceholders, valueText } from '../../lib/model/placeholders';

/** Where the task-local volume shared by the staging containers and the step is mounted. */
export const MOUNT = '/mlplane';

/** Name of the task-local volume. */
export const VOLUME = 'mlplane';

/** Local directory of an input artifact. */
export function inputPath(name: string): string {
  return `${MOUNT}/inputs/${name}`;
}

/** Local directory (artifact) or file (parameter) of an output. */
export function outputPath(name: string): string {
  return `${MOUNT}/outputs/${name}`;
}

/** Anything that looks like a placeholder; left in literal text after splitting, it is not one the contract knows. */
const ANY_PLACEHOLDER = /\{\{[^{}]*\}\}/;

/** One piece of a word: literal text, or the text of a value the state holds at a JSONPath. */
export type Piece = { readonly text: string } | { readonly path: string };

/** A command/args word or env value: fully known at synth (`static`) or assembled at run time. */
export type Word = { readonly kind: 'static'; readonly text: string } | { readonly kind: 'dynamic'; readonly pieces: readonly Piece[] };

export { valueText };

/** Escape literal text for a string argument of an intrinsic function (`'`, `{`, `}`, `\` are reserved). */
export function intrinsicString(text: string): string {
  return `'${text.replace(/[\\'{}]/g, (c) => `\\${c}`)}'`;
}

/** The intrinsic expression that evaluates a dynamic word to its text. */
export function wordExpression(word: Word): string {
  if (word.kind === 'static') return intrinsicString(word.text);
  const template = word.pieces.map((p) => ('text' in p ? p.text.replace(/[\\'{}]/g, (c) => `\\${c}`) : '{}')).join('');
  const refs = word.pieces.filter((p): p is { path: string } => 'path' in p).map((p) => p.path);
  return `States.Format('${template}', ${refs.join(', ')})`;
}

/** Key of an upstream output's value in the execution state (`$.values.<key>`). */
export function valueKey(step: string, output: string): string {
  return `${step.replace(/[^A-Za-z0-9_]/g, '_')}__${output}`;
}

/** JSONPath of the text of an upstream parameter output. */
export function outputTextPath(step: string, output: string): string {
  return `$.values.${valueKey(step, output)}.text`;
}

/** JSONPath of the parsed (typed) value of an upstream parameter output or metrics file. */
export function outputJsonPath(step: string, output: string): string {
  return `$.values.${valueKey(step, output)}.json`;
}

/** JSONPath of a pipeline parameter. */
export function parameterPath(name: string): string {
  return `$.parameters.${name}`;
}

/** Whether an input or output carries a parameter (a value) rather than an artifact (files). */
export function isParameter(io: StepInputModel | StepOutputModel): boolean {
  return io.type.kind === 'parameter';
}

/** The type of a parameter output of `step`, if it has one named `output`. */
export function parameterOutputType(p: PipelineModel, step: string, output: string): ParameterTypeName | undefined {
  const s = p.steps.find((x) => x.name === step);
  if (!s || s.kind !== 'container') return undefined;
  const o = s.outputs.find((x) => x.name === output);
  return o && o.type.kind === 'parameter' ? o.type.type : undefined;
}

/** The result of resolving one word: the word, or why it cannot be resolved. */
export type Resolved = { readonly ok: true; readonly word: Word } | { readonly ok: false; readonly error: string };

/**
 * Resolve the placeholders of one word of `step` (in `p`), read with `splitPlaceholders` like on
 * every target.
 *
 * Artifact inputs and all outputs become local paths; literal parameter inputs become their text;
 * pipeline parameters and upstream parameter outputs become JSONPaths into the execution state.
 */
export function resolveWord(p: PipelineModel, step: ContainerStepModel, word: string): Resolved {
  const pieces: Piece[] = [];
  for (const part of splitPlaceholders(word)) {
    if (part.kind === 'text') {
      const stray = ANY_PLACEHOLDER.exec(part.text);
      if (stray) return { ok: false, error: unknownPlaceholder(stray[0]) };
      pieces.push({ text: part.text });
      continue;
    }
    const piece = resolvePlaceholder(p, step, part.kind, part.name);
    if (typeof piece === 'string') return { ok: false, error: piece };
    pieces.push(piece);
  }
  if (pieces.every((x) => 'text' in x)) return { ok: true, word: { kind: 'static', text: pieces.map((x) => ('text' in x ? x.text : '')).join('') } };
  return { ok: true, word: { kind: 'dynamic', pieces: merge(pieces) } };
}

function unknownPlaceholder(text: string): string {
  return `placeholder '${text}' is not understood; use {{inputs.<name>}}, {{outputs.<name>}} or {{params.<name>}}`;
}

/** Join adjacent literal pieces. */
function merge(pieces: readonly Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const x of pieces) {
    const prev = out[out.length - 1];
    if (prev && 'text' in prev && 'text' in x) out[out.length - 1] = { text: prev.text + x.text };
    else out.push(x);
  }
  return out;
}

function resolvePlaceholder(p: PipelineModel, step: ContainerStepModel, kind: 'inputs' | 'outputs' | 'params', name: string): Piece | string {
  if (kind === 'params') {
    if (!p.parameters.some((x) => x.name === name)) {
      return `placeholder '{{params.${name}}}' names no parameter of pipeline '${p.path}' (parameters: ${p.parameters.map((x) => x.name).join(', ') || 'none'}); declare it with addParameter or fix the name`;
    }
    return { path: parameterPath(name) };
  }
  if (kind === 'outputs') {
    if (!step.outputs.some((o) => o.name === name)) {
      return `placeholder '{{outputs.${name}}}' names no output of this step (outputs: ${step.outputs.map((o) => o.name).join(', ') || 'none'}); declare it or fix the name`;
    }
    return { text: outputPath(name) };
  }
  const input = step.inputs.find((i) => i.name === name);
  if (!input) {
    return `placeholder '{{inputs.${name}}}' names no input of this step (inputs: ${step.inputs.map((i) => i.name).join(', ') || 'none'}); declare it or fix the name`;
  }
  if (!isParameter(input)) return { text: inputPath(name) };
  const src = input.source;
  switch (src.kind) {
    case 'value':
      return { text: valueText(src.value) };
    case 'parameter':
      return { path: parameterPath(src.parameter) };
    case 'step':
      if (!parameterOutputType(p, src.step, src.output)) {
        return `input '${name}' is a parameter but '${src.step}.${src.output}' is not a parameter output; wire a parameter output (Output.string(), Output.float(), ...)`;
      }
      return { path: outputTextPath(src.step, src.output) };
    case 'dataset':
      return `input '${name}' is a parameter but is wired to dataset '${src.dataset}'; declare the input as a dataset`;
    default: {
      const never: never = src;
      throw new Error(`unhandled input source ${JSON.stringify(never)}`);
    }
  }
}

/** The step's argv and env with every placeholder resolved, or every reason it cannot be. */
export interface StepInvocation {
  readonly command: readonly Word[];
  readonly args: readonly Word[];
  readonly env: readonly { readonly name: string; readonly value: Word }[];
}

/** Resolve the command, args and env of a container step; problems name the word and the fix. */
export function resolveInvocation(p: PipelineModel, step: ContainerStepModel): { readonly invocation: StepInvocation; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const resolve = (where: string, word: string): Word => {
    const r = resolveWord(p, step, word);
    if (r.ok) return r.word;
    problems.push(`${where}: ${r.error}`);
    return { kind: 'static', text: '' };
  };
  const command = step.command.map((w, i) => resolve(`command[${i}] '${w}'`, w));
  const args = step.args.map((w, i) => resolve(`args[${i}] '${w}'`, w));
  const env = Object.entries(step.env).map(([name, value]) => ({ name, value: resolve(`env ${name} '${value}'`, value) }));
  return { invocation: { command, args, env }, problems };
}

/** The artifact inputs a step stages in, in declaration order. */
export function stagedInputs(step: ContainerStepModel): StepInputModel[] {
  return step.inputs.filter((i) => !isParameter(i));
}

/** Environment variable that carries the S3 URI of input `name` to the stage-in container. */
export function stageInVar(name: string): string {
  return `MLPLANE_IN_${name}`;
}

/** Environment variable that carries the S3 URI of output `name` to the stage-out container. */
export function stageOutVar(name: string): string {
  return `MLPLANE_OUT_${name}`;
}

/**
 * The stage-in script (POSIX sh, aws CLI): copy each artifact input from S3 into its local
 * directory, create every output's directory (artifacts) or parent (parameters), and let any user
 * of the image write there.
 */
export function stageInScript(step: ContainerStepModel): string {
  const lines = ['set -eu', `mkdir -p ${MOUNT}/inputs ${MOUNT}/outputs`];
  for (const i of stagedInputs(step)) {
    lines.push(`mkdir -p ${inputPath(i.name)}`, `aws s3 cp --recursive --only-show-errors "$${stageInVar(i.name)}" ${inputPath(i.name)}`);
  }
  for (const o of step.outputs) if (!isParameter(o)) lines.push(`mkdir -p ${outputPath(o.name)}`);
  lines.push(`chmod -R a+rwX ${MOUNT}`);
  return lines.join('\n');
}

/**
 * The stage-out script (POSIX sh, aws CLI), run only after the step exited 0: upload each artifact
 * output directory, and each parameter output file (one trailing newline dropped); a parameter
 * output the step did not write fails the step.
 */
export function stageOutScript(step: ContainerStepModel): string {
  const lines = ['set -eu', "nl=$(printf '\\nx'); nl=${nl%x}"];
  for (const o of step.outputs) {
    if (isParameter(o)) {
      const file = outputPath(o.name);
      lines.push(
        `[ -f ${file} ] || { echo "the step did not write parameter output '${o.name}' to ${file}" >&2; exit 1; }`,
        `v=$(cat ${file}; printf x); v=\${v%x}; v=\${v%"$nl"}`,
        `printf '%s' "$v" | aws s3 cp --only-show-errors - "$${stageOutVar(o.name)}"`,
      );
    } else {
      lines.push(`aws s3 cp --recursive --only-show-errors ${outputPath(o.name)} "$${stageOutVar(o.name)}"`);
    }
  }
  return lines.join('\n');
}

/** Outputs of upstream steps that later steps read as values: parameter outputs wired to inputs or conditions, metrics read by conditions. */
export interface ReadBack {
  readonly step: string;
  readonly output: string;
  /** `parameter`: a parameter output (kept as text, parsed too when typed); `metrics`: `metrics.json`, parsed. */
  readonly kind: 'parameter' | 'metrics';
  readonly type?: ParameterTypeName;
}

/** What the state machine reads back after `step` succeeds. */
export function readBacks(p: PipelineModel, step: StepModel): ReadBack[] {
  const out: ReadBack[] = [];
  if (step.kind === 'container') {
    for (const o of step.outputs) if (o.type.kind === 'parameter') out.push({ step: step.name, output: o.name, kind: 'parameter', type: o.type.type });
  }
  const metrics = new Set<string>();
  for (const s of p.steps) {
    for (const c of s.conditions) {
      if (c.operand.kind === 'metric' && c.operand.step === step.name) metrics.add(c.operand.output);
    }
  }
  for (const output of [...metrics].sort()) out.push({ step: step.name, output, kind: 'metrics' });
  return out;
}
