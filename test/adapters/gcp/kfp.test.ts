/**
 * KFP compiler: every PipelineSpec passes the strict check against pipeline_spec.proto and has the
 * structure the KFP SDK gives the same features in the golden files.
 */
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../../adapters/gcp';
import { GATE_PYTHON } from '../../../adapters/shared/gate';
import { SynthContext } from '../../../adapters/gcp/context';
import { AIPLATFORM_PACKAGE, compileDriftGatePipeline, GCPC_IMAGE, KFP_SDK_VERSION } from '../../../adapters/gcp/kfp';
import type { KfpContainerSpec, KfpExecutorSpec, PipelineSpec } from '../../../adapters/gcp/kfp-types';
import type { DriftMonitorModel, EnvironmentModel } from '../../../lib/model/types';
import { contractModel } from '../../support/contract-pipeline';
import { examples, find, LAB_SETTINGS, labModel, settingsFor, variant, type Writable } from './fixtures';
import { checkProtoJson, formatIssues } from './support/proto-check';
import { checkPipelineSpec, golden, protoRoot } from './support/specs';

function pipelines(model: EnvironmentModel, settings = settingsFor(model)): Record<string, PipelineSpec> {
  const { documents } = gcpAdapter.synth(model, settings);
  return Object.fromEntries(Object.entries(documents).filter(([k]) => k.startsWith('pipelines/')).map(([k, v]) => [k.slice('pipelines/'.length, -'.json'.length), v as PipelineSpec]));
}

const CONTRACT_SETTINGS = gcpAdapter.parseSettings({ project: 'acme-contract', region: 'us-central1' });

function allPipelines(): Record<string, PipelineSpec> {
  const { fraud, churn } = examples();
  return { ...pipelines(fraud), ...pipelines(churn), ...pipelines(labModel(), LAB_SETTINGS), ...pipelines(contractModel(), CONTRACT_SETTINGS) };
}

const contract = () => {
  const s = pipelines(contractModel(), CONTRACT_SETTINGS)['contract-dev-train'];
  if (!s) throw new Error('no contract pipeline');
  return s;
};

function container(spec: PipelineSpec, task: string): KfpContainerSpec {
  const exec: KfpExecutorSpec | undefined = spec.deploymentSpec.executors[`exec-${task}`];
  if (!exec || !('container' in exec)) throw new Error(`no container executor for ${task}`);
  return exec.container;
}

function task(spec: PipelineSpec, name: string) {
  const t = spec.root.dag.tasks[name];
  if (!t) throw new Error(`no task ${name}`);
  return t;
}

type Json = Record<string, unknown>;
const at = (o: unknown, ...keys: string[]): Json => keys.reduce<Json>((x, k) => (x[k] as Json) ?? {}, o as Json);
const keysOf = (o: unknown) => Object.keys(o as object).sort();

const lab = () => pipelines(labModel(), LAB_SETTINGS);
const score = () => {
  const s = lab()['lab-dev-score'];
  if (!s) throw new Error('no lab score pipeline');
  return s;
};

describe('every PipelineSpec', () => {
  it('passes the strict check against pipeline_spec.proto (deploymentSpec as PipelineDeploymentConfig)', () => {
    const all = allPipelines();
    expect(Object.keys(all).sort()).toEqual([
      'churn-staging-train',
      'churn-staging-weekly-scoring',
      'contract-dev-train',
      'fraud-prod-drift-retrain',
      'fraud-prod-train',
      'lab-dev-nightly',
      'lab-dev-score',
    ]);
    for (const [name, spec] of Object.entries(all)) expect(formatIssues(checkPipelineSpec(spec)), name).toBe('');
  });

  it('has schemaVersion 2.1.0, the SDK version, a valid pipeline name, and only referenced components and executors', () => {
    for (const [name, spec] of Object.entries(allPipelines())) {
      expect(spec.schemaVersion).toBe('2.1.0');
      expect(spec.sdkVersion).toBe(`kfp-${KFP_SDK_VERSION}`);
      expect(spec.pipelineInfo.name).toMatch(/^[a-z][-a-z0-9]{0,127}$/);
      const refs = new Set<string>();
      const labels = new Set<string>();
      const walk = (tasks: PipelineSpec['root']['dag']['tasks']) => {
        for (const [taskName, t] of Object.entries(tasks)) {
          expect(t.taskInfo.name, name).toBe(taskName);
          expect(t.componentRef.name, name).toBe(`comp-${taskName}`);
          refs.add(t.componentRef.name);
          const comp = spec.components[t.componentRef.name];
          expect(comp, `${name} ${t.componentRef.name}`).toBeDefined();
          if (comp && 'dag' in comp) walk(comp.dag.tasks);
          if (comp && 'executorLabel' in comp) {
            expect(comp.executorLabel).toBe(`exec-${taskName}`);
            labels.add(comp.executorLabel);
          }
          if (t.dependentTasks) expect(t.dependentTasks).toEqual([...t.dependentTasks].sort());
        }
      };
      walk(spec.root.dag.tasks);
      expect([...refs].sort(), name).toEqual(Object.keys(spec.components).sort());
      expect([...labels].sort(), name).toEqual(Object.keys(spec.deploymentSpec.executors).sort());
    }
  });
});

