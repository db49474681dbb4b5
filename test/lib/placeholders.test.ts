import { describe, expect, it } from 'vitest';
import { resolvePlaceholders, splitPlaceholders } from '../../lib';

describe('placeholders in model words', () => {
  it('splits a word into text and placeholders, in order', () => {
    expect(splitPlaceholders('--data={{inputs.data}},{{params.mode}}')).toEqual([
      { kind: 'text', text: '--data=' },
      { kind: 'inputs', name: 'data' },
      { kind: 'text', text: ',' },
      { kind: 'params', name: 'mode' },
    ]);
    expect(splitPlaceholders('{{outputs.model}}')).toEqual([{ kind: 'outputs', name: 'model' }]);
    expect(splitPlaceholders('plain')).toEqual([{ kind: 'text', text: 'plain' }]);
    expect(splitPlaceholders('')).toEqual([]);
  });

  it('resolves every placeholder and keeps the text', () => {
    expect(resolvePlaceholders('a{{inputs.x}}b{{outputs.y}}c{{params.z}}', (k, n) => `<${k}:${n}>`)).toBe('a<inputs:x>b<outputs:y>c<params:z>');
  });

  it('leaves text that only looks like a placeholder alone', () => {
    expect(splitPlaceholders('${{inputs.x}} {{secrets.x}}')).toEqual([{ kind: 'text', text: '$' }, { kind: 'inputs', name: 'x' }, { kind: 'text', text: ' {{secrets.x}}' }]);
  });
});
