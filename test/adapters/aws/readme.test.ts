import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AWS_CAPABILITIES } from '../../../adapters/aws';
import { FEATURES, type Feature } from '../../../lib/model/capabilities';

const readme = readFileSync(new URL('../../../adapters/aws/README.md', import.meta.url), 'utf8');

describe('adapters/aws/README.md', () => {
  it('lists every feature with the support level the adapter declares', () => {
    for (const feature of Object.keys(FEATURES) as Feature[]) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${feature}\` |`));
      expect(row, feature).toBeDefined();
      expect(row?.split('|')[3]?.trim(), feature).toBe(AWS_CAPABILITIES[feature].level);
    }
  });

  it('has an architecture picture in Mermaid', () => {
    expect(readme).toMatch(/```mermaid\nflowchart/);
  });
});