/** Wiring problems of a PipelineSpec: what the KFP compiler guarantees about references and types. */
function wiringProblems(spec: PipelineSpec): string[] {
  const out: string[] = [];
  const typeOk = (type: string, v: unknown) =>
    type === 'STRING' ? typeof v === 'string' : type === 'NUMBER_INTEGER' ? Number.isInteger(v) : type === 'NUMBER_DOUBLE' ? typeof v === 'number' : type === 'BOOLEAN' ? typeof v === 'boolean' : true;
  const walk = (scope: string, tasks: PipelineSpec['root']['dag']['tasks'], parentInputs: NonNullable<PipelineSpec['root']['inputDefinitions']>) => {
    for (const [name, t] of Object.entries(tasks)) {
      const comp = spec.components[t.componentRef.name];
      if (!comp) continue;
      const wanted = comp.inputDefinitions ?? {};
      for (const [key, input] of Object.entries(t.inputs?.parameters ?? {})) {
        const type = wanted.parameters?.[key]?.parameterType;
        if (!type) {
          out.push(`${scope}/${name}: parameter '${key}' is not an input of ${t.componentRef.name}`);
          continue;
        }
        if ('runtimeValue' in input && !typeOk(type, input.runtimeValue.constant)) out.push(`${scope}/${name}: constant for '${key}' is not ${type}`);
        if ('componentInputParameter' in input) {
          const parent = parentInputs.parameters?.[input.componentInputParameter];
          if (parent?.parameterType !== type) out.push(`${scope}/${name}: '${key}' reads parent input '${input.componentInputParameter}' of type ${parent?.parameterType}, wants ${type}`);
        }
        if ('taskOutputParameter' in input) {
          const producer = tasks[input.taskOutputParameter.producerTask];
          const produced = producer ? spec.components[producer.componentRef.name]?.outputDefinitions?.parameters?.[input.taskOutputParameter.outputParameterKey] : undefined;
          if (produced?.parameterType !== type) out.push(`${scope}/${name}: '${key}' reads an output of type ${produced?.parameterType}, wants ${type}`);
          if (!t.dependentTasks?.includes(input.taskOutputParameter.producerTask)) out.push(`${scope}/${name}: missing dependentTask ${input.taskOutputParameter.producerTask}`);
        }
      }
      for (const [key, input] of Object.entries(t.inputs?.artifacts ?? {})) {
        const type = wanted.artifacts?.[key]?.artifactType.schemaTitle;
        if (!type) {
          out.push(`${scope}/${name}: artifact '${key}' is not an input of ${t.componentRef.name}`);
          continue;
        }
        if ('componentInputArtifact' in input) {
          const parent = parentInputs.artifacts?.[input.componentInputArtifact];
          if (parent?.artifactType.schemaTitle !== type) out.push(`${scope}/${name}: '${key}' reads parent input '${input.componentInputArtifact}' of type ${parent?.artifactType.schemaTitle}, wants ${type}`);
          continue;
        }
        const producer = tasks[input.taskOutputArtifact.producerTask];
        const produced = producer ? spec.components[producer.componentRef.name]?.outputDefinitions?.artifacts?.[input.taskOutputArtifact.outputArtifactKey] : undefined;
        if (produced?.artifactType.schemaTitle !== type) out.push(`${scope}/${name}: '${key}' reads a ${produced?.artifactType.schemaTitle}, wants ${type}`);
        if (!t.dependentTasks?.includes(input.taskOutputArtifact.producerTask)) out.push(`${scope}/${name}: missing dependentTask ${input.taskOutputArtifact.producerTask}`);
      }
      for (const [key, def] of Object.entries(wanted.parameters ?? {})) {
        if (!def.isOptional && def.defaultValue === undefined && !t.inputs?.parameters?.[key]) out.push(`${scope}/${name}: required parameter '${key}' is not fed`);
      }
      for (const [key, def] of Object.entries(wanted.artifacts ?? {})) {
        if (!def.isOptional && !t.inputs?.artifacts?.[key]) out.push(`${scope}/${name}: required artifact '${key}' is not fed`);
      }
      if ('dag' in comp) walk(`${scope}/${name}`, comp.dag.tasks, comp.inputDefinitions ?? {});
    }
  };
  walk('root', spec.root.dag.tasks, spec.root.inputDefinitions ?? {});
  for (const [name, p] of Object.entries(spec.root.inputDefinitions?.parameters ?? {})) {
    if (p.defaultValue !== undefined && !typeOk(p.parameterType, p.defaultValue)) out.push(`root input '${name}' default is not ${p.parameterType}`);
  }
  return out;
}

describe('DAG wiring', () => {
  it('feeds every component input with a value of its type from an existing producer, with dependentTasks', () => {
    for (const [name, spec] of Object.entries(allPipelines())) expect(wiringProblems(spec), name).toEqual([]);
  });

  it('the wiring check itself fails on a miswired spec', () => {
    const spec = structuredClone(score()) as Writable<PipelineSpec>;
    const infer = spec.root.dag.tasks.infer;
    if (!infer?.inputs?.parameters) throw new Error('fixture changed');
    infer.inputs.parameters.rows = { runtimeValue: { constant: 'many' } };
    infer.dependentTasks = [];
    expect(wiringProblems(spec as PipelineSpec)).toEqual([
      "root/infer: constant for 'rows' is not NUMBER_INTEGER",
      'root/infer: missing dependentTask extract',
    ]);
  });
});

