/**
 * A small emulator of how Azure ML runs the pipeline job of a synthesized ARM template, following
 * the documented placeholder rules, used to check the step contract (docs/step-contract.md):
 *
 * - a node input bound to `${{parent.inputs.<p>}}` takes the pipeline input's literal value, one bound
 *   to `${{parent.jobs.<node>.outputs.<o>}}` the mount path of that output, a data input (`uri`) the
 *   mount path of the data; a plain literal is itself
 *   (https://learn.microsoft.com/azure/machine-learning/reference-yaml-job-pipeline, "Expression syntax for binding inputs and outputs");
 * - the component `command` gets `${{inputs.<x>}}` / `${{outputs.<o>}}` replaced textually by the
 *   input value / mount path, then runs in the container's shell
 *   (https://learn.microsoft.com/azure/machine-learning/reference-yaml-component-command);
 * - nodes run once every node they bind to has finished; an `if_else` node runs its `true_block`
 *   only when the control output it reads is true (the value an evaluator published as run property
 *   `azureml.pipeline.control`); a node whose upstream node was skipped is skipped.
 *
 * Programs are faked on PATH: every user command is a shell script that records its argv and
 * environment; `az` is a Python fake of the model registry and of `az rest`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArmTemplate, RenderedResource } from '../../../adapters/azure/arm';

const ML = 'Microsoft.MachineLearningServices/workspaces';

/** What happened to one node. */
export interface NodeRun {
  readonly node: string;
  readonly state: 'succeeded' | 'failed' | 'skipped';
  /** argv the faked program received (without argv[0]) and its environment, for command nodes that ran it. */
  readonly argv?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly stdout: string;
  readonly stderr: string;
}

/** The outcome of one emulated pipeline run. */
export interface PipelineRun {
  /** Nodes in the order they ran (or were skipped). */
  readonly order: readonly string[];
  readonly nodes: ReadonlyMap<string, NodeRun>;
  /** The registry state after the run (model name → versions with tags). */
  readonly registry: Registry;
  /** Mount path of output `o` of node `n`. */
  outputPath(node: string, output: string): string;
  /** Mount path of a data asset URI. */
  dataPath(uri: string): string;
}

/** Model versions of the fake registry. */
export type Registry = Record<string, { version: string; tags: Record<string, string> }[]>;

/** How the faked programs behave in a run. */
export interface RunScript {
  /** Shell lines the faked program of node `n` runs after recording its argv (write outputs here), given the output mount paths. */
  readonly writes?: (outputPath: (node: string, output: string) => string) => Readonly<Record<string, string>>;
  /** Exit code of the faked program of node `n` (default 0). */
  readonly exitCodes?: Readonly<Record<string, number>>;
  /** Registry before the run. */
  readonly registry?: Registry;
}

type Job = Record<string, unknown>;

/** The pipeline job of a pipeline: the CreateJob of its first schedule. */
export function pipelineJob(template: ArmTemplate, scheduleSuffix: string): { inputs: Record<string, { value: string }>; jobs: Record<string, Job> } {
  const schedule = template.resources.find((r) => r.type === `${ML}/schedules` && r.name.endsWith(scheduleSuffix));
  if (!schedule) throw new Error(`no schedule ${scheduleSuffix}`);
  return (schedule.properties as { action: { jobDefinition: { inputs: Record<string, { value: string }>; jobs: Record<string, Job> } } }).action.jobDefinition;
}

/** The component version a command node runs (`componentId` is a resourceId expression). */
function componentOf(template: ArmTemplate, job: Job): Record<string, unknown> {
  const names = [...String(job.componentId).matchAll(/'([^']*)'/g)].map((m) => m[1] as string);
  const [ws, name, version] = names.slice(1);
  const resource = template.resources.find((r: RenderedResource) => r.type === `${ML}/components/versions` && r.name === `${ws}/${name}/${version}`);
  if (!resource) throw new Error(`component ${String(job.componentId)} is not in the template`);
  return (resource.properties as { componentSpec: Record<string, unknown> }).componentSpec;
}

