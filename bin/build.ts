/**
 * Build the mlplane app: define the environments, validate everything, render models, run each
 * selected target's adapter, and attach the writers that put models and documents into the cloud
 * assembly (`cdk.out/`) when the app synthesizes.
 *
 * Used by the app's entry (`runApp`, what `cdk synth` runs) and by the `mlplane` CLI, which loads
 * the app named in `cdk.json` in process (`loadApp`). Published as `mlplane/app`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
// aws-cdk-lib/core, not the package root: the root's index loads a stub of every one of its ~250 service
// modules (~0.3 s CPU of each synth, ~15 % of a gcp-only synth of 100 pipelines).
import { Annotations, App, BootstraplessSynthesizer, Stack, Stage, Validations, attachCustomSynthesis } from 'aws-cdk-lib/core';
import * as cxschema from 'aws-cdk-lib/cloud-assembly-schema';
import type { Construct } from 'constructs';
import { loadAdapter, targetNames } from '../adapters/registry';
import { nameCollisions } from '../adapters/shared/names';
import { digestOf } from './artifact';
import {
  STAGE_CONTEXT_KEY, ValidationErrors, constructIdProblem, environmentsOf, renderValidatedEnvironment, runPolicy, stableStringify, unsupportedFeatures, validateTree,
  type Adapter, type EnvironmentModel, type NameClaim, type MlopsEnvironment, type PolicyReport, type Problem, type SynthWarning,
} from '../lib';

/** Id of the resource-free stack added when no selected target builds stacks. */
export const NO_AWS_STACK = 'MlplaneNoAwsResources';

/** Context key naming the targets. */
export const TARGET_KEY = 'mlplane:target';

/** Context key that turns the cdk-nag AwsSolutions checks of the aws target off when `false`. @default true */
export const CDK_NAG_KEY = 'mlplane:cdkNag';

/** A function that defines an app's environments under `scope` (the CDK App). */
export type DefineApp = (scope: Construct) => unknown;

/** Options of `buildApp`. */
export interface BuildOptions {
  /** Context values (cdk.json `context` merged with `-c` values). When run by the CDK CLI, the App reads its own. */
  readonly context?: Record<string, unknown>;
  /** Cloud assembly directory. @default - the App's default (CDK_OUTDIR or a temp dir) */
  readonly outdir?: string;
  /** Treat warnings that are not acknowledged as errors. @default - context `mlplane:strict` */
  readonly strict?: boolean;
  /** Define the environments. @default - the app named by `app`, else by `cdk.json` in the current directory (`loadApp`) */
  readonly define?: DefineApp;
  /** The app's command, as `cdk.json` `app` or `--app` give it (e.g. `npx tsx bin/app.ts`). @default - `cdk.json` `app` */
  readonly app?: string;
  /** Built-in CloudFormation validation of aws-cdk-lib. @default true */
  readonly cloudFormationValidation?: boolean;
}

/** One target's output for one environment. */
export interface TargetOutput {
  readonly target: string;
  readonly kind: Adapter['kind'];
  /** Document paths relative to `cdk.out/<env>.<target>/` (document targets) or stack names (construct targets). */
  readonly files: readonly string[];
  readonly bytes: number;
  readonly warnings: readonly SynthWarning[];
  /** The documents themselves (document targets only). */
  readonly documents?: Readonly<Record<string, unknown>>;
  /** Names that must be unique beyond the environment (checked across environments). */
  readonly names?: readonly NameClaim[];
}

/** Everything a build found and produced, before anything is written. */
export interface BuildResult {
  readonly app: App;
  readonly targets: readonly string[];
  readonly environments: ReadonlyArray<{ readonly name: string; readonly model: EnvironmentModel; readonly policy: PolicyReport; readonly outputs: readonly TargetOutput[] }>;
  readonly warnings: readonly SynthWarning[];
}