describe('structure matches the KFP golden files', () => {
  it('container task with an upstream artifact: same keys as two_step_pipeline_containerized component2', () => {
    const g = at(golden('critical__two_step_pipeline_containerized.yaml'), 'root', 'dag', 'tasks', 'component2');
    expect(keysOf(task(score(), 'infer'))).toEqual(keysOf(g));
    expect(task(score(), 'infer').inputs?.artifacts?.table).toEqual({ taskOutputArtifact: { outputArtifactKey: 'table', producerTask: 'extract' } });
  });

  it('parameter passed between tasks: taskOutputParameter and dependentTasks as in producer_consumer_param_pipeline', () => {
    const g = at(golden('critical__producer_consumer_param_pipeline.yaml'), 'root', 'dag', 'tasks', 'consumer');
    const t = task(score(), 'infer');
    expect(keysOf(at(t, 'inputs', 'parameters', 'rows'))).toEqual(keysOf(at(g, 'inputs', 'parameters', 'input_value')));
    expect(t.dependentTasks).toEqual(['extract']);
  });

  it('retries: retryPolicy with the SDK defaults of pipeline_with_retry', () => {
    const g = at(golden('critical__pipeline_with_retry.yaml'), 'root', 'dag', 'tasks', 'add', 'retryPolicy');
    expect(task(score(), 'extract').retryPolicy).toEqual({ ...g, maxRetryCount: 3 });
  });

  it('caching: {enableCache: true} when on and {} when off, as the compiler writes them', () => {
    expect(task(score(), 'infer').cachingOptions).toEqual(at(golden('container_io.yaml'), 'root', 'dag', 'tasks', 'container-io', 'cachingOptions'));
    expect(task(score(), 'extract').cachingOptions).toEqual(at(golden('essential__pipeline_with_condition.yaml'), 'root', 'dag', 'tasks', 'flip-coin-op', 'cachingOptions'));
  });

  it('accelerator and limits: the resource fields of local_execution_pipeline_with_k8s_only_methods', () => {
    const g = at(golden('local_execution__local_execution_pipeline_with_k8s_only_methods.yaml'), 'deploymentSpec', 'executors', 'exec-echo', 'container', 'resources');
    const r = container(score(), 'infer').resources;
    expect(keysOf(r)).toEqual(keysOf(g));
    expect(keysOf(r?.accelerator)).toEqual(keysOf(g.accelerator));
    expect(r).toEqual({
      accelerator: { count: '1', resourceCount: '1', resourceType: 'NVIDIA_L4', type: 'NVIDIA_L4' },
      cpuLimit: 8,
      memoryLimit: 34.359738368,
      resourceCpuLimit: '8',
      resourceMemoryLimit: '32Gi',
    });
  });

  it('fractional CPU and memory are written in milli-CPU and MiB, memoryLimit in GB, like the golden 256Mi → 0.268435456', () => {
    expect(container(score(), 'extract').resources).toEqual({ cpuLimit: 0.5, memoryLimit: 1.610612736, resourceCpuLimit: '500m', resourceMemoryLimit: '1536Mi' });
  });

  it('pipeline parameters: defaultValue with isOptional, typed like the golden inputs', () => {
    const g = at(golden('critical__pipeline_with_retry.yaml'), 'root', 'inputDefinitions', 'parameters', 'a');
    const params = score().root.inputDefinitions?.parameters ?? {};
    expect(keysOf(params.mode)).toEqual(keysOf(g));
    expect(params).toEqual({
      dryRun: { defaultValue: false, isOptional: true, parameterType: 'BOOLEAN' },
      limit: { parameterType: 'NUMBER_INTEGER' },
      mode: { defaultValue: 'full', isOptional: true, parameterType: 'STRING' },
      threshold: { defaultValue: 0.5, description: 'Decision threshold', isOptional: true, parameterType: 'NUMBER_DOUBLE' },
    });
    expect(task(score(), 'extract').inputs?.parameters?.limit).toEqual({ componentInputParameter: 'limit' });
    expect(task(score(), 'extract').inputs?.parameters?.batch).toEqual({ runtimeValue: { constant: 128 } });
  });

  it('artifacts: system.* schema titles with schemaVersion 0.0.1 as in artifacts_simple', () => {
    const g = at(golden('artifacts_simple.yaml'), 'components', 'comp-double', 'outputDefinitions', 'artifacts', 'out_dataset', 'artifactType');
    const { fraud } = examples();
    const train = pipelines(fraud)['fraud-prod-train'];
    if (!train) throw new Error('no fraud train pipeline');
    expect(at(train.components, 'comp-validate-data', 'outputDefinitions', 'artifacts', 'clean', 'artifactType')).toEqual(g);
    expect(at(train.components, 'comp-train-model', 'outputDefinitions', 'artifacts', 'model', 'artifactType')).toEqual({ schemaTitle: 'system.Model', schemaVersion: '0.0.1' });
    expect(at(train.components, 'comp-evaluate', 'outputDefinitions', 'artifacts', 'metrics', 'artifactType')).toEqual({ schemaTitle: 'system.Metrics', schemaVersion: '0.0.1' });
    expect(at(train.components, 'comp-validate-data', 'outputDefinitions', 'artifacts', 'report', 'artifactType')).toEqual({ schemaTitle: 'system.Artifact', schemaVersion: '0.0.1' });
  });

  it('dataset inputs: an export task (cached for a cached step, keyed on the data fingerprint) writes the BigQuery table as files into a system.Dataset artifact the step reads', () => {
    const { fraud } = examples();
    const train = pipelines(fraud)['fraud-prod-train'];
    if (!train) throw new Error('no fraud train pipeline');
    expect(train.components['comp-export-transactions']?.outputDefinitions).toEqual({ artifacts: { dataset: { artifactType: { schemaTitle: 'system.Dataset', schemaVersion: '0.0.1' } } } });
    const t = task(train, 'export-transactions');
    expect(t.cachingOptions).toEqual({ enableCache: true });
    expect(t.inputs?.parameters).toEqual({
      file_format: { runtimeValue: { constant: 'parquet' } },
      location: { runtimeValue: { constant: 'EU' } },
      project: { runtimeValue: { constant: 'acme-fraud-prod' } },
      table: { runtimeValue: { constant: 'acme-fraud-prod.Fraud_prod.Transactions' } },
      mlplane_data_table: { taskOutputParameter: { outputParameterKey: 'Output', producerTask: 'fingerprint-transactions' } },
    });
    const c = container(train, 'export-transactions');
    expect(c.args).toEqual(['--executor_input', '{{$}}', '--function_to_execute', 'export_dataset']);
    expect(c.command?.[6]).toContain("EXPORT DATA OPTIONS(uri='{}', {}, overwrite=true) AS SELECT * FROM `{}`");
    expect(task(train, 'validate-data').dependentTasks).toEqual(['export-transactions', 'fingerprint-transactions']);
    expect(task(train, 'validate-data').inputs?.artifacts?.transactions).toEqual({ taskOutputArtifact: { outputArtifactKey: 'dataset', producerTask: 'export-transactions' } });
  });

  it('lightweight Python components: the command and args the SDK writes for @dsl.component', () => {
    const g = at(golden('critical__pipeline_with_retry.yaml'), 'deploymentSpec', 'executors', 'exec-add', 'container') as unknown as KfpContainerSpec;
    const { fraud } = examples();
    const train = pipelines(fraud)['fraud-prod-train'];
    if (!train) throw new Error('no fraud train pipeline');
    const c = container(train, 'register');
    const [gSh, gC, gPip, gSh2, gEc, gProgram, gSource] = g.command ?? [];
    const [sh, dashC, pip, sh2, ec, program, source] = c.command ?? [];
    expect([sh, dashC, sh2, ec, program]).toEqual([gSh, gC, gSh2, gEc, gProgram]);
    expect(pip).toBe((gPip ?? '').replace("'kfp==2.14.3' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<\"3.9\"'", `'kfp==${KFP_SDK_VERSION}' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<"3.9"'  &&  python3 -m pip install --quiet --no-warn-script-location '${AIPLATFORM_PACKAGE}'`));
    expect(source?.startsWith((gSource ?? '').slice(0, (gSource ?? '').indexOf('def ')))).toBe(true);
    expect(source).toContain('def register(model: Input[Model], config: str, metrics: Input[Metrics] = None) -> str:');
    // The gate decision is the shared one, verbatim (indented into the component function).
    expect(source).toContain(GATE_PYTHON.split('\n').map((l) => (l ? `    ${l}` : l)).join('\n'));
    expect(source).toContain("os.path.join(metrics.path, 'metrics.json')");
    expect(source).not.toContain('metrics.metadata');
    expect(c.args).toEqual(['--executor_input', '{{$}}', '--function_to_execute', 'register']);
    expect(c.image).toBe(g.image);
  });

  it('steps with a timeout or on a spot pool run as Vertex custom jobs, like the GCPC custom training job golden', () => {
    const g = golden('pipeline_with_dynamic_task_output_custom_training_job.yaml');
    const gc = at(g, 'deploymentSpec', 'executors', 'exec-custom-training-job', 'container') as unknown as KfpContainerSpec;
    const { fraud } = examples();
    const train = pipelines(fraud)['fraud-prod-train'];
    if (!train) throw new Error('no fraud train pipeline');
    const c = container(train, 'train-model');
    expect(c.command).toEqual(gc.command);
    expect(c.image.split(':')[0]).toBe(gc.image.split(':')[0]);
    expect(c.image).toBe(GCPC_IMAGE);
    const flags = (args: readonly string[] | undefined) => (args ?? []).filter((_, i) => i % 2 === 0);
    expect(flags(c.args)).toEqual(flags(gc.args));
    expect(at(train.components, 'comp-train-model', 'outputDefinitions', 'parameters', 'gcp_resources')).toEqual({ parameterType: 'STRING' });
  });

  it('the custom job payload is a valid Vertex v1 CustomJob with the step, its machine, timeout and spot strategy', () => {
    const { fraud } = examples();
    const train = pipelines(fraud)['fraud-prod-train'];
    if (!train) throw new Error('no fraud train pipeline');
    const args = container(train, 'train-model').args ?? [];
    const payload = JSON.parse(args[args.indexOf('--payload') + 1] ?? '{}') as Json;
    expect(formatIssues(checkProtoJson(protoRoot(), 'google.cloud.aiplatform.v1.CustomJob', payload, { acceptOriginalNames: true, int64AsNumber: true }))).toBe('');
    expect(at(payload, 'job_spec', 'scheduling')).toEqual({ strategy: 'SPOT', timeout: '14400s' });
    const pool = (at(payload, 'job_spec').worker_pool_specs as Json[])[0] ?? {};
    expect(pool.machine_spec).toEqual({ accelerator_count: 1, accelerator_type: 'NVIDIA_TESLA_T4', machine_type: 'n1-highmem-8' });
    expect(at(pool, 'container_spec').args).toEqual(["--features", "{{$.inputs.artifacts['features'].path}}", '--lr', "{{$.inputs.parameters['learning_rate']}}", '--model', "{{$.outputs.artifacts['model'].path}}"]);
    expect(at(pool, 'container_spec').env).toEqual([{ name: 'XGB_TREE_METHOD', value: 'gpu_hist' }]);
    expect(at(payload, 'encryption_spec')).toEqual({ kms_key_name: 'projects/acme-fraud-prod/locations/europe-west4/keyRings/mlplane-fraud-prod/cryptoKeys/fraud-cmk' });
  });

  it('batch inference: a GCPC batch prediction launcher task whose payload is a valid Vertex v1 BatchPredictionJob', () => {
    const { churn } = examples();
    const spec = pipelines(churn)['churn-staging-weekly-scoring'];
    if (!spec) throw new Error('no batch pipeline');
    const c = container(spec, 'model-batch-predict');
    expect(c.command).toEqual(['python3', '-u', '-m', 'google_cloud_pipeline_components.container.v1.batch_prediction_job.launcher']);
    const args = c.args ?? [];
    const payload = JSON.parse(args[args.indexOf('--payload') + 1] ?? '{}') as Json;
    expect(formatIssues(checkProtoJson(protoRoot(), 'google.cloud.aiplatform.v1.BatchPredictionJob', payload, { acceptOriginalNames: true, int64AsNumber: true }))).toBe('');
    expect(payload.model).toBe('projects/acme-growth/locations/us-central1/models/churn-staging-churn@production');
    expect(at(payload, 'input_config', 'bigquery_source')).toEqual({ input_uri: 'bq://acme-growth.Churn_staging.Customers' });
    expect(at(payload, 'dedicated_resources')).toMatchObject({ starting_replica_count: 4, max_replica_count: 4 });
    expect(at(payload, 'manual_batch_tuning_parameters')).toEqual({ batch_size: 500 });
    expect(task(spec, 'model-batch-predict').retryPolicy?.maxRetryCount).toBe(2);
  });

  it('drift gate: a check-drift task and a condition sub-DAG with the training tasks, as dsl.If compiles in pipeline_with_condition', () => {
    const g = golden('essential__pipeline_with_condition.yaml');
    const { fraud } = examples();
    const gate = pipelines(fraud)['fraud-prod-drift-retrain'];
    if (!gate) throw new Error('no drift gate pipeline');
    const cond = task(gate, 'condition-1');
    expect(keysOf(cond)).toEqual(keysOf(at(g, 'root', 'dag', 'tasks', 'condition-1')));
    expect(cond.triggerPolicy).toEqual({ condition: "inputs.parameter_values['pipelinechannel--check-drift-Output'] == 'true'" });
    expect(cond.inputs?.parameters?.['pipelinechannel--learningRate']).toEqual({ componentInputParameter: 'learningRate' });
    const sub = gate.components['comp-condition-1'];
    expect(sub && 'dag' in sub ? Object.keys(sub.dag.tasks).sort() : []).toEqual(['build-features', 'evaluate', 'export-transactions', 'fingerprint-transactions', 'register', 'train-model', 'validate-data']);
    expect(keysOf(sub)).toEqual(keysOf(at(g, 'components', 'comp-condition-1')));
    const inner = sub && 'dag' in sub ? sub.dag.tasks['train-model'] : undefined;
    expect(inner?.inputs?.parameters?.learning_rate).toEqual({ componentInputParameter: 'pipelinechannel--learningRate' });
    expect(container(gate, 'check-drift').args).toEqual(['--executor_input', '{{$}}', '--function_to_execute', 'check_drift']);
  });
});

