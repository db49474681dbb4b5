/**
 * Step conditions (docs/step-contract.md, "Conditions") on Azure ML: an evaluator command node
 * computes whether a set of conditions holds and publishes it as a boolean control output; an
 * `if_else` control-flow node runs the steps of that set only when it is true.
 *
 * - `if_else` node: `{ type: if_else, condition: ${{parent.jobs.<node>.outputs.<output>}},
 *   true_block: ${{parent.jobs.<node>}} | [...] }` (azure-ai-ml `ConditionNodeSchema`,
 *   sdk/ml/azure-ai-ml/azure/ai/ml/_schema/pipeline/condition_node.py; example
 *   azureml-examples sdk/python/jobs/pipelines/1j_pipeline_with_condition_flow/if-else/pipeline.yml).
 * - The condition must be a primitive output declared `is_control: true`. A command component
 *   publishes its value as the run property `azureml.pipeline.control` (a JSON object output name →
 *   value) through the Run History API, which is what mldesigner's executor does for control
 *   outputs (`ExecutorBase.CONTROL_OUTPUTS_KEY`, `_write_properties_to_run_history`).
 *
 * Azure ML marks control flow as a preview feature, hence warning `mlplane:azure:control-flow-preview`.
 */
import type { PipelineModel, StepConditionModel, StepModel } from '../../lib/model/types';
import type { SynthContext } from './context';

/** One set of conditions that gates some steps: its evaluator node and its `if_else` node. */
export interface ConditionGate {
  /** Deterministic key of the condition set. */
  readonly key: string;
  readonly conditions: readonly StepConditionModel[];
  /** 1-based index in order of first use (names the nodes and the component). */
  readonly index: number;
  /** Evaluator node name. */
  readonly evaluator: string;
  /** `if_else` node name. */
  readonly ifNode: string;
  /** Node names run when the set holds (steps, and evaluators of sets that read their outputs). */
  readonly members: string[];
}

/** Key of a condition set (order-independent). */
function setKey(conditions: readonly StepConditionModel[]): string {
  return JSON.stringify(conditions.map((c) => JSON.stringify([c.operand, c.op, c.value])).sort());
}

/** Union of condition sets, deduplicated, in a deterministic order. */
function union(sets: readonly (readonly StepConditionModel[])[]): StepConditionModel[] {
  const out = new Map<string, StepConditionModel>();
  for (const set of sets) for (const c of set) out.set(JSON.stringify([c.operand, c.op, c.value]), c);
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
}

/**
 * Plan the gates of a pipeline: one per distinct condition set of its steps. The evaluator of a set
 * reads operands of upstream steps; when those steps run under conditions themselves, the
 * evaluator is placed in the true block of their set, so it runs only once its operands exist.
 */
export function planGates(ctx: SynthContext, p: PipelineModel, nodeOf: (step: string) => string): Map<string, ConditionGate> {
  const steps = new Map(p.steps.map((s) => [s.name, s]));
  const gates = new Map<string, ConditionGate>();

  const ensure = (conditions: readonly StepConditionModel[], depth: number): ConditionGate => {
    const key = setKey(conditions);
    const existing = gates.get(key);
    if (existing) return existing;
    const index = gates.size + 1;
    const gate: ConditionGate = { key, conditions, index, evaluator: `mlplane_when_${index}`, ifNode: `mlplane_if_${index}`, members: [] };
    gates.set(key, gate);
    const producers = conditions.flatMap((c) => (c.operand.kind === 'parameter' ? [] : [steps.get(c.operand.step)?.conditions ?? []]));
    const outer = union(producers);
    if (outer.length > 0 && depth < p.steps.length) ensure(outer, depth + 1).members.push(gate.evaluator);
    return gate;
  };

  for (const step of p.steps) {
    // Each condition is checked once, on the step that declared it (the others inherit it).
    for (const c of step.conditions) if (c.declaredOn === step.name) checkCondition(ctx, p, step, c, steps);
    if (step.conditions.length > 0) ensure(step.conditions, 0).members.push(nodeOf(step.name));
  }
  return gates;
}

