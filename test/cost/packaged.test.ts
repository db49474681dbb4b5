import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV, ROOT, ensureBuilt } from '../package/support';

describe('the compiled CLI (dist/)', () => {
  it('carries the price snapshot: mlplane cost runs from dist/ with the shipped prices', () => {
    ensureBuilt();
    expect(fs.existsSync(path.join(ROOT, 'dist/adapters/shared/prices.json'))).toBe(true);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/bin/mlplane.js'), 'cost', '--target', 'gcp', '--json'], { cwd: ROOT, env: ENV, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const source = JSON.parse(fs.readFileSync(path.join(ROOT, 'adapters/shared/prices.json'), 'utf8')) as { date: string; sources: object };
    const out = JSON.parse(r.stdout) as { snapshot: { date: string; sources: object }; estimates: unknown[] };
    expect(out.snapshot.date).toBe(source.date);
    expect(out.snapshot.sources).toEqual(source.sources);
    expect(out.estimates.length).toBeGreaterThan(0);
  }, 240_000);
});
