/**
 * The step contract (docs/step-contract.md) on gcp: the synthesized KFP IR is run through an
 * emulator of KFP's documented placeholder resolution and DAG semantics (`support/kfp-run.ts`), and
 * what each container receives is checked against the contract, step by step, for both examples
 * and the generated contract pipeline: artifact directories, parameter text, metrics.json, the gate
 * decision, conditions that skip the right steps, and an execution order that respects every
 * dependency (order-only ones included).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gcpAdapter, type GcpSettings } from '../../../adapters/gcp';
import type { KfpComponentSpec, KfpTaskSpec, PipelineSpec } from '../../../adapters/gcp/kfp-types';
import { dnsName } from '../../../adapters/gcp/names';
import { decideGate } from '../../../adapters/shared/gate';
import type { ContainerStepModel, EnvironmentModel, PipelineModel, StepConditionModel, StepModel } from '../../../lib/model/types';
import { contractModel } from '../../support/contract-pipeline';
import { examples, settingsFor } from './fixtures';
import { KfpRun, type PbValue } from './support/kfp-run';

const CONTRACT_SETTINGS: GcpSettings = gcpAdapter.parseSettings({ project: 'acme-contract', region: 'us-central1' });
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** What the steps of a scenario write, and the registry state. */
interface Scenario {
  readonly params?: Readonly<Record<string, PbValue>>;
  /** Text each parameter output is written as (`Step.output` → text). */
  readonly outputs?: Readonly<Record<string, string>>;
  /** metrics.json of each metrics output (`Step.output` → object). */
  readonly metrics?: Readonly<Record<string, unknown>>;
  /** Labels of the version holding the gate's alias; null = no version holds it. */
  readonly holder?: Readonly<Record<string, string>> | null;
}

/** The contract's value text (docs/step-contract.md, "Value text"). */
function contractText(v: string | number | boolean): string {
  return typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : String(v);
}

