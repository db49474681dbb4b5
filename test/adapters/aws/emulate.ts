/**
 * An emulator of what a synthesized aws pipeline does at run time, for the contract tests: it
 * interprets the Step Functions definition (JSONPath states, the intrinsic functions the adapter
 * uses, Choice rules), resolves container overrides against the task/job definitions the way ECS
 * and Batch document them (override Command replaces the command, override Environment is laid
 * over the definition's), runs the staging containers' shell scripts with `sh` against a fake
 * `aws s3 cp` on a local directory standing for S3, and hands the step's own container to a
 * callback. Nothing here is copied from the adapter: it reads only the synthesized templates.
 *
 * References:
 * - https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
 * - https://states-language.net/spec.html (Pass, Task, Choice, Parallel, Fail; ResultSelector, ResultPath)
 * - https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerOverride.html
 * - https://docs.aws.amazon.com/batch/latest/APIReference/API_TaskContainerOverrides.html
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** A CloudFormation template as `Template.toJSON()` returns it. */
export interface TemplateJson {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** Render CloudFormation intrinsics as plain text tokens (`ref:Id`, `getatt:Id.Attr`) so the emulator can follow them. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v && typeof v === 'object') {
    if ('Ref' in v) return `ref:${String(v.Ref)}`;
    if ('Fn::GetAtt' in v) return `getatt:${(v['Fn::GetAtt'] as string[]).join('.')}`;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(sep);
    }
  }
  return `<${JSON.stringify(value)}>`;
}

/** The definition of the state machine resource whose logical id starts with `prefix`. */
export function machineDefinition(t: TemplateJson, prefix: string): Obj {
  const entry = Object.entries(t.Resources).find(([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith(prefix));
  if (!entry) throw new Error(`no state machine ${prefix}`);
  return JSON.parse(flatten(entry[1].Properties?.DefinitionString)) as Obj;
}

// ---------------------------------------------------------------------------------------------
// JSONPath and intrinsic functions

/** Read a JSONPath (`$.a.b[0].c`, `$$.Execution.Name`); `undefined` when absent. */
export function readPath(path: string, input: Json, context: Json): Json | undefined {
  let cur: Json | undefined = path.startsWith('$$') ? context : input;
  const rest = path.startsWith('$$') ? path.slice(2) : path.slice(1);
  for (const m of rest.matchAll(/\.([A-Za-z0-9_]+)|\[(\d+)\]/g)) {
    if (cur === undefined || cur === null || typeof cur !== 'object') return undefined;
    cur = m[1] !== undefined ? (cur as Obj)[m[1]] : (cur as Json[])[Number(m[2])];
  }
  return cur;
}

/** Text of a value inside States.Format: strings as themselves, everything else as JSON. */
function formatArg(v: Json): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Evaluate a JSONPath or intrinsic function expression. */
export function evaluate(expr: string, input: Json, context: Json): Json {
  const p = new ExprParser(expr, input, context);
  const v = p.value();
  p.end();
  return v;
}

class ExprParser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly input: Json,
    private readonly context: Json,
  ) {}

  end(): void {
    this.ws();
    if (this.i !== this.s.length) throw new Error(`trailing text in '${this.s}' at ${this.i}`);
  }

  value(): Json {
    this.ws();
    const c = this.s[this.i];
    if (c === "'") return this.str();
    if (c === '$') {
      const m = /^\$\$?[A-Za-z0-9_.[\]]*/.exec(this.s.slice(this.i));
      const path = m?.[0] ?? '$';
      this.i += path.length;
      const v = readPath(path, this.input, this.context);
      if (v === undefined) throw new Error(`States.Runtime: path ${path} is absent`);
      return v;
    }
    if (c !== undefined && /[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(this.s.slice(this.i));
      this.i += m?.[0].length ?? 0;
      return Number(m?.[0]);
    }
    if (this.s.startsWith('true', this.i) || this.s.startsWith('false', this.i)) {
      const b = this.s.startsWith('true', this.i);
      this.i += b ? 4 : 5;
      return b;
    }
    const m = /^States\.([A-Za-z]+)\(/.exec(this.s.slice(this.i));
    if (!m) throw new Error(`cannot parse '${this.s}' at ${this.i}`);
    this.i += m[0].length;
    const args: { raw?: string; v: Json }[] = [];
    this.ws();
    while (this.s[this.i] !== ')') {
      this.ws();
      const at = this.i;
      const isString = this.s[at] === "'";
      const v = this.value();
      args.push({ v, raw: isString ? this.s.slice(at, this.i) : undefined });
      this.ws();
      if (this.s[this.i] === ',') this.i++;
    }
    this.i++;
    return this.call(m[1] as string, args);
  }

  private call(name: string, args: { raw?: string; v: Json }[]): Json {
    switch (name) {
      case 'Array':
        return args.map((a) => a.v);
      case 'Format': {
        const [tmpl, ...rest] = args;
        if (!tmpl?.raw) throw new Error('States.Format needs a literal template');
        return formatTemplate(tmpl.raw.slice(1, -1), rest.map((a) => a.v));
      }
      case 'JsonMerge': {
        const [a, b, deep] = args;
        if (deep?.v !== false) throw new Error('only shallow JsonMerge is supported');
        return { ...(a?.v as Obj), ...(b?.v as Obj) };
      }
      case 'StringToJson':
        return JSON.parse(String(args[0]?.v)) as Json;
      default:
        throw new Error(`intrinsic States.${name} is not emulated`);
    }
  }

  /**
   * A string literal: `\` escapes the next character; `'`, `{`, `}` and `\` are reserved and must be
   * escaped, except the `{}` of a States.Format template.
   */
  private str(): string {
    this.i++;
    let out = '';
    while (this.s[this.i] !== "'") {
      if (this.i >= this.s.length) throw new Error(`unterminated string in '${this.s}'`);
      const c = this.s[this.i];
      if (c === '\\') {
        this.i++;
      } else if ((c === '{' && this.s[this.i + 1] !== '}') || (c === '}' && this.s[this.i - 1] !== '{')) {
        throw new Error(`reserved character '${c}' is not escaped in '${this.s}'`);
      }
      out += this.s[this.i];
      this.i++;
    }
    this.i++;
    return out;
  }

  private ws(): void {
    while (this.s[this.i] === ' ') this.i++;
  }
}

/** Expand a States.Format template (raw, escapes intact): unescaped `{}` takes the next argument. */
function formatTemplate(raw: string, args: Json[]): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\') {
      out += raw[i + 1] ?? '';
      i++;
    } else if (c === '{' && raw[i + 1] === '}') {
      if (n >= args.length) throw new Error(`too few arguments for '${raw}'`);
      out += formatArg(args[n++] as Json);
      i++;
    } else {
      out += c;
    }
  }
  if (n !== args.length) throw new Error(`too many arguments for '${raw}'`);
  return out;
}