/** The targets named by context: a name, a comma-separated list, a list, or `all`. */
export function parseTargets(raw: unknown): { targets: string[]; problems: Problem[] } {
  const known = targetNames();
  const fix = `set context ${TARGET_KEY} to one of ${known.map((k) => `'${k}'`).join(', ')}, a comma-separated list, or 'all'`;
  if (raw === undefined || raw === null || raw === '') return { targets: [], problems: [{ path: TARGET_KEY, message: `no target is selected; ${fix} (in cdk.json or with -c ${TARGET_KEY}=<target>)` }] };
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
  if (!list || list.some((t) => typeof t !== 'string')) return { targets: [], problems: [{ path: TARGET_KEY, message: `value ${JSON.stringify(raw)} is not a target name or list; ${fix}` }] };
  const names = list.map((t: string) => t.trim()).filter((t: string) => t.length > 0);
  if (names.length === 1 && names[0] === 'all') return { targets: known, problems: [] };
  const problems: Problem[] = names.filter((t: string) => !known.includes(t)).map((t: string) => ({ path: TARGET_KEY, message: `unknown target '${t}'; ${fix}` }));
  return { targets: [...new Set(names.filter((t: string) => known.includes(t)))].sort(), problems };
}

/** Context key of per-stage target settings: `mlplane:stages.<stage>.<target>` (each may have its own `environments.<env>`). */
export const STAGES_KEY = 'mlplane:stages';

/**
 * Settings of `target` for environment `env` at `stage`, later layers winning: context
 * `mlplane:<target>`, its `environments.<env>`, then `mlplane:stages.<stage>.<target>` and its
 * `environments.<env>`. A stage's own subscription, project or account is set in the third layer.
 */
