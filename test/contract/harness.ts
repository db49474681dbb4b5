/**
 * The executed step-contract harness (issue "mlplane run", item 2): a probe stands in for every
 * step's program, records what it received (argv, env, and the files under each input directory)
 * and writes the outputs a scenario asks for; `checkContract` compares one target's observation
 * of a run with what docs/step-contract.md says the steps must receive, computed from the model
 * and the scenario only.
 *
 * A target plugs in by producing a `RunObservation` for a model, a pipeline and a scenario under
 * its own documented placeholder rules (`observeLocal` in local.ts does it for `mlplane run`).
 * `checkContract` returns every discrepancy as a message, so one run reports them all.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decideGate } from '../../adapters/shared/gate';
import { splitPlaceholders } from '../../lib/model/placeholders';
import type { ContainerStepModel, EnvironmentModel, ParameterTypeName, PipelineModel, StepConditionModel, StepModel } from '../../lib/model/types';

/** What the steps of a run write, and what the world holds before it. */
export interface Scenario {
  /** Run parameter texts (`--param`); defaults apply to the others. */
  readonly params?: Readonly<Record<string, string>>;
  /** Text each parameter output is written as, `Step.output` → text (a trailing newline is allowed). */
  readonly outputs?: Readonly<Record<string, string>>;
  /** metrics.json of each metrics output, `Step.output` → object. */
  readonly metrics?: Readonly<Record<string, unknown>>;
  /** Files of each dataset, dataset path → file name → content. */
  readonly data: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The gate metric recorded on the version holding the gate's alias; undefined = no holder. */
  readonly reference?: number;
}

/** What one step received, as the probe recorded it. */
export interface StepObservation {
  /** `command[1..]` and `args` as received (the probe is `command[0]`). */
  readonly argv: readonly string[];
  /** The step's env keys as received. */
  readonly env: Readonly<Record<string, string>>;
  /** Files under a received directory path, by the path received: relative file → content. */
  readonly dirs: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Content of each received path that is a file after the run (parameter output files). */
  readonly files: Readonly<Record<string, string>>;
}

/** One target's observation of one run. */
export interface RunObservation {
  readonly target: string;
  /** Steps in the order they started; skipped steps are absent. */
  readonly order: readonly string[];
  /** Container steps that ran, by name. */
  readonly steps: Readonly<Record<string, StepObservation>>;
  /** Register steps that ran: the gate outcome. */
  readonly gates: Readonly<Record<string, 'promote' | 'keep' | 'error'>>;
  /** Whether the run succeeded. */
  readonly succeeded: boolean;
}

/** The text a step writes for artifact output `Step.output` (besides metrics.json). */
export function artifactText(step: string, output: string): string {
  return `${step}.${output}\n`;
}

/**
 * The probe program: records its argv (NUL-separated) and environment in `$MLPLANE_PROBE_DIR`,
 * then runs the action of its first argument (the step's script), if any.
 */
export const PROBE = `#!/bin/sh
key=$(printf '%s' "$1" | tr -c 'A-Za-z0-9_' '_')
dump="$MLPLANE_PROBE_DIR/$key"
: > "$dump.argv"
for a in "$@"; do printf '%s\\0' "$a" >> "$dump.argv"; done
env -0 > "$dump.env"
if [ -f "$MLPLANE_PROBE_DIR/$key.action" ]; then . "$MLPLANE_PROBE_DIR/$key.action"; fi
`;

