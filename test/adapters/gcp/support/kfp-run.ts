/**
 * A small emulator of how a KFP v2 backend runs a compiled PipelineSpec, following the documented
 * rules (`../shared/conformance/kfp/pipeline_spec.proto`, ExecutorInput placeholders) and the KFP
 * launcher and driver (kubeflow/pipelines backend/src/v2: `getPlaceholders`, `PbValueToText`,
 * `TextToPbValue`, `LocalPathForURI`, `initPodSpecPatch`):
 *
 * - a task's inputs come from `componentInputParameter` / `componentInputArtifact` (the enclosing
 *   DAG's inputs), `taskOutputParameter` / `taskOutputArtifact` (a sibling task) or `runtimeValue`;
 * - a DAG task with a `triggerPolicy.condition` runs only when that CEL expression over
 *   `inputs.parameter_values[...]` is true; a skipped DAG skips everything inside;
 * - `{{$.inputs.parameters['x']}}` becomes the value as text (numbers `strconv.FormatFloat(v,'f',-1)`,
 *   booleans `true`/`false`), `{{$.inputs.artifacts['x'].path}}` / `{{$.outputs.artifacts['x'].path}}`
 *   the `/gcs/…` path of the artifact URI, `{{$.outputs.parameters['x'].output_file}}` a file whose
 *   text becomes the output (`TextToPbValue`; a missing file fails the task); placeholders are
 *   replaced inside command and args words only, env values are passed verbatim and then expanded
 *   the Kubernetes way (`$$` → `$`, `$(VAR)`);
 * - a lightweight Python component (`--function_to_execute f`) is run for real with python3, its
 *   cloud clients replaced by recorders (`PYTHON_HARNESS`).
 *
 * The emulator never reads what mlplane meant: only the IR.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KfpComponentSpec, KfpContainerSpec, KfpTaskSpec, PipelineSpec } from '../../../../adapters/gcp/kfp-types';

/** A JSON value as `google.protobuf.Value` holds it. */
export type PbValue = string | number | boolean | null;

/** A runtime artifact: a URI under the pipeline root. */
export interface RuntimeArtifact {
  readonly uri: string;
}

/** What a user container (not a Python helper) does when it runs. */
export type ContainerBehaviour = (task: string, argv: readonly string[], env: Readonly<Record<string, string>>, run: KfpRun) => void;

/** What the recorders saw in a Python helper. */
export interface PythonCall {
  readonly task: string;
  readonly fn: string;
  readonly result: unknown;
  readonly calls: readonly unknown[];
}

