/**
 * `npm run bench`: whole `cdk synth`-equivalent processes (`bench/app.ts`) of the generated bench
 * app per target, against the hand-written aws-cdk-lib baseline of the same resource types and
 * about the same count (`bench/baseline.ts`), as ratios of CPU time, wall time and peak memory,
 * and the scaling factor (CPU at 10× the pipelines ÷ CPU at 1×).
 *
 * The machine is shared, so the runs of a size are interleaved (baseline, aws, azure, gcp, all,
 * baseline, aws, …) and each figure is the median of `--repeat` runs. Built-in CloudFormation
 * validation is off in both unless a row says so; the extra rows show the cost of cdk-nag and of
 * built-in validation.
 *
 *   node --import tsx bench/synth.bench.ts                 10 and 100 pipelines, 3 runs each
 *   node --import tsx bench/synth.bench.ts --full          also 1,000 pipelines
 *   node --import tsx bench/synth.bench.ts --extras        also aws without cdk-nag, and both with built-in validation
 *   node --import tsx bench/synth.bench.ts --sizes 100 --repeat 5 --only baseline,aws
 *   node --import tsx bench/synth.bench.ts --tsx           run the TypeScript sources under tsx instead of dist/
 *
 * Both sides run as plain JavaScript by default, as the installed package does: mlplane from `dist/`
 * (built first with `scripts/build.mjs`), and `bench/app.ts`, `generate.ts` and `baseline.ts`
 * transpiled next to it into `dist/bench/` (esbuild, the transpiler tsx uses). `--tsx` runs both
 * sides from source under `node --import tsx` instead (the tsx loader adds ~0.3–0.5 s CPU to each).
 */
