import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { emitYaml, toYaml } from '../../../adapters/azure/yaml';
import { renderEnvironment } from '../../../lib';
import { defineGenerated } from '../../../bench/generate';
import { TestRoot } from '../../support/examples';
import { conformanceModels, synth } from './models';

/** What the azure adapter wrote before it had its own emitter: the `yaml` library. */
const library = (doc: unknown): string => stringify(doc, { lineWidth: 0 });

/** A small deterministic generator (mulberry32), so a failure names a reproducible case. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces the YAML rules treat specially: indicators, blanks, line breaks, quotes, words and numbers of the core schema. */
const PIECES = [
  'a', 'Z', 'x', '0', '7', ' ', '  ', '\t', '\n', '\n\n', ':', ': ', ' #', '#', '-', '- ', '?', '? ', ',', '[', ']', '{', '}',
  '&', '*', '!', '|', '>', "'", '"', '%', '@', '`', '~', '+', '.', 'e', '0x1F', '0o17', '1e3', '.5', '-1', '.inf', '.NaN',
  'true', 'False', 'NULL', 'null', 'yes', '---', '...', 'é', '\u2028', '\r', '\u0085', '\\', '$', '/', 'azureml:x:1',
];

function randomString(next: () => number): string {
  const n = Math.floor(next() * 6);
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(next() * PIECES.length)];
  return s;
}

/** The shapes a string takes in the documents: value at each depth, key, list item, list of maps. */
function shapes(s: string): Record<string, unknown>[] {
  return [{ k: s }, { [s]: 1 }, { a: [s] }, { a: { b: s } }, { a: [{ b: s, c: [s, { d: s }] }] }, { a: [[s], []], [s]: { [s]: s } }];
}

describe('azure YAML views', () => {
  it('writes generated strings in every position exactly as the yaml library does', () => {
    const next = random(19);
    let emitted = 0;
    let total = 0;
    for (let i = 0; i < 4000; i++) {
      for (const doc of shapes(randomString(next))) {
        total++;
        if (emitYaml(doc) !== undefined) emitted++;
        expect(toYaml(doc), JSON.stringify(doc)).toBe(library(doc));
      }
    }
    // The library is the exception, not the rule: most generated strings stay in the emitter's subset.
    expect(emitted / total).toBeGreaterThan(0.6);
  });

  it('writes nested, empty and scalar values exactly as the yaml library does', () => {
    const doc = {
      $schema: 'https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json',
      empty: {},
      none: [],
      list: [{}, [], [[1, 2], [3]], { x: 1, y: [true, false, null] }, 's'],
      numbers: [0, -0, 1.5, -2, 1e21, 123456789012, 0.1],
      skipped: undefined,
      command: '  indented first\nsecond\n\n\nlast\n\n',
      script: 'mlplane_attempt() {\n  python -m train || return $?\n}\nmlplane_attempt || exit $?',
      kept: 'line\n',
      blanks: '\n\nafter blank lines',
      allUndefined: { a: undefined },
      nullPrototype: Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: { c: 'x' } }),
    };
    expect(emitYaml(doc)).toBe(library(doc));
  });

  it('hands a document with an object used twice to the library (it writes an anchor and an alias)', () => {
    const shared = { type: 'cron' };
    const doc = { a: shared, b: shared };
    expect(emitYaml(doc)).toBeUndefined();
    expect(toYaml(doc)).toBe(library(doc));
    expect(toYaml(doc)).toContain('*a1');
  });

  it('hands a document with control characters, class instances or non-finite numbers to the library', () => {
    for (const doc of [{ a: 'bell\u0007' }, { a: new Date(0) }, { a: Number.POSITIVE_INFINITY }, { a: [undefined] }, { a: 'x\n  ' }]) {
      expect(emitYaml(doc), JSON.stringify(doc)).toBeUndefined();
      expect(toYaml(doc)).toBe(library(doc));
    }
  });

  it('writes every YAML document of the conformance models and the bench app as the yaml library would', () => {
    const models = [...conformanceModels().map((m) => m.model), renderEnvironment(defineGenerated(new TestRoot(), 10))];
    let checked = 0;
    for (const model of models) {
      for (const [file, text] of Object.entries(synth(model).documents)) {
        if (!/\.ya?ml$/.test(file)) continue;
        expect(typeof text, file).toBe('string');
        // Read back with the library, written again by it: the same bytes.
        expect(library(parse(text as string)), file).toBe(text);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});