const PARENT_JOB = /\$\{\{parent\.jobs\.([a-z0-9_]+)(?:\.outputs\.([A-Za-z0-9_]+))?\}\}/;

/** Nodes a node waits for: those its inputs bind to, and the `if_else` nodes whose block holds it. */
export function dependencies(jobs: Record<string, Job>): Map<string, Set<string>> {
  const deps = new Map<string, Set<string>>(Object.keys(jobs).map((n) => [n, new Set<string>()]));
  for (const [name, job] of Object.entries(jobs)) {
    if (job.type === 'if_else') {
      const source = PARENT_JOB.exec(String(job.condition));
      if (source) deps.get(name)?.add(source[1] as string);
      for (const member of blockOf(job)) deps.get(member)?.add(name);
      continue;
    }
    for (const input of Object.values((job.inputs ?? {}) as Record<string, { value?: string }>)) {
      const m = PARENT_JOB.exec(String(input.value ?? ''));
      if (m) deps.get(name)?.add(m[1] as string);
    }
  }
  return deps;
}

function blockOf(job: Job): string[] {
  const block = job.true_block;
  const list = Array.isArray(block) ? block : block === undefined ? [] : [block];
  return list.map((b) => (PARENT_JOB.exec(String(b)) as RegExpExecArray)[1] as string);
}

/** Transitive upstream nodes of `node`. */
export function upstreamOf(deps: ReadonlyMap<string, ReadonlySet<string>>, node: string): Set<string> {
  const out = new Set<string>();
  const visit = (n: string) => {
    for (const d of deps.get(n) ?? []) if (!out.has(d)) (out.add(d), visit(d));
  };
  visit(node);
  return out;
}

const FAKE_PROGRAM = `#!/bin/sh
: > "$MLPLANE_TEST_DUMP.argv"
for a in "$@"; do printf '%s\\0' "$a" >> "$MLPLANE_TEST_DUMP.argv"; done
env -0 > "$MLPLANE_TEST_DUMP.env"
if [ -n "\${MLPLANE_TEST_WRITES:-}" ]; then /bin/sh -c "$MLPLANE_TEST_WRITES" || exit 1; fi
exit "\${MLPLANE_TEST_EXIT:-0}"
`;

const FAKE_AZ = String.raw`
import json, os, sys
args = sys.argv[1:]
state_path = os.environ['MLPLANE_TEST_REGISTRY']
log_path = os.environ['MLPLANE_TEST_AZ_LOG']
with open(log_path, 'a') as log:
    log.write(json.dumps(args) + '\n')
def opt(name):
    return args[args.index(name) + 1] if name in args else None
def load():
    with open(state_path) as f:
        return json.load(f)
def save(state):
    with open(state_path, 'w') as f:
        json.dump(state, f)
if args[:2] in (['extension', 'add'], ['login', '--identity']) or args[:1] == ['rest']:
    sys.exit(0)
if args[:2] == ['ml', 'model']:
    state = load()
    versions = state.setdefault(opt('--name'), [])
    if args[2] == 'list':
        print(json.dumps(versions))
    elif args[2] == 'create':
        tags = {}
        for i, a in enumerate(args):
            if a == '--set' and args[i + 1].startswith('tags.'):
                k, v = args[i + 1][len('tags.'):].split('=', 1)
                tags[k] = v
        version = {'version': str(len(versions) + 1), 'tags': tags, 'path': opt('--path')}
        versions.append(version)
        save(state)
        print(json.dumps(version))
    elif args[2] == 'update':
        version = next(v for v in versions if v['version'] == opt('--version'))
        for i, a in enumerate(args):
            if a == '--set':
                k, v = args[i + 1][len('tags.'):].split('=', 1)
                version['tags'][k] = v
            if a == '--remove':
                version['tags'].pop(args[i + 1][len('tags.'):], None)
        save(state)
        print(json.dumps(version))
    sys.exit(0)
if args[:3] == ['ml', 'online-deployment', 'update']:
    # The register step's alias rollout (adapters/azure/alias.ts); the call is in the az log.
    print(json.dumps({'name': opt('--name'), 'endpoint': opt('--endpoint-name')}))
    sys.exit(0)
sys.exit('fake az: unsupported ' + ' '.join(args))
`;

