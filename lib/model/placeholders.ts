/**
 * The neutral placeholders of a container step (`{{inputs.x}}`, `{{outputs.x}}`, `{{params.x}}`),
 * split out of a `command`/`args` word or an `env` value, so every adapter and `mlplane run`
 * read them the same way (docs/step-contract.md). The model holds them in canonical spelling
 * (no spaces inside the braces) and validated: each names a declared input, output or parameter.
 */

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
