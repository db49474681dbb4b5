import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EnvironmentModel, PipelineModel, ResourceModel, StepConditionModel, StepModel } from '../../lib/model/types';
import { topologyEdges } from '../../lib/model/graph';
import { UsageError, checkedTargets, resolveContext, sourceApp, type Args } from '../cli-args';

const FORMATS = ['mermaid', 'dot', 'both', 'svg', 'png'] as const;
const TARGETS = ['azure', 'gcp', 'aws'] as const;
type Target = (typeof TARGETS)[number];

/**
 * `mlplane graph`: each pipeline DAG and each environment's topology as Mermaid and DOT files, or
 * as SVG pictures laid out by Graphviz (compiled to WebAssembly, `@viz-js/viz`: no system install);
 * `--format png` also writes, beside each SVG, a PNG rasterised from it by resvg (`./png`).
 */
export async function run(args: Args, out: NodeJS.WritableStream): Promise<number> {
  const { defineApp } = await import('../build');
  const { ValidationErrors, environmentGraph, pipelineGraph, renderEnvironment, toDot, toMermaid } = await import('../../lib');
  const format = typeof args.flags.format === 'string' ? args.flags.format : 'both';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format '${format}' is not allowed with graph; use ${FORMATS.join(', ')}`);
  const target = svgTarget(args, format);
  const dir = path.resolve(typeof args.flags.out === 'string' ? args.flags.out : path.join('cdk.out', 'graph'));
  const { envs, problems } = await defineApp({ context: resolveContext(args), app: sourceApp(args) });
  if (problems.length > 0) throw new ValidationErrors(problems);
  const written: string[] = [];
  fs.mkdirSync(dir, { recursive: true });
  const models = envs.map((env) => renderEnvironment(env));
  if (format === 'svg' || format === 'png') {
    const suffix = target ? `.${target}` : '';
    const { svgToPng } = format === 'png' ? await import('./png') : { svgToPng: undefined };
    const picture = async (base: string, dot: string) => {
      const svg = await renderSvg(dot);
      written.push(save(dir, `${base}${suffix}.svg`, svg));
      if (svgToPng) written.push(save(dir, `${base}${suffix}.png`, await svgToPng(svg)));
    };
    for (const model of models) {
      await picture(model.environment.name, topologyDot(model, target));
      for (const r of model.resources) if (r.kind === 'pipeline') await picture(r.path.replace(/\//g, '.'), pipelineDot(r, target));
    }
  } else {
    const write = (base: string, g: ReturnType<typeof environmentGraph>) => {
      if (format !== 'dot') written.push(save(dir, `${base}.mmd`, toMermaid(g)));
      if (format !== 'mermaid') written.push(save(dir, `${base}.dot`, toDot(g)));
    };
    for (const model of models) {
      write(model.environment.name, environmentGraph(model));
      for (const r of model.resources) if (r.kind === 'pipeline') write(r.path.replace(/\//g, '.'), pipelineGraph(r));
    }
  }
  const rel = written.map((f) => path.relative(process.cwd(), f));
  out.write(args.flags.json ? `${JSON.stringify({ files: rel }, null, 2)}\n` : `${rel.join('\n')}\n`);
  return 0;
}

/** The one target whose resource names label the pictures, from `--target`; none = the neutral view. */
function svgTarget(args: Args, format: string): Target | undefined {
  const given = args.flags.target;
  if (given === undefined) return undefined;
  if (format !== 'svg' && format !== 'png') throw new UsageError(`--target labels nodes with cloud resources in pictures only; add --format svg or --format png, or drop --target`);
  if (typeof given === 'string') checkedTargets(given);
  if (typeof given !== 'string' || !(TARGETS as readonly string[]).includes(given)) {
    throw new UsageError(`--target '${String(given)}' is not allowed with graph; name one target: ${TARGETS.join(', ')}`);
  }
  return given as Target;
}

function save(dir: string, file: string, content: string | Uint8Array): string {
  const p = path.join(dir, file);
  fs.writeFileSync(p, content);
  return p;
}

/** Lay out a DOT graph with Graphviz (WebAssembly) and return the SVG; the same DOT gives the same bytes. */
export async function renderSvg(dot: string): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  const result = viz.render(dot, { format: 'svg', engine: 'dot' });
  if (result.status !== 'success') throw new Error(`Graphviz could not lay out the graph: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.output;
}

// ---------------------------------------------------------------------------------------------
// DOT for pictures: richer than lib's toDot (badges, artifacts, conditions, order-only edges, grants)