/** Run the pipeline job of `template` (the job of schedule `scheduleSuffix`); `programs` are the command names to fake. */
export function runPipeline(template: ArmTemplate, scheduleSuffix: string, programs: readonly string[], script: RunScript = {}): PipelineRun {
  const root = mkdtempSync(join(tmpdir(), 'mlplane-azure-emulator-'));
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const p of new Set(programs)) {
    if (p.includes('/')) throw new Error(`cannot fake absolute program ${p}`);
    // A step may run a real interpreter (python3 examples/…) that mlplane's own scripts also use
    // (the register and condition scripts run `python3 <abs path>` / `python3 -c`): the fake
    // intercepts only the step's invocations and hands the platform's own ones to the real program.
    const real = spawnSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' }).stdout.trim();
    const passThrough = real ? `case "\${1:-}" in -c|/*) exec ${real} "$@";; esac\n` : '';
    writeFileSync(join(bin, p), FAKE_PROGRAM.replace('\n', `\n${passThrough}`));
    chmodSync(join(bin, p), 0o755);
  }
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(bin, 'az'), `#!${python}\n${FAKE_AZ}`);
  chmodSync(join(bin, 'az'), 0o755);
  const registryPath = join(root, 'registry.json');
  const azLog = join(root, 'az.log');
  writeFileSync(registryPath, JSON.stringify(script.registry ?? {}));

  const outputPath = (node: string, output: string) => join(root, 'jobs', node, 'outputs', output);
  const dataPath = (uri: string) => join(root, 'data', uri.replace(/[^A-Za-z0-9._-]/g, '_'));
  const { inputs: pipelineInputs, jobs } = pipelineJob(template, scheduleSuffix);
  const deps = dependencies(jobs);
  const writes = script.writes?.(outputPath) ?? {};
  const state = new Map<string, NodeRun>();
  const decided = new Map<string, boolean>();
  const order: string[] = [];

  const resolveBinding = (value: string): string => {
    const parent = /^\$\{\{parent\.inputs\.([A-Za-z0-9_]+)\}\}$/.exec(value);
    if (parent) {
      const input = pipelineInputs[parent[1] as string];
      if (!input) throw new Error(`pipeline input ${parent[1]} is not defined`);
      return input.value;
    }
    const job = /^\$\{\{parent\.jobs\.([a-z0-9_]+)\.outputs\.([A-Za-z0-9_]+)\}\}$/.exec(value);
    if (job) return outputPath(job[1] as string, job[2] as string);
    if (value.includes('${{')) throw new Error(`unresolvable binding ${value}`);
    return value;
  };

  const runCommand = (name: string, job: Job): NodeRun => {
    const spec = componentOf(template, job);
    const values = new Map<string, string>();
    for (const [input, binding] of Object.entries((job.inputs ?? {}) as Record<string, { job_input_type: string; value?: string; uri?: string }>)) {
      if (binding.job_input_type === 'literal') values.set(input, resolveBinding(String(binding.value)));
      else {
        const path = dataPath(String(binding.uri));
        mkdirSync(path, { recursive: true });
        values.set(input, path);
      }
    }
    for (const input of Object.keys((spec.inputs ?? {}) as object)) if (!values.has(input)) throw new Error(`${name}: component input ${input} is not bound`);
    for (const output of Object.keys((spec.outputs ?? {}) as Record<string, { is_control?: boolean }>)) mkdirSync(outputPath(name, output), { recursive: true });
    const command = String(spec.command).replace(/\$\{\{(inputs|outputs)\.([A-Za-z0-9_]+)\}\}/g, (_, scope: string, key: string) => {
      if (scope === 'outputs') return outputPath(name, key);
      const v = values.get(key);
      if (v === undefined) throw new Error(`${name}: command names input ${key}, which is not bound`);
      return v;
    });
    if (command.includes('${{')) throw new Error(`${name}: unresolved placeholder left in the command`);
    const dump = join(root, 'dumps', name);
    mkdirSync(join(root, 'dumps'), { recursive: true });
    mkdirSync(join(root, 'tmp', name), { recursive: true });
    const envVars: Record<string, string> = {};
    for (const [k, v] of Object.entries((job.environment_variables ?? {}) as Record<string, unknown>)) envVars[k] = String(v);
    const env: Record<string, string> = {
      ...envVars,
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: root,
      TMPDIR: join(root, 'tmp', name),
      MLPLANE_TEST_DUMP: dump,
      MLPLANE_TEST_REGISTRY: registryPath,
      MLPLANE_TEST_AZ_LOG: azLog,
      MLFLOW_TRACKING_URI: 'azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws',
      MLFLOW_EXPERIMENT_ID: 'exp',
      // Azure ML sets these in every job: the workspace the job runs in.
      AZUREML_ARM_SUBSCRIPTION: 's',
      AZUREML_ARM_RESOURCEGROUP: 'rg',
      AZUREML_ARM_WORKSPACE_NAME: 'ws',
      MLFLOW_RUN_ID: `run-${name}`,
      MLPLANE_TEST_WRITES: writes[name] ?? '',
      MLPLANE_TEST_EXIT: String(script.exitCodes?.[name] ?? 0),
    };
    const result = spawnSync('/bin/sh', ['-c', command], { env, cwd: root, encoding: 'utf8', timeout: 20_000 });
    const argvFile = `${dump}.argv`;
    const ran = existsSync(argvFile);
    const run: NodeRun = {
      node: name,
      state: result.status === 0 ? 'succeeded' : 'failed',
      argv: ran ? readFileSync(argvFile, 'utf8').split('\0').slice(0, -1) : undefined,
      env: ran ? Object.fromEntries(readFileSync(`${dump}.env`, 'utf8').split('\0').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) : undefined,
      stdout: result.stdout,
      stderr: result.stderr,
    };
    return run;
  };

  const controlOutput = (node: string): boolean | undefined => {
    if (!existsSync(azLog)) return undefined;
    for (const line of readFileSync(azLog, 'utf8').split('\n').filter(Boolean)) {
      const args = JSON.parse(line) as string[];
      if (args[0] !== 'rest' || !String(args[args.indexOf('--url') + 1]).endsWith(`/runs/run-${node}`)) continue;
      if (!String(args[args.indexOf('--url') + 1]).startsWith('https://westeurope.api.azureml.ms/history/v1.0/subscriptions/s/')) throw new Error(`unexpected run history URL ${args[args.indexOf('--url') + 1]}`);
      const body = JSON.parse(args[args.indexOf('--body') + 1] as string) as { runId: string; properties: Record<string, string> };
      return (JSON.parse(body.properties['azureml.pipeline.control'] as string) as { result: boolean }).result;
    }
    return undefined;
  };

  let failed = false;
  while (order.length < Object.keys(jobs).length && !failed) {
    // Among the ready nodes, run the one latest in name order: a missing edge shows up as a wrong order.
    const ready = Object.keys(jobs)
      .filter((n) => !state.has(n) && !decided.has(n) && [...(deps.get(n) ?? [])].every((d) => state.has(d) || decided.has(d)))
      .sort()
      .reverse();
    const name = ready[0];
    if (name === undefined) throw new Error(`deadlock: ${Object.keys(jobs).filter((n) => !state.has(n) && !decided.has(n)).join(', ')}`);
    const job = jobs[name] as Job;
    order.push(name);
    const upstream = [...(deps.get(name) ?? [])];
    if (job.type === 'if_else') {
      const source = (PARENT_JOB.exec(String(job.condition)) as RegExpExecArray)[1] as string;
      decided.set(name, state.get(source)?.state === 'succeeded' && controlOutput(source) === true);
      continue;
    }
    const skipped = upstream.some((d) => state.get(d)?.state === 'skipped' || decided.get(d) === false);
    if (skipped) {
      state.set(name, { node: name, state: 'skipped', stdout: '', stderr: '' });
      continue;
    }
    const run = runCommand(name, job);
    state.set(name, run);
    failed = run.state === 'failed';
  }
  return { order, nodes: state, registry: JSON.parse(readFileSync(registryPath, 'utf8')) as Registry, outputPath, dataPath };
}
