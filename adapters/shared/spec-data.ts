/**
 * Files that ship inside the mlplane package: its root folder and the public specifications the
 * simulators check request bodies against (`spec-data/`, see `spec-data/SOURCES.md`).
 *
 * The same code runs from source (`bin/`, `adapters/` through tsx) and compiled (`dist/bin/`,
 * `dist/adapters/`), so the root is found by walking up to mlplane's own `package.json`, never by
 * a fixed number of `..`. Nothing outside the package is read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The folder holding mlplane's `package.json` (the repository, or `node_modules/mlplane`).
 *
 * @throws Error when no such folder is above this file (a broken installation).
 */
export function packageRoot(): string {
  if (root) return root;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'mlplane') {
      root = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`mlplane's package.json not found above ${start}; reinstall mlplane`);
  }
}

/** A path inside the shipped spec data, e.g. `specDataPath('gcp', 'bigquery.v2.discovery.json')`. */
export function specDataPath(...parts: string[]): string {
  return path.join(packageRoot(), 'spec-data', ...parts);
}
