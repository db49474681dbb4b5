import type { EnvironmentModel, PipelineModel, ResourceModel } from './types';

/** A directed graph: nodes with labels and shapes, edges with optional labels. */
export interface Graph {
  readonly name: string;
  readonly nodes: ReadonlyArray<{ readonly id: string; readonly label: string; readonly shape: 'box' | 'cylinder' | 'round' | 'hexagon' }>;
  readonly edges: ReadonlyArray<{ readonly from: string; readonly to: string; readonly label?: string }>;
}

/** The DAG of a pipeline: one node per step, one edge per dependency (labelled with the wired outputs). */
export function pipelineGraph(pipeline: PipelineModel): Graph {
  const nodes: Array<Graph['nodes'][number]> = [];
  const edges: Array<Graph['edges'][number]> = [];
  const datasets = new Set<string>();
  for (const s of pipeline.steps) {
    nodes.push({ id: s.name, label: s.kind === 'register' ? `${s.name}\\nregister ${s.model}${s.promoteTo ? ` → ${s.promoteTo}` : ''}` : `${s.name}\\n${s.image}`, shape: s.kind === 'register' ? 'hexagon' : 'box' });
    const wired = new Map<string, string[]>();
    if (s.kind === 'container') {
      for (const i of s.inputs) {
        if (i.source.kind === 'step') wired.set(i.source.step, [...(wired.get(i.source.step) ?? []), i.source.output]);
        if (i.source.kind === 'dataset') {
          const id = `ds_${i.source.dataset}`;
          if (!datasets.has(id)) nodes.push({ id, label: i.source.dataset, shape: 'cylinder' });
          datasets.add(id);
          edges.push({ from: id, to: s.name, label: i.name });
        }
      }
    } else {
      wired.set(s.artifact.step, [s.artifact.output]);
      if (s.metrics) wired.set(s.metrics.step, [...(wired.get(s.metrics.step) ?? []), s.metrics.output]);
    }
    for (const up of s.dependsOn) edges.push({ from: up, to: s.name, label: wired.get(up)?.join(', ') });
  }
  return { name: pipeline.path, nodes, edges };
}

/** The environment topology: resources and the references between them. */
export function environmentGraph(model: EnvironmentModel): Graph {
  const nodes = model.resources.map((r) => ({ id: r.path, label: `${r.id}\\n${r.kind}`, shape: shapeOf(r) }));
  const edges = topologyEdges(model, false).map(({ from, to, label }) => ({ from, to, label }));
  return { name: model.environment.name, nodes, edges };
}

/** A reference between two resources of the topology; `retrain` marks the drift → retrain loop. */
export interface TopologyEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly retrain?: boolean;
}

/**
 * The references between the resources of an environment, in model order: one walk for every
 * picture of the topology. `detail` adds what the short labels leave out (the alias a register
 * step moves, the model and mirror share of a deployment) and sorts the datasets a pipeline reads.
 */
export function topologyEdges(model: EnvironmentModel, detail: boolean): TopologyEdge[] {
  const edges: TopologyEdge[] = [];
  const add = (from: string, to: string, label: string, retrain?: boolean) => edges.push({ from, to, label, ...(retrain ? { retrain } : {}) });
  for (const r of model.resources) {
    switch (r.kind) {
      case 'dataset':
      case 'computePool':
      case 'modelRegistry':
        break;
      case 'featureTable':
        add(r.source, r.path, 'features');
        break;
      case 'pipeline': {
        const reads = new Set<string>();
        for (const s of r.steps) {
          if (s.kind === 'container') {
            for (const i of s.inputs) if (i.source.kind === 'dataset') reads.add(i.source.dataset);
            if (s.compute) add(s.compute, r.path, `runs ${s.name}`);
          } else add(r.path, s.registry, `registers ${s.model}${detail && s.promoteTo ? ` → ${s.promoteTo}` : ''}`);
        }
        for (const d of detail ? [...reads].sort() : reads) add(d, r.path, 'reads');
        break;
      }
      case 'onlineEndpoint':
        for (const d of r.deployments) {
          const ref = 'alias' in d.model ? `@${d.model.alias}` : `v${d.model.version}`;
          add(d.model.registry, r.path, detail ? `${d.name}: ${d.model.model}${ref} ${d.traffic}%${d.mirror > 0 ? ` (+${d.mirror}% mirror)` : ''}` : `${d.name} ${d.traffic}%`);
        }
        break;
      case 'batchInference':
        add(r.model.registry, r.path, 'model');
        add(r.input, r.path, 'scores');
        add(r.path, r.output, 'writes');
        break;
      case 'driftMonitor':
        add(r.target.kind === 'endpoint' ? r.target.endpoint : r.target.batch, r.path, 'watches');
        add(r.baseline, r.path, 'baseline');
        if (r.onDrift) add(r.path, r.onDrift.pipeline, detail ? 'drift → retrain' : 'retrains', true);
        break;
      case 'secret':
        break; // read by steps and deployments: the grants draw those edges
      default: {
        const never: never = r;
        throw new Error(`unhandled kind ${(never as ResourceModel).kind}`);
      }
    }
  }
  return edges;
}

function shapeOf(r: ResourceModel): Graph['nodes'][number]['shape'] {
  if (r.kind === 'dataset' || r.kind === 'featureTable' || r.kind === 'modelRegistry') return 'cylinder';
  if (r.kind === 'onlineEndpoint') return 'round';
  if (r.kind === 'driftMonitor') return 'hexagon';
  return 'box';
}

const mermaidId = (id: string) => `n_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
const esc = (s: string) => s.replace(/"/g, '#quot;');

/** The graph as a Mermaid flowchart. */
export function toMermaid(g: Graph): string {
  const shape = { box: ['[', ']'], cylinder: ['[(', ')]'], round: ['(', ')'], hexagon: ['{{', '}}'] } as const;
  const lines = ['flowchart TD'];
  for (const n of g.nodes) {
    const [open, close] = shape[n.shape];
    lines.push(`  ${mermaidId(n.id)}${open}"${esc(n.label).replace(/\\n/g, '<br/>')}"${close}`);
  }
  for (const e of g.edges) lines.push(`  ${mermaidId(e.from)} -->${e.label ? `|"${esc(e.label)}"|` : ''} ${mermaidId(e.to)}`);
  return `${lines.join('\n')}\n`;
}

/** The graph in Graphviz DOT. */
export function toDot(g: Graph): string {
  const shape = { box: 'box', cylinder: 'cylinder', round: 'ellipse', hexagon: 'hexagon' } as const;
  const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
  const lines = [`digraph ${q(g.name)} {`, '  rankdir=TB;', '  node [fontname="Helvetica"];'];
  for (const n of g.nodes) lines.push(`  ${q(n.id)} [label=${q(n.label)}, shape=${shape[n.shape]}];`);
  for (const e of g.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)}${e.label ? ` [label=${q(e.label)}]` : ''};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
