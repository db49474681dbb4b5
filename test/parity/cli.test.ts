import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../adapters/gcp';
import { FEATURES, PARITY_BEGIN, PARITY_END } from '../../lib';
import { cli } from '../support/cli';


describe('mlplane check --parity', () => {
  it('prints every feature × target as same, approximated (warning id) or refused (error)', async () => {
    const r = await cli('check', '--parity');
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n');
    for (const f of Object.keys(FEATURES)) expect(rows.some((l) => l.startsWith(`${f} `)), f).toBe(true);
    const jsNumeric = rows.find((l) => l.startsWith('monitor.metric.jensenShannonDistance.numeric '));
    expect(jsNumeric?.split(/\s{2,}/).slice(1)).toEqual(['same', 'same', 'approximated (mlplane:gcp:js-distance-as-divergence)']);
    const linf = rows.find((l) => l.startsWith('monitor.metric.lInfinity.categorical '));
    expect(linf?.split(/\s{2,}/).slice(1)).toEqual(['same', 'refused (error)', 'same']);
    expect(r.stdout).toContain('azure monitor.metric.lInfinity.categorical: refused; Azure ML data drift signals measure categorical features with JensenShannonDistance');
  });

  it('prints the data as JSON', async () => {
    const r = await cli('check', '--parity', '--json');
    const doc = JSON.parse(r.stdout) as { targets: string[]; parity: { feature: string; targets: Record<string, { verdict: string; warnings: string[] }> }[] };
    expect(doc.targets).toEqual(['aws', 'azure', 'gcp']);
    const retries = doc.parity.find((p) => p.feature === 'batchInference.retries');
    expect(retries?.targets).toMatchObject({ azure: { verdict: 'same' }, aws: { verdict: 'approximated', warnings: ['mlplane:aws:batch-retries-per-shard'] }, gcp: { verdict: 'approximated' } });
  });

  it('prints the README section of one target, identical to the README', async () => {
    const r = await cli('check', '--parity', '--markdown', '--target', 'gcp');
    expect(r.code).toBe(0);
    const readme = readFileSync(join(__dirname, '..', '..', gcpAdapter.docs), 'utf8');
    expect(readme.slice(readme.indexOf(PARITY_BEGIN), readme.indexOf(PARITY_END) + PARITY_END.length)).toBe(r.stdout.trim());
  });

  it('fails if --markdown is given without exactly one target, saying how to pick one', async () => {
    const r = await cli('check', '--parity', '--markdown');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--markdown prints one target\'s README section; pass --target with one of aws, azure, gcp');
  });
});
