/**
 * The pictures as a person sees them: every SVG `mlplane graph` and `mlplane cost` write for the
 * examples, opened in headless Chromium (see test/support/browser.ts), and the PNG written beside
 * it, decoded by the same browser. Chromium draws the SVGs' Helvetica with the system's fonts: with
 * Liberation Sans (Debian `fonts-liberation2`, which `.ci/run` installs with Chromium) it has the
 * Helvetica/Arial metrics of a person's machine and of the layout Graphviz made; with only DejaVu
 * Sans (about 10 % wider) some edge labels of the Fraud topology overlap and long step labels reach
 * past their rounded boxes by 2–5 px — which these checks then report.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COST_TARGETS, estimateCost } from '../../adapters/shared/cost';
import { loadSnapshot } from '../../bin/commands/cost';
import { costByComponent } from '../../bin/commands/cost-chart';
import type { EnvironmentModel, PipelineModel } from '../../lib/model/types';
import { findChromium, viewInBrowser, type Box, type BrowserView, type DrawnText } from '../support/browser';
import { cli } from '../support/cli';
import { exampleModels } from '../support/examples';

const models = exampleModels();
const pipelines = (m: EnvironmentModel) => m.resources.filter((x): x is PipelineModel => x.kind === 'pipeline');
const pictureNames = models.flatMap((m) => [m.environment.name, ...pipelines(m).map((p) => p.path.replace(/\//g, '.')), `${m.environment.name}.cost`]);

let views: Record<string, BrowserView>;

beforeAll(async () => {
  expect(findChromium(), 'chromium is not installed: apt-get install -y --no-install-recommends chromium fonts-liberation2 (.ci/run does)').toBeDefined();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-browser-'));
  for (const verb of ['graph', 'cost']) {
    const r = await cli(verb, '--format', 'png', '--out', out);
    expect(r.code, r.stderr).toBe(0);
  }
  views = await viewInBrowser(pictureNames.map((name) => ({ name, svg: fs.readFileSync(path.join(out, `${name}.svg`), 'utf8'), png: fs.readFileSync(path.join(out, `${name}.png`)) })));
}, 180_000);

const area = (a: Box, b: Box) => Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)) * Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
const union = (boxes: readonly Box[]): Box => {
  const x = Math.min(...boxes.map((b) => b.x));
  const y = Math.min(...boxes.map((b) => b.y));
  return { x, y, width: Math.max(...boxes.map((b) => b.x + b.width)) - x, height: Math.max(...boxes.map((b) => b.y + b.height)) - y };
};
const show = (b: Box) => `(${b.x.toFixed(1)}, ${b.y.toFixed(1)}) ${b.width.toFixed(1)}×${b.height.toFixed(1)}`;

/** A text a person can read: drawn, with a size, wholly inside the picture, and inked in the browser and in the PNG. */
function expectReadable(name: string, view: BrowserView, t: DrawnText): void {
  const what = `${name}: "${t.text}" at ${show(t.box)} in a ${view.width.toFixed(1)}×${view.height.toFixed(1)} picture`;
  expect(t.visible, `${what} is hidden`).toBe(true);
  expect(t.box.width > 0 && t.box.height > 0, `${what} has no size`).toBe(true);
  expect(t.box.x >= 0 && t.box.y >= 0 && t.box.x + t.box.width <= view.width + 0.5 && t.box.y + t.box.height <= view.height + 0.5, `${what} is outside the picture`).toBe(true);
  expect(t.browserInk, `${what}: the browser drew nothing there`).toBeGreaterThan(0.05);
  expect(t.pngInk, `${what}: the PNG has nothing there`).toBeGreaterThan(0.05);
}

/** No two boxes overlap (by more than a sliver of 1 px² — adjacent lines of one label touch). */
function expectApart(name: string, labels: ReadonlyArray<readonly [string, Box]>): void {
  for (const [i, [a, boxA]] of labels.entries()) {
    for (const [b, boxB] of labels.slice(i + 1)) expect(area(boxA, boxB), `${name}: "${a}" ${show(boxA)} overlaps "${b}" ${show(boxB)}`).toBeLessThanOrEqual(1);
  }
}

/** The text lines of a graph node, by its `<title>` (a resource path or step name). */
function nodeLabel(view: BrowserView, title: string): DrawnText[] {
  return view.texts.filter((t) => t.owner === `node:${title}`);
}