/** Render a Parameters/ResultSelector object: keys ending in `.$` are evaluated. */
export function renderParameters(template: Json, input: Json, context: Json): Json {
  if (Array.isArray(template)) return template.map((x) => renderParameters(x, input, context));
  if (template && typeof template === 'object') {
    const out: Obj = {};
    for (const [k, v] of Object.entries(template)) {
      if (k.endsWith('.$')) out[k.slice(0, -2)] = evaluate(String(v), input, context);
      else out[k] = renderParameters(v, input, context);
    }
    return out;
  }
  return template;
}

/** Apply a ResultPath: `null` keeps the input, `$` replaces it, `$.a.b` sets a field whose parent must exist. */
function applyResultPath(resultPath: Json | undefined, input: Json, result: Json): Json {
  if (resultPath === null) return input;
  if (resultPath === undefined || resultPath === '$') return result;
  const parts = String(resultPath).slice(2).split('.');
  const copy = structuredClone(input) as Obj;
  let cur = copy;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (!next || typeof next !== 'object') throw new Error(`States.Runtime: ResultPath ${String(resultPath)}: ${part} is absent`);
    cur = next as Obj;
  }
  cur[parts[parts.length - 1] as string] = result;
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Choice rules

function choiceMatches(rule: Obj, input: Json, context: Json): boolean {
  if ('Not' in rule) return !choiceMatches(rule.Not as Obj, input, context);
  if ('And' in rule) return (rule.And as Obj[]).every((r) => choiceMatches(r, input, context));
  if ('Or' in rule) return (rule.Or as Obj[]).some((r) => choiceMatches(r, input, context));
  const path = String(rule.Variable);
  const v = readPath(path, input, context);
  if ('IsPresent' in rule) return (v !== undefined) === rule.IsPresent;
  if (v === undefined) throw new Error(`States.Runtime: Choice reads absent path ${path}`);
  if ('IsNumeric' in rule) return (typeof v === 'number') === rule.IsNumeric;
  const num = (k: string, f: (a: number, b: number) => boolean) => typeof v === 'number' && f(v, rule[k] as number);
  if ('NumericEquals' in rule) return num('NumericEquals', (a, b) => a === b);
  if ('NumericLessThan' in rule) return num('NumericLessThan', (a, b) => a < b);
  if ('NumericLessThanEquals' in rule) return num('NumericLessThanEquals', (a, b) => a <= b);
  if ('NumericGreaterThan' in rule) return num('NumericGreaterThan', (a, b) => a > b);
  if ('NumericGreaterThanEquals' in rule) return num('NumericGreaterThanEquals', (a, b) => a >= b);
  if ('StringEquals' in rule) return v === rule.StringEquals;
  if ('BooleanEquals' in rule) return v === rule.BooleanEquals;
  throw new Error(`Choice rule not emulated: ${JSON.stringify(rule)}`);
}

