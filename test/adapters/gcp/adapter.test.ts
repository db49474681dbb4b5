/**
 * The gcp adapter as the app sees it: its declaration, its docs and its capability matrix.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../../adapters/gcp';
import { FEATURES, featuresUsed, type Feature } from '../../../lib/model/capabilities';
import { examples } from './fixtures';
import { REPO_ROOT } from './support/proto-check';

describe('gcpAdapter', () => {
  it('is the document adapter of target gcp', () => {
    expect(gcpAdapter).toMatchObject({ kind: 'documents', target: 'gcp', docs: 'adapters/gcp/README.md' });
  });

  it('has a README whose capability matrix row of every feature matches capabilities.ts', () => {
    const readme = readFileSync(join(REPO_ROOT, gcpAdapter.docs), 'utf8');
    for (const f of Object.keys(FEATURES) as Feature[]) {
      const s = gcpAdapter.capabilities[f];
      const how = s.level === 'native' ? (s.note ?? '') : s.level === 'emulated' ? s.how : s.alternative;
      expect(readme, f).toContain(`| \`${f}\` | ${FEATURES[f]} | ${s.level === 'unsupported' ? '**unsupported**' : s.level} | ${how} |`);
    }
  });

  it('documents every warning id the adapter can emit', () => {
    const readme = readFileSync(join(REPO_ROOT, gcpAdapter.docs), 'utf8');
    const sources = readdirSync(join(REPO_ROOT, 'adapters/gcp'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(REPO_ROOT, 'adapters/gcp', f), 'utf8'))
      .join('\n');
    const ids = [...sources.matchAll(/\.warn\(\s*'([a-z-]+)'/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThanOrEqual(8);
    for (const id of ids) expect(readme, id).toContain(`| \`mlplane:gcp:${id}\` |`);
  });

  it('honours every feature the two examples use (natively or emulated)', () => {
    const { fraud, churn } = examples();
    const used = new Set([...featuresUsed(fraud), ...featuresUsed(churn)].map((u) => u.feature));
    expect(used.size).toBeGreaterThan(20);
    for (const f of used) expect(gcpAdapter.capabilities[f].level, f).not.toBe('unsupported');
  });
});
