/**
 * Deploy what was synthesized: read the models and documents `mlplane synth` / `cdk synth` wrote
 * into a cloud assembly (`cdk.out/`), refusing a model this version cannot read (a newer
 * `schemaVersion`) and any file whose content differs from the digest recorded at synth
 * (truncated, hand-edited). CI synthesizes once, reviews, and deploys exactly that artifact.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValidationErrors, type Problem } from '../lib/core/errors';
import { MODEL_SCHEMA_VERSION, type EnvironmentModel } from '../lib/model/types';

/** The digest recorded at synth for a file's bytes: `sha256:<hex>`. */
export function digestOf(content: string | Buffer): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/** One environment of a synthesized artifact. */
export interface ArtifactEnvironment {
  readonly name: string;
  readonly model: EnvironmentModel;
  /** Documents per document target, as the adapter returned them (JSON files parsed). */
  readonly documents: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

interface MlplaneProperties {
  readonly kind?: unknown;
  readonly environment?: unknown;
  readonly target?: unknown;
  readonly file?: unknown;
  readonly directory?: unknown;
  readonly files?: unknown;
  readonly digest?: unknown;
  readonly digests?: unknown;
}

/**
 * Read and verify the artifact in `dir`.
 *
 * @throws ValidationErrors naming each refused file, why, and how to re-synthesize.
 */
export function loadArtifact(dir: string): ArtifactEnvironment[] {
  const resynth = `re-synthesize with \`mlplane synth -o ${dir}\` (or \`cdk synth -o ${dir}\`) and deploy that`;
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) throw new ValidationErrors([{ path: dir, message: `is not a cloud assembly (no manifest.json); ${resynth}` }], 'Cannot deploy the artifact');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { artifacts?: Record<string, { properties?: { mlplane?: MlplaneProperties } }> };
  const problems: Problem[] = [];
  const envs = new Map<string, { model?: EnvironmentModel; documents: Record<string, Record<string, unknown>> }>();
  const entry = (name: string) => envs.get(name) ?? envs.set(name, { documents: {} }).get(name)!;
  // Read a file of the assembly and check it against its recorded digest.
  const verified = (file: string, digest: unknown): string | undefined => {
    const full = path.join(dir, file);
    if (!fs.existsSync(full)) {
      problems.push({ path: file, message: `is listed in ${manifestFile} but missing; ${resynth}` });
      return undefined;
    }
    const bytes = fs.readFileSync(full);
    if (typeof digest !== 'string') {
      problems.push({ path: file, message: `has no digest recorded at synth (synthesized by an older mlplane); ${resynth}` });
      return undefined;
    }
    const actual = digestOf(bytes);
    if (actual !== digest) {
      problems.push({ path: file, message: `was changed after synth (${actual} ≠ recorded ${digest}): a truncated or hand-edited artifact is not deployed; ${resynth}` });
      return undefined;
    }
    return bytes.toString('utf8');
  };
  for (const artifact of Object.values(manifest.artifacts ?? {})) {
    const p = artifact.properties?.mlplane;
    if (!p || typeof p.environment !== 'string') continue;
    if (p.kind === 'model' && typeof p.file === 'string') {
      const text = verified(p.file, p.digest);
      if (text === undefined) continue;
      const model = JSON.parse(text) as EnvironmentModel;
      const problem = schemaProblem(model.schemaVersion);
      if (problem) problems.push({ path: p.file, message: `${problem}; ${resynth} with this version, or deploy with the mlplane version that wrote it` });
      else entry(p.environment).model = model;
    } else if (p.kind === 'documents' && typeof p.target === 'string' && typeof p.directory === 'string' && Array.isArray(p.files)) {
      const digests = (p.digests ?? {}) as Record<string, unknown>;
      const docs: Record<string, unknown> = {};
      for (const f of p.files as string[]) {
        const text = verified(`${p.directory}/${f}`, digests[f]);
        if (text !== undefined) docs[f] = f.endsWith('.json') ? JSON.parse(text) : text;
      }
      entry(p.environment).documents[p.target] = docs;
    }
  }
  if (problems.length === 0 && envs.size === 0) problems.push({ path: dir, message: `holds no mlplane model; ${resynth}` });
  if (problems.length > 0) throw new ValidationErrors(problems, `Cannot deploy the artifact in ${dir}`);
  return [...envs].flatMap(([name, e]) => (e.model ? [{ name, model: e.model, documents: e.documents }] : []));
}

/** Why this version cannot read a model of `version`, or `undefined` when it can (same major, not newer). */
export function schemaProblem(version: unknown): string | undefined {
  const [major, minor] = MODEL_SCHEMA_VERSION.split('.').map(Number) as [number, number];
  const m = typeof version === 'string' ? /^(\d+)\.(\d+)\.\d+$/.exec(version) : null;
  if (!m) return `model schemaVersion ${JSON.stringify(version)} is not a version this mlplane (${MODEL_SCHEMA_VERSION}) can read`;
  const [vMajor, vMinor] = [Number(m[1]), Number(m[2])];
  if (vMajor !== major || vMinor > minor) {
    return `model schemaVersion '${version}' is ${vMajor > major || (vMajor === major && vMinor > minor) ? 'newer than' : 'incompatible with'} the ${MODEL_SCHEMA_VERSION} this mlplane reads`;
  }
  return undefined;
}

/**
 * The model and documents of `environment` for `target` from a loaded artifact.
 *
 * @throws ValidationErrors when the artifact has no such environment or target.
 */
export function fromArtifact(artifact: readonly ArtifactEnvironment[], dir: string, environment: string, target: string): { model: EnvironmentModel; documents: Readonly<Record<string, unknown>> } {
  const env = artifact.find((e) => e.name === environment);
  const documents = env?.documents[target];
  if (!env || !documents) {
    throw new ValidationErrors([{ path: dir, message: `holds no ${target} documents of environment '${environment}' (it has: ${artifact.map((e) => `${e.name} (${Object.keys(e.documents).join(', ') || 'model only'})`).join('; ') || 'nothing'}); synthesize it with \`mlplane synth -t ${target} -o ${dir}\`` }], `Cannot deploy the artifact in ${dir}`);
  }
  return { model: env.model, documents };
}