/** A condition must read an existing parameter, parameter output or metrics output. */
function checkCondition(ctx: SynthContext, p: PipelineModel, step: StepModel, c: StepConditionModel, steps: ReadonlyMap<string, StepModel>): void {
  const o = c.operand;
  if (o.kind === 'parameter') {
    if (!p.parameters.some((q) => q.name === o.parameter)) {
      ctx.problem(step.path, `condition reads pipeline parameter '${o.parameter}', which pipeline ${p.path} does not declare; declared: ${p.parameters.map((q) => q.name).join(', ') || 'none'}`);
    }
    return;
  }
  const producer = steps.get(o.step);
  const outputs = producer?.kind === 'container' ? producer.outputs : [];
  const output = outputs.find((x) => x.name === o.output);
  const wanted = o.kind === 'metric' ? 'a metrics output' : 'a parameter output';
  const fits = output !== undefined && (o.kind === 'metric' ? output.type.kind === 'artifact' && output.type.type === 'metrics' : output.type.kind === 'parameter');
  if (!fits) {
    ctx.problem(
      step.path,
      `condition reads output '${o.output}' of step '${o.step}', which is not ${wanted} of that step; outputs: ${outputs.map((x) => x.name).join(', ') || 'none'}; wire the condition to ${wanted}`,
    );
  }
}

/**
 * Python 3 (standard library only) that evaluates the conditions in `CONDITIONS` against the
 * operands passed as arguments (a directory for metric and parameter-output operands, the value
 * text for pipeline parameters), prints the outcome and publishes it as control output `result`.
 */
export const EVALUATOR_PYTHON = String.raw`
import json, math, os, subprocess, sys

def fail(message):
    print('mlplane: ' + message, file=sys.stderr)
    sys.exit(1)

def operand(condition, raw):
    o = condition['operand']
    if o['kind'] == 'metric':
        path = os.path.join(raw, 'metrics.json')
        try:
            with open(path) as f:
                metrics = json.load(f)
        except (OSError, ValueError) as e:
            fail('cannot read %s: %s' % (path, e))
        value = metrics.get(o['metric']) if isinstance(metrics, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            found = ', '.join(sorted(metrics.keys())) if isinstance(metrics, dict) else 'none'
            fail('metric %s is missing or not a finite number in metrics.json of step %s (metrics: %s)' % (o['metric'], o['step'], found or 'none'))
        return value
    text = raw
    if o['kind'] == 'stepOutput':
        path = os.path.join(raw, 'value')
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            fail('cannot read parameter output %s of step %s: %s' % (o['output'], o['step'], e))
    if text.endswith('\n'):
        text = text[:-1]
    kind = o['type']
    try:
        if kind == 'int':
            return int(text)
        if kind == 'float':
            return float(text)
    except ValueError:
        fail('%r is not a%s %s' % (text, 'n' if kind == 'int' else '', kind))
    if kind == 'bool':
        if text not in ('true', 'false'):
            fail('%r is not a bool (true or false)' % text)
        return text == 'true'
    return text

def holds(condition, value):
    op, other = condition['op'], condition['value']
    if op == '==':
        return value == other
    if op == '!=':
        return value != other
    if op == '<':
        return value < other
    if op == '<=':
        return value <= other
    if op == '>':
        return value > other
    return value >= other

def publish(result):
    uri = os.environ.get('MLFLOW_TRACKING_URI', '')
    experiment, run = os.environ.get('MLFLOW_EXPERIMENT_ID'), os.environ.get('MLFLOW_RUN_ID')
    if not uri.startswith('azureml://') or not experiment or not run:
        fail('MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID and MLFLOW_RUN_ID must be set by Azure ML to publish the control output')
    base = 'https://' + uri[len('azureml://'):]
    base = base.replace('/mlflow/v2.0/', '/history/v1.0/').replace('/mlflow/v1.0/', '/history/v1.0/').rstrip('/')
    body = json.dumps({'runId': run, 'properties': {'azureml.pipeline.control': json.dumps({'result': result})}})
    subprocess.run(['az', 'rest', '--method', 'patch', '--url', '%s/experimentids/%s/runs/%s' % (base, experiment, run),
                    '--resource', 'https://management.azure.com/', '--body', body], check=True, stdout=subprocess.DEVNULL)

result = True
for condition, raw in zip(CONDITIONS, sys.argv[1:]):
    value = operand(condition, raw)
    if not holds(condition, value):
        print('mlplane: condition %s %s %r does not hold (got %r): the steps it guards are skipped' % (condition['label'], condition['op'], condition['value'], value))
        result = False
        break
if result:
    print('mlplane: every condition holds')
publish(result)
`.trim();
