/**
 * A whole `cdk synth`-equivalent process of the bench: what the CDK CLI runs as the app command,
 * with the context it would pass (`CDK_CONTEXT_JSON`: cdk.json's context, the target set) and
 * `CDK_OUTDIR`. On exit it prints one JSON line with its CPU time and peak memory
 * (`{ cpuMs, maxRssMiB }`), which `bench/synth.bench.ts` reads.
 *
 *   MLPLANE_BENCH_PIPELINES=100 CDK_CONTEXT_JSON=… CDK_OUTDIR=/tmp/out node --import tsx bench/app.ts   (mlplane)
 *   MLPLANE_BENCH_PIPELINES=100 CDK_OUTDIR=/tmp/out node --import tsx bench/app.ts baseline             (hand-written aws-cdk-lib)
 *
 * The bench runs it as plain JavaScript (`node dist/bench/app.js`, transpiled by `synth.bench.ts`
 * next to the built `dist/`), unless it is given `--tsx`.
 */
process.on('exit', () => {
  const { userCPUTime, systemCPUTime, maxRSS } = process.resourceUsage();
  process.stdout.write(`\n${JSON.stringify({ cpuMs: Math.round((userCPUTime + systemCPUTime) / 1000), maxRssMiB: Math.round(maxRSS / 1024) })}\n`);
});

const pipelines = Number(process.env.MLPLANE_BENCH_PIPELINES ?? '10');

if (process.argv[2] === 'baseline') {
  const { App } = await import('aws-cdk-lib');
  const { defineBaseline } = await import('./baseline');
  const app = new App({ analyticsReporting: false });
  defineBaseline(app, pipelines);
  app.synth();
} else {
  const { runApp } = await import('../bin/build');
  const { defineGenerated } = await import('./generate');
  await runApp((app) => defineGenerated(app, pipelines));
}
export {};