// ---------------------------------------------------------------------------------------------
// Containers

/** One container as the task would start it. */
export interface Container {
  readonly name: string;
  readonly image: string;
  /** Entrypoint + command, as the container's process receives them. */
  readonly argv: string[];
  /** How many words of argv are the entrypoint (an override's Command replaces the rest). */
  readonly entryLength: number;
  /** Container paths of the task volumes mounted into it. */
  readonly mounts: string[];
  readonly env: Record<string, string>;
  readonly essential: boolean;
  readonly dependsOn: { readonly containerName: string; readonly condition: string }[];
}

function envList(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of (list ?? []) as { Name: string; Value: unknown }[]) out[e.Name] = flatten(e.Value);
  return out;
}

function mountsOf(points: unknown): string[] {
  return ((points ?? []) as { ContainerPath: string }[]).map((m) => m.ContainerPath);
}

function withOverrides(base: Container[], overrides: readonly Obj[]): Container[] {
  return base.map((c) => {
    const o = overrides.find((x) => x.Name === c.name);
    if (!o) return c;
    const env = { ...c.env };
    for (const e of (o.Environment ?? []) as { Name: string; Value: string }[]) env[e.Name] = e.Value;
    const command = o.Command as string[] | undefined;
    return { ...c, env, argv: command ? [...c.argv.slice(0, c.entryLength), ...command] : c.argv };
  });
}

/** Containers of the ECS task definition with family `family`, with the state's overrides. */
export function ecsContainers(t: TemplateJson, family: string, overrides: readonly Obj[]): Container[] {
  const def = Object.values(t.Resources).find((r) => r.Type === 'AWS::ECS::TaskDefinition' && r.Properties?.Family === family);
  if (!def) throw new Error(`no task definition of family ${family}`);
  const base = (def.Properties?.ContainerDefinitions as Record<string, unknown>[]).map((c) => {
    const entry = ((c.EntryPoint ?? []) as unknown[]).map(flatten);
    const container: Container = {
      name: String(c.Name),
      image: flatten(c.Image),
      argv: [...entry, ...((c.Command ?? []) as unknown[]).map(flatten)],
      env: envList(c.Environment),
      essential: c.Essential !== false,
      dependsOn: ((c.DependsOn ?? []) as { ContainerName: string; Condition: string }[]).map((d) => ({ containerName: d.ContainerName, condition: d.Condition })),
      entryLength: entry.length,
      mounts: mountsOf(c.MountPoints),
    };
    return container;
  });
  return withOverrides(base, overrides);
}

/** Containers of the Batch job definition `logicalId` (EcsProperties), with the state's overrides. */
export function batchContainers(t: TemplateJson, logicalId: string, overrides: readonly Obj[]): Container[] {
  const def = t.Resources[logicalId];
  if (!def || def.Type !== 'AWS::Batch::JobDefinition') throw new Error(`no job definition ${logicalId}`);
  const task = (def.Properties?.EcsProperties as { TaskProperties: { Containers: Record<string, unknown>[] }[] }).TaskProperties[0];
  const base = (task?.Containers ?? []).map(
    (c): Container => ({
      name: String(c.Name),
      image: flatten(c.Image),
      argv: ((c.Command ?? []) as unknown[]).map(flatten),
      env: envList(c.Environment),
      essential: c.Essential !== false,
      dependsOn: ((c.DependsOn ?? []) as { ContainerName: string; Condition: string }[]).map((d) => ({ containerName: d.ContainerName, condition: d.Condition })),
      entryLength: 0,
      mounts: mountsOf(c.MountPoints),
    }),
  );
  return withOverrides(base, overrides);
}

