/**
 * The Azure ML YAML views (components, pipeline jobs, schedules, endpoints, monitors) as text.
 *
 * They are plain JSON data — mappings, sequences, strings, numbers, booleans and null — and are
 * written as the `yaml` library writes them (`stringify(doc, { lineWidth: 0 })`, YAML 1.2 core
 * schema), byte for byte. Going through the library built a node tree per document and was
 * ~15 % of an azure+gcp `cdk synth` of 100 pipelines, plus ~50 ms of loading it (bench/README.md);
 * `emitYaml` writes that subset directly, following the library's rules (`stringifyString`,
 * `stringifyPair`, `stringifyCollection` of yaml 2.x). Anything outside the subset — an object seen
 * twice (the library writes anchors), a class instance, `undefined` in a list, a non-finite
 * number, control characters, a string the library would quote over several lines or mark as a
 * document boundary — makes `emitYaml` decline, and `toYaml` hands the whole document to the
 * library, loaded only then. `test/adapters/azure/yaml.test.ts` compares both on every document
 * the tests synthesize and on generated strings.
 */
import { createRequire } from 'node:module';

type YamlLibrary = typeof import('yaml');
let library: YamlLibrary | undefined;

/** The `yaml` library, loaded on first use (a synth whose documents stay in the subset never loads it). */
export function yamlLibrary(): YamlLibrary {
  return (library ??= createRequire(import.meta.url)('yaml') as YamlLibrary);
}

/** `doc` as YAML text, exactly as `yaml`'s `stringify(doc, { lineWidth: 0 })` writes it. */
export function toYaml(doc: Readonly<Record<string, unknown>>): string {
  return emitYaml(doc) ?? yamlLibrary().stringify(doc, { lineWidth: 0 });
}

/** Thrown inside the emitter when a value is outside the subset; caught by `emitYaml`. */
const DECLINE = Symbol('decline');

/**
 * `doc` as the `yaml` library would write it, or `undefined` when the document holds anything
 * outside the subset this emitter covers (then `toYaml` uses the library).
 */
export function emitYaml(doc: Readonly<Record<string, unknown>>): string | undefined {
  if (!isPlainObject(doc)) return undefined;
  try {
    return `${mapping(doc, '', new Set())}\n`;
  } catch (e) {
    if (e === DECLINE) return undefined;
    throw e;
  }
}

const INDENT_STEP = '  ';

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A block mapping whose pairs start at `indent` (the first one is placed by the caller). */
function mapping(map: Record<string, unknown>, indent: string, seen: Set<object>): string {
  enter(map, seen);
  const inner = indent + INDENT_STEP;
  let out = '';
  for (const key of Object.keys(map)) {
    const value = map[key];
    if (value === undefined) continue; // the library leaves out pairs without a value
    const pair = `${scalarString(key, inner, true)}:`;
    if (pair.length > 1025) throw DECLINE; // a key over 1,024 characters becomes an explicit key (`? …`)
    const v = node(value, inner, seen);
    const collection = typeof value === 'object' && value !== null;
    // A non-empty collection starts on the next line; scalars and `{}`/`[]` follow the colon.
    const line = collection && v !== '{}' && v !== '[]' ? `${pair}\n${inner}${v}` : `${pair} ${v}`;
    out = out === '' ? line : `${out}\n${indent}${line}`;
  }
  return out === '' ? '{}' : out;
}

/** A block sequence whose items start at `indent` (the first one is placed by the caller). */
function sequence(list: readonly unknown[], indent: string, seen: Set<object>): string {
  enter(list, seen);
  const inner = indent + INDENT_STEP;
  let out = '';
  for (let i = 0; i < list.length; i++) {
    const value = list[i];
    if (value === undefined) throw DECLINE; // the library writes null for it; never emitted by the adapter
    const line = `- ${node(value, inner, seen)}`;
    out = out === '' ? line : `${out}\n${indent}${line}`;
  }
  return out === '' ? '[]' : out;
}