/** One container execution, as the container saw it. */
export interface Execution {
  readonly task: string;
  /** Task path inside the DAGs, e.g. `condition-1/fit`. */
  readonly path: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Python stubs: KFP artifact types and recorders for the Vertex AI SDK and the BigQuery client. */
const PYTHON_HARNESS = String.raw`
import json, os, sys, types
req = json.load(sys.stdin)
calls = []
class _T:
    def __class_getitem__(cls, x):
        return x
Input = Output = _T
Model = Metrics = Dataset = Artifact = object
class Art:
    def __init__(self, uri, path):
        self.uri, self.path, self.metadata = uri, path, {}
def mod(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    return m
kfp, dsl = mod('kfp'), mod('kfp.dsl')
kfp.dsl = dsl
for _name in ('Input', 'Output', 'Model', 'Metrics', 'Dataset', 'Artifact'):
    setattr(dsl, _name, globals()[_name])
google, cloud, api_core = mod('google'), mod('google.cloud'), mod('google.api_core')
google.cloud, google.api_core = cloud, api_core
exceptions = mod('google.api_core.exceptions')
api_core.exceptions = exceptions
class NotFound(Exception):
    pass
exceptions.NotFound = NotFound
aip = mod('google.cloud.aiplatform')
cloud.aiplatform = aip
aip.init = lambda **kw: calls.append(['init', kw])
class FakeModel:
    def __init__(self, name):
        calls.append(['get', name])
        if req['holder'] is None:
            raise NotFound(name)
        self.labels = req['holder']
    @staticmethod
    def upload(**kw):
        calls.append(['upload', {'labels': kw['labels'], 'is_default_version': kw['is_default_version'], 'artifact_uri': kw['artifact_uri']}])
        return types.SimpleNamespace(version_id='7', versioned_resource_name=kw['parent_model'] + '@7')
aip.Model = FakeModel
class Registry:
    def __init__(self, parent):
        self.parent = parent
    def add_version_aliases(self, aliases, version):
        calls.append(['alias', aliases, version])
aip.models = types.SimpleNamespace(ModelRegistry=Registry)
aip_v1 = mod('google.cloud.aiplatform_v1')
cloud.aiplatform_v1 = aip_v1
class EndpointServiceClient:
    def __init__(self, client_options=None):
        pass
    def get_endpoint(self, name):
        calls.append(['get_endpoint', name])
        return types.SimpleNamespace(deployed_models=[], traffic_split={})
aip_v1.EndpointServiceClient = EndpointServiceClient
bq = mod('google.cloud.bigquery')
cloud.bigquery = bq
class Client:
    def __init__(self, project=None, location=None):
        calls.append(['client', project, location])
    def query(self, sql):
        calls.append(['query', sql])
        uri = sql.split("uri='", 1)[1].split("'", 1)[0]
        local = req['gcs_root'] + uri[len('gs://'):]
        target = local.replace('*', '000000000000')
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, 'w').write('rows')
        return types.SimpleNamespace(result=lambda: None)
    def get_table(self, table):
        calls.append(['get_table', table])
        import datetime
        return types.SimpleNamespace(external_data_configuration=None, num_rows=1, num_bytes=4, modified=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
bq.Client = Client
exec(req['source'], globals())
kwargs = {}
for k, v in req['params'].items():
    kwargs[k] = v
for k, a in req['artifacts'].items():
    kwargs[k] = Art(a['uri'], a['path'])
import contextlib
try:
    with contextlib.redirect_stdout(sys.stderr):
        result = globals()[req['fn']](**kwargs)
    print(json.dumps({'ok': True, 'result': result, 'calls': calls}))
except Exception as e:
    print(json.dumps({'ok': False, 'error': str(e), 'calls': calls}))
`;

/** The python3 interpreter itself (resolved once: version-manager shims cost a second per call). */
let python: string | undefined;
function pythonBinary(): string {
  python ??= execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  return python;
}

/** Module of the GCPC custom job launcher. */
const CUSTOM_JOB_LAUNCHER = 'google_cloud_pipeline_components.container.v1.custom_job.launcher';

/** `strconv.FormatFloat(v, 'f', -1, 64)`: plain decimal, shortest digits. */
export function formatFloatF(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return v.toFixed(0);
  const s = String(v);
  if (!/e/.test(s)) return s;
  const [mant = '', expText = '0'] = s.split('e');
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const point = (mant.replace('-', '').indexOf('.') === -1 ? mant.replace('-', '').length : mant.replace('-', '').indexOf('.')) + exp;
  const body = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (neg ? '-' : '') + body;
}

/** `metadata.PbValueToText`. */
export function pbValueToText(v: PbValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return formatFloatF(v);
}

/** `metadata.TextToPbValue` for the primitive types. */
function textToPbValue(text: string, type: string): PbValue {
  switch (type) {
    case 'STRING':
      return text;
    case 'NUMBER_INTEGER': {
      const t = text.trim();
      if (!/^[-+]?\d+$/.test(t)) throw new Error(`TextToPbValue(text=${JSON.stringify(text)}, type=${type}) failed`);
      return Number(t);
    }
    case 'NUMBER_DOUBLE': {
      const n = Number(text.trim());
      if (text.trim() === '' || Number.isNaN(n)) throw new Error(`TextToPbValue(text=${JSON.stringify(text)}, type=${type}) failed`);
      return n;
    }
    case 'BOOLEAN': {
      const t = text.trim();
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(t)) return true;
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(t)) return false;
      throw new Error(`TextToPbValue(text=${JSON.stringify(text)}, type=${type}) failed`);
    }
    default:
      throw new Error(`unsupported output type ${type}`);
  }
}

/** Kubernetes env expansion: `$$` → `$`, `$(NAME)` → the value of an earlier variable, else left as is. */
function expandK8s(value: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '$' && value[i + 1] === '$') {
      out += '$';
      i++;
    } else if (c === '$' && value[i + 1] === '(') {
      const end = value.indexOf(')', i);
      const name = end > 0 ? value.slice(i + 2, end) : '';
      if (end > 0 && name in env) {
        out += env[name];
        i = end;
      } else out += c;
    } else out += c;
  }
  return out;
}