// ---------------------------------------------------------------------------------------------
// The run

/** What a step's own container does, given what it received (paths already on this machine). */
export type StepProcess = (step: string, container: Container, root: string) => number;

/** A run that failed: which state, why. */
export class RunFailed extends Error {
  constructor(
    readonly state: string,
    readonly error: string,
    readonly reason: string,
  ) {
    super(`${state}: ${error}: ${reason}`);
  }
}

/** The record of one emulated execution. */
export interface Execution {
  /** Task states that ran a step's containers, in order. */
  readonly steps: string[];
  /** What each step's own container received. */
  readonly received: Map<string, Container>;
  readonly output: Json;
}

const FAKE_AWS = `#!/bin/sh
# aws s3 cp [--recursive] [--only-show-errors] SRC DST, on the directory $FAKE_S3 standing for S3
[ "$1" = s3 ] && [ "$2" = cp ] || { echo "fake aws: unsupported $*" >&2; exit 2; }
shift 2
rec=0
while [ $# -gt 2 ]; do
  case "$1" in --recursive) rec=1 ;; --only-show-errors) ;; *) echo "fake aws: option $1" >&2; exit 2 ;; esac
  shift
done
map() { case "$1" in s3://*) printf '%s' "$FAKE_S3/\${1#s3://}" ;; *) printf '%s' "$1" ;; esac; }
src=$(map "$1"); dst=$(map "$2")
if [ "$1" = - ]; then mkdir -p "$(dirname "$dst")"; cat > "$dst"; exit 0; fi
if [ $rec = 1 ]; then mkdir -p "$dst"; if [ -d "$src" ]; then cp -R "$src/." "$dst/"; fi; exit 0; fi
cp "$src" "$dst"
`;

/** Emulates executions of the state machines of one template. */
export class Emulator {
  /** Local directory standing for S3: `<s3>/<bucket>/<key>`. */
  readonly s3: string;
  private readonly bin: string;
  private tasks = 0;

  constructor(
    private readonly template: TemplateJson,
    private readonly step: StepProcess,
  ) {
    const dir = mkdtempSync(join(tmpdir(), 'mlplane-aws-emulate-'));
    this.s3 = join(dir, 's3');
    this.bin = join(dir, 'bin');
    mkdirSync(this.s3);
    mkdirSync(this.bin);
    writeFileSync(join(this.bin, 'aws'), FAKE_AWS);
    chmodSync(join(this.bin, 'aws'), 0o755);
  }

