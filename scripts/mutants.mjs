#!/usr/bin/env node
/**
 * Mutation spot-check: apply one deliberate bug at a time to a temporary copy of the repo, run the
 * test file that claims to guard that behaviour, and expect at least one test to fail. Not part of
 * `npm test` (each mutant costs a vitest run).
 *
 *   node scripts/mutants.mjs                 # every mutant
 *   node scripts/mutants.mjs traffic lock    # the mutants whose id contains one of the words
 *
 * A mutant whose `from` text is not found exactly once in its file is reported as STALE (the code
 * moved on; update the mutant), so the list cannot silently stop mutating anything.
 *
 * Left out as equivalent: comparing the Vertex `trafficSplit` key by key instead of whole (an extra
 * live key can only hold 0 %, which Vertex treats like an absent key).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Each mutant: replace `from` by `to` in `file` (and each further edit in `also`, same file), then run `test`.
 * @type {{ id: string; file: string; from: string; to: string; also?: { from: string; to: string }[]; test: string; name?: string }[]}
 */
export const MUTANTS = [
  {
    id: 'traffic-sum-below-100-only',
    file: 'lib/endpoint.ts',
    from: 'if (sum !== 100) {',
    to: 'if (sum < 100) {',
    test: 'test/lib/validation.test.ts',
  },
  {
    id: 'gcp-diff-ignores-extra-live-keys',
    file: 'adapters/gcp/deploy/diff.ts',
    from: 'return ka.length === kb.length && ka.every((k) => equal(a[k], b[k]));',
    to: 'return ka.every((k) => equal(a[k], b[k]));',
    test: 'test/adapters/gcp-deploy/changes.test.ts',
  },
  {
    id: 'lock-lease-not-extended-by-journal',
    file: 'adapters/gcp/deploy/lock.ts',
    from: 'this.record = { ...this.record, expiresAt: new Date(Date.now() + this.leaseMs).toISOString(), renewedAt: new Date().toISOString(), intents: [...this.pending.values()] };',
    to: 'this.record = { ...this.record, intents: [...this.pending.values()] };',
    test: 'test/adapters/gcp-deploy/lock.test.ts',
    name: 'extends the lease',
  },
  {
    id: 'lock-expiry-not-extended-by-journal',
    file: 'adapters/gcp/deploy/lock.ts',
    from: 'this.record = { ...this.record, expiresAt: new Date(Date.now() + this.leaseMs).toISOString(),',
    to: 'this.record = { ...this.record,',
    test: 'test/adapters/gcp-deploy/lock.test.ts',
    name: 'extends the lease',
  },
  {
    id: 'settle-always-completed',
    file: 'adapters/gcp/deploy/apply.ts',
    from: "const state = !step ? 'gone from the plan' : step.item.action === 'noop' ? 'completed (found live, adopted)' : `still to do (${step.item.action})`;",
    to: "const state = 'completed (found live, adopted)';",
    test: 'test/adapters/gcp-deploy/crash-before-even.test.ts',
  },
  {
    id: 'kfp-loses-explicit-dependsOn',
    file: 'adapters/gcp/kfp.ts',
    from: 'for (const name of step.orderOnly) {',
    to: 'for (const name of step.orderOnly.slice(0, 0)) {',
    test: 'test/adapters/gcp/kfp.test.ts',
  },
  {
    id: 'nag-acknowledges-any-wildcard-resource',
    file: 'adapters/aws/nag.ts',
    from: 'const rule = WILDCARD_RESOURCES.find((w) => w.pattern.test(r));',
    to: 'const rule = WILDCARD_RESOURCES[0];',
    test: 'test/adapters/aws/nag.test.ts',
  },
  {
    id: 'azure-ignores-retry-after',
    file: 'adapters/azure/deploy/index.ts',
    from: "retryAfterMs: parseRetryAfter(e.response?.headers.get('retry-after')),",
    to: 'retryAfterMs: undefined,',
    test: 'test/adapters/azure-deploy/faults.test.ts',
  },
  {
    id: 'azure-destroy-owns-any-env-tag',
    file: 'adapters/azure/deploy/index.ts',
    // Both guards: ARM's filter on the tag value and the engine's own check of it.
    from: "{ filter: `tagName eq 'mlplane-env' and tagValue eq '${p.environment.replace(/'/g, \"''\")}'` })) {",
    to: "{ filter: `tagName eq 'mlplane-env'` })) {",
    also: [{ from: "if (r.tags?.['mlplane-env'] !== p.environment) continue;", to: "if (r.tags?.['mlplane-env'] === undefined) continue;" }],
    test: 'test/adapters/azure-deploy/destroy.test.ts',
  },
  // Further guards picked from lib/ and adapters/*/deploy.
  {
    id: 'mirror-share-limit-raised',
    file: 'lib/endpoint.ts',
    from: 'share < 0 || share > 50) problems.push(`mirrorTraffic for',
    to: 'share < 0 || share > 60) problems.push(`mirrorTraffic for',
    test: 'test/lib/validation.test.ts',
  },
  {
    id: 'mirror-total-unchecked',
    file: 'lib/endpoint.ts',
    from: 'if (mirrored > 50 && mirroredTo > 1)',
    to: 'if (mirrored > 500 && mirroredTo > 1)',
    test: 'test/lib/validation.test.ts',
  },
  {
    id: 'image-latest-tag-allowed',
    file: 'lib/registry.ts',
    from: 'if (/:latest$/.test(image)) {',
    to: 'if (/:latest-never$/.test(image)) {',
    test: 'test/lib/validation.test.ts',
  },
  {
    id: 'gcp-schema-column-removal-allowed',
    file: 'adapters/gcp/deploy/diff.ts',
    from: "if (!n) return `column '${prefix}${f.name}' would be removed`;",
    to: 'if (!n) continue;',
    test: 'test/adapters/gcp-deploy/changes.test.ts',
  },
  {
    id: 'azure-synth-traffic-over-100',
    file: 'adapters/azure/serving.ts',
    from: 'if (e.deployments.length > 0 && total !== 100) {',
    to: 'if (e.deployments.length > 0 && total < 100) {',
    test: 'test/adapters/azure/synth.test.ts',
  },
  {
    id: 'lock-silent-holder-never-gone',
    file: 'adapters/gcp/deploy/lock.ts',
    from: 'now - renewed > 3 * holder.heartbeatMs + 1000',
    to: 'now - renewed > 300 * holder.heartbeatMs + 1000',
    test: 'test/adapters/gcp-deploy/lock.test.ts',
    name: 'is gone when',
  },
];

