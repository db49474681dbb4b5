/**
 * A consumer's view of mlplane: the package as `npm pack` makes it, installed into a temporary
 * folder with no network — its dependencies are symlinks to this repository's node_modules (what
 * `npm install` would put there), and there is no sibling `shared/` folder.
 */
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

export const ROOT = path.resolve(__dirname, '../..');
const exec = promisify(execFile);

/** Environment of every command: offline, no version check, no telemetry. */
export const ENV = { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: '1', METADATA_SERVER_DETECTION: 'none', MLPLANE_SHARED: '' };

/** Newest modification time of the sources compiled into dist/. */
function newestSource(): number {
  let newest = fs.statSync(path.join(ROOT, 'tsconfig.build.json')).mtimeMs;
  for (const dir of ['bin', 'lib', 'adapters']) {
    for (const f of fs.readdirSync(path.join(ROOT, dir), { recursive: true }).map(String)) {
      if (f.endsWith('.ts')) newest = Math.max(newest, fs.statSync(path.join(ROOT, dir, f)).mtimeMs);
    }
  }
  return newest;
}

/** Build dist/ unless it is newer than every source (`npm ci` builds it through `prepare`). */
export function ensureBuilt(): void {
  const stamp = path.join(ROOT, 'dist', 'lib', 'index.js');
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs > newestSource()) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
}

/** A folder with the packed mlplane installed in `node_modules/`, plus the tarball's file list. */
export interface Installation {
  /** Holds `node_modules/`; projects are folders inside it. */
  readonly dir: string;
  /** Paths inside the tarball (`package/...`). */
  readonly tarball: readonly string[];
}

/** `npm pack`, then install the tarball into a fresh folder offline. */
export async function install(): Promise<Installation> {
  ensureBuilt();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-consumer-'));
  const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env: ENV });
  const file = path.join(dir, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
  const tarball = (await exec('tar', ['-tzf', file])).stdout.split('\n').filter(Boolean);
  const modules = path.join(dir, 'node_modules');
  const pkg = path.join(modules, 'mlplane');
  fs.mkdirSync(pkg, { recursive: true });
  await exec('tar', ['-xzf', file, '-C', pkg, '--strip-components=1']);
  // Dependencies: what npm would install, taken from this repository (no registry, no network).
  const source = fs.realpathSync(path.join(ROOT, 'node_modules'));
  for (const entry of fs.readdirSync(source)) {
    if (entry === 'mlplane' || entry.startsWith('.')) continue;
    fs.symlinkSync(path.join(source, entry), path.join(modules, entry));
  }
  // The package's bins, linked as npm links them.
  const bins = path.join(modules, '.bin');
  fs.mkdirSync(bins);
  const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  for (const [name, target] of Object.entries(manifest.bin)) fs.symlinkSync(path.join('..', 'mlplane', target), path.join(bins, name));
  fs.symlinkSync(path.join(source, '.bin', 'cdk'), path.join(bins, 'cdk'));
  return { dir, tarball };
}

/** Run `file args` in `cwd`; never throws on a non-zero exit. */
export async function run(file: string, args: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(file, [...args], { cwd, env: ENV, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

/** Files under `dir`, relative, sorted. */
export function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}
