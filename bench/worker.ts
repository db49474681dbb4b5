/**
 * One benchmark measurement in a fresh process (so peak memory is its own). Prints one JSON line:
 * `{ phase, size, ms, maxRssMiB, count }`.
 *
 *   node --import tsx bench/worker.ts model <pipelines>
 *   node --import tsx bench/worker.ts adapter:<target> <pipelines>
 *   node --import tsx bench/worker.ts baseline <cloudformation resources>
 */
import { Construct } from 'constructs';
import { performance } from 'node:perf_hooks';
import { renderEnvironment, stableStringify } from '../lib';
import { defineGenerated } from './generate';

class Root extends Construct {
  constructor() {
    super(undefined as unknown as Construct, '');
  }
}

const [phase, sizeArg] = process.argv.slice(2);
const size = Number(sizeArg);

async function measure(): Promise<{ ms: number; count: number }> {
  if (phase === 'model') {
    const t0 = performance.now();
    const model = renderEnvironment(defineGenerated(new Root(), size));
    const json = stableStringify(model);
    return { ms: performance.now() - t0, count: json.length };
  }
  if (phase.startsWith('adapter:')) {
    const target = phase.slice('adapter:'.length);
    const { loadAdapter } = await import('../adapters/registry');
    const { settingsFor, serialize } = await import('../bin/build');
    const cdkJson = (await import('../cdk.json', { with: { type: 'json' } })).default as { context: Record<string, unknown> };
    const adapter = await loadAdapter(target);
    const model = renderEnvironment(defineGenerated(new Root(), size));
    const settings = adapter.parseSettings(settingsFor((k) => cdkJson.context[k], target, 'Bench'));
    const t0 = performance.now();
    if (adapter.kind === 'documents') {
      const { documents } = adapter.synth(model, settings);
      let bytes = 0;
      for (const d of Object.values(documents)) bytes += serialize(d).length;
      return { ms: performance.now() - t0, count: bytes };
    }
    const { App } = await import('aws-cdk-lib');
    const app = new App({ analyticsReporting: false, builtinCloudFormationValidation: false });
    adapter.synth(app, model, settings);
    const assembly = app.synth();
    const resources = assembly.stacks.reduce((n, s) => n + Object.keys((s.template as { Resources?: object }).Resources ?? {}).length, 0);
    return { ms: performance.now() - t0, count: resources };
  }
  if (phase === 'baseline') {
    const { App, Stack } = await import('aws-cdk-lib');
    const sqs = await import('aws-cdk-lib/aws-sqs');
    const t0 = performance.now();
    const app = new App({ analyticsReporting: false, builtinCloudFormationValidation: false });
    let stack: InstanceType<typeof Stack> | undefined;
    for (let i = 0; i < size; i++) {
      if (i % 450 === 0) stack = new Stack(app, `Baseline${i / 450}`);
      new sqs.Queue(stack!, `Queue${i}`);
    }
    app.synth();
    return { ms: performance.now() - t0, count: size };
  }
  throw new Error(`unknown phase '${phase}'`);
}

const { ms, count } = await measure();
process.stdout.write(`${JSON.stringify({ phase, size, ms: Math.round(ms), maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), count })}\n`);
