import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The shared conformance data (`../shared/conformance` next to the repository, or
 * `$MLPLANE_SHARED/conformance`). Tests read public specifications from here, never from a copy.
 */
export const CONFORMANCE_DIR: string = (() => {
  const candidates = [
    process.env.MLPLANE_SHARED ? path.join(process.env.MLPLANE_SHARED, 'conformance') : undefined,
    path.resolve(__dirname, '../../../shared/conformance'),
    '/work/shared/conformance',
  ].filter((c): c is string => c !== undefined);
  const found = candidates.find((c) => fs.existsSync(path.join(c, 'SOURCES.md')));
  if (!found) throw new Error(`conformance data not found; looked in ${candidates.join(', ')}; set MLPLANE_SHARED to the folder holding conformance/`);
  return found;
})();

/** A path inside the conformance data. */
export function conformancePath(...parts: string[]): string {
  return path.join(CONFORMANCE_DIR, ...parts);
}
