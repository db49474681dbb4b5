#!/usr/bin/env node
// Package bin: the compiled CLI in dist/ (built by `npm run build`, which `npm ci` and `npm pack`
// run through `prepare`). In a checkout that was never built, it runs the TypeScript sources
// through tsx instead (`npm run mlplane -- <command>` always does).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/bin/mlplane.js', import.meta.url);
let main;
if (existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(new URL('./mlplane.ts', import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