/** The file key of a step: its first word after the program, as the probe spells it. */
export function probeKey(step: ContainerStepModel): string {
  return (step.command[1] ?? '').replace(/[^A-Za-z0-9_]/g, '_');
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

/**
 * A shell action writing the scenario's outputs of `step` to wherever its words say they are:
 * the path is cut out of the received word (argv position or env variable) by the literal text
 * around the placeholder.
 */
export function probeAction(step: ContainerStepModel, scenario: Scenario): string {
  const words = [...step.command.slice(1), ...step.args];
  const lines: string[] = [];
  const located = new Set<string>();
  const locate = (source: string, word: string) => {
    const parts = splitPlaceholders(word);
    parts.forEach((part, i) => {
      if (part.kind !== 'outputs' || located.has(part.name)) return;
      if (parts.filter((p) => p.kind !== 'text').length !== 1) return;
      const before = i > 0 && parts[i - 1].kind === 'text' ? (parts[i - 1] as { text: string }).text : '';
      const after = i + 1 < parts.length && parts[i + 1].kind === 'text' ? (parts[i + 1] as { text: string }).text : '';
      located.add(part.name);
      lines.push(`p=${source}; p="\${p#${shQuote(before)}}"; p="\${p%${shQuote(after)}}"`);
      const out = step.outputs.find((o) => o.name === part.name)!;
      const key = `${step.name}.${out.name}`;
      if (out.type.kind === 'parameter') {
        const text = scenario.outputs?.[key];
        if (text !== undefined) lines.push(`printf '%s' ${shQuote(text)} > "$p"`);
      } else {
        lines.push(`mkdir -p "$p"`, `printf '%s' ${shQuote(artifactText(step.name, out.name))} > "$p/data.txt"`);
        if (out.type.type === 'metrics' && scenario.metrics?.[key] !== undefined) lines.push(`printf '%s' ${shQuote(JSON.stringify(scenario.metrics[key]))} > "$p/metrics.json"`);
      }
    });
  };
  words.forEach((w, i) => locate(`"\${${i + 1}}"`, w));
  for (const [k, v] of Object.entries(step.env)) locate(`"\$${k}"`, v);
  return `${lines.join('\n')}\n`;
}

/** Read what the probe recorded for `step` (undefined when it did not run). */
export function readProbe(dir: string, step: ContainerStepModel): StepObservation | undefined {
  const dump = path.join(dir, probeKey(step));
  if (!fs.existsSync(`${dump}.argv`)) return undefined;
  const argv = fs.readFileSync(`${dump}.argv`, 'utf8').split('\0').slice(0, -1);
  const all = Object.fromEntries(fs.readFileSync(`${dump}.env`, 'utf8').split('\0').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const env = Object.fromEntries(Object.keys(step.env).filter((k) => k in all).map((k) => [k, all[k]]));
  const dirs: Record<string, Record<string, string>> = {};
  const files: Record<string, string> = {};
  for (const text of [...argv, ...Object.values(env)]) {
    for (const candidate of [text, text.replace(/^[^=/]*=/, '')]) {
      if (!path.isAbsolute(candidate) || !fs.existsSync(candidate)) continue;
      if (fs.statSync(candidate).isDirectory()) dirs[candidate] = filesUnder(candidate);
      else files[candidate] = fs.readFileSync(candidate, 'utf8');
    }
  }
  return { argv, env, dirs, files };
}

function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d).sort()) {
      const f = path.join(d, e);
      if (fs.statSync(f).isDirectory()) walk(f);
      else out[path.relative(dir, f)] = fs.readFileSync(f, 'utf8');
    }
  };
  walk(dir);
  return out;
}

/** Write the probe program as each of `programs` into `bin`, and each step's action into `dir`. */
export function installProbe(bin: string, dir: string, pipeline: PipelineModel, scenario: Scenario): void {
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const step of pipeline.steps) {
    if (step.kind !== 'container') continue;
    const program = path.join(bin, step.command[0]);
    fs.writeFileSync(program, PROBE);
    fs.chmodSync(program, 0o755);
    fs.writeFileSync(path.join(dir, `${probeKey(step)}.action`), probeAction(step, scenario));
  }
}

// ---------------------------------------------------------------------------------------------
// The contract, from the model and the scenario only.

const pythonFloats = new Map<string, number>();
/** Parse float text the way a step would (Python `float`), so `1e-7` and `1e-07` are equal. */
function parseFloatText(text: string): number {
  if (!pythonFloats.has(text)) {
    const out = spawnSync('python3', ['-c', 'import sys; print(repr(float(sys.argv[1])))', text], { encoding: 'utf8' });
    pythonFloats.set(text, out.status === 0 ? Number(out.stdout.trim()) : Number.NaN);
  }
  return pythonFloats.get(text)!;
}

/** The contract's value text of a value of `type`; floats are compared parse-equal. */
function sameValue(received: string, value: string | number | boolean, type: ParameterTypeName): boolean {
  if (type === 'float') return typeof value === 'number' ? parseFloatText(received) === value : parseFloatText(received) === parseFloatText(String(value));
  if (typeof value === 'boolean') return received === (value ? 'true' : 'false');
  return received === String(value);
}

