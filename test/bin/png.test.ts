import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COST_TARGETS, estimateCost } from '../../adapters/shared/cost';
import { loadSnapshot } from '../../bin/commands/cost';
import { costChartSvg } from '../../bin/commands/cost-chart';
import { pipelineDot, topologyDot } from '../../bin/commands/graph';
import { svgToPng } from '../../bin/commands/png';
import type { PipelineModel } from '../../lib/model/types';
import { cli } from '../support/cli';
import { exampleModels } from '../support/examples';

const ROOT = path.resolve(__dirname, '../..');
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk (it follows the signature). */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const b = Buffer.from(png);
  expect(b.subarray(0, 8).equals(SIGNATURE), 'PNG signature').toBe(true);
  expect(b.toString('latin1', 12, 16)).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** The size of an SVG in CSS pixels (`pt` × 4/3, as a browser shows it). */
function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const px = (attr: string) => {
    const m = new RegExp(`\\b${attr}="([\\d.]+)(pt|px)?"`).exec(root);
    expect(m, `${attr} of ${root}`).not.toBeNull();
    return Number(m![1]) * (m![2] === 'pt' ? 4 / 3 : 1);
  };
  return { width: px('width'), height: px('height') };
}

let out: string;
let files: string[];

beforeAll(async () => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-png-'));
  const graph = await cli('graph', '--format', 'png', '--out', out, '--json');
  expect(graph.code, graph.stderr).toBe(0);
  const cost = await cli('cost', '--format', 'png', '--out', out, '--json');
  expect(cost.code, cost.stderr).toBe(0);
  files = [...JSON.parse(graph.stdout).files, ...JSON.parse(cost.stdout).files].map((f: string) => path.basename(f));
}, 120_000);

describe('mlplane graph --format png, mlplane cost --format png', () => {
  it('write beside each SVG a PNG rasterised from that SVG, at the size a browser shows the SVG', async () => {
    const bases = exampleModels().flatMap((m) => [
      m.environment.name,
      ...m.resources.filter((x): x is PipelineModel => x.kind === 'pipeline').map((p) => p.path.replace(/\//g, '.')),
      `${m.environment.name}.cost`,
    ]);
    expect([...files].sort()).toEqual(bases.flatMap((b) => [`${b}.png`, `${b}.svg`]).sort());
    for (const b of bases) {
      const svg = fs.readFileSync(path.join(out, `${b}.svg`), 'utf8');
      const png = fs.readFileSync(path.join(out, `${b}.png`));
      const want = svgSize(svg);
      const got = pngSize(png);
      expect(Math.abs(got.width - want.width), `${b}.png width ${got.width}, SVG ${want.width}`).toBeLessThan(1);
      expect(Math.abs(got.height - want.height), `${b}.png height ${got.height}, SVG ${want.height}`).toBeLessThan(1);
      expect(Buffer.from(await svgToPng(svg)).equals(png), `${b}.png is not the rasterised ${b}.svg`).toBe(true);
    }
  });

  it('is deterministic: the same SVG gives the same PNG bytes in a fresh process (new WebAssembly instance, fonts read again)', () => {
    const svg = path.join(out, 'Fraud.svg');
    const again = path.join(out, 'again.png');
    const script = `import * as fs from 'node:fs'; import { svgToPng } from ${JSON.stringify(path.join(ROOT, 'bin/commands/png.ts'))}; fs.writeFileSync(${JSON.stringify(again)}, await svgToPng(fs.readFileSync(${JSON.stringify(svg)}, 'utf8')));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(again).equals(fs.readFileSync(path.join(out, 'Fraud.png')))).toBe(true);
  }, 60_000);

  it('draws every character the pictures hold with the shipped font, not as an empty box', async () => {
    // What the pictures say: every label of every DOT (each target's naming too) and the cost charts.
    const snapshot = loadSnapshot();
    const texts = exampleModels().flatMap((m) => [
      ...[undefined, 'azure', 'gcp', 'aws'].flatMap((t) => [
        topologyDot(m, t as 'azure' | undefined),
        ...m.resources.filter((x): x is PipelineModel => x.kind === 'pipeline').map((p) => pipelineDot(p, t as 'azure' | undefined)),
      ]),
      costChartSvg(m.environment.name, m.environment.stage, COST_TARGETS.map((t) => estimateCost(m, t, snapshot)), snapshot),
    ]);
    const chars = [...new Set([...texts.join('')].filter((c) => c > ' '))].sort();
    expect(chars).toEqual(expect.arrayContaining(['→', '×', '–', '·']));
    const glyph = (c: string) => svgToPng(`<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><text x="8" y="30" font-family="Helvetica,sans-Serif" font-size="24">${c.replace('&', '&amp;').replace('<', '&lt;')}</text></svg>`);
    const missing = Buffer.from(await glyph('\u{E000}')); // a private-use code point: no font has it
    // The probe tells a missing glyph apart: the stopwatch the timeout badge once used is not in the font.
    expect(Buffer.from(await glyph('⏱')).equals(missing)).toBe(true);
    const blank = [];
    for (const c of chars) if (Buffer.from(await glyph(c)).equals(missing)) blank.push(c);
    expect(blank, `characters without a glyph in assets/fonts/: ${blank.join(' ')}`).toEqual([]);
  });
});
