import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ArmTemplate } from '../../../adapters/azure/arm';
import { parseWord, shellWord } from '../../../adapters/azure/step-script';
import { azuremlExamples } from './conformance';
import { conformanceModels, synth } from './models';

/** Keys whose children are user-chosen names (dictionary entries), not fixed properties. */
const DICTIONARIES = new Set(['inputs', 'outputs', 'jobs', 'tags', 'environment_variables', 'monitoring_signals']);

type Shape = Map<string, Set<string>>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'number' ? 'number' : typeof v;
}

/** Every key path of a document with its value type; dictionary entries become `*`. */
function shapeOf(doc: unknown, into: Shape = new Map(), at = ''): Shape {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return into;
  const parentKey = at.split('.').pop() ?? '';
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const key = DICTIONARIES.has(parentKey) ? '*' : k;
    const p = at ? `${at}.${key}` : key;
    const types = into.get(p) ?? new Set<string>();
    types.add(typeOf(v));
    into.set(p, types);
    shapeOf(v, into, p);
  }
  return into;
}

/** Example shapes by `$schema` file name (e.g. `commandComponent.schema.json`). */
function exampleShapes(): Map<string, Shape> {
  const out = new Map<string, Shape>();
  for (const doc of azuremlExamples().values()) {
    const schema = String((doc as Record<string, unknown>).$schema ?? '').split('/').pop() as string;
    out.set(schema, shapeOf(doc, out.get(schema) ?? new Map()));
  }
  return out;
}

/**
 * Keys the azureml-examples snapshot does not show but the CLI v2 YAML reference
 * (MicrosoftDocs reference-yaml-*.md) documents, per schema.
 */
const DOCUMENTED_NOT_IN_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  // `outputs.*.is_control` and the `if_else` node's `condition` / `true_block`: the control-flow sample
  // azureml-examples sdk/python/jobs/pipelines/1j_pipeline_with_condition_flow/if-else/pipeline.yml
  // and azure-ai-ml's ConditionNodeSchema (not in the snapshot, which has no control-flow pipeline).
  'commandComponent.schema.json': ['is_deterministic', 'inputs.*.default', 'inputs.*.description', 'outputs.*.is_control'],
  'pipelineJob.schema.json': [
    'jobs.*.resources', 'jobs.*.resources.instance_type', 'jobs.*.environment_variables', 'jobs.*.environment_variables.*', 'jobs.*.limits.timeout',
    'jobs.*.condition', 'jobs.*.true_block',
  ],
  'schedule.schema.json': [
    'create_monitor', 'create_monitor.compute', 'create_monitor.compute.instance_type', 'create_monitor.compute.runtime_version',
    'create_monitor.monitoring_signals', 'create_monitor.monitoring_signals.*', 'create_monitor.monitoring_signals.*.type', 'create_monitor.monitoring_signals.*.features',
    'create_monitor.monitoring_signals.*.metric_thresholds', 'create_monitor.monitoring_signals.*.metric_thresholds.numerical', 'create_monitor.monitoring_signals.*.metric_thresholds.categorical',
    'create_monitor.monitoring_signals.*.metric_thresholds.numerical.jensen_shannon_distance', 'create_monitor.monitoring_signals.*.metric_thresholds.categorical.jensen_shannon_distance',
    'create_monitor.monitoring_signals.*.metric_thresholds.numerical.population_stability_index', 'create_monitor.monitoring_signals.*.metric_thresholds.categorical.population_stability_index',
    'create_monitor.monitoring_signals.*.metric_thresholds.numerical.normalized_wasserstein_distance',
    'create_monitor.monitoring_signals.*.production_data', 'create_monitor.monitoring_signals.*.production_data.input_data', 'create_monitor.monitoring_signals.*.production_data.input_data.path',
    'create_monitor.monitoring_signals.*.production_data.input_data.type', 'create_monitor.monitoring_signals.*.production_data.data_context',
    'create_monitor.monitoring_signals.*.reference_data', 'create_monitor.monitoring_signals.*.reference_data.input_data', 'create_monitor.monitoring_signals.*.reference_data.input_data.path',
    'create_monitor.monitoring_signals.*.reference_data.input_data.type', 'create_monitor.monitoring_signals.*.reference_data.data_context',
    'create_monitor.alert_notification', 'create_monitor.alert_notification.emails', 'trigger.interval', 'trigger.frequency',
    // Rolling windows (how-to-monitor-model-performance: `production_data.data_window.lookback_window_size|offset`, same on `reference_data`).
    ...['production_data', 'reference_data'].flatMap((d) => ['', '.lookback_window_size', '.lookback_window_offset'].map((k) => `create_monitor.monitoring_signals.*.${d}.data_window${k}`)),
  ],
  'managedOnlineDeployment.schema.json': [],
  'managedOnlineEndpoint.schema.json': [],
  'data.schema.json': ['version'],
};

/**
 * Value types the YAML reference documents besides those the examples show: versions are strings
 * (examples write small integers), and deployments may name registered assets (`azureml:<name>:<version>`)
 * instead of the inline model/environment objects of the sample.
 */
const DOCUMENTED_TYPES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'commandComponent.schema.json': { version: 'string' },
  'managedOnlineDeployment.schema.json': { model: 'string', environment: 'string' },
};

const examples = exampleShapes();
const docs = conformanceModels().map(({ label, model }) => ({ label, documents: synth(model).documents }));