/** Which steps run under the scenario, by the contract's condition and skip rules. */
export function expectedRunning(p: PipelineModel, scenario: Scenario): Set<string> {
  const runs = new Set<string>();
  const param = (name: string) => {
    const def = p.parameters.find((x) => x.name === name)!;
    return scenario.params?.[name] ?? String(def.default);
  };
  const holds = (c: StepConditionModel): boolean => {
    const o = c.operand;
    let left: string | number | boolean;
    if (o.kind === 'metric') left = (scenario.metrics?.[`${o.step}.${o.output}`] as Record<string, number>)[o.metric];
    else {
      const text = (o.kind === 'parameter' ? param(o.parameter) : scenario.outputs?.[`${o.step}.${o.output}`] ?? '').replace(/\n$/, '');
      left = o.type === 'bool' ? text === 'true' : o.type === 'int' || o.type === 'float' ? Number(text) : text;
    }
    const r = c.value;
    switch (c.op) {
      case '==': return left === r;
      case '!=': return left !== r;
      case '<': return (left as number) < (r as number);
      case '<=': return (left as number) <= (r as number);
      case '>': return (left as number) > (r as number);
      case '>=': return (left as number) >= (r as number);
    }
  };
  for (const s of p.steps) {
    const upstreamRan = s.dependsOn.every((d) => runs.has(d));
    if (upstreamRan && s.conditions.every(holds)) runs.add(s.name);
  }
  return runs;
}

/**
 * Every way `run` departs from the contract for pipeline `p` of `model` under `scenario`: argv and
 * env words, artifact directories and their files, parameter text, parameter output files,
 * execution order, skipped steps and gate decisions.
 */
export function checkContract(model: EnvironmentModel, p: PipelineModel, scenario: Scenario, run: RunObservation): string[] {
  const problems: string[] = [];
  const fail = (step: string, m: string) => problems.push(`${run.target} ${step}: ${m}`);
  const running = expectedRunning(p, scenario);
  const ran = new Set([...Object.keys(run.steps), ...Object.keys(run.gates)]);
  for (const s of p.steps) {
    if (running.has(s.name) && !ran.has(s.name)) fail(s.name, 'did not run, but its conditions hold and its upstream steps ran');
    if (!running.has(s.name) && ran.has(s.name)) fail(s.name, 'ran, but the contract skips it');
  }
  if (run.succeeded !== true) problems.push(`${run.target}: the run did not succeed`);
  for (const s of p.steps) {
    const at = run.order.indexOf(s.name);
    if (at < 0) continue;
    for (const d of s.dependsOn) if (run.order.indexOf(d) > at || run.order.indexOf(d) < 0) fail(s.name, `started before upstream step '${d}' completed`);
  }
  for (const s of p.steps) {
    if (s.kind === 'register') {
      if (!running.has(s.name)) continue;
      const expected = decideGate(s.gate, scenario.metrics?.[`${s.metrics?.step}.${s.metrics?.output}`], scenario.reference).outcome;
      if (run.gates[s.name] !== expected) fail(s.name, `gate decided ${run.gates[s.name] ?? 'nothing'}, the contract decides ${expected}`);
      continue;
    }
    const seen = run.steps[s.name];
    if (!seen) continue;
    checkStep(model, p, s, seen, scenario, (m) => fail(s.name, m));
  }
  return problems;
}

function checkStep(model: EnvironmentModel, p: PipelineModel, s: ContainerStepModel, seen: StepObservation, scenario: Scenario, fail: (m: string) => void): void {
  const templates: Array<[string, string, string | undefined]> = [
    ...[...s.command.slice(1), ...s.args].map((t, i): [string, string, string | undefined] => [`argv[${i + 1}]`, t, seen.argv[i]]),
    ...Object.entries(s.env).map(([k, t]): [string, string, string | undefined] => [`env ${k}`, t, seen.env[k]]),
  ];
  if (seen.argv.length !== s.command.length - 1 + s.args.length) fail(`received ${seen.argv.length} words after the program, the step has ${s.command.length - 1 + s.args.length}`);
  for (const [where, template, actual] of templates) {
    if (actual === undefined) {
      fail(`${where} is missing`);
      continue;
    }
    const bound = capture(template, actual);
    if (!bound) {
      fail(`${where} is ${JSON.stringify(actual)}; the step says ${JSON.stringify(template)}`);
      continue;
    }
    for (const [placeholder, text] of bound) checkPlaceholder(model, p, s, placeholder, text, seen, scenario, (m) => fail(`${where} ${placeholder}: ${m}`));
  }
}

