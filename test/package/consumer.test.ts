/**
 * mlplane as a real project uses it: packed with `npm pack`, installed into a fresh folder offline
 * (no sibling shared/), imported as a library, its compiled CLI run there, `mlplane init` scaffolding
 * a project that synthesizes at once, and `cdk synth` and `mlplane synth` giving the same artifacts.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, ROOT, filesUnder, install, run, type Installation } from './support';

let inst: Installation;
const node = process.execPath;
const bin = (name: string) => path.join(inst.dir, 'node_modules', '.bin', name);
const mlplane = (cwd: string, ...args: string[]) => run(node, [bin('mlplane'), ...args], cwd);

/** A new empty project folder inside the installation (its node_modules is the parent's). */
function project(name: string): string {
  const dir = path.join(inst.dir, name);
  fs.mkdirSync(dir);
  return dir;
}

beforeAll(async () => {
  inst = await install();
}, 240_000);

afterAll(() => {
  if (inst) fs.rmSync(inst.dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships compiled JS, declarations, the CLI bin, the spec data and the fonts with their licence, and no tests or TypeScript sources', () => {
    const files = inst.tarball;
    expect(files).toContain('package/dist/lib/index.js');
    expect(files).toContain('package/dist/lib/index.d.ts');
    expect(files).toContain('package/dist/bin/build.js');
    expect(files).toContain('package/bin/mlplane-cli.mjs');
    expect(files).toContain('package/spec-data/SOURCES.md');
    expect(files).toContain('package/spec-data/gcp/bigquery.v2.discovery.json');
    for (const f of ['LiberationSans-Regular.ttf', 'LiberationSans-Bold.ttf', 'LICENSE-Liberation.txt', 'SOURCES.md']) expect(files).toContain(`package/assets/fonts/${f}`);
    expect(files.filter((f) => f.startsWith('package/test/') || f.startsWith('package/stacks/') || f.startsWith('package/dist/stacks/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse(fs.readFileSync(path.join(inst.dir, 'node_modules', 'mlplane', 'package.json'), 'utf8'));
    expect(manifest.private).toBeUndefined();
    expect(manifest.name).toBe('mlplane');
  });
});

describe('an installed mlplane', () => {
  it("is importable: import { Pipeline } from 'mlplane' and runApp from 'mlplane/app'", async () => {
    const dir = project('importer');
    fs.writeFileSync(path.join(dir, 'main.mjs'), [
      "import { MlopsEnvironment, Pipeline } from 'mlplane';",
      "import { runApp } from 'mlplane/app';",
      "import { gcpAdapter } from 'mlplane/adapters/gcp';",
      "console.log(typeof Pipeline, typeof MlopsEnvironment, typeof runApp, gcpAdapter.target);",
    ].join('\n'));
    const r = await run(node, ['main.mjs'], dir);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function function gcp');
  });

  it('runs its CLI from compiled JS: --help loads no TypeScript, no tsx, no aws-cdk-lib and no renderer', async () => {
    const dir = project('help');
    const trace = path.join(dir, 'imports.txt');
    fs.writeFileSync(trace, '');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(node, ['--import', path.join(ROOT, 'test/support/trace-imports.mjs'), bin('mlplane'), '--help'], {
      cwd: dir, env: { ...ENV, TRACE_IMPORTS_FILE: trace }, encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: mlplane <command>');
    const loaded = fs.readFileSync(trace, 'utf8');
    expect(loaded).toContain('/node_modules/mlplane/dist/bin/mlplane.js');
    expect(loaded).not.toMatch(/\.ts\n|\/tsx\/|aws-cdk-lib|@azure|@google-cloud|@resvg|@viz-js/);
  });

  it('fails if there is no app: mlplane graph in an empty folder says so and how to make one', async () => {
    const dir = project('empty');
    const r = await mlplane(dir, 'graph');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`[cdk.json] no app in ${dir}: there is no cdk.json here; run 'mlplane init' in an empty directory to create a project`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['gcp', /listening; set MLPLANE_GCP_ENDPOINT=http:\/\/127\.0\.0\.1:\d+;/, 'BigQuery v2) listening'],
    ['azure', /listening on http.*\)/, '(request bodies checked against the ARM schemas)'],
  ])('starts the %s simulator with its spec data from the package (no sibling shared/)', async (target, ready, says) => {
    const dir = project(`simulate-${target}`);
    expect(fs.existsSync(path.join(inst.dir, '..', 'shared'))).toBe(false);
    const child = spawn(node, [bin('mlplane-simulate'), target, '--port', '0'], { cwd: dir, env: ENV });
    let output = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const seen = (chunk: Buffer) => {
          output += chunk.toString();
          if (ready.test(output)) resolve();
        };
        child.stdout.on('data', seen);
        child.stderr.on('data', seen);
        child.on('exit', (code) => reject(new Error(`simulator exited ${code}: ${output}`)));
      });
    } finally {
      child.kill('SIGTERM');
    }
    expect(output).toContain(says);
    expect(output).not.toMatch(/not found|NOT checked/);
  }, 60_000);
});

