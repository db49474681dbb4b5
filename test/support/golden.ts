/**
 * Golden folders: every file a synth writes matches its golden file, and the folder holds no file the
 * synth no longer writes. Missing, changed and left-over goldens fail in every run; only
 * `vitest run <files> -u` (or `UPDATE_SNAPSHOT=all`) rewrites them, and then it also deletes the
 * left-overs. (Put `-u` after the files: `-u <file>` reads the file name as the update mode.)
 * vitest.config.ts makes "never write a missing golden" the default outside CI too.
 */
import { readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { expect } from 'vitest';

/** Every file under `dir`, as paths relative to it with `/` separators, sorted. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    let entries;
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return; // a folder that does not exist yet holds no files
    }
    for (const e of entries) {
      const full = join(at, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(relative(dir, full).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** True when this run rewrites goldens (`vitest -u`). */
export function updatingGoldens(): boolean {
  return expect.getState().snapshotState.snapshotUpdateState === 'all';
}

/**
 * Assert that `folder` (absolute) holds exactly `files` ({ relative path: content }).
 *
 * @throws an assertion failure naming the missing, changed or left-over golden file
 */
export async function expectGoldenFolder(folder: string, files: Readonly<Record<string, string>>): Promise<void> {
  if (!isAbsolute(folder)) throw new Error(`golden folder must be absolute, got ${folder}`);
  const wanted = Object.keys(files).sort();
  const extra = filesUnder(folder).filter((f) => !(f in files));
  if (updatingGoldens()) for (const f of extra) rmSync(join(folder, f));
  else expect(extra, `golden files in ${folder} that the synth no longer writes (run vitest run <file> -u to remove them)`).toEqual([]);
  for (const f of wanted) await expect(files[f]).toMatchFileSnapshot(join(folder, f));
}
