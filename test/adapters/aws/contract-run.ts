/**
 * A contract-checking stand-in for the containers of a pipeline, used with the emulator: each
 * step's container matches what it received against the step's `command`/`args`/`env` templates
 * of the model (docs/step-contract.md), records it, and writes its outputs the way a real step
 * would; register steps run the register script for real (python3) against stub `mlflow` and
 * `boto3` modules backed by local files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { PipelineModel, StepModel } from '../../../lib/model/types';
import type { Container, Emulator } from './emulate';

/** What a scenario's steps write and what the registry holds. */
export interface Scenario {
  /** Execution input (`{ parameters: {...} }`, or `{}` for defaults). */
  readonly input: Record<string, unknown>;
  /** Text each parameter output gets (`Step.output` → text as written, e.g. with a trailing newline). */
  readonly paramOutputs?: Readonly<Record<string, string>>;
  /** Content of metrics.json of each metrics output (`Step.output` → object). */
  readonly metrics?: Readonly<Record<string, unknown>>;
  /** Registered models before the run: name → versions' tags and aliases. */
  readonly registry?: Readonly<Record<string, { versions: { tags: Record<string, string> }[]; aliases: Record<string, number> }>>;
}

/** What one placeholder turned into inside a container. */
export interface Received {
  readonly text: string;
  /** For input artifacts: the files under the directory (relative path → content). */
  readonly files?: Readonly<Record<string, string>>;
}