describe('the azureml-examples snapshot', () => {
  it('has components, pipeline jobs, schedules, endpoint, deployment and data examples', () => {
    for (const s of ['commandComponent.schema.json', 'pipelineJob.schema.json', 'schedule.schema.json', 'managedOnlineEndpoint.schema.json', 'managedOnlineDeployment.schema.json', 'data.schema.json']) {
      expect(examples.get(s)?.size, s).toBeGreaterThan(2);
    }
  });
});

describe.each(docs)('YAML views of the $label', ({ documents }) => {
  const views = Object.entries(documents).filter(([p]) => p.startsWith('azureml/') && p.endsWith('.yml'));

  it('writes YAML views with a $schema the examples use', () => {
    expect(views.length).toBeGreaterThan(3);
    for (const [p, text] of views) {
      const schema = String((parse(String(text)) as Record<string, unknown>).$schema).split('/').pop() as string;
      expect(examples.has(schema), `${p}: ${schema}`).toBe(true);
    }
  });

  it('uses the keys and value types of the examples (or keys the YAML reference documents)', () => {
    const mismatches: string[] = [];
    for (const [p, text] of views) {
      const doc = parse(String(text)) as Record<string, unknown>;
      const schema = String(doc.$schema).split('/').pop() as string;
      const reference = examples.get(schema) as Shape;
      const allowed = new Set(DOCUMENTED_NOT_IN_EXAMPLES[schema] ?? []);
      for (const [path, types] of shapeOf(doc)) {
        const known = reference.get(path);
        if (!known) {
          if (!allowed.has(path)) mismatches.push(`${p}: key ${path} appears in no ${schema} example`);
          continue;
        }
        for (const t of types) if (!known.has(t) && DOCUMENTED_TYPES[schema]?.[path] !== t) mismatches.push(`${p}: ${path} is ${t}, examples have ${[...known].join('/')}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('binds step inputs with ${{parent...}} expressions as the example pipelines do', () => {
    for (const [p, text] of views.filter(([x]) => x.startsWith('azureml/pipelines/'))) {
      const doc = parse(String(text)) as { jobs: Record<string, { inputs?: Record<string, unknown> }> };
      for (const [node, job] of Object.entries(doc.jobs)) {
        for (const [name, value] of Object.entries(job.inputs ?? {})) {
          if (typeof value === 'string' && value.startsWith('${{')) expect(value, `${p} ${node}.${name}`).toMatch(/^\$\{\{parent\.(inputs\.[A-Za-z0-9_]+|jobs\.[a-z0-9_]+\.outputs\.[A-Za-z0-9_]+)\}\}$/);
        }
      }
    }
  });

  it('deploys exactly the component specs the YAML views show', () => {
    const template = documents['template.json'] as ArmTemplate;
    const components = template.resources.filter((r) => r.type.endsWith('/components/versions'));
    expect(components.length).toBeGreaterThan(0);
    for (const c of components) {
      const name = c.name.split('/')[1] as string;
      expect((c.properties as any).componentSpec, name).toEqual(parse(String(documents[`azureml/components/${name}.yml`])));
    }
  });

  it('keeps the REST pipeline jobs of the template in step with the YAML view', () => {
    const template = documents['template.json'] as ArmTemplate;
    const schedules = template.resources.filter((r) => r.type.endsWith('/schedules') && (r.properties as any).action.actionType === 'CreateJob');
    expect(schedules.length).toBeGreaterThan(0);
    for (const s of schedules) {
      const rest = (s.properties as any).action.jobDefinition.jobs as Record<string, { type: string; condition?: string; true_block?: unknown; inputs: Record<string, { job_input_type: string; value?: string; uri?: string }> }>;
      const yamlDoc = Object.entries(documents).find(([p, text]) => p.startsWith('azureml/pipelines/') && Object.keys((parse(String(text)) as any).jobs).join() === Object.keys(rest).join());
      expect(yamlDoc, s.name).toBeDefined();
      const yamlJobs = (parse(String(yamlDoc?.[1])) as any).jobs as Record<string, { type?: string; condition?: string; true_block?: unknown; inputs?: Record<string, unknown> }>;
      for (const [node, job] of Object.entries(rest)) {
        if (job.type === 'if_else') {
          expect(yamlJobs[node]).toEqual({ type: 'if_else', condition: job.condition, true_block: job.true_block });
          continue;
        }
        expect(job.type).toBe('command');
        for (const [name, input] of Object.entries(job.inputs)) {
          const y = yamlJobs[node]?.inputs?.[name];
          if (input.job_input_type === 'literal') expect(String(y)).toBe(input.value);
          else expect(y).toEqual({ type: input.job_input_type, path: input.uri });
        }
      }
    }
  });
});

describe('command words', () => {
  it('puts placeholders into double-quoted shell variables and quotes literal words for the shell', () => {
    const resolve = (ref: { scope: string; name: string }) => `\${MLPLANE_${ref.scope}_${ref.name}}`;
    expect(shellWord(parseWord('{{inputs.data}}'), resolve)).toBe('"${MLPLANE_inputs_data}"');
    expect(shellWord(parseWord('--out="{{outputs.clean}}"$x'), resolve)).toBe('"--out=\\"${MLPLANE_outputs_clean}\\"\\$x"');
    expect(shellWord(parseWord("it's"), resolve)).toBe(`'it'"'"'s'`);
    expect(shellWord(parseWord('a b'), resolve)).toBe("'a b'");
  });
});
