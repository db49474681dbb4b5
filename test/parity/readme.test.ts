import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws';
import { azureAdapter } from '../../adapters/azure';
import { gcpAdapter } from '../../adapters/gcp';
import { PARITY_BEGIN, PARITY_END, renderParityMarkdown } from '../../lib';

const ROOT = join(__dirname, '..', '..');

describe.each([azureAdapter, gcpAdapter, awsAdapter])('the parity section of the $target README', (adapter) => {
  it('is the one generated from capabilities.ts (regenerate with mlplane check --parity --markdown --target <t>)', () => {
    const readme = readFileSync(join(ROOT, adapter.docs), 'utf8');
    const begin = readme.indexOf(PARITY_BEGIN);
    const end = readme.indexOf(PARITY_END);
    expect(begin, 'README has the parity markers').toBeGreaterThanOrEqual(0);
    expect(readme.slice(begin, end + PARITY_END.length)).toBe(renderParityMarkdown(adapter.target, adapter.capabilities));
  });
});