/** No node's label overlaps another's, each lies inside its node's shape (to 1 px), and no two lines of text overlap. */
function expectNodesLegible(name: string, view: BrowserView): void {
  const labels = view.nodes.map((n) => [n.title, union(nodeLabel(view, n.title).map((t) => t.box))] as const);
  expectApart(name, labels);
  for (const [title, label] of labels) {
    const shape = view.nodes.find((n) => n.title === title)!.shape;
    const outside = Math.max(shape.x - label.x, label.x + label.width - (shape.x + shape.width), shape.y - label.y, label.y + label.height - (shape.y + shape.height));
    expect(outside, `${name}: the label of ${title} ${show(label)} sticks out of its shape ${show(shape)}`).toBeLessThanOrEqual(1);
  }
  // Edge labels too: every line of text apart from every other.
  expectApart(name, view.texts.map((t) => [`${t.text}" (${t.owner})`, t.box] as const));
}

describe('the examples’ pictures in a browser (headless Chromium)', () => {
  it('parse as XML, and look like their PNG: same size, both drawn, ink in the same places', () => {
    expect(Object.keys(views).sort()).toEqual([...pictureNames].sort());
    for (const name of pictureNames) {
      const v = views[name]!;
      expect(v.xmlError, `${name}.svg is not well-formed XML`).toBeUndefined();
      expect(v.png, `${name}.png did not decode`).toBeDefined();
      expect(Math.abs(v.png!.width - v.width), `${name}: PNG ${v.png!.width} px wide, browser ${v.width}`).toBeLessThan(1);
      expect(Math.abs(v.png!.height - v.height), `${name}: PNG ${v.png!.height} px high, browser ${v.height}`).toBeLessThan(1);
      expect(v.browserInk, `${name}: the browser drew (almost) nothing`).toBeGreaterThan(0.01);
      expect(v.pngInk, `${name}.png is (almost) blank`).toBeGreaterThan(0.01);
      // On a grid of 8 px cells, where one has ink the other has ink too (to a cell).
      expect(v.browserCellsInPng, `${name}: share of the browser's inked cells the PNG inks`).toBeGreaterThan(0.98);
      expect(v.pngCellsInBrowser, `${name}: share of the PNG's inked cells the browser inks`).toBeGreaterThan(0.98);
    }
  });

  it('show every resource of each environment as a node labelled with its id and kind, readable and apart from the others', () => {
    for (const m of models) {
      const name = m.environment.name;
      const v = views[name]!;
      expect(v.nodes.map((n) => n.title).sort()).toEqual(m.resources.map((r) => r.path).sort());
      for (const r of m.resources) {
        const label = nodeLabel(v, r.path);
        expect(label.map((t) => t.text), `${name}: node ${r.path}`).toEqual([r.id, r.kind]);
        for (const t of label) expectReadable(name, v, t);
      }
      for (const t of v.texts) expectReadable(name, v, t);
      expectNodesLegible(name, v);
    }
  });

  it('show every step of each pipeline DAG as a node headed by its name, readable and apart from the others', () => {
    for (const p of models.flatMap(pipelines)) {
      const name = p.path.replace(/\//g, '.');
      const v = views[name]!;
      for (const s of p.steps) {
        const label = nodeLabel(v, s.name);
        expect(label[0]?.text, `${name}: step ${s.name}`).toBe(s.name);
        if (s.kind === 'container') expect(label.map((t) => t.text)).toContain(s.image);
      }
      for (const t of v.texts) expectReadable(name, v, t);
      expectNodesLegible(name, v);
    }
  });

  it('show each cost chart’s bars — every target’s total and every component — with readable labels and figures that overlap nothing', () => {
    const snapshot = loadSnapshot();
    for (const m of models) {
      const name = `${m.environment.name}.cost`;
      const v = views[name]!;
      const bars = (label: string) => v.texts.filter((t) => t.owner === `bar:${label}`).map((t) => t.text);
      const estimates = COST_TARGETS.map((t) => estimateCost(m, t, snapshot));
      for (const e of estimates) expect(bars(`${e.target} [${e.region}]`), `${name}: total of ${e.target}`).toHaveLength(2);
      for (const c of estimates.flatMap((e) => costByComponent(e))) expect(bars(`${c.component} (${c.items})`).length, `${name}: ${c.component}`).toBeGreaterThanOrEqual(2);
      expect(v.texts.map((t) => t.text)).toContain(`${m.environment.name} (${m.environment.stage}): estimated monthly cost`);
      for (const t of v.texts) expectReadable(name, v, t);
      expectApart(name, v.texts.map((t) => [t.text, t.box] as const));
    }
  });
});