describe('conditions and order-only edges, shaped as the KFP compiler writes dsl.If', () => {
  it('a condition group task has the keys of the golden condition-1 task and a CEL trigger over a pipelinechannel input', () => {
    const g = golden('essential__pipeline_with_condition.yaml');
    const cond = task(contract(), 'condition-1');
    expect(keysOf(cond)).toEqual(keysOf(at(g, 'root', 'dag', 'tasks', 'condition-1')));
    expect(cond.triggerPolicy).toEqual({ condition: "inputs.parameter_values['pipelinechannel--prep-ok'] == true" });
    expect(cond.inputs?.parameters?.['pipelinechannel--prep-ok']).toEqual({ taskOutputParameter: { outputParameterKey: 'ok', producerTask: 'prep' } });
    expect(cond.dependentTasks).toEqual(['prep']);
    const comp = contract().components['comp-condition-1'];
    expect(keysOf(comp)).toEqual(keysOf(at(g, 'components', 'comp-condition-1')));
    expect(comp?.inputDefinitions?.parameters?.['pipelinechannel--prep-ok']).toEqual({ parameterType: 'BOOLEAN' });
  });

  it('tasks inside a group read outer values through pipelinechannel inputs, as print-op-3 in the golden', () => {
    const comp = contract().components['comp-condition-1'];
    const fit = comp && 'dag' in comp ? comp.dag.tasks.fit : undefined;
    expect(fit?.inputs?.parameters?.epochs).toEqual({ componentInputParameter: 'pipelinechannel--epochs' });
    expect(fit?.inputs?.artifacts?.data).toEqual({ componentInputArtifact: 'pipelinechannel--prep-clean' });
    expect(fit?.dependentTasks).toBeUndefined();
  });

  it('nested conditions nest groups (condition-2 in condition-1, condition-3 in condition-2), each with its own trigger', () => {
    const c1 = contract().components['comp-condition-1'];
    const c2 = contract().components['comp-condition-2'];
    const t2 = c1 && 'dag' in c1 ? c1.dag.tasks['condition-2'] : undefined;
    const t3 = c2 && 'dag' in c2 ? c2.dag.tasks['condition-3'] : undefined;
    expect(t2?.triggerPolicy).toEqual({ condition: "inputs.parameter_values['pipelinechannel--read-evaluate-metrics-auc-Output'] >= 0.8" });
    expect(t3?.triggerPolicy).toEqual({ condition: "inputs.parameter_values['pipelinechannel--publish'] == true" });
    expect(c2 && 'dag' in c2 ? Object.keys(c2.dag.tasks).sort() : []).toEqual(['condition-3', 'publish']);
  });

  it('a metric condition reads metrics.json through a read-metric task with a float output', () => {
    const c1 = contract().components['comp-condition-1'];
    const reader = c1 && 'dag' in c1 ? c1.dag.tasks['read-evaluate-metrics-auc'] : undefined;
    expect(reader?.inputs).toEqual({
      artifacts: { metrics: { taskOutputArtifact: { outputArtifactKey: 'metrics', producerTask: 'evaluate' } } },
      parameters: { name: { runtimeValue: { constant: 'auc' } } },
    });
    expect(contract().components['comp-read-evaluate-metrics-auc']?.outputDefinitions).toEqual({ parameters: { Output: { parameterType: 'NUMBER_DOUBLE' } } });
    expect(container(contract(), 'read-evaluate-metrics-auc').args).toEqual(['--executor_input', '{{$}}', '--function_to_execute', 'read_metric']);
  });

  it('an order-only edge is a dependentTask with no data input (on the group holding the later step)', () => {
    const c1 = contract().components['comp-condition-1'];
    const t2 = c1 && 'dag' in c1 ? c1.dag.tasks['condition-2'] : undefined;
    expect(t2?.dependentTasks).toContain('register');
    expect(JSON.stringify(t2?.inputs)).not.toContain('register');
  });

  it('int conditions cast with int() and compare with a float as double(), as _resolve_condition_operands does', () => {
    const m = variant(contractModel(), (w) => {
      const report = find(w, 'pipeline', 'Contract/Train').steps.find((st) => st.name === 'Report');
      const c = report?.conditions.find((x) => x.declaredOn === 'Report');
      if (c) {
        c.operand = { kind: 'parameter', parameter: 'epochs', type: 'int' };
        c.op = '>';
        c.value = 2.5;
      }
    });
    const spec = pipelines(m, CONTRACT_SETTINGS)['contract-dev-train'];
    const c2 = spec?.components['comp-condition-2'];
    const t3 = c2 && 'dag' in c2 ? c2.dag.tasks['condition-3'] : undefined;
    expect(t3?.triggerPolicy).toEqual({ condition: "double(int(inputs.parameter_values['pipelinechannel--epochs'])) > 2.5" });
  });
});

