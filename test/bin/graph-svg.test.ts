import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipelineDot, renderSvg, topologyDot } from '../../bin/commands/graph';
import type { PipelineModel } from '../../lib/model/types';
import { contractModel } from '../support/contract-pipeline';
import { exampleModels } from '../support/examples';
import { cli } from '../support/cli';


const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s: string) => s.replace(/&(#x?[0-9a-fA-F]+|\w+);/g, (m, e: string) => (e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : (XML_ENTITIES[e] ?? m)));

/** The nodes of a Graphviz SVG: each `<g class="node">` with its title (the node id) and its text lines. */
function svgNodes(svg: string): Map<string, string[]> {
  expect(svg).toMatch(/^<\?xml[^>]*\?>[\s\S]*<svg [\s\S]*<\/svg>\s*$/);
  const nodes = new Map<string, string[]>();
  for (const g of svg.matchAll(/<g id="node\d+" class="node">([\s\S]*?)<\/g>/g)) {
    const body = g[1] ?? '';
    const title = decode(/<title>([\s\S]*?)<\/title>/.exec(body)?.[1] ?? '');
    nodes.set(title, [...body.matchAll(/<text[^>]*>([\s\S]*?)<\/text>/g)].map((t) => decode(t[1] ?? '')));
  }
  return nodes;
}

describe('mlplane graph --format svg', () => {
  it('draws every resource of both examples, and every step of their pipelines, as a labelled node', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-graph-'));
    const r = await cli('graph', '--format', 'svg', '--out', out, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).files.map((f: string) => path.basename(f)).sort()).toEqual(['Churn.Train.svg', 'Churn.svg', 'Fraud.Train.svg', 'Fraud.svg']);
    const models = exampleModels();
    expect(models.map((m) => m.environment.name).sort()).toEqual(['Churn', 'Fraud']);
    for (const model of models) {
      const nodes = svgNodes(fs.readFileSync(path.join(out, `${model.environment.name}.svg`), 'utf8'));
      expect([...nodes.keys()].sort()).toEqual(model.resources.map((x) => x.path).sort());
      for (const res of model.resources) expect(nodes.get(res.path)?.slice(0, 2)).toEqual([res.id, res.kind]);
      for (const p of model.resources.filter((x): x is PipelineModel => x.kind === 'pipeline')) {
        const dag = svgNodes(fs.readFileSync(path.join(out, `${p.path.replace(/\//g, '.')}.svg`), 'utf8'));
        for (const s of p.steps) {
          const lines = dag.get(s.name);
          expect(lines?.[0]).toBe(s.name);
          if (s.caching) expect(lines?.join(' ')).toContain('cached');
          if (s.retries > 0) expect(lines?.join(' ')).toContain(`retry ×${s.retries}`);
        }
      }
    }
  });

  it('labels each node with the cloud resource it becomes on --target', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-graph-'));
    expect((await cli('graph', '--format', 'svg', '--target', 'gcp', '--out', out)).code).toBe(0);
    const nodes = svgNodes(fs.readFileSync(path.join(out, 'Fraud.gcp.svg'), 'utf8'));
    expect(nodes.get('Fraud/Transactions')).toEqual(['Transactions', 'dataset', '→ BigQuery table']);
    expect(nodes.get('Fraud/Scoring')).toEqual(['Scoring', 'onlineEndpoint', '→ Vertex Endpoint']);
    const aws = svgNodes(await renderSvg(topologyDot(exampleModels()[0]!, 'aws')));
    expect([...aws.values()].every((lines) => lines[2]?.startsWith('→ '))).toBe(true);
  });

  it('is deterministic: the same model gives the same SVG bytes, from separate Graphviz instances', async () => {
    const model = exampleModels().find((m) => m.environment.name === 'Fraud')!;
    const a = await renderSvg(topologyDot(model));
    const b = await renderSvg(topologyDot(exampleModels().find((m) => m.environment.name === 'Fraud')!));
    expect(a).toBe(b);
    const p = model.resources.find((x): x is PipelineModel => x.kind === 'pipeline')!;
    expect(await renderSvg(pipelineDot(p, 'azure'))).toBe(await renderSvg(pipelineDot(p, 'azure')));
  });

  it('draws artifacts, conditions and order-only dependencies of a pipeline DAG', async () => {
    const p = contractModel().resources.find((x): x is PipelineModel => x.kind === 'pipeline')!;
    const svg = await renderSvg(pipelineDot(p));
    const nodes = svgNodes(svg);
    for (const s of p.steps) expect(nodes.get(s.name)?.[0]).toBe(s.name);
    expect(nodes.get('artifact:Fit.model')).toEqual(['model', 'model']);
    expect(nodes.get('condition:Fit')).toEqual(['Prep.ok == true']);
    expect(nodes.get('condition:Publish')).toEqual(['Evaluate.metrics[auc] >= 0.8']);
    expect(nodes.get('condition:Report')).toEqual(['params.publish == true']);
    expect(nodes.has('condition:Evaluate')).toBe(false); // inherited, drawn once on the declaring step
    expect(nodes.get('Fit')?.join(' ')).toContain('retry ×1');
    // Order-only edges are dashed and labelled "after".
    const edges = [...svg.matchAll(/<g id="edge\d+" class="edge">([\s\S]*?)<\/g>/g)].map((m) => m[1] ?? '');
    const orderOnly = edges.filter((e) => /<title>Register&#45;&gt;Publish<\/title>|<title>Publish&#45;&gt;Report<\/title>/.test(e));
    expect(orderOnly).toHaveLength(2);
    for (const e of orderOnly) {
      expect(e).toContain('stroke-dasharray');
      expect(e).toContain('>after<');
    }
  });

  it('fails if --format names no format: lists them all, png included', async () => {
    const r = await cli('graph', '--format', 'jpeg', '--out', fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-graph-')));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--format 'jpeg' is not allowed with graph; use mermaid, dot, both, svg, png");
  });

  it('fails if --target names no single target, or comes without --format svg', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-graph-'));
    const many = await cli('graph', '--format', 'svg', '--target', 'gcp,aws', '--out', out);
    expect(many.code).toBe(2);
    expect(many.stderr).toContain("--target 'gcp,aws' is not allowed with graph; name one target: azure, gcp, aws");
    const dot = await cli('graph', '--format', 'dot', '--target', 'gcp', '--out', out);
    expect(dot.code).toBe(2);
    expect(dot.stderr).toContain('add --format svg or --format png');
    expect(fs.readdirSync(out)).toEqual([]);
  });
});
