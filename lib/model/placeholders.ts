/**
 * The neutral placeholders of a container step (`{{inputs.x}}`, `{{outputs.x}}`, `{{params.x}}`),
 * split out of a `command`/`args` word or an `env` value, so every adapter and `mlplane run`
 * read them the same way (docs/step-contract.md). The model holds them in canonical spelling
 * (no spaces inside the braces) and validated: each names a declared input, output or parameter.
 */

import type { ParameterTypeName } from './types';

/** One piece of a word: literal text, or a placeholder. */
export type WordPart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'inputs' | 'outputs' | 'params'; readonly name: string };

const CANONICAL = /\{\{(inputs|outputs|params)\.([A-Za-z_][A-Za-z0-9_]*)\}\}/g;

/**
 * Split `word` into literal text and placeholders, in order; adjacent text is one part and empty
 * text is left out.
 *
 * @example splitPlaceholders('--data={{inputs.data}}') // [{ kind: 'text', text: '--data=' }, { kind: 'inputs', name: 'data' }]
 */
export function splitPlaceholders(word: string): WordPart[] {
  const parts: WordPart[] = [];
  let at = 0;
  for (const m of word.matchAll(CANONICAL)) {
    if (m.index > at) parts.push({ kind: 'text', text: word.slice(at, m.index) });
    parts.push({ kind: m[1] as 'inputs' | 'outputs' | 'params', name: m[2] });
    at = m.index + m[0].length;
  }
  if (at < word.length) parts.push({ kind: 'text', text: word.slice(at) });
  return parts;
}

/**
 * `word` with each placeholder replaced by `resolve(kind, name)`; literal text is kept as is.
 *
 * @example resolvePlaceholders('--out={{outputs.model}}', (k, n) => `/mnt/${k}/${n}`) // '--out=/mnt/outputs/model'
 */
export function resolvePlaceholders(word: string, resolve: (kind: 'inputs' | 'outputs' | 'params', name: string) => string): string {
  return splitPlaceholders(word)
    .map((p) => (p.kind === 'text' ? p.text : resolve(p.kind, p.name)))
    .join('');
}

/**
 * A parameter value as the text the step contract defines (docs/step-contract.md, "Value text"):
 * strings as themselves, ints in decimal, floats in shortest round-trip decimal spelled as Python's
 * `repr` does (`0.1`, `1.0` for a float-typed whole number, `1e-07`, `1e+16`), booleans
 * `true` / `false`. Every target and `mlplane run` spell values with this one function.
 */
export function valueText(value: string | number | boolean, type?: ParameterTypeName): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (type === 'float' || !Number.isInteger(value) || Math.abs(value) >= 1e16) return floatText(value);
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
