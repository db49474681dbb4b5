/**
 * The shell script an Azure ML command component runs for one step of the step contract
 * (docs/step-contract.md).
 *
 * Azure ML substitutes `${{inputs.<name>}}` and `${{outputs.<name>}}` in a component's `command`
 * text with the input's value or the mount path of the input/output, then runs the command in the
 * container's shell (https://learn.microsoft.com/azure/machine-learning/reference-yaml-component-command,
 * "command": "use ${{inputs.<input_name>}} and ${{outputs.<output_name>}}"). The substitution is
 * textual, so a value with spaces or quotes would split or break the command. mlplane therefore
 * never places a substitution inside a shell word: each one is captured verbatim in a quoted here
 * document into a shell variable first, and the argv words use those variables inside double quotes.
 * Whatever text Azure ML substitutes reaches the program byte for byte (a trailing newline of a
 * value is dropped, as the contract allows).
 */
import type { ParameterTypeName } from '../../lib/model/types';

/** A placeholder of the step contract. */
export interface Placeholder {
  readonly scope: 'inputs' | 'outputs' | 'params';
  readonly name: string;
}

/** A piece of a command word or env value: literal text or a placeholder. */
export type WordPart = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'ref'; readonly ref: Placeholder };

const PLACEHOLDER = /\{\{(inputs|outputs|params)\.([A-Za-z0-9_]+)\}\}/g;

/** Split a word into literal text and placeholders. */
export function parseWord(word: string): WordPart[] {
  const parts: WordPart[] = [];
  let last = 0;
  for (const m of word.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push({ kind: 'text', text: word.slice(last, m.index) });
    parts.push({ kind: 'ref', ref: { scope: m[1] as Placeholder['scope'], name: m[2] as string } });
    last = m.index + m[0].length;
  }
  if (last < word.length) parts.push({ kind: 'text', text: word.slice(last) });
  return parts;
}

/** Quote a word for a POSIX shell when needed. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** Escape text for the inside of a double-quoted shell string. */
function inDoubleQuotes(text: string): string {
  return text.replace(/[\\"$`]/g, '\\$&');
}

/** Delimiter of the quoted here documents that capture substituted values. */
export const HEREDOC_END = 'MLPLANE_EOF';

/**
 * `VAR=<text>` where `<text>` is captured verbatim through a quoted here document (no expansion,
 * no word splitting), e.g. the Azure ML substitution `${{inputs.x}}`.
 */
export function captureLines(variable: string, text: string): string[] {
  return [`${variable}=$(cat <<'${HEREDOC_END}'`, text, HEREDOC_END, ')'];
}

/**
 * One shell word from parts; `resolve` gives the shell variable expression of a placeholder
 * (`${MLPLANE_I_data}` or `${MLPLANE_OD_p}/value`).
 */
export function shellWord(parts: readonly WordPart[], resolve: (ref: Placeholder) => string): string {
  if (parts.every((p) => p.kind === 'text')) return shellQuote(parts.map((p) => (p.kind === 'text' ? p.text : '')).join(''));
  return `"${parts.map((p) => (p.kind === 'text' ? inDoubleQuotes(p.text) : resolve(p.ref))).join('')}"`;
}

/**
 * A parameter value as the text the contract defines: strings as themselves, ints in decimal,
 * floats in shortest round-trip decimal (Python `repr`: `0.1`, `1.0`, `1e-07`), booleans
 * `true` / `false`.
 */
export function valueText(value: string | number | boolean, type?: ParameterTypeName): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (type === 'float' || (type === undefined && !Number.isInteger(value))) return floatText(value);
  return String(value);
}

/** Python's `repr(float)`: shortest round-trip digits; scientific below 1e-4 and from 1e16. */
function floatText(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const [mantissa, exponentText] = Math.abs(x).toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  const digits = mantissa.replace('.', '');
  if (exponent < -4 || exponent >= 16) {
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction === '' ? '0' : fraction}`;
}