  /** Put an object into the fake S3. */
  putObject(uri: string, body: string): void {
    const file = join(this.s3, uri.replace(/^s3:\/\//, ''));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body);
  }

  /** Read an object of the fake S3 (undefined when absent). */
  getObject(uri: string): string | undefined {
    const file = join(this.s3, uri.replace(/^s3:\/\//, ''));
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  /** Run the state machine `definition` on `input` under execution name `run`. */
  run(definition: Obj, input: Json, run: string): Execution {
    const exec = { steps: [] as string[], received: new Map<string, Container>() };
    const context: Json = { Execution: { Name: run } };
    const output = this.runStates(definition, input, context, exec);
    return { ...exec, output };
  }

  private runStates(machine: Obj, input: Json, context: Json, exec: { steps: string[]; received: Map<string, Container> }): Json {
    const states = machine.States as Record<string, Obj>;
    let name = String(machine.StartAt);
    let data = input;
    for (let guard = 0; guard < 10_000; guard++) {
      const state = states[name];
      if (!state) throw new Error(`no state ${name}`);
      let next: string | undefined = state.Next as string | undefined;
      switch (state.Type) {
        case 'Pass': {
          const result = state.Parameters !== undefined ? renderParameters(state.Parameters, data, context) : state.Result !== undefined ? state.Result : data;
          data = applyResultPath(state.ResultPath, data, result);
          break;
        }
        case 'Task': {
          const params = renderParameters(state.Parameters ?? {}, data, context) as Obj;
          let result = this.task(name, String(state.Resource), params, exec);
          if (state.ResultSelector !== undefined) result = renderParameters(state.ResultSelector, result, context);
          data = applyResultPath(state.ResultPath, data, result);
          break;
        }
        case 'Choice': {
          const rule = (state.Choices as Obj[]).find((r) => choiceMatches(r, data, context));
          next = rule ? String(rule.Next) : (state.Default as string | undefined);
          if (!next) throw new RunFailed(name, 'States.NoChoiceMatched', 'no rule matched');
          break;
        }
        case 'Parallel': {
          const results = (state.Branches as Obj[]).map((b) => this.runStates(b, structuredClone(data), context, exec));
          data = applyResultPath(state.ResultPath, data, results);
          break;
        }
        case 'Fail':
          throw new RunFailed(name, String(state.Error), String(state.Cause));
        case 'Succeed':
          return data;
        default:
          throw new Error(`state type ${String(state.Type)} not emulated`);
      }
      if (state.End === true || next === undefined) return data;
      name = next;
    }
    throw new Error('too many transitions');
  }

  private task(name: string, resource: string, params: Obj, exec: { steps: string[]; received: Map<string, Container> }): Json {
    if (resource.endsWith(':states:::aws-sdk:s3:getObject')) {
      const body = this.getObject(`s3://${String(params.Bucket)}/${String(params.Key)}`);
      if (body === undefined) throw new RunFailed(name, 'S3.NoSuchKeyException', `${String(params.Bucket)}/${String(params.Key)}`);
      return { Body: body };
    }
    let containers: Container[];
    if (resource.endsWith(':states:::ecs:runTask.sync')) {
      const overrides = ((params.Overrides as Obj | undefined)?.ContainerOverrides ?? []) as Obj[];
      containers = ecsContainers(this.template, String(params.TaskDefinition), overrides);
    } else if (resource.endsWith(':states:::batch:submitJob.sync')) {
      const task = ((params.EcsPropertiesOverride as Obj | undefined)?.TaskProperties as Obj[] | undefined)?.[0];
      containers = batchContainers(this.template, String(params.JobDefinition).replace(/^ref:/, ''), (task?.Containers ?? []) as Obj[]);
    } else {
      throw new Error(`task resource ${resource} not emulated`);
    }
    exec.steps.push(name);
    this.runContainers(name, containers, exec);
    return {};
  }

  /**
   * Start containers in dependency order (`SUCCESS`: the dependency exited 0); a container whose
   * dependency failed never starts; the task fails when any container exited non-zero or an
   * essential one never ran (Step Functions `.sync` fails the state on a non-zero exit code).
   */
  private runContainers(state: string, containers: Container[], exec: { received: Map<string, Container> }): void {
    const root = join(this.s3, '..', `task-${++this.tasks}`);
    mkdirSync(root);
    const exit = new Map<string, number>();
    const pending = [...containers];
    while (pending.length > 0) {
      const ready = pending.findIndex((c) => c.dependsOn.every((d) => exit.has(d.containerName)));
      if (ready < 0) throw new Error('dependency cycle');
      const [c] = pending.splice(ready, 1) as [Container];
      const blocked = c.dependsOn.some((d) => d.condition === 'SUCCESS' && exit.get(d.containerName) !== 0);
      if (blocked) {
        exit.set(c.name, -1);
        continue;
      }
      const local = localize(c, root);
      if (c.name === 'main') exec.received.set(state, local);
      // The step's own container is `main`; the others (staging) are shell scripts run as they are.
      exit.set(c.name, c.name === 'main' ? this.step(state, local, root) : this.shell(local));
    }
    const failed = containers.filter((c) => (exit.get(c.name) ?? 0) > 0 || (c.essential && exit.get(c.name) === -1));
    if (failed.length > 0) throw new RunFailed(state, 'States.TaskFailed', failed.map((c) => `${c.name} exited ${exit.get(c.name)}`).join(', '));
  }

  /** Run a `/bin/sh -c <script>` container with the fake aws CLI on its PATH. */
  shell(c: Container): number {
    if (c.argv[0] !== '/bin/sh') throw new Error(`${c.name} is not a shell script: ${c.argv.join(' ')}`);
    const r = spawnSync('sh', c.argv.slice(1), { env: { ...c.env, PATH: `${this.bin}:/usr/bin:/bin`, FAKE_S3: this.s3 }, encoding: 'utf8' });
    if (r.status !== 0) process.stderr.write(`[${c.name}] ${r.stderr}`);
    return r.status ?? 1;
  }
}

/** The container with its volume mounts moved under `root` on this machine (the only rewrite the emulator makes). */
function localize(c: Container, root: string): Container {
  const move = (s: string) => c.mounts.reduce((acc, m) => acc.replaceAll(m, `${root}${m}`), s);
  return { ...c, argv: c.argv.map(move), env: Object.fromEntries(Object.entries(c.env).map(([k, v]) => [k, move(v)])) };
}