describe('a drift gate around a pipeline with conditions', () => {
  it('nests the pipeline\'s own condition groups inside condition-1 from condition-2, valid against pipeline_spec.proto', () => {
    const model = contractModel();
    const ctx = new SynthContext(model, CONTRACT_SETTINGS);
    const training = model.resources.find((r) => r.path === 'Contract/Train');
    if (training?.kind !== 'pipeline') throw new Error('no contract pipeline');
    const monitor: DriftMonitorModel = {
      kind: 'driftMonitor',
      path: 'Contract/Watch',
      id: 'Watch',
      target: { kind: 'endpoint', endpoint: 'Contract/Api' },
      baseline: 'Contract/Raw',
      signals: [],
      schedule: { kind: 'cron', expression: '0 * * * *', timeZone: 'UTC' },
      lookbackDays: 1,
      alerts: [],
      onDrift: { action: 'retrain', pipeline: 'Contract/Train', parameters: {}, cooldownSeconds: 3600 },
    };
    const spec = compileDriftGatePipeline(ctx, monitor, training, []);
    expect(ctx.problems).toEqual([]);
    expect(formatIssues(checkPipelineSpec(spec))).toBe('');
    expect(wiringProblems(spec)).toEqual([]);
    const gate = spec.components['comp-condition-1'];
    const inner = gate && 'dag' in gate ? gate.dag.tasks['condition-2'] : undefined;
    expect(inner?.triggerPolicy).toEqual({ condition: "inputs.parameter_values['pipelinechannel--prep-ok'] == true" });
    expect(inner?.inputs?.parameters?.['pipelinechannel--epochs']).toEqual({ componentInputParameter: 'pipelinechannel--epochs' });
  });
});