/** Match a template word against what the container got: placeholder body → value. */
function bind(template: string, actual: string): Map<string, string> {
  const names: string[] = [];
  const pattern = template.replace(/\{\{\s*([^}]*?)\s*\}\}|[^{]+|\{/g, (m, body: string | undefined) => {
    if (body !== undefined) {
      names.push(body);
      return '(.*?)';
    }
    return m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  const match = new RegExp(`^${pattern}$`, 's').exec(actual);
  if (!match) throw new Error(`the container got ${JSON.stringify(actual)} where the step says ${JSON.stringify(template)}`);
  return new Map(names.map((n, i) => [n, match[i + 1] as string]));
}

function pipelineOf(model: EnvironmentModel, path: string): PipelineModel {
  const p = model.resources.find((r) => r.path === path);
  if (p?.kind !== 'pipeline') throw new Error(`no pipeline ${path}`);
  return p;
}

function specOf(model: EnvironmentModel, settings: GcpSettings, pipeline: PipelineModel): PipelineSpec {
  const { documents } = gcpAdapter.synth(model, settings);
  const entry = Object.entries(documents).find(([k, v]) => k.startsWith('pipelines/') && k.endsWith(`-${dnsName(pipeline.id)}.json`) && v);
  if (!entry) throw new Error(`no pipeline document for ${pipeline.path}`);
  return entry[1] as PipelineSpec;
}

/** Whether a condition holds under the scenario, read the contract's way. */
function holds(c: StepConditionModel, pipeline: PipelineModel, s: Scenario): boolean {
  const o = c.operand;
  let v: string | number | boolean;
  if (o.kind === 'parameter') {
    const p = pipeline.parameters.find((x) => x.name === o.parameter);
    v = (s.params?.[o.parameter] ?? p?.default) as string | number | boolean;
  } else if (o.kind === 'stepOutput') {
    const text = (s.outputs?.[`${o.step}.${o.output}`] ?? '').replace(/\n$/, '');
    v = o.type === 'string' ? text : o.type === 'bool' ? text === 'true' : Number(text);
  } else {
    v = (s.metrics?.[`${o.step}.${o.output}`] as Record<string, number>)[o.metric] as number;
  }
  switch (c.op) {
    case '==':
      return v === c.value;
    case '!=':
      return v !== c.value;
    case '<':
      return v < c.value;
    case '<=':
      return v <= c.value;
    case '>':
      return v > c.value;
    default:
      return v >= c.value;
  }
}

/** What every step received, by placeholder. */
type Bindings = Map<string, Map<string, string>>;

/** Run a pipeline through the emulator with contract-abiding containers; check what each one got. */
function runContract(model: EnvironmentModel, settings: GcpSettings, pipelinePath: string, s: Scenario): { run: KfpRun; bindings: Bindings; pipeline: PipelineModel; spec: PipelineSpec } {
  const pipeline = pipelineOf(model, pipelinePath);
  const spec = specOf(model, settings, pipeline);
  const byTask = new Map(pipeline.steps.map((st) => [dnsName(st.name), st]));
  const bindings: Bindings = new Map();
  const root = mkdtempSync(join(tmpdir(), 'mlplane-kfp-'));
  dirs.push(root);
  const container = (task: string, argv: readonly string[], env: Readonly<Record<string, string>>, run: KfpRun) => {
    const step = byTask.get(task);
    if (step?.kind !== 'container') throw new Error(`task ${task} is not a container step`);
    const words = [...step.command, ...step.args];
    // Nothing is passed implicitly: the container gets exactly the words of command + args.
    expect(argv.length, `${step.path}: argv ${JSON.stringify(argv)}`).toBe(words.length);
    const got = new Map<string, string>();
    const add = (m: Map<string, string>, where: string) => {
      for (const [k, v] of m) {
        if (got.has(k) && got.get(k) !== v) throw new Error(`${step.path}: {{${k}}} resolved to ${got.get(k)} and to ${v} (${where})`);
        got.set(k, v);
      }
    };
    words.forEach((w, i) => add(bind(w, argv[i] as string), `word ${i}`));
    for (const [name, value] of Object.entries(step.env)) {
      expect(env[name], `${step.path}: env ${name}`).toBeDefined();
      add(bind(value, env[name] as string), `env ${name}`);
    }
    bindings.set(step.name, got);
    // The step keeps its side of the contract: mkdir -p and write every output it was told about.
    for (const o of step.outputs) {
      const where = got.get(`outputs.${o.name}`);
      if (where === undefined) continue;
      if (o.type.kind === 'parameter') writeFileSync(where, s.outputs?.[`${step.name}.${o.name}`] ?? '');
      else if (o.type.type === 'metrics') run.write(where, 'metrics.json', JSON.stringify(s.metrics?.[`${step.name}.${o.name}`] ?? {}));
      else run.write(where, 'part-0', `${step.name}.${o.name}`);
    }
  };
  const run = new KfpRun(spec, join(root, 'gcs'), container, s.holder ?? null);
  run.run(s.params ?? {});
  return { run, bindings, pipeline, spec };
}

/** Check every executed container step's bindings against the contract. */
function expectContract(model: EnvironmentModel, r: ReturnType<typeof runContract>, s: Scenario): void {
  const { pipeline, bindings, run } = r;
  for (const step of pipeline.steps) {
    if (step.kind !== 'container') continue;
    const got = bindings.get(step.name);
    if (!got) continue;
    for (const [key, value] of got) {
      const [kind, name] = key.split('.') as [string, string];
      if (kind === 'params') {
        const p = pipeline.parameters.find((x) => x.name === name);
        expect(value, `${step.path} {{${key}}}`).toBe(contractText((s.params?.[name] ?? p?.default) as string | number | boolean));
        continue;
      }
      if (kind === 'outputs') {
        const o = step.outputs.find((x) => x.name === name);
        expect(value.startsWith('/'), `${step.path} {{${key}}} is absolute`).toBe(true);
        if (o?.type.kind === 'artifact') expect(value, `${step.path} {{${key}}} is under /gcs/`).toMatch(/^\/gcs\//);
        continue;
      }
      const input = step.inputs.find((i) => i.name === name);
      if (!input) throw new Error(`${step.path}: {{${key}}} names no input`);
      const src = input.source;
      if (input.type.kind === 'parameter') {
        let expected: string;
        if (src.kind === 'parameter') {
          const p = pipeline.parameters.find((x) => x.name === src.parameter);
          expected = contractText((s.params?.[src.parameter] ?? p?.default) as string | number | boolean);
        } else if (src.kind === 'step') expected = (s.outputs?.[`${src.step}.${src.output}`] ?? '').replace(/\n$/, '');
        else if (src.kind === 'value') expected = contractText(src.value);
        else continue;
        expect(value, `${step.path} {{${key}}}`).toBe(expected);
      } else if (src.kind === 'step') {
        expect(value, `${step.path} {{${key}}} is the directory ${src.step} wrote`).toBe(bindings.get(src.step)?.get(`outputs.${src.output}`));
        expect(run.files(value).length, `${step.path} {{${key}}} holds files`).toBeGreaterThan(0);
      } else if (src.kind === 'dataset') {
        const ds = model.resources.find((x) => x.path === src.dataset);
        const format = ds?.kind === 'dataset' ? ds.format : '?';
        expect(value).toMatch(/^\/gcs\//);
        expect(run.files(value), `${step.path} {{${key}}}: files of dataset ${src.dataset}`).toEqual([`part-000000000000.${format}`]);
      }
    }
  }
}

/** Steps the contract says run under the scenario: all their conditions hold. */
function expectedRuns(pipeline: PipelineModel, s: Scenario): string[] {
  return pipeline.steps.filter((st) => st.conditions.every((c) => holds(c, pipeline, s))).map((st) => st.name);
}

function ranSteps(r: ReturnType<typeof runContract>): string[] {
  const leaf = new Set(r.run.ran.map((p) => p.split('/').pop()));
  return r.pipeline.steps.filter((st) => leaf.has(dnsName(st.name))).map((st) => st.name);
}

/**
 * Happens-before from the IR alone: a task starts after the end of each of its dependentTasks, a
 * DAG's tasks start after the DAG starts, and a DAG ends after its tasks.
 */
function precedence(spec: PipelineSpec): (before: string, after: string) => boolean {
  const edges = new Map<string, Set<string>>();
  const edge = (a: string, b: string) => edges.set(a, (edges.get(a) ?? new Set()).add(b));
  const walk = (tasks: Readonly<Record<string, KfpTaskSpec>>, parent?: string) => {
    for (const [name, t] of Object.entries(tasks)) {
      edge(`start:${name}`, `end:${name}`);
      for (const d of t.dependentTasks ?? []) edge(`end:${d}`, `start:${name}`);
      if (parent) {
        edge(`start:${parent}`, `start:${name}`);
        edge(`end:${name}`, `end:${parent}`);
      }
      const comp = spec.components[t.componentRef.name] as KfpComponentSpec;
      if ('dag' in comp) walk(comp.dag.tasks, name);
    }
  };
  walk(spec.root.dag.tasks);
  return (before, after) => {
    const seen = new Set<string>();
    const stack = [`end:${before}`];
    while (stack.length > 0) {
      const n = stack.pop() as string;
      if (n === `start:${after}`) return true;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(edges.get(n) ?? []));
    }
    return false;
  };
}

/** The register call of a run: whether the alias moved and the labels recorded. */
function registerOutcome(r: ReturnType<typeof runContract>): { promoted: boolean; labels: Record<string, string> } {
  const call = r.run.python.find((p) => p.fn === 'register');
  if (!call) throw new Error('the register step did not run');
  const upload = call.calls.find((c) => (c as unknown[])[0] === 'upload') as [string, { labels: Record<string, string> }] | undefined;
  return { promoted: call.calls.some((c) => (c as unknown[])[0] === 'alias'), labels: upload?.[1].labels ?? {} };
}

const CONTRACT = 'Contract/Train';
const happy: Scenario = {
  params: { mode: 'full', epochs: 3, publish: true },
  outputs: { 'Prep.rows': '42', 'Prep.ok': 'true' },
  metrics: { 'Evaluate.metrics': { auc: 0.9, logloss: 0.2 } },
  holder: { 'mlplane-metric-auc': '0_85' },
};

describe('the generated contract pipeline on gcp', () => {
  it('every container gets artifact directories, parameter text and output files exactly as the contract says', () => {
    const m = contractModel();
    const r = runContract(m, CONTRACT_SETTINGS, CONTRACT, happy);
    expectContract(m, r, happy);
    expect([...(r.bindings.get('Prep')?.keys() ?? [])].sort()).toEqual(['inputs.mode', 'inputs.raw', 'outputs.clean', 'outputs.ok', 'outputs.rows', 'params.mode']);
    expect(r.bindings.get('Fit')?.get('inputs.data')).toBe(r.bindings.get('Prep')?.get('outputs.clean'));
    expect(r.bindings.get('Report')?.get('inputs.rows')).toBe('42');
  });

  it('env values get the same placeholders resolved (DATA_DIR, PREP_MODE) and static ones as written', () => {
    const r = runContract(contractModel(), CONTRACT_SETTINGS, CONTRACT, happy);
    const fit = r.run.executions.find((e) => e.task === 'fit');
    expect(fit?.env.DATA_DIR).toBe(r.bindings.get('Prep')?.get('outputs.clean'));
    const prep = r.run.executions.find((e) => e.task === 'prep');
    expect(prep?.env).toMatchObject({ PREP_MODE: 'full', LOG_LEVEL: 'info' });
  });

  it('all conditions hold: every step runs, and the gate promotes as decideGate does from metrics.json', () => {
    const m = contractModel();
    const r = runContract(m, CONTRACT_SETTINGS, CONTRACT, happy);
    expect(ranSteps(r)).toEqual(expectedRuns(r.pipeline, happy));
    expect(ranSteps(r)).toEqual(['Prep', 'Fit', 'Evaluate', 'Register', 'Publish', 'Report']);
    const gate = r.pipeline.steps.find((st) => st.kind === 'register')?.gate;
    expect(decideGate(gate, happy.metrics?.['Evaluate.metrics'], 0.85).outcome).toBe('promote');
    expect(registerOutcome(r)).toEqual({ promoted: true, labels: expect.objectContaining({ 'mlplane-metric-auc': '0_9', 'mlplane-metric-logloss': '0_2' }) });
  });

  it('a false parameter-output condition skips the step and everything downstream; the run succeeds', () => {
    const s: Scenario = { ...happy, outputs: { 'Prep.rows': '42', 'Prep.ok': 'false' } };
    const r = runContract(contractModel(), CONTRACT_SETTINGS, CONTRACT, s);
    expect(ranSteps(r)).toEqual(expectedRuns(r.pipeline, s));
    expect(ranSteps(r)).toEqual(['Prep']);
    expect(r.run.python.some((p) => p.fn === 'register')).toBe(false);
  });

  it('a false metric condition skips Publish and Report (order-only downstream) but not Register, which keeps the alias when the gate fails', () => {
    const s: Scenario = { ...happy, metrics: { 'Evaluate.metrics': { auc: 0.7 } } };
    const r = runContract(contractModel(), CONTRACT_SETTINGS, CONTRACT, s);
    expect(ranSteps(r)).toEqual(expectedRuns(r.pipeline, s));
    expect(ranSteps(r)).toEqual(['Prep', 'Fit', 'Evaluate', 'Register']);
    expect(registerOutcome(r).promoted).toBe(decideGate(r.pipeline.steps.find((st) => st.kind === 'register')?.gate, { auc: 0.7 }, 0.85).outcome === 'promote');
    expect(registerOutcome(r).promoted).toBe(false);
  });

  it('a false pipeline-parameter condition skips only Report', () => {
    const s: Scenario = { ...happy, params: { ...happy.params, publish: false } };
    const r = runContract(contractModel(), CONTRACT_SETTINGS, CONTRACT, s);
    expect(ranSteps(r)).toEqual(expectedRuns(r.pipeline, s));
    expect(ranSteps(r)).toEqual(['Prep', 'Fit', 'Evaluate', 'Register', 'Publish']);
  });

  it('no version holds the alias yet: the gate passes and the first model becomes champion', () => {
    const r = runContract(contractModel(), CONTRACT_SETTINGS, CONTRACT, { ...happy, holder: null, metrics: { 'Evaluate.metrics': { auc: 0.81 } } });
    expect(registerOutcome(r).promoted).toBe(true);
  });

  it('the metric a run records on its version is read back exactly by the next run\'s gate', () => {
    const first = runContract(contractModel(), CONTRACT_SETTINGS, CONTRACT, { ...happy, holder: null, metrics: { 'Evaluate.metrics': { auc: 0.123456789 } } });
    const recorded = registerOutcome(first).labels;
    expect(recorded['mlplane-metric-auc']).toBe('0_123456789');
    // auc must beat the recorded 0.123456789 by more than minDelta 0.01: 1e-9 more wins, equal does not.
    const win = runContract(contractModel(), CONTRACT_SETTINGS, CONTRACT, { ...happy, holder: recorded, metrics: { 'Evaluate.metrics': { auc: 0.133456790 } } });
    expect(registerOutcome(win).promoted).toBe(true);
    const tie = runContract(contractModel(), CONTRACT_SETTINGS, CONTRACT, { ...happy, holder: recorded, metrics: { 'Evaluate.metrics': { auc: 0.123456789 + 0.01 } } });
    expect(registerOutcome(tie).promoted).toBe(decideGate({ metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.01 }, { auc: 0.123456789 + 0.01 }, 0.123456789).outcome === 'promote');
  });

  it('a metric missing from metrics.json fails the run naming it, and never promotes', () => {
    const s: Scenario = { ...happy, metrics: { 'Evaluate.metrics': { logloss: 0.2 } } };
    expect(() => runContract(contractModel(), CONTRACT_SETTINGS, CONTRACT, s)).toThrow(/metric auc is missing or not a finite number in .*metrics\.json \(metrics: logloss\)/);
  });

  it('the register step fails on a missing gate metric before uploading anything (no condition reads it first)', () => {
    const m = contractModel();
    const p = pipelineOf(m, CONTRACT) as unknown as { steps: StepModel[] };
    p.steps = p.steps.filter((st) => st.name !== 'Publish' && st.name !== 'Report');
    let error = '';
    try {
      runContract(m, CONTRACT_SETTINGS, CONTRACT, { ...happy, metrics: { 'Evaluate.metrics': { logloss: 0.2 } } });
    } catch (e) {
      error = String(e);
    }
    expect(error).toContain('register failed: metric auc is missing or not a finite number in metrics.json (metrics: logloss)');
  });

  it('a parameter output the step did not write fails the step', () => {
    const s: Scenario = { ...happy, outputs: { 'Prep.ok': 'true' } };
    const m = contractModel();
    const prep = pipelineOf(m, CONTRACT).steps[0] as ContainerStepModel & { args: string[] };
    prep.args = prep.args.filter((a, i, all) => a !== '{{outputs.rows}}' && all[i + 1] !== '{{outputs.rows}}');
    expect(() => runContract(m, CONTRACT_SETTINGS, CONTRACT, s)).toThrow(/prep failed: failed to read output parameter name="rows"/);
  });
});

describe('the examples on gcp', () => {
  const { fraud, churn } = examples();
  const cases: Array<[string, EnvironmentModel, string, Scenario]> = [
    ['fraud', fraud, 'Fraud/Train', { metrics: { 'Evaluate.metrics': { auc: 0.93, precision_at_1pct: 0.7 } }, holder: { 'mlplane-metric-auc': '0_91' } }],
    ['churn', churn, 'Churn/Train', { metrics: { 'Evaluate.metrics': { f1: 0.6 } }, holder: { 'mlplane-metric-f1': '0_65' } }],
  ];
  for (const [name, model, path, s] of cases) {
    it(`${name}: every step gets what the contract says, and the gate decides as decideGate does`, () => {
      const r = runContract(model, settingsFor(model), path, s);
      expectContract(model, r, s);
      expect(ranSteps(r)).toEqual(r.pipeline.steps.map((st) => st.name));
      const reg = r.pipeline.steps.find((st) => st.kind === 'register');
      if (reg?.kind !== 'register' || !reg.metrics) throw new Error('no register step with metrics');
      const holderLabel = Object.values(s.holder ?? {})[0] as string;
      const expected = decideGate(reg.gate, s.metrics?.[`${reg.metrics.step}.${reg.metrics.output}`], Number(holderLabel.replace('_', '.')));
      expect(registerOutcome(r).promoted).toBe(expected.outcome === 'promote');
    });
  }
});

describe('order: every dependency of every step is a happens-before edge in the IR', () => {
  const { fraud, churn } = examples();
  const all: Array<[EnvironmentModel, GcpSettings, string]> = [
    [fraud, settingsFor(fraud), 'Fraud/Train'],
    [churn, settingsFor(churn), 'Churn/Train'],
    [contractModel(), CONTRACT_SETTINGS, CONTRACT],
  ];
  for (const [model, settings, path] of all) {
    it(`${path}: data and order-only edges`, () => {
      const pipeline = pipelineOf(model, path);
      const before = precedence(specOf(model, settings, pipeline));
      const missing: string[] = [];
      for (const st of pipeline.steps) for (const d of st.dependsOn) if (!before(dnsName(d), dnsName(st.name))) missing.push(`${d} → ${st.name}`);
      expect(missing).toEqual([]);
    });
  }

  it('the order check fails when an order-only edge is dropped from the IR', () => {
    const m = contractModel();
    const pipeline = pipelineOf(m, CONTRACT);
    const spec = structuredClone(specOf(m, CONTRACT_SETTINGS, pipeline)) as { components: Record<string, { dag?: { tasks: Record<string, { dependentTasks?: string[] }> } }> };
    for (const c of Object.values(spec.components)) for (const t of Object.values(c.dag?.tasks ?? {})) if (t.dependentTasks) t.dependentTasks = t.dependentTasks.filter((d) => d !== 'register');
    expect(precedence(spec as unknown as PipelineSpec)('register', 'publish')).toBe(false);
  });
});