/** Evaluate the CEL subset KFP conditions use: `[!](…)`, `int(…)`, `double(…)`, parameter lookups, literals, comparisons. */
export function evalCel(expr: string, values: Readonly<Record<string, PbValue>>): boolean {
  const tokens = expr.match(/'(?:[^'\\]|\\.)*'|==|!=|<=|>=|[<>()!\[\]]|[A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++] as string;
  const primary = (): PbValue => {
    const t = next();
    if (t === '!') return !(primary() as boolean);
    if (t === '(') {
      const v = comparison();
      next();
      return v;
    }
    if (t === 'int' || t === 'double') {
      next();
      const v = comparison();
      next();
      if (typeof v !== 'number') throw new Error(`${t}() of ${JSON.stringify(v)}`);
      return t === 'int' ? Math.trunc(v) : v;
    }
    if (t === 'inputs.parameter_values') {
      next();
      const key = next();
      next();
      const name = key.slice(1, -1);
      if (!(name in values)) throw new Error(`no parameter value '${name}'`);
      return values[name] as PbValue;
    }
    if (t === 'true' || t === 'false') return t === 'true';
    if (t.startsWith("'")) return t.slice(1, -1).replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch));
    if (/^-?\d/.test(t)) return Number(t);
    throw new Error(`unexpected CEL token ${t} in ${expr}`);
  };
  const comparison = (): PbValue => {
    const left = primary();
    const op = peek();
    if (op && ['==', '!=', '<', '<=', '>', '>='].includes(op)) {
      next();
      const right = primary();
      if (typeof left !== typeof right) throw new Error(`CEL: no matching overload for ${typeof left} ${op} ${typeof right} in ${expr}`);
      switch (op) {
        case '==':
          return left === right;
        case '!=':
          return left !== right;
        case '<':
          return (left as number) < (right as number);
        case '<=':
          return (left as number) <= (right as number);
        case '>':
          return (left as number) > (right as number);
        default:
          return (left as number) >= (right as number);
      }
    }
    return left;
  };
  const v = comparison();
  if (i !== tokens.length || typeof v !== 'boolean') throw new Error(`not a boolean CEL expression: ${expr}`);
  return v;
}

/** One run of a PipelineSpec. */
export class KfpRun {
  public readonly executions: Execution[] = [];
  public readonly python: PythonCall[] = [];
  /** Leaf tasks that ran, in order, and tasks (leaf or DAG) that were skipped. */
  public readonly ran: string[] = [];
  public readonly skipped: string[] = [];
  private readonly bucketRoot: string;

  constructor(
    private readonly spec: PipelineSpec,
    /** Local directory standing for `/gcs/` (Cloud Storage FUSE). */
    public readonly gcsRoot: string,
    private readonly behaviour: ContainerBehaviour,
    private readonly holder: Readonly<Record<string, string>> | null,
  ) {
    this.bucketRoot = `${(spec.defaultPipelineRoot ?? 'gs://bucket/root').replace(/\/$/, '')}/run-1`;
  }

  /** The local file standing for a `/gcs/…` path. */
  public local(path: string): string {
    if (!path.startsWith('/gcs/')) throw new Error(`not a Cloud Storage FUSE path: ${path}`);
    return join(this.gcsRoot, path.slice('/gcs/'.length));
  }

  /** Run the pipeline with these run-time parameter values (absent = the defaults). */
  public run(parameters: Readonly<Record<string, PbValue>>): void {
    const values: Record<string, PbValue> = {};
    for (const [name, def] of Object.entries(this.spec.root.inputDefinitions?.parameters ?? {})) {
      const v = name in parameters ? parameters[name] : def.defaultValue;
      if (v === undefined) throw new Error(`pipeline parameter '${name}' has no value`);
      values[name] = v as PbValue;
    }
    this.runDag(this.spec.root.dag.tasks, values, {}, '');
  }