describe('mlplane init', () => {
  it('scaffolds a project that synthesizes offline at once, and cdk synth writes the same artifacts', async () => {
    const dir = project('fresh');
    const init = await mlplane(dir, 'init', '--target', 'gcp');
    expect(init.code, init.stderr).toBe(0);
    expect(filesUnder(dir)).toEqual(['.gitignore', 'README.md', 'bin/app.ts', 'cdk.json', 'package.json', 'tsconfig.json']);
    const cdkJson = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.json'), 'utf8'));
    expect(cdkJson).toMatchObject({ app: 'node --import tsx bin/app.ts', notices: false, context: { 'cli-telemetry': false, 'mlplane:target': 'gcp' } });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies).toEqual({ mlplane: '^0.1.0' });

    const synth = await mlplane(dir, 'synth', '--out', 'mlplane.out');
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stderr).toBe('');
    expect(synth.stdout).toMatch(/Demo\s+dev\s+1\s+model/);
    const cdk = await run(node, [bin('cdk'), 'synth', '--quiet', '--output', 'cdk.out'], dir);
    expect(cdk.code, cdk.stderr).toBe(0);

    // The same artifacts, byte for byte (the assembly's own bookkeeping files aside).
    const artifacts = (out: string) => filesUnder(path.join(dir, out)).filter((f) => !/^(manifest|tree|cdk\.out|validation-report)\.json$|\.metadata\.json$|^\./.test(f) && !f.startsWith('asset.'));
    expect(artifacts('cdk.out')).toEqual(artifacts('mlplane.out'));
    expect(artifacts('cdk.out')).toEqual(expect.arrayContaining(['Demo.model.json', 'Demo.policy.json', 'MlplaneNoAwsResources.template.json']));
    expect(artifacts('cdk.out').some((f) => f.startsWith('Demo.gcp/'))).toBe(true);
    for (const f of artifacts('cdk.out')) {
      expect(fs.readFileSync(path.join(dir, 'cdk.out', f), 'utf8'), f).toBe(fs.readFileSync(path.join(dir, 'mlplane.out', f), 'utf8'));
    }

    const check = await mlplane(dir, 'check', '--json');
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, problems: [] });
    const graph = await mlplane(dir, 'graph', '--json');
    expect(graph.code, graph.stderr).toBe(0);
    expect(JSON.parse(graph.stdout).files).toEqual([path.join('cdk.out', 'graph', 'Demo.mmd'), path.join('cdk.out', 'graph', 'Demo.dot')]);
    // PNG from the compiled package: its own WebAssembly renderer and fonts, the same bytes as from the sources.
    const png = await mlplane(dir, 'graph', '--format', 'png', '--json');
    expect(png.code, png.stderr).toBe(0);
    expect(JSON.parse(png.stdout).files).toEqual([path.join('cdk.out', 'graph', 'Demo.svg'), path.join('cdk.out', 'graph', 'Demo.png')]);
    const { svgToPng } = await import('../../bin/commands/png');
    const drawn = Buffer.from(await svgToPng(fs.readFileSync(path.join(dir, 'cdk.out', 'graph', 'Demo.svg'), 'utf8')));
    expect(fs.readFileSync(path.join(dir, 'cdk.out', 'graph', 'Demo.png')).equals(drawn)).toBe(true);
  }, 180_000);

  it("type-checks: the scaffold's bin/app.ts compiles against the package's declarations", async () => {
    const dir = project('typed');
    expect((await mlplane(dir, 'init')).code).toBe(0);
    const tsc = await run(node, [path.join(inst.dir, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', '.'], dir);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  }, 120_000);

  it('fails if the folder is not empty, naming it and the --force way out; --force keeps existing files', async () => {
    const dir = project('busy');
    fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"mine"}\n');
    const refused = await mlplane(dir, 'init');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`[init] folder ${dir} is not empty (package.json); run mlplane init in an empty folder, or pass --force`);
    expect(fs.readdirSync(dir)).toEqual(['package.json']);
    const forced = await mlplane(dir, 'init', '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('kept    package.json (exists)');
    expect(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).toBe('{"name":"mine"}\n');
    expect(fs.existsSync(path.join(dir, 'bin', 'app.ts'))).toBe(true);
  });

  it('fails if --target names an unknown target, with usage exit 2 and nothing written', async () => {
    const dir = project('typo');
    const r = await mlplane(dir, 'init', '--target', 'azre');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--target: unknown target 'azre'; use one of 'aws', 'azure', 'gcp', a comma-separated list, or 'all'");
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
