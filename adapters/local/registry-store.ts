/**
 * The local model registry of `mlplane run`, under `.mlplane/registry/`, so register steps and
 * promotion gates run for real on this machine:
 *
 * ```
 * <registry path>/<model>/versions/<n>/model/        the registered model directory (a copy)
 * <registry path>/<model>/versions/<n>/version.json  run, step, metrics recorded on the version
 * <registry path>/<model>/aliases.json               alias → version
 * ```
 *
 * The gate decision is `decideGate` of `adapters/shared/gate.ts`, the one every target uses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RegisterStepModel } from '../../lib/model/types';
import { stableStringify } from '../../lib/model/stable-json';
import { decideGate, type GateDecision } from '../shared/gate';
import { writeAtomic } from './store';

/** One registered version. */
export interface ModelVersion {
  readonly version: number;
  readonly runId: string;
  readonly step: string;
  /** Metric name → value, from the register step's metrics.json. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Content digest of the registered model directory. */
  readonly digest: string;
}

/** The outcome of a register step. */
export interface Registration {
  readonly model: string;
  readonly version: number;
  readonly gate: GateDecision;
  /** The alias moved to this version, if any. */
  readonly promotedTo?: string;
  /** The version holding the alias before this step (the gate's reference). */
  readonly previous?: number;
}

/** A local registry rooted at `.mlplane/registry`. */
export class LocalRegistry {
  constructor(private readonly root: string) {}

  /** Alias → version of a model. */
  public aliases(registry: string, model: string): Record<string, number> {
    const file = path.join(this.modelDir(registry, model), 'aliases.json');
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>) : {};
  }

  /** A recorded version, or undefined. */
  public version(registry: string, model: string, version: number): ModelVersion | undefined {
    const file = path.join(this.modelDir(registry, model), 'versions', String(version), 'version.json');
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as ModelVersion) : undefined;
  }

  /** Every recorded version, oldest first. */
  public versions(registry: string, model: string): ModelVersion[] {
    const dir = path.join(this.modelDir(registry, model), 'versions');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).map(Number).filter(Number.isInteger).sort((a, b) => a - b)
      .map((v) => this.version(registry, model, v)).filter((v): v is ModelVersion => v !== undefined);
  }

  /**
   * Run a register step: decide the gate from `metrics` and the alias holder's recorded metric,
   * register the model directory as a new version with every finite metric, and move the alias
   * when the gate passes. A gate error registers nothing and throws, naming the metric.
   */
  public register(step: RegisterStepModel, input: { modelDir: string; digest: string; metrics: unknown; runId: string }): Registration {
    const aliases = this.aliases(step.registry, step.model);
    const gate = step.gate;
    const holder = gate?.against.kind === 'alias' ? aliases[gate.against.alias] : undefined;
    const reference = gate && holder !== undefined ? this.version(step.registry, step.model, holder)?.metrics[gate.metric] : undefined;
    const decision = decideGate(gate, input.metrics, reference);
    if (decision.outcome === 'error') throw new Error(`promotion gate of '${step.name}': ${decision.reason}`);

    const versionsDir = path.join(this.modelDir(step.registry, step.model), 'versions');
    fs.mkdirSync(versionsDir, { recursive: true });
    let version = Math.max(0, ...fs.readdirSync(versionsDir).map(Number).filter(Number.isInteger)) + 1;
    // mkdir is the allocation: two runs registering at once get different numbers.
    for (;;) {
      try {
        fs.mkdirSync(path.join(versionsDir, String(version)));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        version++;
      }
    }
    const dir = path.join(versionsDir, String(version));
    fs.cpSync(input.modelDir, path.join(dir, 'model'), { recursive: true });
    const metrics = isRecord(input.metrics)
      ? Object.fromEntries(Object.entries(input.metrics).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])))
      : {};
    const record: ModelVersion = { version, runId: input.runId, step: step.name, metrics, digest: input.digest };
    fs.writeFileSync(path.join(dir, 'version.json'), stableStringify(record));

    const previous = step.promoteTo !== undefined ? aliases[step.promoteTo] : undefined;
    if (step.promoteTo !== undefined && decision.outcome === 'promote') {
      writeAtomic(path.join(this.modelDir(step.registry, step.model), 'aliases.json'), stableStringify({ ...this.aliases(step.registry, step.model), [step.promoteTo]: version }));
      return { model: step.model, version, gate: decision, promotedTo: step.promoteTo, previous };
    }
    return { model: step.model, version, gate: decision, previous };
  }

  private modelDir(registry: string, model: string): string {
    return path.join(this.root, ...registry.split('/'), model);
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