const PLACEHOLDER = /\{\{\s*((?:inputs|outputs|params)\.[A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Match `actual` against a template word; the text of each placeholder, or undefined when it does not match. */
export function capture(template: string, actual: string): Record<string, string> | undefined {
  const names: string[] = [];
  const source = template
    .split(PLACEHOLDER)
    .map((part, i) => {
      if (i % 2 === 1) {
        names.push(part);
        return '([\\s\\S]*?)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const m = new RegExp(`^${source}$`).exec(actual);
  if (!m) return undefined;
  return Object.fromEntries(names.map((n, i) => [n, m[i + 1] as string]));
}

function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const f = join(d, e);
      if (statSync(f).isDirectory()) walk(f);
      else out[relative(dir, f)] = readFileSync(f, 'utf8');
    }
  };
  walk(dir);
  return out;
}

const STUB_MLFLOW = `
import json, os
class _Version:
    def __init__(self, version, tags):
        self.version = version
        self.tags = tags
class MlflowClient:
    def __init__(self):
        self.path = os.environ['FAKE_MLFLOW']
        self.db = json.load(open(self.path)) if os.path.exists(self.path) else {}
    def _save(self):
        json.dump(self.db, open(self.path, 'w'))
    def create_registered_model(self, name):
        if name in self.db:
            raise Exception('RESOURCE_ALREADY_EXISTS')
        self.db[name] = {'versions': [], 'aliases': {}}
        self._save()
    def create_model_version(self, name, source, tags=None):
        m = self.db[name]
        m['versions'].append({'source': source, 'tags': dict(tags or {})})
        self._save()
        return _Version(len(m['versions']), tags)
    def get_model_version_by_alias(self, name, alias):
        m = self.db[name]
        v = m['aliases'][alias]
        return _Version(v, m['versions'][v - 1]['tags'])
    def set_registered_model_alias(self, name, alias, version):
        self.db[name]['aliases'][alias] = int(version)
        self._save()
`;

const STUB_BOTO3 = `
import io, os, shutil
def _file(bucket, key):
    return os.path.join(os.environ['FAKE_S3'], bucket, key)
class _Objects:
    # list_objects_v2 pages: every file under the prefix, one page.
    def paginate(self, Bucket, Prefix):
        root = os.path.join(os.environ['FAKE_S3'], Bucket)
        keys = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
        return [{'Contents': [{'Key': k} for k in keys if k.startswith(Prefix)]}]
class _S3:
    def get_object(self, Bucket, Key):
        return {'Body': io.BytesIO(open(_file(Bucket, Key), 'rb').read())}
    def get_paginator(self, op):
        assert op == 'list_objects_v2'
        return _Objects()
    def copy(self, CopySource, Bucket, Key):
        os.makedirs(os.path.dirname(_file(Bucket, Key)), exist_ok=True)
        shutil.copyfile(_file(CopySource['Bucket'], CopySource['Key']), _file(Bucket, Key))
class _Pages:
    def paginate(self, **kw):
        return [{'serviceArns': []}]
class _Ecs:
    # The register task's alias rollout (adapters/aws/alias.ts): no serving services in the contract cluster.
    def get_paginator(self, op):
        assert op == 'list_services'
        return _Pages()
def client(name):
    assert name in ('s3', 'ecs')
    return _S3() if name == 's3' else _Ecs()
`;

/** Scratch folders of the runs of this test process, removed when it exits. */
const scratch: string[] = [];
process.once('exit', () => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** The stand-in containers of one run of pipeline `p`. */
export class ContractRun {
  /** Per step: placeholder (`inputs.x`) → what the container got. */
  readonly received = new Map<string, Map<string, Received>>();
  /** Per register step: its exit code and output. */
  readonly registers = new Map<string, { status: number; stdout: string; stderr: string }>();
  readonly registryFile: string;
  private readonly stubs: string;
  emulator?: Emulator;

  constructor(
    private readonly p: PipelineModel,
    private readonly scenario: Scenario,
  ) {
    const dir = mkdtempSync(join(tmpdir(), 'mlplane-aws-contract-'));
    scratch.push(dir);
    this.stubs = join(dir, 'stubs');
    mkdirSync(join(this.stubs, 'mlflow'), { recursive: true });
    mkdirSync(join(this.stubs, 'boto3'));
    writeFileSync(join(this.stubs, 'mlflow', '__init__.py'), STUB_MLFLOW);
    writeFileSync(join(this.stubs, 'boto3', '__init__.py'), STUB_BOTO3);
    this.registryFile = join(dir, 'registry.json');
    if (scenario.registry) writeFileSync(this.registryFile, JSON.stringify(scenario.registry));
  }

  /** The registry after the run. */
  registry(): Record<string, { versions: { source: string; tags: Record<string, string> }[]; aliases: Record<string, number> }> {
    return existsSync(this.registryFile) ? (JSON.parse(readFileSync(this.registryFile, 'utf8')) as ReturnType<ContractRun['registry']>) : {};
  }

  /** The StepProcess for the emulator. */
  readonly process = (state: string, c: Container): number => {
    const step = this.p.steps.find((s) => s.name === state);
    if (!step) throw new Error(`state ${state} is no step of ${this.p.path}`);
    return step.kind === 'register' ? this.register(step, c) : this.container(step, c);
  };

  private register(step: StepModel, c: Container): number {
    // The task runs `pip install … && exec python -c "$MLPLANE_REGISTER_SCRIPT"`; here the packages are stubs.
    if (!c.argv.join(' ').includes('python -c "$MLPLANE_REGISTER_SCRIPT"')) throw new Error(`register step ${step.name} does not run the register script: ${c.argv.join(' ')}`);
    const script = c.env.MLPLANE_REGISTER_SCRIPT ?? '';
    const r = spawnSync('python3', ['-c', script], {
      env: { ...c.env, PATH: '/usr/bin:/bin', PYTHONPATH: this.stubs, FAKE_S3: this.emulator?.s3 ?? '', FAKE_MLFLOW: this.registryFile },
      encoding: 'utf8',
    });
    this.registers.set(step.name, { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr });
    return r.status ?? 1;
  }

  private container(step: StepModel & { kind: 'container' }, c: Container): number {
    const got = new Map<string, Received>();
    const words = [...step.command, ...step.args];
    if (c.argv.length !== words.length) throw new Error(`${step.name} got argv ${JSON.stringify(c.argv)} for ${JSON.stringify(words)}`);
    const record = (template: string, actual: string | undefined, where: string) => {
      if (actual === undefined) throw new Error(`${step.name}: ${where} is missing`);
      const parts = capture(template, actual);
      if (!parts) throw new Error(`${step.name}: ${where} '${actual}' does not match '${template}'`);
      for (const [name, text] of Object.entries(parts)) {
        const [kind, io] = name.split('.') as [string, string];
        const input = kind === 'inputs' ? step.inputs.find((i) => i.name === io) : undefined;
        const files = input?.type.kind === 'artifact' && existsSync(text) && statSync(text).isDirectory() ? filesUnder(text) : undefined;
        got.set(name, { text, files });
      }
    };
    words.forEach((w, i) => record(w, c.argv[i], `argv[${i}]`));
    for (const [k, v] of Object.entries(step.env)) record(v, c.env[k], `env ${k}`);
    this.received.set(step.name, got);
    // Write every output the step was told about, as a real step would.
    for (const o of step.outputs) {
      const where = got.get(`outputs.${o.name}`)?.text;
      if (where === undefined) continue;
      const key = `${step.name}.${o.name}`;
      if (o.type.kind === 'parameter') {
        writeFileSync(where, this.scenario.paramOutputs?.[key] ?? ''); // no mkdir: the file's directory must exist
      } else if (o.type.type === 'metrics') {
        mkdirSync(where, { recursive: true });
        writeFileSync(join(where, 'metrics.json'), JSON.stringify(this.scenario.metrics?.[key] ?? {}));
      } else {
        mkdirSync(where, { recursive: true });
        writeFileSync(join(where, 'part-0.txt'), key);
      }
    }
    return 0;
  }
}
