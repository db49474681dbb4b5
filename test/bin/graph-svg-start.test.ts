import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PipelineModel } from '../../lib/model/types';
import { exampleModels } from '../support/examples';

const ROOT = path.resolve(__dirname, '../..');

describe('npm start', () => {
  it('writes, beside the synthesized artifacts, the SVGs of each example: topology, every pipeline DAG and the cost chart', () => {
    const started = Date.now();
    // One command, offline: any HTTP(S) request would go to a closed port.
    const r = spawnSync('npm', ['start', '--silent'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', NO_PROXY: '*', HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' } });
    expect(r.status, r.stderr).toBe(0);
    const out = path.join(ROOT, 'cdk.out');
    const fresh = (f: string) => {
      const p = path.join(out, f);
      expect(fs.existsSync(p), `${f} is missing`).toBe(true);
      expect(fs.statSync(p).mtimeMs, `${f} was not written by this run`).toBeGreaterThanOrEqual(started - 1000);
      return fs.readFileSync(p, 'utf8');
    };
    for (const model of exampleModels()) {
      const env = model.environment.name;
      fresh(`${env}.model.json`);
      for (const t of ['azure', 'gcp']) expect(fs.existsSync(path.join(out, `${env}.${t}`))).toBe(true);
      const pictures = [`graph/${env}.svg`, ...model.resources.filter((x): x is PipelineModel => x.kind === 'pipeline').map((p) => `graph/${p.path.replace(/\//g, '.')}.svg`), `graph/${env}.cost.svg`];
      for (const f of pictures) {
        const svg = fresh(f);
        expect(svg).toMatch(/^<\?xml[^>]*\?>[\s\S]*<svg [\s\S]*<\/svg>\s*$/);
        expect(r.stdout).toContain(path.join('cdk.out', f));
      }
      expect(fresh(`graph/${env}.svg`)).toContain(`<title>${model.resources[0]!.path}</title>`);
      expect(fresh(`graph/${env}.cost.svg`)).toContain(`${env} (${model.environment.stage}): estimated monthly cost`);
    }
  }, 240_000);
});