/** The library writes an alias (`*a1`) for an object it has seen before in the document. */
function enter(x: object, seen: Set<object>): void {
  if (seen.has(x)) throw DECLINE;
  seen.add(x);
}

/** Any value, at `indent` (the indentation of its own lines after the first). */
function node(value: unknown, indent: string, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return scalarString(value, indent, false);
    case 'number':
      if (!Number.isFinite(value)) throw DECLINE;
      return Object.is(value, -0) ? '-0' : JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return sequence(value, indent, seen);
      if (isPlainObject(value)) return mapping(value, indent, seen);
      throw DECLINE;
    default:
      throw DECLINE;
  }
}

/** Characters the library writes double-quoted with escapes (control characters, lone surrogates). */
const ESCAPED = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;
/** Lines starting like a directive or a document marker (the library indents or quotes those). */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;
/** What a plain scalar may not look like (the library's `plainString`). */
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** Plain text that YAML 1.2's core schema would read as null, a boolean or a number. */
const NOT_A_STRING = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^0o[0-7]+$/,
  /^[-+]?[0-9]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];

/** How every text in `NOT_A_STRING` starts (or the empty text): the others need no test against them. */
const MAYBE_NOT_A_STRING = /^(?:$|[-+.0-9~nNtTfF])/;

/** A string as a key (`implicitKey`) or a value at `indent`. */
function scalarString(value: string, indent: string, implicitKey: boolean): string {
  if (ESCAPED.test(value) || DOCUMENT_MARKER.test(value)) throw DECLINE;
  if (value.includes('\n')) {
    if (implicitKey) throw DECLINE;
    return blockLiteral(value, indent);
  }
  if (NOT_PLAIN.test(value) || (MAYBE_NOT_A_STRING.test(value) && NOT_A_STRING.some((re) => re.test(value)))) return quoted(value);
  return value;
}

/** A single-line string in quotes: single when it holds `"` but no `'`, else double (JSON's escapes). */
function quoted(value: string): string {
  const hasDouble = value.includes('"');
  const hasSingle = value.includes("'");
  return hasDouble && !hasSingle ? `'${value}'` : JSON.stringify(value);
}

/** After the last line break that is followed by more line breaks only at the end (the library's `blockEndNewlines`). */
const BLOCK_END_NEWLINES = /(^|(?<!\n))\n+(?!\n|$)/g;

/**
 * A multi-line string as a literal block scalar (`|`), as the library's `blockString` writes one
 * when no line width applies: chomping from the trailing line breaks, an indentation indicator
 * when the text starts with a space.
 */
function blockLiteral(text: string, indent: string): string {
  // Trailing blanks after the last line break: the library quotes the string over several lines.
  if (/\n[\t ]+$/.test(text)) throw DECLINE;
  let value = text;
  let endStart = value.length;
  while (endStart > 0) {
    const ch = value[endStart - 1];
    if (ch !== '\n' && ch !== '\t' && ch !== ' ') break;
    endStart--;
  }
  let end = value.substring(endStart);
  const endNlPos = end.indexOf('\n');
  const chomp = endNlPos === -1 ? '-' : value === end || endNlPos !== end.length - 1 ? '+' : '';
  if (end) {
    value = value.slice(0, -end.length);
    if (end[end.length - 1] === '\n') end = end.slice(0, -1);
    end = end.replace(BLOCK_END_NEWLINES, `$&${indent}`);
  }
  let startWithSpace = false;
  let startEnd = 0;
  let startNlPos = -1;
  for (; startEnd < value.length; ++startEnd) {
    const ch = value[startEnd];
    if (ch === ' ') startWithSpace = true;
    else if (ch === '\n') startNlPos = startEnd;
    else break;
  }
  let start = value.substring(0, startNlPos < startEnd ? startNlPos + 1 : startEnd);
  if (start) {
    value = value.substring(start.length);
    start = start.replace(/\n+/g, `$&${indent}`);
  }
  const header = (startWithSpace ? '2' : '') + chomp;
  value = value.replace(/\n+/g, `$&${indent}`);
  return `|${header}\n${indent}${start}${value}${end}`;
}