function checkPlaceholder(
  model: EnvironmentModel, p: PipelineModel, s: ContainerStepModel, placeholder: string, text: string, seen: StepObservation, scenario: Scenario, fail: (m: string) => void,
): void {
  const [kind, name] = placeholder.split('.') as ['inputs' | 'outputs' | 'params', string];
  if (kind === 'params') {
    const def = p.parameters.find((x) => x.name === name)!;
    const value = scenario.params?.[name] ?? def.default!;
    if (!sameValue(text, value, def.type)) fail(`received ${JSON.stringify(text)}, the run parameter is ${JSON.stringify(value)}`);
    return;
  }
  if (kind === 'outputs') {
    const out = s.outputs.find((o) => o.name === name)!;
    if (!path.isAbsolute(text)) return fail(`${JSON.stringify(text)} is not an absolute local path`);
    if (out.type.kind === 'artifact') {
      const files = seen.dirs[text];
      if (!files || files['data.txt'] !== artifactText(s.name, name)) fail(`${text} is not the directory the step wrote its files to`);
    } else if (scenario.outputs?.[`${s.name}.${name}`] !== undefined && seen.files[text] !== scenario.outputs[`${s.name}.${name}`]) {
      fail(`${text} is not the file the step wrote its value to`);
    }
    return;
  }
  const input = s.inputs.find((i) => i.name === name)!;
  const src = input.source;
  if (input.type.kind === 'parameter') {
    const type = input.type.type;
    const expected = src.kind === 'value' ? src.value
      : src.kind === 'parameter' ? scenario.params?.[src.parameter] ?? p.parameters.find((x) => x.name === src.parameter)!.default!
      : src.kind === 'step' ? (scenario.outputs?.[`${src.step}.${src.output}`] ?? '').replace(/\n$/, '') : undefined;
    if (expected === undefined || !sameValue(text, expected, type)) fail(`received ${JSON.stringify(text)}, the contract gives ${JSON.stringify(expected)}`);
    return;
  }
  if (!path.isAbsolute(text)) return fail(`${JSON.stringify(text)} is not an absolute local directory`);
  const files = seen.dirs[text];
  if (!files) return fail(`${text} is not a directory`);
  let expected: Record<string, string> | undefined;
  if (src.kind === 'dataset') expected = { ...scenario.data[src.dataset] };
  else if (src.kind === 'step') {
    const producer = p.steps.find((x) => x.name === src.step) as ContainerStepModel;
    const out = producer.outputs.find((o) => o.name === src.output)!;
    expected = { 'data.txt': artifactText(src.step, src.output) };
    const m = scenario.metrics?.[`${src.step}.${src.output}`];
    if (out.type.kind === 'artifact' && out.type.type === 'metrics' && m !== undefined) expected['metrics.json'] = JSON.stringify(m);
  }
  void model;
  if (JSON.stringify(sortObject(files)) !== JSON.stringify(sortObject(expected ?? {}))) fail(`directory ${text} holds ${JSON.stringify(Object.keys(files))}, the contract gives ${JSON.stringify(Object.keys(expected ?? {}))}`);
}

function sortObject(o: Record<string, string>): Array<[string, string]> {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Match a template word against a received word: placeholder (`inputs.x`) → the text it became. */
export function capture(template: string, actual: string): Map<string, string> | undefined {
  const names: string[] = [];
  const source = splitPlaceholders(template).map((part) => {
    if (part.kind === 'text') return part.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    names.push(`${part.kind}.${part.name}`);
    return '([\\s\\S]*?)';
  }).join('');
  const m = new RegExp(`^${source}$`).exec(actual);
  return m ? new Map(names.map((n, i) => [n, m[i + 1]])) : undefined;
}

/** The pipeline at `pipelinePath` of `model`. */
export function pipelineOf(model: EnvironmentModel, pipelinePath: string): PipelineModel {
  return model.resources.find((r): r is PipelineModel => r.kind === 'pipeline' && r.path === pipelinePath)!;
}

/** Steps of a pipeline that are container steps. */
export function containerSteps(p: PipelineModel): ContainerStepModel[] {
  return p.steps.filter((s: StepModel): s is ContainerStepModel => s.kind === 'container');
}