describe('warnings where KFP delivers the contract approximately', () => {
  const ids = (m: EnvironmentModel, settings = CONTRACT_SETTINGS) => gcpAdapter.synth(m, settings).warnings.filter((w) => w.path.startsWith(m.environment.name + '/') && w.path.includes('/')).map((w) => `${w.id} ${w.path}`);

  it('the contract pipeline: re-spelled task names, an uncached dataset export, env set through env', () => {
    expect(ids(contractModel())).toEqual([
      'mlplane:gcp:task-names-respelled Contract/Train',
      'mlplane:gcp:env-placeholders-via-env-command Contract/Train/Prep',
      'mlplane:gcp:env-placeholders-via-env-command Contract/Train/Fit',
    ]);
  });

  it('string outputs, jsonl int columns and string parameters in a custom-job payload; none for floats', () => {
    const m = variant(contractModel(), (w) => {
      const raw = find(w, 'dataset', 'Contract/Raw');
      raw.format = 'jsonl';
      raw.schema.push({ name: 'count', type: 'int', nullable: true });
      const steps = find(w, 'pipeline', 'Contract/Train').steps;
      const prep = steps.find((st) => st.name === 'Prep');
      if (prep?.kind === 'container') prep.outputs.push({ name: 'note', type: { kind: 'parameter', type: 'string' } });
      const evaluate = steps.find((st) => st.name === 'Evaluate');
      if (evaluate?.kind === 'container') {
        evaluate.timeoutSeconds = 600;
        evaluate.args.push('--mode={{params.mode}}');
      }
      const fit = steps.find((st) => st.name === 'Fit');
      if (fit?.kind === 'container') {
        fit.inputs.push({ name: 'lr', type: { kind: 'parameter', type: 'float' }, source: { kind: 'value', value: 0.1 } });
        fit.args.push('--lr', '{{inputs.lr}}');
      }
    });
    const found = gcpAdapter.synth(m, CONTRACT_SETTINGS).warnings;
    const byId = (id: string) => found.filter((w) => w.id === `mlplane:gcp:${id}`).map((w) => `${w.path}: ${w.message}`);
    expect(byId('jsonl-int64-as-string')).toEqual([
      "Contract/Train/Prep: dataset 'Contract/Raw' is exported by BigQuery as JSON lines, which writes INT64 columns as JSON strings (\"42\") to keep 64-bit precision; parse them as integers in the step, or use parquet",
    ]);
    expect(byId('string-output-trailing-newline')).toEqual([
      'Contract/Train/Prep: string output note: KFP keeps the file\'s text as written, including a trailing newline, where the contract ignores it; write the value without a trailing newline',
    ]);
    // Floats arrive in plain decimal (KFP strconv 'f'), which the contract accepts: parse-equal.
    expect(byId('float-parameter-text')).toEqual([]);
    expect(byId('custom-job-parameter-text')).toEqual([
      'Contract/Train/Evaluate: the step runs as a Vertex custom job whose JSON payload receives the text of params.mode unescaped; a value holding \'"\', \'\\\' or a line break makes the payload invalid and the step fails',
    ]);
  });
});

