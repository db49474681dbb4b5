/**
 * The step contract (docs/step-contract.md) as pure functions: the text of a parameter value,
 * placeholder resolution in `command`, `args` and `env`, and condition evaluation.
 *
 * No file system, no processes: the scheduler and the executors call these with what they read.
 */
import { splitPlaceholders, valueText } from '../../lib/model/placeholders';
import type { ConditionOperandModel, ContainerStepModel, ParameterTypeName, StepConditionModel } from '../../lib/model/types';

export { valueText };

/**
 * Parse the text of a parameter of `type` (a `--param` value, or a parameter output file with its
 * trailing newline removed); returns the value, or a message saying what is allowed.
 */
export function parseValueText(text: string, type: ParameterTypeName): { value: string | number | boolean } | { error: string } {
  switch (type) {
    case 'string':
      return { value: text };
    case 'int':
      return /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? { value: Number(text) } : { error: `'${text}' is not an int (decimal digits, e.g. 42)` };
    case 'float': {
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? { value: n } : { error: `'${text}' is not a finite float (e.g. 0.1, 1e-07)` };
    }
    case 'bool':
      return text === 'true' || text === 'false' ? { value: text === 'true' } : { error: `'${text}' is not a bool (true or false)` };
    default: {
      const never: never = type;
      return { error: `unknown parameter type ${String(never)}` };
    }
  }
}

/** The text of a parameter output file: its content with one trailing newline ignored. */
export function outputFileText(content: string): string {
  return content.replace(/\r?\n$/, '');
}

/** What each placeholder of one step resolves to, in the view of the process that runs it. */
export interface Bindings {
  /** Input name → a directory path (artifact) or a value text (parameter). */
  readonly inputs: Readonly<Record<string, string>>;
  /** Output name → a directory path (artifact) or a file path (parameter). */
  readonly outputs: Readonly<Record<string, string>>;
  /** Pipeline parameter name → value text. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Replace every placeholder in `word` (read with `splitPlaceholders`, as every target reads them).
 * Returns the word, and the placeholders it cannot resolve with what would be allowed.
 */
export function resolveWord(word: string, b: Bindings): { text: string; problems: string[] } {
  const problems: string[] = [];
  const text = splitPlaceholders(word).map((part) => {
    if (part.kind === 'text') {
      const stray = /\{\{[^}]*\}\}/.exec(part.text);
      if (stray) problems.push(`placeholder '${stray[0]}' is not understood; use {{inputs.<name>}}, {{outputs.<name>}} or {{params.<name>}}`);
      return part.text;
    }
    const table = b[part.kind];
    if (!Object.prototype.hasOwnProperty.call(table, part.name)) {
      problems.push(`placeholder '{{${part.kind}.${part.name}}}' names no ${part.kind === 'params' ? 'pipeline parameter' : part.kind.slice(0, -1)} (${part.kind}: ${Object.keys(table).sort().join(', ') || 'none'}); declare it or fix the name`);
      return `{{${part.kind}.${part.name}}}`;
    }
    return table[part.name];
  }).join('');
  return { text, problems };
}

/** A container step's argv and env with every placeholder resolved. */
export interface ResolvedStep {
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** One message per placeholder that cannot be resolved (empty when all resolve). */
  readonly problems: readonly string[];
}

/** Resolve the placeholders of `command`, `args` and `env` values of a container step. */
export function resolveStep(step: Pick<ContainerStepModel, 'command' | 'args' | 'env'>, b: Bindings): ResolvedStep {
  const problems: string[] = [];
  const each = (w: string, where: string) => {
    const r = resolveWord(w, b);
    problems.push(...r.problems.map((p) => `${where}: ${p}`));
    return r.text;
  };
  return {
    command: step.command.map((w) => each(w, 'command')),
    args: step.args.map((w) => each(w, 'args')),
    env: Object.fromEntries(Object.entries(step.env).map(([k, v]) => [k, each(v, `env ${k}`)])),
    problems: [...new Set(problems)],
  };
}

/** What a condition operand reads, once its producer has succeeded. */
export interface OperandValues {
  /** Text of a parameter output of a step (`undefined` when the step wrote none). */
  stepOutput(step: string, output: string): string | undefined;
  /** Parsed `metrics.json` of a step's metrics output (`undefined` when absent or unreadable). */
  metrics(step: string, output: string): Readonly<Record<string, unknown>> | undefined;
  /** Text of a pipeline parameter of this run. */
  parameter(name: string): string | undefined;
}

/** The outcome of one condition. */
export type ConditionOutcome = { readonly holds: boolean; readonly text: string } | { readonly error: string };

/** Evaluate one condition: `operand op value`; numbers compare numerically, other types by equality. */
export function evaluateCondition(c: StepConditionModel, values: OperandValues): ConditionOutcome {
  const operand = readOperand(c.operand, values);
  if ('error' in operand) return operand;
  const left = operand.value;
  const text = `${describeOperand(c.operand)} ${c.op} ${valueText(c.value)} (${describeOperand(c.operand)} = ${valueText(left)})`;
  const numeric = typeof left === 'number' && typeof c.value === 'number';
  switch (c.op) {
    case '==':
      return { holds: left === c.value, text };
    case '!=':
      return { holds: left !== c.value, text };
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (!numeric) return { error: `condition ${text}: '${c.op}' compares numbers only` };
      const l = left as number;
      const r = c.value as number;
      const holds = c.op === '<' ? l < r : c.op === '<=' ? l <= r : c.op === '>' ? l > r : l >= r;
      return { holds, text };
    }
    default: {
      const never: never = c.op;
      return { error: `unknown operator ${String(never)}` };
    }
  }
}

/** A short human form of a condition operand: `Check.ok`, `Evaluate.metrics[auc]`, `params.mode`. */
export function describeOperand(o: ConditionOperandModel): string {
  switch (o.kind) {
    case 'stepOutput':
      return `${o.step}.${o.output}`;
    case 'metric':
      return `${o.step}.${o.output}[${o.metric}]`;
    case 'parameter':
      return `params.${o.parameter}`;
    default: {
      const never: never = o;
      return String(never);
    }
  }
}

function readOperand(o: ConditionOperandModel, values: OperandValues): { value: string | number | boolean } | { error: string } {
  switch (o.kind) {
    case 'stepOutput': {
      const text = values.stepOutput(o.step, o.output);
      if (text === undefined) return { error: `condition operand ${describeOperand(o)} has no value (step '${o.step}' wrote no output '${o.output}')` };
      const parsed = parseValueText(text, o.type);
      return 'error' in parsed ? { error: `condition operand ${describeOperand(o)}: ${parsed.error}` } : parsed;
    }
    case 'metric': {
      const metrics = values.metrics(o.step, o.output);
      const v = metrics?.[o.metric];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        const found = metrics ? Object.keys(metrics).sort().join(', ') || 'none' : 'no metrics.json';
        return { error: `condition operand ${describeOperand(o)}: metric '${o.metric}' is missing or not a finite number in metrics.json (metrics: ${found})` };
      }
      return { value: v };
    }
    case 'parameter': {
      const text = values.parameter(o.parameter);
      if (text === undefined) return { error: `condition operand params.${o.parameter} has no value` };
      const parsed = parseValueText(text, o.type);
      return 'error' in parsed ? { error: `condition operand params.${o.parameter}: ${parsed.error}` } : parsed;
    }
    default: {
      const never: never = o;
      return { error: `unknown operand ${String(never)}` };
    }
  }
}