  private runDag(tasks: Readonly<Record<string, KfpTaskSpec>>, params: Readonly<Record<string, PbValue>>, artifacts: Readonly<Record<string, RuntimeArtifact>>, scope: string): void {
    const outParams = new Map<string, Record<string, PbValue>>();
    const outArtifacts = new Map<string, Record<string, RuntimeArtifact>>();
    const done = new Set<string>();
    const skipped = new Set<string>();
    const names = Object.keys(tasks);
    while (done.size + skipped.size < names.length) {
      // Adversarial order: of the tasks whose dependentTasks are finished, run the last by name.
      const ready = names.filter((n) => !done.has(n) && !skipped.has(n) && (tasks[n]?.dependentTasks ?? []).every((d) => done.has(d) || skipped.has(d)));
      const name = ready.sort().pop();
      if (!name) throw new Error(`cycle or dangling dependentTasks in ${scope || 'root'}: ${names.filter((n) => !done.has(n) && !skipped.has(n)).join(', ')}`);
      const t = tasks[name] as KfpTaskSpec;
      const path = scope ? `${scope}/${name}` : name;
      if ((t.dependentTasks ?? []).some((d) => skipped.has(d))) {
        skipped.add(name);
        this.skipped.push(path);
        continue;
      }
      const p: Record<string, PbValue> = {};
      for (const [k, src] of Object.entries(t.inputs?.parameters ?? {})) {
        if ('componentInputParameter' in src) {
          if (!(src.componentInputParameter in params)) throw new Error(`${path}: no input '${src.componentInputParameter}' in the enclosing DAG`);
          p[k] = params[src.componentInputParameter] as PbValue;
        } else if ('taskOutputParameter' in src) {
          const produced = outParams.get(src.taskOutputParameter.producerTask)?.[src.taskOutputParameter.outputParameterKey];
          if (produced === undefined) throw new Error(`${path}: no output '${src.taskOutputParameter.outputParameterKey}' of '${src.taskOutputParameter.producerTask}'`);
          p[k] = produced;
        } else p[k] = src.runtimeValue.constant as PbValue;
      }
      const a: Record<string, RuntimeArtifact> = {};
      for (const [k, src] of Object.entries(t.inputs?.artifacts ?? {})) {
        const found = 'componentInputArtifact' in src ? artifacts[src.componentInputArtifact] : outArtifacts.get(src.taskOutputArtifact.producerTask)?.[src.taskOutputArtifact.outputArtifactKey];
        if (!found) throw new Error(`${path}: artifact input '${k}' has no producer`);
        a[k] = found;
      }
      const comp = this.spec.components[t.componentRef.name] as KfpComponentSpec;
      for (const [k, def] of Object.entries(comp.inputDefinitions?.parameters ?? {})) if (!(k in p) && def.defaultValue !== undefined) p[k] = def.defaultValue as PbValue;
      if (t.triggerPolicy?.condition && !evalCel(t.triggerPolicy.condition, p)) {
        skipped.add(name);
        this.skipped.push(path);
        continue;
      }
      if ('dag' in comp) {
        this.runDag(comp.dag.tasks, p, a, path);
      } else {
        const r = this.runContainer(name, path, comp, p, a);
        outParams.set(name, r.params);
        outArtifacts.set(name, r.artifacts);
      }
      done.add(name);
    }
  }

