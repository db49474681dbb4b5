import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveContext, sourceApp, type Args } from '../cli-args';
import { table } from './table';

/**
 * `mlplane check`: exactly synth's validation — the same targets (context `mlplane:target`, or
 * `--target`), policy, adapter warnings and strict mode — without writing anything, plus the
 * capability matrix app × target. Exits 1 when synth would fail.
 */
export async function run(args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (args.flags.parity === true) return parity(args, out, err);
  const { analyzeApp, formatWarning, prepareSynthesis } = await import('../build');
  const { FEATURES, featuresUsed, formatProblem } = await import('../../lib');
  type PolicyReport = import('../../lib').PolicyReport;

  // Synthesis also runs validation plugins (cdk-nag, CloudFormation validation of the aws target):
  // check synthesizes into a scratch directory that it removes, so nothing of the user's changes.
  const context = resolveContext(args);
  const app = sourceApp(args);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-check-'));
  let analysis: Awaited<ReturnType<typeof analyzeApp>>;
  const problems: import('../../lib').Problem[] = [];
  try {
    analysis = await analyzeApp({ context, strict: args.flags.strict === true ? true : undefined, outdir: scratch, app });
    problems.push(...analysis.problems);
    if (problems.length === 0 && analysis.adapters.some((a) => a.kind === 'constructs')) {
      await prepareSynthesis(analysis);
      try {
        analysis.app.synth();
      } catch (e) {
        problems.push({ path: '/', message: `synthesis failed: ${(e as Error).message}` });
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const { environments, adapters, warnings } = analysis;
  const envCount = environments.length;
  const uses = new Map<string, Set<string>>();
  const policies: Array<{ environment: string } & PolicyReport> = [];
  for (const env of environments) {
    policies.push({ environment: env.name, ...env.policy });
    for (const u of featuresUsed(env.model)) uses.set(u.feature, (uses.get(u.feature) ?? new Set()).add(u.path));
  }

  const features = [...uses.keys()].sort();
  const matrix = features.map((f) => ({
    feature: f,
    description: FEATURES[f as keyof typeof FEATURES],
    usedBy: [...uses.get(f)!].sort(),
    support: Object.fromEntries(adapters.map((a) => [a.target, a.capabilities[f as keyof typeof FEATURES]])),
  }));
  const sorted = [...problems].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (args.flags.json) {
    out.write(`${JSON.stringify({ ok: sorted.length === 0, problems: sorted, warnings, policy: policies, targets: adapters.map((a) => a.target), matrix }, null, 2)}\n`);
  } else {
    if (sorted.length > 0) {
      err.write(`${sorted.length} problem${sorted.length === 1 ? '' : 's'}:\n${sorted.map((p) => `  ${formatProblem(p)}`).join('\n')}\n\n`);
    }
    for (const w of warnings) err.write(`${formatWarning(w)}\n`);
    for (const p of policies) for (const s of p.suppressed) out.write(`suppressed ${s.rule} at [${s.path}]: ${s.reason}\n`);
    const mark = (s: { level: string } | undefined) => (s === undefined ? '?' : s.level === 'native' ? 'native' : s.level === 'emulated' ? 'emulated' : 'NO');
    out.write(`Capability matrix (${envCount} environment${envCount === 1 ? '' : 's'} × ${adapters.length} target${adapters.length === 1 ? '' : 's'})\n\n`);
    out.write(table(['feature', 'used by', ...adapters.map((a) => a.target)], matrix.map((m) => [m.feature, String(m.usedBy.length), ...adapters.map((a) => mark(m.support[a.target]))])));
    const notes = matrix.flatMap((m) => adapters.flatMap((a) => {
      const s = m.support[a.target];
      return s?.level === 'emulated' ? [`  ${a.target} ${m.feature}: ${s.how}`] : s?.level === 'unsupported' ? [`  ${a.target} ${m.feature}: not supported; ${s.alternative}`] : [];
    }));
    if (notes.length > 0) out.write(`\n${notes.join('\n')}\n`);
    out.write(sorted.length === 0 ? '\nNo problems.\n' : `\n${sorted.length} problem${sorted.length === 1 ? '' : 's'} (listed on stderr).\n`);
  }
  return sorted.length === 0 ? 0 : 1;
}

/**
 * `mlplane check --parity`: for every feature × target, what a user gets — `same`,
 * `approximated (warning id)` or `refused (error)` — generated from the adapters' capability
 * declarations (the same declarations synth enforces; test/parity/ checks that synth behaves as
 * declared). `--markdown --target <t>` prints the README section of one target; `--json` the data.
 */
async function parity(args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { parseTargets } = await import('../build');
  const { loadAdapter, targetNames } = await import('../../adapters/registry');
  const { FEATURES, parityCell, parityOf, renderParityMarkdown } = await import('../../lib');
  type Feature = import('../../lib').Feature;
  const selected = typeof args.flags.target === 'string' ? parseTargets(args.flags.target) : { targets: targetNames(), problems: [] };
  if (selected.problems.length > 0) {
    for (const p of selected.problems) err.write(`[${p.path}] ${p.message}\n`);
    return 1;
  }
  const adapters = await Promise.all(selected.targets.map(loadAdapter));
  const features = Object.keys(FEATURES) as Feature[];
  if (args.flags.markdown === true) {
    if (adapters.length !== 1) {
      err.write(`--markdown prints one target's README section; pass --target with one of ${targetNames().join(', ')}\n`);
      return 1;
    }
    const a = adapters[0]!;
    out.write(`${renderParityMarkdown(a.target, a.capabilities)}\n`);
    return 0;
  }
  if (args.flags.json === true) {
    const rows = features.map((f) => ({ feature: f, description: FEATURES[f], targets: Object.fromEntries(adapters.map((a) => [a.target, parityOf(a.capabilities[f])])) }));
    out.write(`${JSON.stringify({ targets: adapters.map((a) => a.target), parity: rows }, null, 2)}\n`);
    return 0;
  }
  out.write(`Parity (${features.length} features × ${adapters.length} target${adapters.length === 1 ? '' : 's'}): same, approximated (warning id) or refused (error)\n\n`);
  out.write(table(['feature', ...adapters.map((a) => a.target)], features.map((f) => [f, ...adapters.map((a) => parityCell(parityOf(a.capabilities[f])))])));
  const notes = features.flatMap((f) =>
    adapters.flatMap((a) => {
      const p = parityOf(a.capabilities[f]);
      return p.verdict === 'same' ? [] : [`  ${a.target} ${f}: ${p.verdict === 'refused' ? 'refused; ' : ''}${p.detail}`];
    }),
  );
  if (notes.length > 0) out.write(`\n${notes.join('\n')}\n`);
  return 0;
}