export function settingsFor(context: (key: string) => unknown, target: string, env: string, stage?: string): unknown {
  const raw = context(`mlplane:${target}`);
  const stages = context(STAGES_KEY);
  const staged = stage !== undefined && isRecord(stages) && isRecord(stages[stage]) ? stages[stage][target] : undefined;
  if (!isRecord(raw) && !isRecord(staged)) return raw;
  const layer = (r: unknown): Record<string, unknown> => {
    if (!isRecord(r)) return {};
    const { environments, ...shared } = r;
    const own = isRecord(environments) ? environments[env] : undefined;
    return isRecord(own) ? { ...shared, ...own } : shared;
  };
  return { ...layer(raw), ...layer(staged) };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== undefined && x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** `Fraud: dev, staging, prod; Churn: staging` — the stages each environment is defined for. */
export function stagesOf(envs: readonly MlopsEnvironment[]): string {
  return envs.map((e) => `${e.node.id}: ${e.stages.join(', ')}`).join('; ');
}

/** Everything an analysis found: a build's result plus the problems it did not throw. */
export interface Analysis extends BuildResult {
  /** Every problem of every environment and target (empty when the app can synthesize). */
  readonly problems: readonly Problem[];
  /** The selected targets' adapters. */
  readonly adapters: readonly Adapter[];
}

/**
 * Define, validate and render the app, and run every selected target's adapter — exactly what
 * synthesis checks (targets, policy, adapters, name collisions, strict mode), but collecting the
 * problems instead of throwing them. `mlplane check` reports this; `buildApp` throws it.
 *
 * An environment with definition problems is not rendered; the others still go through every
 * target, so one run shows everything that is wrong.
 */
export async function analyzeApp(options: BuildOptions = {}): Promise<Analysis> {
  const { app, envs, ctx, problems } = await defineApp(options);
  const strict = options.strict ?? (ctx('mlplane:strict') === true || ctx('mlplane:strict') === 'true');
  const acknowledged = new Set<string>(asStringList(ctx('mlplane:acknowledge')));
  const { targets, problems: targetProblems } = parseTargets(ctx(TARGET_KEY));
  problems.push(...targetProblems);

  const adapters = await Promise.all(targets.map(loadAdapter));
  // An environment with a definition problem anywhere below it is not rendered (it may sit below another construct).
  const definitionProblems = [...problems];
  const invalid = (env: MlopsEnvironment) => definitionProblems.some((p) => p.path === env.node.path || p.path.startsWith(`${env.node.path}/`));
  const found: SynthWarning[] = [];
  const environments: Array<{ name: string; model: EnvironmentModel; policy: PolicyReport; outputs: TargetOutput[] }> = [];
  for (const env of envs) {
    if (invalid(env)) continue;
    // defineApp validated the whole app: an environment with no problem is rendered without validating it again.
    const model = renderValidatedEnvironment(env);
    const policy = policyOf(env, model, problems, found);
    const outputs: TargetOutput[] = [];
    for (const adapter of adapters) {
      const output = runAdapter(app, env, model, adapter, ctx, problems);
      if (!output) continue;
      outputs.push(output);
      found.push(...output.warnings);
    }
    environments.push({ name: env.node.id, model, policy, outputs });
  }
  // Two environments may derive the same name in the same scope; only the build sees them all.
  for (const adapter of adapters) {
    problems.push(...nameCollisions(adapter.target, environments.flatMap((e) => e.outputs.filter((o) => o.target === adapter.target).flatMap((o) => o.names ?? []))));
  }
  const warnings = found.filter((w) => !acknowledged.has(w.id));
  if (strict) for (const w of warnings) problems.push({ path: w.path, message: `${w.message} (${w.id}; strict mode: acknowledge it with context mlplane:acknowledge)` });
  return { app, targets, environments, warnings, problems: uniqueProblems(problems), adapters };
}

/** Problems with the same path and message reported once (settings shared by environments, say). */
function uniqueProblems(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Define, validate and render the app, and run every selected target's adapter.
 *
 * Nothing is written: documents are written when `result.app.synth()` runs.
 *
 * @throws ValidationErrors with every problem of every environment and target at once.
 */
export async function buildApp(options: BuildOptions = {}): Promise<BuildResult> {
  const analysis = await analyzeApp(options);
  if (analysis.problems.length > 0) throw new ValidationErrors(analysis.problems);
  await prepareSynthesis(analysis);
  const { app, targets, environments, warnings } = analysis;
  return { app, targets, environments, warnings };
}

/**
 * Make an analysed app ready for `app.synth()`: the validation plugins synthesis runs (cdk-nag on
 * the aws target), the writers of models and documents, and the stack the CDK CLI needs.
 */
export async function prepareSynthesis(analysis: Analysis): Promise<void> {
  const { app, targets, environments, warnings, adapters } = analysis;
  if (adapters.some((a) => a.kind === 'constructs' && a.target === 'aws') && app.node.tryGetContext(CDK_NAG_KEY) !== false && app.node.tryGetContext(CDK_NAG_KEY) !== 'false') {
    // cdk-nag's AwsSolutions pack on every synth of the aws target, as the aws adapter's tests run it
    // (context mlplane:cdkNag=false turns it off; bench/README.md shows its share of the time).
    const { AwsSolutionsChecks } = await import('cdk-nag');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  const envs = environmentsOf(app);
  for (const env of environments) {
    const own = warnings.filter((w) => w.path === env.name || w.path.startsWith(`${env.name}/`));
    attachWriter(envs.find((e) => e.node.id === env.name)!, env.model, env.policy, env.outputs, own);
  }
  if (!app.node.children.some((c) => Stack.isStack(c))) {
    // The CDK CLI refuses an app without stacks ("This app contains no stacks"). When no selected
    // target builds stacks, one resource-free stack keeps `cdk synth` working; `cdk deploy`
    // skips stacks without resources, so it never creates anything in AWS.
    const stack = new Stack(app, NO_AWS_STACK, {
      synthesizer: new BootstraplessSynthesizer(),
      description: 'mlplane: no AWS resources (only non-AWS targets are selected); cdk deploy skips this stack',
    });
    Validations.of(stack).acknowledge({ id: 'CloudFormation-Validate::F0001', reason: 'deliberately empty: it only exists because the CDK CLI needs one stack, and cdk deploy skips stacks without resources' });
    // With no other stack there is no template to validate, and starting aws-cdk-lib's built-in
    // CloudFormation validation engine (WebAssembly) alone costs ~4 s of CPU, 2× a whole gcp synth
    // of 100 pipelines (bench/README.md). The App reads this field when it synthesizes.
    if (!app.node.children.some((c) => c !== stack && (Stack.isStack(c) || Stage.isStage(c)))) (app as unknown as { _builtinCloudFormationValidation: boolean })._builtinCloudFormationValidation = false;
    // `cdk synth` and `cdk deploy` print stack annotations: point at the CLI that deploys these targets.
    Annotations.of(stack).addInfo(noAwsPointer(targets));
  }
}

/** What `cdk deploy` users read when the selected targets are not deployed by CloudFormation. */
export function noAwsPointer(targets: readonly string[]): string {
  const list = targets.length > 0 ? targets.join(', ') : 'none';
  return `the selected targets (${list}) are not deployed by CloudFormation: cdk synth wrote their documents to the cloud assembly; ` +
    `deploy them with 'mlplane deploy --target ${targets.join(',') || '<target>'}' (cdk deploy has nothing to create here, and without AWS credentials it stops at 'Unable to resolve AWS account')`;
}

/**
 * The app with its environments defined, and every definition problem (not yet thrown).
 *
 * @throws ValidationErrors when no `define` is given and the current directory has no app (`loadApp`).
 */
export async function defineApp(options: BuildOptions = {}): Promise<{ app: App; envs: MlopsEnvironment[]; ctx: (key: string) => unknown; problems: Problem[] }> {
  const define = options.define ?? (await loadApp(process.cwd(), options.app));
  const app = new App({
    outdir: options.outdir,
    context: options.context,
    analyticsReporting: false,
    builtinCloudFormationValidation: options.cloudFormationValidation,
  });
  define(app);
  const ctx = (key: string) => contextValue(app.node.tryGetContext(key));
  const all = environmentsOf(app);
  // `--stage <s>` (context mlplane:stage): only the environments defined for that stage take part.
  const envs = all.filter((e) => e.selected);
  const problems: Problem[] = [];
  if (all.length === 0) problems.push({ path: '/', message: 'the app defines no MlopsEnvironment; define one in the function given to runApp (see README)' });
  else if (envs.length === 0) {
    const stage = ctx(STAGE_CONTEXT_KEY);
    problems.push({ path: STAGE_CONTEXT_KEY, message: `stage ${JSON.stringify(stage)} selects no environment; stages available: ${stagesOf(all)}; select one of them (--stage <stage> or -c ${STAGE_CONTEXT_KEY}=<stage>), or add the stage to an environment's stages` });
  }
  problems.push(...validateTree(app).filter((p) => envs.some((e) => p.path === e.node.path || p.path.startsWith(`${e.node.path}/`))));
  return { app, envs, ctx, problems };
}

/**
 * A context value as the app should see it. The CDK CLI passes `-c key=value` values as strings,
 * so `-c 'mlplane:gcp={"project":"p"}'` arrives as text: a string holding a JSON object or list
 * is parsed (when it does not parse, the string is kept and the settings parser names it).
 */
export function contextValue(raw: unknown): unknown {
  if (typeof raw !== 'string' || !/^\s*[[{]/.test(raw)) return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** A warning as both CLIs print it: `warning [path] message (id)`. */
export function formatWarning(w: SynthWarning): string {
  return `warning [${w.path}] ${w.message} (${w.id})`;
}

/**
 * Run the recommended policy pack on an environment: unsuppressed errors become problems (they
 * block synthesis), warnings become warnings with the stable id `mlplane:policy:<rule>`.
 */
export function policyOf(env: MlopsEnvironment, model: EnvironmentModel, problems: Problem[], warnings: SynthWarning[]): PolicyReport {
  const report = runPolicy(model, env.policySuppressions);
  for (const f of report.findings) {
    if (f.level === 'error') problems.push({ path: f.path, message: `${f.message} (policy ${f.rule})` });
    else warnings.push({ id: `mlplane:policy:${f.rule}`, path: f.path, message: f.message });
  }
  return report;
}

/** Run one adapter for one environment; record its problems and return its output. */
export function runAdapter(app: App, env: MlopsEnvironment, model: EnvironmentModel, adapter: Adapter, ctx: (k: string) => unknown, problems: Problem[]): TargetOutput | undefined {
  const before = problems.length;
  problems.push(...unsupportedFeatures(model, adapter.target, adapter.capabilities));
  let settings: unknown;
  try {
    settings = adapter.parseSettings(settingsFor(ctx, adapter.target, env.node.id, env.stage));
  } catch (e) {
    if (!ValidationErrors.isValidationErrors(e)) throw e;
    problems.push(...e.problems);
  }
  if (problems.length > before) return undefined;
  try {
    if (adapter.kind === 'documents') {
      const result = adapter.synth(model, settings);
      const files = Object.keys(result.documents).sort();
      // The size is counted when first asked for (`mlplane synth` prints it; `cdk synth` never asks), by
      // serializing the documents again: holding every text until the app synthesizes would add their
      // size (~50 MB of gcp JSON at 1,000 pipelines) to the peak memory, and counting them here
      // serialized everything twice in every synth (~5 % of a gcp synth, bench/README.md).
      let bytes: number | undefined;
      return {
        target: adapter.target,
        kind: adapter.kind,
        files,
        get bytes() {
          return (bytes ??= files.reduce((n, f) => n + Buffer.byteLength(serialize(result.documents[f])), 0));
        },
        warnings: result.warnings,
        documents: result.documents,
        names: result.names,
      };
    }
    const existing = new Set(app.node.children);
    const result = adapter.synth(app, model, settings);
    const stacks = app.node.children.filter((c) => !existing.has(c)).map((c) => c.node.id);
    return { target: adapter.target, kind: adapter.kind, files: stacks, bytes: 0, warnings: result.warnings, names: result.names };
  } catch (e) {
    if (!ValidationErrors.isValidationErrors(e)) throw e;
    problems.push(...e.problems);
    return undefined;
  }
}

/** Serialize a document: objects as sorted-key JSON, strings as they are. */
export function serialize(doc: unknown): string {
  return typeof doc === 'string' ? doc : stableStringify(doc);
}

/**
 * Write the model and every document target's files into the cloud assembly when the app
 * synthesizes, and register each as an artifact of type `none` (the CDK CLI ignores those; the
 * mlplane CLI reads them).
 */
function attachWriter(env: MlopsEnvironment, model: EnvironmentModel, policy: PolicyReport, outputs: readonly TargetOutput[], warnings: readonly SynthWarning[]): void {
  attachCustomSynthesis(env, {
    onSynthesize(session) {
      const name = env.node.id;
      const modelFile = `${name}.model.json`;
      const modelText = stableStringify(model);
      fs.writeFileSync(path.join(session.outdir, modelFile), modelText);
      // Suppressed findings are recorded with their reasons, so a review sees every exception.
      fs.writeFileSync(path.join(session.outdir, `${name}.policy.json`), stableStringify(policy));
      session.assembly.addArtifact(`mlplane-${name}-model`, {
        type: cxschema.ArtifactType.NONE,
        properties: { mlplane: { kind: 'model', environment: name, file: modelFile, schemaVersion: model.schemaVersion, digest: digestOf(modelText) } } as never,
        // The warnings synthesis printed, recorded in the assembly as the CDK records annotations.
        ...(warnings.length > 0
          ? { metadata: groupBy(warnings, (w) => `/${w.path}`, (w) => ({ type: cxschema.ArtifactMetadataEntryType.WARN, data: `${w.message} [${w.id}]` })) }
          : {}),
      });
      for (const output of outputs) {
        const docs = output.documents;
        if (!docs) continue;
        const dir = `${name}.${output.target}`;
        fs.rmSync(path.join(session.outdir, dir), { recursive: true, force: true });
        const digests: Record<string, string> = {};
        // Each directory is made once (1,366 files in ~30 directories at 100 pipelines).
        const made = new Set<string>();
        for (const file of output.files) {
          const target = path.join(session.outdir, dir, file);
          const text = serialize(docs[file]);
          const parent = path.dirname(target);
          if (!made.has(parent)) {
            fs.mkdirSync(parent, { recursive: true });
            made.add(parent);
          }
          fs.writeFileSync(target, text);
          digests[file] = digestOf(text);
        }
        session.assembly.addArtifact(`mlplane-${name}-${output.target}`, {
          type: cxschema.ArtifactType.NONE,
          properties: { mlplane: { kind: 'documents', environment: name, target: output.target, directory: dir, files: output.files, digests } } as never,
        });
      }
    },
  });
}

function groupBy<T, V>(items: readonly T[], key: (t: T) => string, value: (t: T) => V): Record<string, V[]> {
  const out: Record<string, V[]> = {};
  for (const item of items) (out[key(item)] ??= []).push(value(item));
  return out;
}

function asStringList(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.filter((x): x is string => typeof x === 'string');
  if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  return [];
}

/** Global slot through which an app hands its definition to the mlplane CLI that loads it. */
const APP_LOADER = Symbol.for('mlplane.appLoader');

type LoaderSlot = { [APP_LOADER]?: (define: DefineApp) => void };

/**
 * The entry of a mlplane app: the file `cdk.json`'s `app` runs calls it once with a function
 * that defines the environments.
 *
 * Run by the CDK CLI (`cdk synth`), it defines, validates and synthesizes every selected target into
 * the cloud assembly, and exits 1 printing every problem when the definition is invalid. Loaded by
 * the mlplane CLI, it only hands `define` to the CLI, which builds the app itself.
 *
 * @example
 * import { MlopsEnvironment, Stage } from 'mlplane';
 * import { runApp } from 'mlplane/app';
 *
 * await runApp((app) => {
 *   new MlopsEnvironment(app, 'Demo', { stage: Stage.DEV });
 * });
 */
export async function runApp(define: DefineApp): Promise<void> {
  const loader = (globalThis as LoaderSlot)[APP_LOADER];
  if (loader) {
    loader(define);
    return;
  }
  try {
    const { app, warnings } = await buildApp({ define });
    // The CDK CLI shows the app's stderr: the same warning lines `mlplane synth` prints.
    for (const w of warnings) process.stderr.write(`${formatWarning(w)}\n`);
    app.synth();
  } catch (e) {
    // Definition problems (including ids the constructs library refuses) print as `[path] message`, without a stack trace.
    const problems = ValidationErrors.isValidationErrors(e) ? e : constructIdProblem(e);
    if (problems) {
      process.stderr.write(`${problems.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}

const loaded = new Map<string, DefineApp>();

/**
 * Load the app named by `cdk.json`'s `app` in `dir`, as the CDK CLI would run it, but in process:
 * the entry file (the `.ts`/`.js` file of the command) is imported and hands its definition over
 * through `runApp`. A TypeScript entry is loaded with tsx when mlplane itself runs compiled.
 *
 * @throws ValidationErrors (path `cdk.json`) when there is no app, its command names no file that
 * exists, or the file never calls `runApp`; each message says how to fix it.
 */
export async function loadApp(dir: string = process.cwd(), override?: string): Promise<DefineApp> {
  const manifest = path.join(dir, 'cdk.json');
  const fail = (message: string): never => {
    throw new ValidationErrors([{ path: override !== undefined ? '--app' : 'cdk.json', message }]);
  };
  let command: unknown = override;
  if (override === undefined) {
    if (!fs.existsSync(manifest)) {
      fail(`no app in ${dir}: there is no cdk.json here; run 'mlplane init' in an empty directory to create a project, run mlplane in your project's directory, or name the app with --app 'npx tsx bin/app.ts'`);
    }
    try {
      command = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { app?: unknown }).app;
    } catch (e) {
      fail(`cannot read ${manifest}: ${(e as Error).message}; fix the JSON`);
    }
  }
  if (typeof command !== 'string' || command.trim() === '') {
    fail(`no app: cdk.json has no "app" command (got ${JSON.stringify(command)}); set it to the command that runs your app, e.g. "npx tsx bin/app.ts"`);
  }
  const entry = (command as string).split(/\s+/).find((t) => /\.[cm]?[jt]sx?$/.test(t));
  if (!entry) fail(`app command '${command as string}' names no .ts or .js file; mlplane loads a Node app in process: name its entry file, e.g. "npx tsx bin/app.ts"`);
  const file = path.resolve(dir, entry as string);
  if (!fs.existsSync(file)) fail(`the app's entry ${entry as string} (from ${override !== undefined ? '--app' : '"app"'}: "${command as string}") does not exist in ${dir}; create it or fix ${override !== undefined ? '--app' : '"app" in cdk.json'}`);
  const known = loaded.get(file);
  if (known) return known;

  let captured: DefineApp | undefined;
  const slot = globalThis as LoaderSlot;
  slot[APP_LOADER] = (define) => {
    captured = define;
  };
  try {
    // From source (tsx, vitest) a TypeScript loader is already active; compiled, bring tsx in.
    if (/\.[cm]?tsx?$/.test(file) && !/\.ts$/.test(new URL(import.meta.url).pathname)) {
      const { register } = await import('tsx/esm/api');
      register();
    }
    await import(pathToFileURL(file).href);
  } finally {
    delete slot[APP_LOADER];
  }
  if (!captured) {
    fail(`the app's entry ${entry as string} did not call runApp(); define your environments in runApp((app) => { ... }) from 'mlplane/app' (see README)`);
  }
  loaded.set(file, captured!);
  return captured!;
}