describe('placeholders', () => {
  it('turns {{inputs.x}} / {{outputs.x}} / {{params.x}} into KFP placeholders, inline too', () => {
    expect(container(score(), 'infer').args).toEqual([
      "--table={{$.inputs.artifacts['table'].path}}",
      '--rows',
      "{{$.inputs.parameters['rows']}}",
      '--threshold',
      "{{$.inputs.parameters['pipelinechannel--threshold']}}",
    ]);
    expect(task(score(), 'infer').inputs?.parameters?.['pipelinechannel--threshold']).toEqual({ componentInputParameter: 'threshold' });
    expect(score().components['comp-infer']?.inputDefinitions?.parameters?.['pipelinechannel--threshold']).toEqual({ parameterType: 'NUMBER_DOUBLE' });
  });

  it('passes nothing implicitly: only what command, args and env name, keeping the image entrypoint', () => {
    const c = container(score(), 'extract');
    expect(c.command).toBeUndefined();
    expect(c.args).toEqual([
      '--verbose',
      '--events',
      "{{$.inputs.parameters['events']}}",
      '--limit',
      "{{$.inputs.parameters['limit']}}",
      '--batch',
      "{{$.inputs.parameters['batch']}}",
      "--mode={{$.inputs.parameters['pipelinechannel--mode']}}",
      '--rows',
      "{{$.outputs.parameters['rows'].output_file}}",
      '--table',
      "{{$.outputs.artifacts['table'].path}}",
    ]);
    expect(c.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(task(score(), 'extract').inputs?.parameters?.events).toEqual({ runtimeValue: { constant: 'bq://acme-lab.Lab_dev.Events' } });
  });

  it('an output no placeholder names is still declared and collected, but not passed', () => {
    const m = variant(labModel(), (w) => {
      const infer = find(w, 'pipeline', 'Lab/Score').steps[1];
      if (infer?.kind === 'container') infer.env = {};
    });
    const spec = pipelines(m, LAB_SETTINGS)['lab-dev-score'];
    if (!spec) throw new Error('no score pipeline');
    const c = container(spec, 'infer');
    expect(JSON.stringify([c.command, c.args, c.env])).not.toContain("outputs.artifacts['scores']");
    expect(spec.components['comp-infer']?.outputDefinitions?.artifacts?.scores).toEqual({ artifactType: { schemaTitle: 'system.Artifact', schemaVersion: '0.0.1' } });
  });

  it('sets env values with placeholders through `env NAME=value <command>` (KFP resolves command and args only) and escapes $ in static env', () => {
    const c = container(score(), 'infer');
    expect(c.command).toEqual(['env', "SCORES_DIR={{$.outputs.artifacts['scores'].path}}", 'python', 'infer.py']);
    expect(c.env).toEqual([{ name: 'PRICE', value: '$$(HOME) costs $$5' }]);
  });

  it('carries a caching step\'s env into the KFP cache key as an input (KFP leaves env out of the key)', () => {
    const t = task(score(), 'infer');
    expect(t.inputs?.parameters?.['mlplane--env']).toEqual({ runtimeValue: { constant: JSON.stringify({ PRICE: '$$(HOME) costs $$5' }) } });
    expect(JSON.stringify(container(score(), 'infer'))).not.toContain('mlplane--env');
    expect(task(score(), 'extract').inputs?.parameters?.['mlplane--env']).toBeUndefined();
  });
});

/** A one-pipeline environment around `steps`, for reproducing golden pipelines. */
function goldenEnv(pipelineId: string, parameters: PipelineModelT['parameters'], steps: PipelineModelT['steps']): EnvironmentModel {
  return {
    schemaVersion: '1.0.0',
    environment: { name: 'Kfp', path: 'Kfp', stage: 'dev', region: 'any', tags: {}, network: { mode: 'public' }, encryption: { kind: 'platform' } },
    resources: [{ kind: 'pipeline', path: `Kfp/${pipelineId}`, id: pipelineId, parameters, steps, schedules: [] }],
    grants: [],
  };
}

type PipelineModelT = Extract<EnvironmentModel['resources'][number], { kind: 'pipeline' }>;
const RESOURCES = { cpu: 1, memoryGiB: 1 };
const step = { retries: 0, caching: true, env: {}, resources: RESOURCES } as const;

/** The spec without what mlplane always adds (container resources, pipeline root) and with the golden's name and SDK version. */
function comparable(spec: PipelineSpec, golden: Json): Json {
  const copy = structuredClone(spec) as unknown as {
    deploymentSpec: { executors: Record<string, { container?: Record<string, unknown> }> };
    pipelineInfo: Json;
    sdkVersion: string;
    defaultPipelineRoot?: string;
  };
  for (const e of Object.values(copy.deploymentSpec.executors)) delete e.container?.resources;
  delete copy.defaultPipelineRoot;
  copy.pipelineInfo = golden.pipelineInfo as Json;
  copy.sdkVersion = golden.sdkVersion as string;
  return copy as unknown as Json;
}

describe('reproduces golden pipelines of the KFP SDK from the same definition', () => {
  it('critical/producer_consumer_param_pipeline: parameter output wired into the next step', () => {
    const g = golden('critical__producer_consumer_param_pipeline.yaml');
    const model = goldenEnv(
      'ProducerConsumer',
      [{ name: 'text', type: 'string', default: 'Hello world' }],
      [
        {
          ...step,
          kind: 'container',
          name: 'producer',
          path: 'Kfp/ProducerConsumer/producer',
          dependsOn: [],
          orderOnly: [],
          conditions: [],
          image: 'registry.access.redhat.com/ubi9/python-311:latest',
          command: ['sh', '-c', 'set -e -x\nmkdir -p "$(dirname "$1")"\necho "$0, this is an output parameter" > "$1"\n', '{{inputs.input_text}}', '{{outputs.output_value}}'],
          args: [],
          inputs: [{ name: 'input_text', type: { kind: 'parameter', type: 'string' }, source: { kind: 'parameter', parameter: 'text' } }],
          outputs: [{ name: 'output_value', type: { kind: 'parameter', type: 'string' } }],
        },
        {
          ...step,
          kind: 'container',
          name: 'consumer',
          path: 'Kfp/ProducerConsumer/consumer',
          dependsOn: ['producer'],
          orderOnly: [],
          conditions: [],
          image: 'registry.access.redhat.com/ubi9/python-311:latest',
          command: ['sh', '-c', 'set -e -x\necho "Read from an input parameter: " && echo "$0"\n', '{{inputs.input_value}}'],
          args: [],
          inputs: [{ name: 'input_value', type: { kind: 'parameter', type: 'string' }, source: { kind: 'step', step: 'producer', output: 'output_value' } }],
          outputs: [],
        },
      ],
    );
    const spec = pipelines(model, gcpAdapter.parseSettings({ project: 'acme-kfp', region: 'us-central1' }))['kfp-dev-producer-consumer'];
    if (!spec) throw new Error('not compiled');
    expect(comparable(spec, g)).toEqual(g);
  });

  it('critical/two_step_pipeline_containerized: artifact output wired into the next step', () => {
    const g = golden('critical__two_step_pipeline_containerized.yaml');
    const model = goldenEnv(
      'TwoStep',
      [{ name: 'text', type: 'string', default: 'Hello KFP Containerized!' }],
      [
        {
          ...step,
          kind: 'container',
          name: 'component1',
          path: 'Kfp/TwoStep/component1',
          dependsOn: [],
          orderOnly: [],
          conditions: [],
          image: 'alpine',
          command: ['sh', '-c', 'mkdir --parents $(dirname "$1") && echo "$0" > "$1"'],
          args: ['{{inputs.text}}', '{{outputs.output_gcs}}'],
          inputs: [{ name: 'text', type: { kind: 'parameter', type: 'string' }, source: { kind: 'parameter', parameter: 'text' } }],
          outputs: [{ name: 'output_gcs', type: { kind: 'artifact', type: 'dataset' } }],
        },
        {
          ...step,
          kind: 'container',
          name: 'component2',
          path: 'Kfp/TwoStep/component2',
          dependsOn: ['component1'],
          orderOnly: [],
          conditions: [],
          image: 'alpine',
          command: ['cat'],
          args: ['{{inputs.input_gcs}}'],
          inputs: [{ name: 'input_gcs', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'step', step: 'component1', output: 'output_gcs' } }],
          outputs: [],
        },
      ],
    );
    const spec = pipelines(model, gcpAdapter.parseSettings({ project: 'acme-kfp', region: 'us-central1' }))['kfp-dev-two-step'];
    if (!spec) throw new Error('not compiled');
    // This golden was compiled from a container component whose default is not marked optional.
    const expected = structuredClone(g) as { root: { inputDefinitions: { parameters: { text: Record<string, unknown> } } } };
    expected.root.inputDefinitions.parameters.text.isOptional = true;
    expect(comparable(spec, g)).toEqual(expected);
  });
});