  private runContainer(
    name: string,
    path: string,
    comp: KfpComponentSpec & { executorLabel: string },
    params: Record<string, PbValue>,
    artifacts: Record<string, RuntimeArtifact>,
  ): { params: Record<string, PbValue>; artifacts: Record<string, RuntimeArtifact> } {
    const exec = this.spec.deploymentSpec.executors[comp.executorLabel];
    if (!exec || !('container' in exec)) throw new Error(`${path}: no container executor`);
    const c: KfpContainerSpec = exec.container;
    const outArtifacts: Record<string, RuntimeArtifact> = {};
    for (const k of Object.keys(comp.outputDefinitions?.artifacts ?? {})) outArtifacts[k] = { uri: `${this.bucketRoot}/${path}/${k}` };
    const outFiles: Record<string, string> = {};
    for (const k of Object.keys(comp.outputDefinitions?.parameters ?? {})) outFiles[k] = join(this.gcsRoot, '..', 'kfp-outputs', path, k);
    const fuse = (uri: string) => {
      if (!uri.startsWith('gs://')) throw new Error(`${path}: artifact URI ${uri} has no local path`);
      return `/gcs/${uri.slice('gs://'.length)}`;
    };
    const ph = new Map<string, string>();
    for (const [k, art] of Object.entries(artifacts)) {
      ph.set(`{{$.inputs.artifacts['${k}'].uri}}`, art.uri);
      ph.set(`{{$.inputs.artifacts['${k}'].path}}`, fuse(art.uri));
    }
    for (const [k, art] of Object.entries(outArtifacts)) {
      ph.set(`{{$.outputs.artifacts['${k}'].uri}}`, art.uri);
      ph.set(`{{$.outputs.artifacts['${k}'].path}}`, fuse(art.uri));
    }
    for (const [k, v] of Object.entries(params)) ph.set(`{{$.inputs.parameters['${k}']}}`, pbValueToText(v));
    for (const [k, f] of Object.entries(outFiles)) ph.set(`{{$.outputs.parameters['${k}'].output_file}}`, f);
    const resolve = (word: string) => {
      let out = word;
      for (const [key, value] of ph) out = out.split(key).join(value);
      if (/\{\{\$/.test(out)) throw new Error(`${path}: unresolved placeholder in ${JSON.stringify(out)}`);
      return out;
    };
    const fnIndex = (c.args ?? []).indexOf('--function_to_execute');
    const outParams: Record<string, PbValue> = {};
    if (fnIndex >= 0) {
      const fn = (c.args ?? [])[fnIndex + 1] as string;
      const source = (c.command ?? [])[6] as string;
      const request = {
        fn,
        source,
        gcs_root: `${this.gcsRoot}/`,
        holder: this.holder,
        params,
        artifacts: Object.fromEntries(
          [...Object.entries(artifacts), ...Object.entries(outArtifacts)].map(([k, art]) => [k, { uri: art.uri, path: this.local(fuse(art.uri)) }]),
        ),
      };
      const out = JSON.parse(execFileSync(pythonBinary(), ['-S', '-c', PYTHON_HARNESS], { input: JSON.stringify(request), encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] })) as { ok: boolean; result?: unknown; error?: string; calls: unknown[] };
      this.python.push({ task: path, fn, result: out.ok ? out.result : { error: out.error }, calls: out.calls });
      if (!out.ok) throw new Error(`${path} failed: ${out.error}`);
      if (comp.outputDefinitions?.parameters?.Output) outParams.Output = out.result as PbValue;
    } else {
      const command = (c.command ?? []).map(resolve);
      const args = (c.args ?? []).map(resolve);
      const env: Record<string, string> = {};
      for (const e of c.env ?? []) env[e.name] = expandK8s(e.value, env);
      let argv = [...command, ...args];
      if (command.includes(CUSTOM_JOB_LAUNCHER)) {
        // The GCPC launcher starts a Vertex CustomJob from the (placeholder-resolved) payload; the
        // worker pool's container gets command + args, and env expanded like Kubernetes (EnvVar).
        const payload = JSON.parse(args[args.indexOf('--payload') + 1] as string) as {
          job_spec: { worker_pool_specs: { container_spec: { command?: string[]; args?: string[]; env?: { name: string; value: string }[] } }[] };
        };
        const spec = payload.job_spec.worker_pool_specs[0]?.container_spec;
        argv = [...(spec?.command ?? []), ...(spec?.args ?? [])];
        for (const e of spec?.env ?? []) env[e.name] = expandK8s(e.value, env);
        const resources = args[args.indexOf('--gcp_resources') + 1] as string;
        mkdirSync(dirname(resources), { recursive: true });
        writeFileSync(resources, '{"resources":[]}');
      }
      if (argv[0] === 'env') {
        // The `env` program: NAME=VALUE words set variables, the rest is the command.
        let i = 1;
        for (; i < argv.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i] as string); i++) {
          const word = argv[i] as string;
          env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
        }
        argv = argv.slice(i);
      }
      for (const f of Object.values(outFiles)) mkdirSync(dirname(f), { recursive: true });
      this.executions.push({ task: name, path, argv, env });
      this.behaviour(name, argv, env, this);
      for (const [k, f] of Object.entries(outFiles)) {
        if (!existsSync(f)) throw new Error(`${path} failed: failed to read output parameter name="${k}" path="${f}"`);
        outParams[k] = textToPbValue(readFileSync(f, 'utf8'), comp.outputDefinitions?.parameters?.[k]?.parameterType ?? 'STRING');
      }
    }
    this.ran.push(path);
    return { params: outParams, artifacts: outArtifacts };
  }

  /** Files under a `/gcs/…` directory (empty when it does not exist). */
  public files(dir: string): string[] {
    const local = this.local(dir);
    return existsSync(local) ? readdirSync(local).sort() : [];
  }

  /** Write a file under a `/gcs/…` directory, creating it (`mkdir -p`). */
  public write(dir: string, file: string, text: string): void {
    const local = this.local(dir);
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, file), text);
  }
}