import { execFileSync } from 'node:child_process';
import { transformSync } from 'esbuild';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { recordBenchResults, type BenchRow } from './chart';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const full = args.includes('--full');
const sizes = opt('sizes', full ? '10,100,1000' : '10,100').split(',').map(Number);
const repeat = Number(opt('repeat', '3'));
const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.join(here, '..');
const useTsx = args.includes('--tsx');
const cdkContext = (JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

/** One row of the table: a process to run and the context it gets. */
interface Subject {
  readonly name: string;
  /** mlplane target, or undefined for the hand-written baseline. */
  readonly target?: string;
  readonly validation?: boolean;
  readonly nag?: boolean;
  /** Rows measured only with `--extras` (or named in `--only`). */
  readonly extra?: boolean;
}

const SUBJECTS: readonly Subject[] = [
  { name: 'baseline' },
  { name: 'aws', target: 'aws' },
  { name: 'azure', target: 'azure' },
  { name: 'gcp', target: 'gcp' },
  { name: 'azure+gcp', target: 'azure,gcp' },
  { name: 'all', target: 'all' },
  { name: 'aws no cdk-nag', target: 'aws', nag: false, extra: true },
  { name: 'baseline +valid.', validation: true, extra: true },
  { name: 'aws +valid.', target: 'aws', validation: true, extra: true },
];
const only = opt('only', '').split(',').filter(Boolean);
const subjects = SUBJECTS.filter((s) => (only.length > 0 ? only.includes(s.name) : !s.extra || args.includes('--extras')));

/**
 * Build `dist/` and transpile the bench's own entry files into `dist/bench/`, with their relative
 * imports made explicit for Node ESM (`../bin/build` → `../bin/build.js`) as `scripts/build.mjs` does.
 */
function buildDist(): string {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const out = path.join(root, 'dist', 'bench');
  fs.mkdirSync(out, { recursive: true });
  for (const name of ['app', 'generate', 'baseline']) {
    const { code } = transformSync(fs.readFileSync(path.join(here, `${name}.ts`), 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' });
    const js = code.replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.\.?\/[^'"\n]*)\2/g, (_whole, lead: string, quote: string, spec: string) => {
      const target = path.resolve(out, spec);
      const suffix = fs.existsSync(`${target}.js`) || fs.existsSync(path.join(here, `${spec}.ts`)) ? '.js' : fs.existsSync(path.join(target, 'index.js')) ? '/index.js' : undefined;
      if (suffix === undefined) throw new Error(`bench/${name}.ts: import '${spec}' names no file in dist/`);
      return `${lead}${quote}${spec}${suffix}${quote}`;
    });
    fs.writeFileSync(path.join(out, `${name}.js`), js);
  }
  return path.join(out, 'app.js');
}
const entry = useTsx ? ['--import', 'tsx', path.join(here, 'app.ts')] : [buildDist()];

interface Run { cpuMs: number; wallMs: number; maxRssMiB: number; resources: number }

function runOnce(s: Subject, pipelines: number): Run {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-bench-'));
  const context = s.target ? { ...cdkContext, 'mlplane:target': s.target, ...(s.nag === false ? { 'mlplane:cdkNag': false } : {}) } : {};
  const t0 = performance.now();
  try {
    const out = execFileSync(process.execPath, ['--max-old-space-size=16384', ...entry, ...(s.target ? [] : ['baseline'])], {
      cwd: root,
      env: {
        ...process.env,
        CDK_DISABLE_VERSION_CHECK: '1',
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify(context),
        CDK_VALIDATION: s.validation ? 'true' : 'false',
        MLPLANE_BENCH_PIPELINES: String(pipelines),
      },
      encoding: 'utf8',
      maxBuffer: 1 << 26,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const wallMs = performance.now() - t0;
    const usage = JSON.parse(out.trim().split('\n').pop()!) as { cpuMs: number; maxRssMiB: number };
    return { ...usage, wallMs: Math.round(wallMs), resources: resourcesIn(outdir) };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function resourcesIn(outdir: string): number {
  let n = 0;
  for (const f of fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json'))) {
    n += Object.keys((JSON.parse(fs.readFileSync(path.join(outdir, f), 'utf8')) as { Resources?: object }).Resources ?? {}).length;
  }
  return n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const pad = (s: string | number, n: number) => String(s).padStart(n);
const ratio = (a: number, b: number) => (a / b).toFixed(2);

console.log(`mlplane synthesis benchmark — whole processes (${useTsx ? 'tsx, from source' : 'plain JS, dist/'}), ${repeat} interleaved run(s) per cell, medians; node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}\n`);
console.log(`${'pipelines'.padEnd(10)}${'subject'.padEnd(18)}${pad('CPU s', 8)}${pad('wall s', 8)}${pad('peak MiB', 9)}${pad('CFN res', 8)}${pad('CPU ×', 7)}${pad('wall ×', 8)}${pad('mem ×', 7)}`);
const cpuBy = new Map<string, number>();
const benchRows: BenchRow[] = [];
for (const size of sizes) {
  const runs = new Map<string, Run[]>(subjects.map((s) => [s.name, []]));
  const failed = new Map<string, string>();
  for (let r = 0; r < repeat; r++) {
    for (const s of subjects) {
      if (failed.has(s.name)) continue;
      try {
        runs.get(s.name)!.push(runOnce(s, size));
      } catch (e) {
        const stderr = String((e as { stderr?: string }).stderr ?? e);
        failed.set(s.name, stderr.split('\n').find((l) => /Error|problem|\[/.test(l))?.slice(0, 160) ?? 'failed');
      }
    }
  }
  const med = new Map<string, Run>();
  for (const [name, rs] of runs) {
    if (rs.length === 0) continue;
    med.set(name, { cpuMs: median(rs.map((x) => x.cpuMs)), wallMs: median(rs.map((x) => x.wallMs)), maxRssMiB: median(rs.map((x) => x.maxRssMiB)), resources: rs[0]!.resources });
  }
  const base = med.get('baseline');
  for (const s of subjects) {
    const m = med.get(s.name);
    if (!m) {
      console.log(`${String(size).padEnd(10)}${s.name.padEnd(18)}  failed: ${failed.get(s.name) ?? 'not run'}`);
      continue;
    }
    cpuBy.set(`${s.name}@${size}`, m.cpuMs);
    const rel = base ? `${pad(ratio(m.cpuMs, base.cpuMs), 7)}${pad(ratio(m.wallMs, base.wallMs), 8)}${pad(ratio(m.maxRssMiB, base.maxRssMiB), 7)}` : '';
    console.log(`${String(size).padEnd(10)}${s.name.padEnd(18)}${pad((m.cpuMs / 1000).toFixed(2), 8)}${pad((m.wallMs / 1000).toFixed(2), 8)}${pad(m.maxRssMiB, 9)}${pad(m.resources, 8)}${rel}`);
    if (base) benchRows.push({ label: `${s.name}, ${size} pipelines`, value: m.cpuMs / 1000, baseline: base.cpuMs / 1000, unit: 's', group: `CPU time, ${size} pipelines` });
  }
  console.log('');
}

const scaling: string[] = [];
for (const s of subjects) {
  for (const size of sizes) {
    const a = cpuBy.get(`${s.name}@${size}`);
    const b = cpuBy.get(`${s.name}@${size * 10}`);
    if (a && b) scaling.push(`${s.name} ${size}→${size * 10}: ${ratio(b, a)}×`);
  }
}
if (scaling.length > 0) console.log(`scaling (CPU at 10× the pipelines ÷ CPU at 1×): ${scaling.join('; ')}\n`);
console.log('× columns are ratios to "baseline": the hand-written aws-cdk-lib app of bench/baseline.ts with about as many CloudFormation resources');
console.log('of the same types as the aws target emits. Built-in CloudFormation validation is off unless the row says +valid.; cdk-nag runs on every');
console.log('aws synth unless the row says so. Lower is better. CPU = user + system time of the whole process (startup included).');
console.log(useTsx ? 'Both sides ran from source under node --import tsx.' : 'Both sides ran as plain JavaScript: mlplane from dist/ (scripts/build.mjs), the bench entry files transpiled into dist/bench/.');
if (benchRows.length > 0) console.log(`chart: ${recordBenchResults('synth', benchRows, { title: 'mlplane synth vs the hand-written aws-cdk-lib baseline (CPU)' }).svg}`);
