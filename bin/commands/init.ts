/**
 * `mlplane init [dir] [--target <names>] [--force]`: scaffold a new mlplane project in an empty
 * directory — package.json depending on mlplane, cdk.json (the app, context with placeholder
 * settings for every target, notices and telemetry off), tsconfig.json, bin/app.ts with one
 * environment, .gitignore and a README — that synthesizes offline as soon as its dependencies are
 * installed. Writes files only; runs no npm command and uses no network.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, type Args } from '../cli-args';

/** Versions the scaffold depends on: mlplane itself, and the tools it already uses. */
interface Versions {
  readonly mlplane: string;
  readonly awsCdk: string;
  readonly tsx: string;
  readonly typescript: string;
  readonly typesNode: string;
}

/** The files of a new project, by path relative to its folder. */
export function scaffold(name: string, target: string, v: Versions): Record<string, string> {
  const json = (x: unknown) => `${JSON.stringify(x, null, 2)}\n`;
  return {
    'package.json': json({
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        synth: 'mlplane synth',
        check: 'mlplane check',
        graph: 'mlplane graph',
        simulate: 'mlplane-simulate',
        typecheck: 'tsc --noEmit -p .',
      },
      dependencies: { mlplane: `^${v.mlplane}` },
      devDependencies: { '@types/node': v.typesNode, 'aws-cdk': v.awsCdk, tsx: v.tsx, typescript: v.typescript },
    }),
    'cdk.json': json({
      app: 'node --import tsx bin/app.ts',
      notices: false,
      watch: { include: ['bin/**'] },
      context: {
        'cli-telemetry': false,
        'mlplane:target': target,
        // Placeholders: synthesis works offline with them; put your own before deploying.
        'mlplane:azure': { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: `${name}-rg`, location: 'westeurope' },
        'mlplane:gcp': { project: `${name}-project`, region: 'europe-west4', network: 'projects/000000000000/global/networks/default' },
        'mlplane:aws': { account: '123456789012', region: 'eu-west-1' },
        // What `cdk context` would cache for the placeholder account, so the aws target synthesizes offline.
        'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
      },
    }),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023'],
        types: ['node'],
        strict: true,
        skipLibCheck: true,
        noEmit: true,
      },
      include: ['bin/**/*.ts'],
    }),
    'bin/app.ts': APP,
    '.gitignore': 'node_modules/\ncdk.out/\n*.log\n.mlplane/\n',
    'README.md': readme(name),
  };
}

const APP = `/**
 * The CDK app (cdk.json \`app\`): \`npx cdk synth\` runs this file, \`npx mlplane\` loads it.
 * Define your environments in the function given to runApp.
 */
import { Dataset, Duration, Field, MlopsEnvironment, Schema, Stage } from 'mlplane';
import { runApp } from 'mlplane/app';

await runApp((app) => {
  const env = new MlopsEnvironment(app, 'Demo', { stage: Stage.DEV });

  new Dataset(env, 'Events', {
    schema: Schema.of({ eventId: Field.string({ nullable: false }), value: Field.float(), ts: Field.timestamp() }),
    partitionBy: { field: 'ts' },
    retention: Duration.days(90),
  });
});
`;

function readme(name: string): string {
  return `# ${name}

An MLOps environment defined once with [mlplane](https://www.npmjs.com/package/mlplane) and synthesized
for Azure ML, Vertex AI + BigQuery, or a self-managed stack on AWS.

\`\`\`sh
npm install
npx mlplane synth          # every target's artifacts in cdk.out/, offline (npx cdk synth does the same)
npx mlplane check          # every problem and the capability matrix
npx mlplane graph          # pictures of pipelines and the environment
\`\`\`

The environments are in \`bin/app.ts\`; the target (\`mlplane:target\`) and each cloud's settings are
context in \`cdk.json\` (the values there are placeholders: set your own before \`mlplane deploy\`).
\`npm run simulate -- gcp\` starts a local Vertex AI + BigQuery simulator to dry-run a deploy.
`;
}

/** `mlplane init`: write the scaffold; exits 1 when the folder is not empty (unless --force). */
export async function run(args: Args, out: NodeJS.WritableStream): Promise<number> {
  if (args.positional.length > 1) throw new UsageError(`init takes at most one folder, got ${args.positional.join(' ')}`);
  const dir = path.resolve(args.positional[0] ?? '.');
  const target = typeof args.flags.target === 'string' ? args.flags.target : 'all';
  // The registry only (not the build, which loads aws-cdk-lib): init stays as quick as --help.
  const { targetNames } = await import('../../adapters/registry');
  const known = targetNames();
  const unknown = target === 'all' ? [] : target.split(',').map((t) => t.trim()).filter((t) => !known.includes(t));
  if (unknown.length > 0) throw new UsageError(`--target: unknown target ${unknown.map((t) => `'${t}'`).join(', ')}; use one of ${known.map((k) => `'${k}'`).join(', ')}, a comma-separated list, or 'all'`);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UsageError(`${dir} is a file; give a folder to init`);
  const present = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f !== '.git') : [];
  const force = args.flags.force === true;
  if (present.length > 0 && !force) {
    const { ValidationErrors } = await import('../../lib/core/errors');
    throw new ValidationErrors([{ path: 'init', message: `folder ${dir} is not empty (${present.slice(0, 5).join(', ')}${present.length > 5 ? ', …' : ''}); run mlplane init in an empty folder, or pass --force to add the files that do not exist yet (existing files are kept)` }]);
  }
  const files = scaffold(packageName(path.basename(dir)), target, await versions());
  const written: string[] = [];
  const kept: string[] = [];
  for (const [file, content] of Object.entries(files)) {
    const p = path.join(dir, file);
    if (fs.existsSync(p)) {
      kept.push(file);
      continue;
    }
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
    written.push(file);
  }
  if (args.flags.json) {
    out.write(`${JSON.stringify({ directory: dir, written, kept }, null, 2)}\n`);
    return 0;
  }
  out.write(`${written.map((f) => `created ${f}`).join('\n')}\n`);
  if (kept.length > 0) out.write(`${kept.map((f) => `kept    ${f} (exists)`).join('\n')}\n`);
  const cd = path.relative(process.cwd(), dir);
  out.write(`\nNext:\n${cd ? `  cd ${cd}\n` : ''}  npm install\n  npx mlplane synth\n`);
  return 0;
}

/** An npm package name from a folder name (lower case, no spaces), `mlops-app` when nothing is left. */
export function packageName(folder: string): string {
  const name = folder.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+|[-]+$/g, '');
  return name || 'mlops-app';
}

async function versions(): Promise<Versions> {
  const { packageRoot } = await import('../../adapters/shared/spec-data');
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const dep = (name: string) => pkg.dependencies[name] ?? pkg.devDependencies?.[name] ?? 'latest';
  return { mlplane: pkg.version, awsCdk: dep('aws-cdk'), tsx: dep('tsx'), typescript: dep('typescript'), typesNode: dep('@types/node') };
}
