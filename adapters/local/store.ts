/**
 * What `mlplane run` keeps on disk under `<app>/.mlplane/`: run directories, the step cache and
 * content digests.
 *
 * ```
 * .mlplane/runs/<runId>/run.json                       the run record
 * .mlplane/runs/<runId>/datasets/<Dataset>/            a --data file, staged as a directory
 * .mlplane/runs/<runId>/steps/<Step>/outputs/<name>/   artifact outputs
 * .mlplane/runs/<runId>/steps/<Step>/params/<name>     parameter output files
 * .mlplane/runs/<runId>/steps/<Step>/attempt-<n>.log   stdout + stderr of each attempt
 * .mlplane/cache/<key>/                                outputs of a cached execution + entry.json
 * .mlplane/registry/<registry>/<model>/                see registry-store.ts
 * ```
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stableStringify } from '../../lib/model/stable-json';

/** Paths of one run. */
export class RunLayout {
  public readonly dir: string;

  constructor(
    public readonly root: string,
    public readonly runId: string,
  ) {
    this.dir = path.join(root, 'runs', runId);
  }

  public get record(): string {
    return path.join(this.dir, 'run.json');
  }
  public dataset(id: string): string {
    return path.join(this.dir, 'datasets', id);
  }
  public stepDir(step: string): string {
    return path.join(this.dir, 'steps', step);
  }
  public artifact(step: string, output: string): string {
    return path.join(this.stepDir(step), 'outputs', output);
  }
  public paramsDir(step: string): string {
    return path.join(this.stepDir(step), 'params');
  }
  public param(step: string, output: string): string {
    return path.join(this.paramsDir(step), output);
  }
  public log(step: string, attempt: number): string {
    return path.join(this.stepDir(step), `attempt-${attempt}.log`);
  }
}

/** The `.mlplane` directory of an app. */
export function stateRoot(appDir: string): string {
  return path.join(appDir, '.mlplane');
}

/** A new run id: UTC time to the second plus 4 random hex digits (`20261203-181600-3f9a`). */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0')}`;
}

/** SHA-256 of a value's sorted-key JSON. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

/**
 * Content digest of a file or a directory tree: SHA-256 over every regular file's relative path
 * and content hash, in path order. Names of the root itself do not count.
 */
export function contentDigest(target: string): string {
  const entries: string[] = [];
  const walk = (p: string, rel: string) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name), rel ? `${rel}/${name}` : name);
    } else if (st.isFile()) {
      entries.push(`${rel}\0${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(target, '');
  return createHash('sha256').update(entries.join('\n')).digest('hex');
}

/** Replace `dir` by an empty directory. */
export function emptyDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
}

/** Write a file atomically (temp file + rename). */
export function writeAtomic(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.floor(Math.random() * 1e9)}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

/** What a cache entry holds besides the output files. */
export interface CacheEntry {
  readonly key: string;
  readonly step: string;
  readonly runId: string;
  /** Output name → kind. */
  readonly outputs: Readonly<Record<string, 'artifact' | 'parameter'>>;
}

/** The step cache under `.mlplane/cache/<key>/`: `outputs/<name>/`, `params/<name>`, `entry.json`. */
export class StepCache {
  constructor(private readonly dir: string) {}

  /** The entry of `key`, or undefined. */
  public lookup(key: string): CacheEntry | undefined {
    const file = path.join(this.dir, key, 'entry.json');
    if (!fs.existsSync(file)) return undefined;
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as CacheEntry;
    } catch {
      return undefined;
    }
  }

  /** Copy the outputs of `entry` into a run: `artifactDir(name)` and `paramFile(name)`. */
  public restore(entry: CacheEntry, artifactDir: (name: string) => string, paramFile: (name: string) => string): void {
    for (const [name, kind] of Object.entries(entry.outputs)) {
      const from = path.join(this.dir, entry.key, kind === 'artifact' ? 'outputs' : 'params', name);
      const to = kind === 'artifact' ? artifactDir(name) : paramFile(name);
      fs.rmSync(to, { recursive: true, force: true });
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.cpSync(from, to, { recursive: true });
    }
  }

  /** Store the outputs of a successful execution under `entry.key` (written aside, then renamed). */
  public store(entry: CacheEntry, artifactDir: (name: string) => string, paramFile: (name: string) => string): void {
    const final = path.join(this.dir, entry.key);
    if (fs.existsSync(final)) return;
    const tmp = path.join(this.dir, `.tmp-${entry.key}-${process.pid}-${Math.floor(Math.random() * 1e9)}`);
    fs.mkdirSync(tmp, { recursive: true });
    for (const [name, kind] of Object.entries(entry.outputs)) {
      const to = path.join(tmp, kind === 'artifact' ? 'outputs' : 'params', name);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.cpSync(kind === 'artifact' ? artifactDir(name) : paramFile(name), to, { recursive: true });
    }
    fs.writeFileSync(path.join(tmp, 'entry.json'), stableStringify(entry));
    try {
      fs.renameSync(tmp, final);
    } catch {
      // Another run stored the same key first: equal content by definition.
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
}