const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const label = (...lines: string[]) => q(lines.filter((l) => l !== '').join('\n')).replace(/\n/g, '\\n');

function attrs(a: Record<string, string | undefined>): string {
  const parts = Object.entries(a).filter((e): e is [string, string] => e[1] !== undefined);
  return parts.length === 0 ? '' : ` [${parts.map(([k, v]) => `${k}=${v}`).join(', ')}]`;
}

/** What each resource kind becomes on a target (from the adapters' READMEs), for `--target` labels. */
const CLOUD: Readonly<Record<Target, Readonly<Record<ResourceModel['kind'], string>>>> = {
  azure: {
    dataset: 'data asset (blob container)',
    featureTable: 'feature set (feature store)',
    computePool: 'AmlCompute cluster',
    pipeline: 'pipeline job + schedule',
    modelRegistry: 'workspace models',
    onlineEndpoint: 'managed online endpoint',
    batchInference: 'batch endpoint',
    driftMonitor: 'monitor schedule',
    secret: 'Key Vault secret (reference)',
  },
  gcp: {
    dataset: 'BigQuery table',
    featureTable: 'BigQuery view + feature view',
    computePool: 'machine spec (no standing pool)',
    pipeline: 'Vertex PipelineJob + schedule',
    modelRegistry: 'Vertex Model Registry',
    onlineEndpoint: 'Vertex Endpoint',
    batchInference: 'BatchPredictionJob',
    driftMonitor: 'Vertex Model Monitor',
    secret: 'Secret Manager secret (reference)',
  },
  aws: {
    dataset: 'S3 prefix + Glue table',
    featureTable: 'Glue table (+ DynamoDB)',
    computePool: 'Batch compute environment',
    pipeline: 'Step Functions state machine',
    modelRegistry: 'MLflow registry (ECS + RDS)',
    onlineEndpoint: 'ALB + ECS Fargate services',
    batchInference: 'state machine (Fargate map)',
    driftMonitor: 'ECS task + CloudWatch alarms',
    secret: 'Secrets Manager secret (reference)',
  },
};

const SHAPE: Readonly<Record<ResourceModel['kind'], string>> = {
  dataset: 'cylinder',
  featureTable: 'cylinder',
  computePool: 'box3d',
  pipeline: 'component',
  modelRegistry: 'folder',
  onlineEndpoint: 'ellipse',
  batchInference: 'box',
  secret: 'note',
  driftMonitor: 'hexagon',
};

const HEADER = ['  rankdir=TB;', '  graph [fontname="Helvetica"];', '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9];'];

