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