/** Copy the repo (without .git and node_modules, which is linked) into a fresh temp folder. */
function copyRepo() {
  const dir = mkdtempSync(join(tmpdir(), 'mlplane-mutant-'));
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !/[\\/](\.git|node_modules|dist|cdk\.out)$/.test(src) });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function runMutant(m) {
  let source = readFileSync(join(ROOT, m.file), 'utf8');
  for (const edit of [{ from: m.from, to: m.to }, ...(m.also ?? [])]) {
    const count = source.split(edit.from).length - 1;
    if (count !== 1) return { verdict: 'STALE', detail: `'${edit.from}' found ${count} times in ${m.file}` };
    source = source.replace(edit.from, () => edit.to);
  }
  const dir = copyRepo();
  try {
    writeFileSync(join(dir, m.file), source);
    const report = join(dir, 'mutant-report.json');
    const args = ['vitest', 'run', m.test, '--reporter=json', `--outputFile=${report}`, ...(m.name ? ['-t', m.name] : [])];
    const started = Date.now();
    const r = spawnSync('npx', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '' }, timeout: 15 * 60_000 });
    const seconds = Math.round((Date.now() - started) / 1000);
    if (!existsSync(report)) return { verdict: 'ERROR', detail: `no report (exit ${r.status}): ${(r.stderr ?? '').slice(-400)}` };
    const json = JSON.parse(readFileSync(report, 'utf8'));
    const failed = json.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName));
    if (failed.length > 0) return { verdict: 'KILLED', detail: `${seconds}s; ${failed.length} failed, e.g. "${failed[0]}"` };
    if (json.numFailedTestSuites > 0) return { verdict: 'ERROR', detail: `${seconds}s; the test file failed to load (a mutant that does not compile proves nothing)` };
    return { verdict: 'SURVIVED', detail: `${seconds}s; ${json.numPassedTests} passed` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const words = process.argv.slice(2);
const chosen = MUTANTS.filter((m) => words.length === 0 || words.some((w) => m.id.includes(w)));
let bad = 0;
for (const m of chosen) {
  const { verdict, detail } = runMutant(m);
  if (verdict !== 'KILLED') bad += 1;
  console.log(`${verdict.padEnd(8)} ${m.id}  [${m.test}]  ${detail}`);
}
process.exit(bad === 0 ? 0 : 1);