/** The environment topology: every resource, the references between them, and its grants (dotted). */
export function topologyDot(model: EnvironmentModel, target?: Target): string {
  const lines = [`digraph ${q(model.environment.name)} {`, ...HEADER, `  label=${label(`${model.environment.name} (${model.environment.stage})${target ? ` on ${target}` : ''}`)};`, '  labelloc=t;'];
  for (const r of model.resources) {
    lines.push(`  ${q(r.path)}${attrs({ label: label(r.id, r.kind, target ? `→ ${CLOUD[target][r.kind]}` : ''), shape: SHAPE[r.kind] })};`);
  }
  const edge = (from: string, to: string, a: Record<string, string | undefined>) => lines.push(`  ${q(from)} -> ${q(to)}${attrs(a)};`);
  for (const e of topologyEdges(model, true)) {
    edge(e.from, e.to, e.retrain ? { label: q(e.label), color: 'firebrick', fontcolor: 'firebrick', penwidth: '2' } : { label: q(e.label) });
  }
  for (const g of model.grants) {
    const p = g.principal;
    const [from, who] =
      p.kind === 'step' ? [p.pipeline, `step ${p.step}`] : p.kind === 'deployment' ? [p.endpoint, `deployment ${p.deployment}`] : p.kind === 'batchInference' ? [p.batch, 'identity'] : [p.monitor, 'identity'];
    edge(from, g.resource, { label: q(`${who} may ${g.access}`), style: 'dotted', color: 'gray50', fontcolor: 'gray40', constraint: 'false' });
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** What a condition reads, in words. */
function conditionText(c: StepConditionModel): string {
  const o = c.operand;
  const lhs = o.kind === 'parameter' ? `params.${o.parameter}` : o.kind === 'metric' ? `${o.step}.${o.output}[${o.metric}]` : `${o.step}.${o.output}`;
  return `${lhs} ${c.op} ${JSON.stringify(c.value)}`;
}

/**
 * A step's caching, retry and timeout as one line of words (`cached · retry ×2 · timeout 1800s`):
 * plain Latin text that every font draws at the width Graphviz reserved for it (symbols such as ⟲
 * or ⏱ fall back to wider fonts, or to empty boxes, and overflow the node).
 */
function stepBadges(s: StepModel): string {
  const badges = [s.caching ? 'cached' : '', s.retries > 0 ? `retry ×${s.retries}` : '', s.timeoutSeconds !== undefined ? `timeout ${s.timeoutSeconds}s` : ''];
  return badges.filter((b) => b !== '').join(' · ');
}

/**
 * A pipeline DAG: steps (with caching, retry and timeout badges), the artifacts passed between
 * them (notes), dataset inputs, conditions (diamonds on the step that declares them) and
 * order-only dependencies (dashed).
 */
export function pipelineDot(p: PipelineModel, target?: Target): string {
  const lines = [`digraph ${q(p.path)} {`, ...HEADER, `  label=${label(`${p.path}${target ? ` → ${CLOUD[target].pipeline}` : ''}`)};`, '  labelloc=t;'];
  const outputType = new Map<string, string>();
  for (const s of p.steps) if (s.kind === 'container') for (const o of s.outputs) outputType.set(`${s.name}.${o.name}`, o.type.kind === 'artifact' ? o.type.type : 'parameter');
  const artifacts = new Set<string>();
  const artifactNode = (step: string, output: string): string => {
    const id = `artifact:${step}.${output}`;
    if (!artifacts.has(id)) {
      artifacts.add(id);
      lines.push(`  ${q(id)}${attrs({ label: label(output, outputType.get(`${step}.${output}`) ?? 'artifact'), shape: 'note', style: 'filled', fillcolor: '"#f3f3f3"' })};`);
      lines.push(`  ${q(step)} -> ${q(id)};`);
    }
    return id;
  };
  const datasets = new Set<string>();
  for (const s of p.steps) {
    const what = s.kind === 'register' ? `register ${s.model}${s.promoteTo ? ` → @${s.promoteTo}` : ''}${s.gate ? `\nif ${s.gate.metric} ${s.gate.comparison === 'greaterThan' ? '>' : '<'} ${s.gate.against.kind === 'alias' ? `@${s.gate.against.alias}` : s.gate.against.value}${s.gate.minDelta ? ` by ${s.gate.minDelta}` : ''}` : ''}` : s.image;
    const where = s.kind === 'container' && s.compute ? `on ${s.compute.split('/').pop()}` : '';
    lines.push(`  ${q(s.name)}${attrs({ label: label(s.name, what, where, stepBadges(s)), shape: s.kind === 'register' ? 'hexagon' : 'box', style: 'rounded' })};`);
    const own = s.conditions.filter((c) => c.declaredOn === s.name);
    if (own.length > 0) {
      const id = `condition:${s.name}`;
      lines.push(`  ${q(id)}${attrs({ label: label(...own.map(conditionText)), shape: 'diamond', color: 'darkorange' })};`);
      lines.push(`  ${q(id)} -> ${q(s.name)}${attrs({ label: q('when true'), color: 'darkorange', fontcolor: 'darkorange' })};`);
    }
    if (s.kind === 'container') {
      for (const i of s.inputs) {
        if (i.source.kind === 'dataset') {
          const id = `dataset:${i.source.dataset}`;
          if (!datasets.has(id)) lines.push(`  ${q(id)}${attrs({ label: label(i.source.dataset.split('/').pop() ?? i.source.dataset, 'dataset'), shape: 'cylinder' })};`);
          datasets.add(id);
          lines.push(`  ${q(id)} -> ${q(s.name)}${attrs({ label: q(i.name) })};`);
        } else if (i.source.kind === 'step') {
          const kind = outputType.get(`${i.source.step}.${i.source.output}`);
          if (kind === 'parameter') lines.push(`  ${q(i.source.step)} -> ${q(s.name)}${attrs({ label: q(`${i.source.output} → ${i.name}`) })};`);
          else lines.push(`  ${q(artifactNode(i.source.step, i.source.output))} -> ${q(s.name)}${attrs({ label: q(i.name) })};`);
        }
      }
    } else {
      lines.push(`  ${q(artifactNode(s.artifact.step, s.artifact.output))} -> ${q(s.name)}${attrs({ label: q('model') })};`);
      if (s.metrics) lines.push(`  ${q(artifactNode(s.metrics.step, s.metrics.output))} -> ${q(s.name)}${attrs({ label: q('metrics') })};`);
    }
    for (const up of s.orderOnly) lines.push(`  ${q(up)} -> ${q(s.name)}${attrs({ label: q('after'), style: 'dashed' })};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
