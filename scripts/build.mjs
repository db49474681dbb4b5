#!/usr/bin/env node
/**
 * `npm run build`: compile the package into `dist/` (JavaScript + `.d.ts`, TypeScript's own emit
 * with tsconfig.build.json), then make the relative import specifiers of the output valid ESM for
 * Node: the sources import `./build` and `../lib` (resolved by tsx and the bundler-style
 * `moduleResolution`), Node needs `./build.js` and `../lib/index.js`. Each specifier is rewritten
 * only when the file it names exists in `dist/`; anything else is left as it is and reported.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

/** `from '…'`, `import '…'`, `import('…')` with a relative specifier. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.\.?\/[^'"\n]*)\2/g;
const unresolved = [];
let rewritten = 0;

function rewrite(file) {
  const dts = file.endsWith('.d.ts');
  const ext = dts ? '.d.ts' : '.js';
  const dir = path.dirname(file);
  const text = fs.readFileSync(file, 'utf8');
  const out = text.replace(SPECIFIER, (whole, lead, quote, spec) => {
    if (/\.(m?js|json)$/.test(spec)) return whole;
    const target = path.resolve(dir, spec);
    const suffix = fs.existsSync(`${target}${ext}`) ? '.js' : fs.existsSync(path.join(target, `index${ext}`)) ? '/index.js' : undefined;
    if (suffix === undefined) {
      unresolved.push(`${path.relative(root, file)}: ${spec}`);
      return whole;
    }
    rewritten++;
    return `${lead}${quote}${spec}${suffix}${quote}`;
  });
  if (out !== text) fs.writeFileSync(file, out);
}

for (const entry of fs.readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (entry.isFile() && /\.(js|d\.ts)$/.test(entry.name)) rewrite(path.join(entry.parentPath, entry.name));
}
if (unresolved.length > 0) {
  process.stderr.write(`build: ${unresolved.length} relative import(s) name no file in dist/:\n  ${unresolved.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(`build: dist/ compiled; ${rewritten} relative imports made explicit for Node ESM\n`);
