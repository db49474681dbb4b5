import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The shared conformance data: `$MLPLANE_SHARED/conformance`, or `../shared/conformance` next to the
 * repository. Tests read public specifications from here, never from a copy (the spec data the
 * simulators ship in `spec-data/` is checked against it in `test/package/spec-data.test.ts`).
 * `.ci/run` sets `MLPLANE_SHARED`.
 */
export const CONFORMANCE_DIR: string = (() => {
  const candidates = [
    process.env.MLPLANE_SHARED ? path.join(process.env.MLPLANE_SHARED, 'conformance') : undefined,
    path.resolve(__dirname, '../../../shared/conformance'),
  ].filter((c): c is string => c !== undefined);
  const found = candidates.find((c) => fs.existsSync(path.join(c, 'SOURCES.md')));
  if (!found) throw new Error(`conformance data not found; looked in ${candidates.join(', ')}; set MLPLANE_SHARED to the folder holding conformance/`);
  return found;
})();

/** A path inside the conformance data. */
export function conformancePath(...parts: string[]): string {
  return path.join(CONFORMANCE_DIR, ...parts);
}
