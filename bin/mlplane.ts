#!/usr/bin/env node
/**
 * The mlplane CLI: `synth`, `ls`, `check`, `graph` for the app in this directory.
 *
 * Every verb takes `--json` and `-c key=value`, never prompts, and exits 0 (ok), 1 (failure) or
 * 2 (usage). Cloud SDKs and aws-cdk-lib are imported lazily by the verbs that need them, so
 * `mlplane --help` loads none of them.
 */
import { EXIT, UsageError, parseArgs, type Args } from './cli-args';

const HELP = `mlplane — define an MLOps environment once, synthesize it for Azure ML, Vertex AI + BigQuery, or AWS

Usage: mlplane <command> [options]

Commands:
  synth    synthesize every environment for the selected targets into cdk.out/ and print a summary
  ls       list environments, targets and the artifacts each produces
  check    report every validation problem and the capability matrix (app × target); non-zero on errors
  graph    write each pipeline DAG and the environment topology as Mermaid (.mmd) and DOT (.dot), or
           as SVG pictures laid out by Graphviz (--format svg; --format png adds a PNG of each;
           --target <t> labels the cloud resources)
  cost     estimate the monthly cost of each environment per target from a dated price snapshot
           (--target, --stage, --json; --format svg|png: a bar chart per environment; --refresh:
           ask the Azure, GCP and AWS price lists, write .mlplane/prices.json, used from then on)
  diff     show what a deploy would change, in ML terms (traffic shifts, alias moves, thresholds, schedules)
  deploy   apply the changes: ARM deployment (azure), reconciler (gcp), CDK toolkit (aws)
  destroy  delete what the environment owns; data-bearing resources are kept unless --destroy-data
  unlock   remove the deploy lock a killed run left behind (shows the holder; asks, or --yes)
  run      run a pipeline on this machine: mlplane run <Env>/<Pipeline> (steps as processes or containers)
  init     scaffold a new project in an empty folder (package.json, cdk.json, bin/app.ts, tsconfig, .gitignore)
  promote  promote a model version between stages: mlplane promote <Env> <model>@<alias|version> --from staging --to prod
           (gated by the ModelPromotion's metric condition; --approved-by <who> when it requires approval)
  ci init  write a CI workflow (--provider github|azure-devops|gitlab) that checks, diffs and deploys stage by stage

Options:
  -c, --context key=value   set a context value (as with cdk), e.g. -c mlplane:target=gcp
  -t, --target <names>      shorthand for -c mlplane:target=<names> (comma-separated, or 'all')
      --all-targets         every registered target
  -o, --out <dir>           output directory (synth: cdk.out; graph, cost --format svg|png: cdk.out/graph)
      --json                machine-readable output on stdout
      --strict              treat unacknowledged warnings as errors
      --parity              check: print feature × target as same / approximated (warning id) / refused (error)
      --markdown            check --parity: one target's README section (with --target)
      --require-approval <never|destructive|any-change>   when deploy/destroy asks (default destructive;
                            without a terminal it never asks: it refuses unless 'never')
      --fail                diff: exit 3 when there are changes
      --app <cmd|dir>       the app's command instead of cdk.json "app" (e.g. --app 'npx tsx bin/app.ts'); for
                            diff/deploy/destroy, a directory: the models and documents synthesized into it (e.g. cdk.out),
                            refusing a newer schemaVersion or a file changed since synth
      --concurrency <n>     deploy: mutations in flight at once (default: gcp adapts per API up to 32, azure 8)
      --lock-timeout <t>    deploy/destroy: wait this long for another deploy's lock, with a unit (30s, 5m)
      --lock-lease <t>      deploy/destroy: lease of the lock a run holds (default 15m); a dead holder is taken over at once
      --stage <name>        synth/ls/diff/deploy/destroy/cost: build the app for this stage (dev, staging, prod or a
                            stage the environments name); a stage no environment has is an error listing them
      --from, --to <stage>  promote: source and target stage
      --approved-by <who>   promote: who approved (required by PromotionApproval.REQUIRED; recorded on the version)
      --from-profile, --to-profile <p>   promote (aws): AWS profile for the source / target stage's account
                            (default: the default credential chain)
      --destroy-data        destroy: also delete datasets, tables, registries and storage
      --purge               destroy/deploy (azure): purge soft-deleted resources that block a re-deploy
      --executor <kind>     run: process or container (default container when docker/podman answers)
      --data <Dataset=path> run: local file or directory for a dataset (repeatable)
      --param <name=value>  run: a pipeline parameter value (repeatable)
      --no-cache            run: do not reuse cached step results
      --resume <runId>      run: continue an interrupted or failed run, reusing its completed steps
      --force               init: write into a folder that is not empty (existing files are kept)
  -h, --help                this help
      --version             print the version

Exit codes: 0 ok, 1 failure (validation, synthesis, deploy), 2 usage error, 3 changes found (diff --fail).
`;

/** Run the CLI; returns the exit code. */
export async function main(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`mlplane: ${e.message}\n`);
      return EXIT.USAGE;
    }
    throw e;
  }
  if (args.flags.version) {
    const { readFileSync } = await import('node:fs');
    const { packageRoot } = await import('../adapters/shared/spec-data');
    out.write(`${JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')).version}\n`);
    return EXIT.OK;
  }
  if (args.flags.help || args.verb === undefined || args.verb === 'help') {
    (args.verb === undefined && !args.flags.help ? err : out).write(HELP);
    return args.verb === undefined && !args.flags.help ? EXIT.USAGE : EXIT.OK;
  }
  const commands: Record<string, () => Promise<{ run: (a: Args, o: NodeJS.WritableStream, e: NodeJS.WritableStream) => Promise<number> }>> = {
    synth: () => import('./commands/synth'),
    ls: () => import('./commands/ls'),
    check: () => import('./commands/check'),
    graph: () => import('./commands/graph'),
    diff: () => import('./commands/diff'),
    deploy: () => import('./commands/deploy'),
    destroy: () => import('./commands/destroy'),
    ci: () => import('./commands/ci'),
    unlock: () => import('./commands/unlock'),
    run: () => import('./commands/run'),
    init: () => import('./commands/init'),
    cost: () => import('./commands/cost'),
    promote: () => import('./commands/promote'),
  };
  const load = commands[args.verb];
  if (!load) {
    err.write(`mlplane: unknown command '${args.verb}'; commands: ${Object.keys(commands).join(', ')} (see mlplane --help)\n`);
    return EXIT.USAGE;
  }
  try {
    return await (await load()).run(args, out, err);
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`mlplane: ${e.message}\n`);
      return EXIT.USAGE;
    }
    if (e instanceof Error && e.name === 'DeployError') {
      err.write(`mlplane: ${e.message}\n`);
      return EXIT.FAILURE;
    }
    const { ValidationErrors, constructIdProblem } = await import('../lib/core/errors');
    const problems = ValidationErrors.isValidationErrors(e) ? e : constructIdProblem(e);
    if (problems) {
      if (args.flags.json) out.write(`${JSON.stringify({ ok: false, problems: problems.problems }, null, 2)}\n`);
      err.write(`${problems.message}\n`);
      return EXIT.FAILURE;
    }
    // Stack traces only on request: users get the error's name and message.
    const debug = process.env.MLPLANE_DEBUG === '1';
    err.write(`mlplane: ${e instanceof Error ? (debug ? (e.stack ?? e.message) : `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}`) : String(e)}\n`);
    return EXIT.FAILURE;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
