/**
 * Shared setup of the gcp deploy tests: a simulator per test file, example inputs, an engine with
 * small poll intervals and a recording sleep (no real waits of seconds).
 */
import type { DeployInput, ProgressEvent, ProgressSink } from '../../../adapters/deploy';
import { createGcpDeployEngine, type GcpEngineOptions } from '../../../adapters/gcp/deploy';
import { gcpAdapter, type GcpSettings } from '../../../adapters/gcp';
import { startGcpSimulator, type GcpSimulator } from '../../../adapters/gcp/simulator';
import type { EnvironmentModel } from '../../../lib/model/types';
import { conformancePath } from '../../support/conformance';
import { exampleModels } from '../../support/examples';

/** Start a simulator reading the conformance data through the test support path. */
export function startSimulator(options: { latencyMs?: number; operationPolls?: number } = {}): Promise<GcpSimulator> {
  return startGcpSimulator({ port: 0, conformanceDir: conformancePath(), operationPolls: options.operationPolls ?? 1, ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}) });
}

/** The settings each example deploys with. */
export function settingsFor(model: EnvironmentModel): GcpSettings {
  return gcpAdapter.parseSettings({ project: 'acme-ml', region: model.environment.region === 'us' ? 'us-central1' : 'europe-west4' });
}

/** A progress sink that records everything. */
export class Recorder implements ProgressSink {
  public readonly events: ProgressEvent[] = [];
  public readonly lines: string[] = [];
  public event(e: ProgressEvent): void {
    this.events.push(e);
  }
  public log(message: string): void {
    this.lines.push(message);
  }
}

/** The deploy input of a model (synthesized now). */
export function inputFor(model: EnvironmentModel, progress: ProgressSink = new Recorder(), extra: Partial<DeployInput<GcpSettings>> = {}): DeployInput<GcpSettings> {
  const settings = settingsFor(model);
  const { documents } = gcpAdapter.synth(model, settings);
  return { model, documents, settings, progress, ...extra };
}

/** The example model named `name` (Fraud, Churn). */
export function example(name: string): EnvironmentModel {
  const m = exampleModels().find((x) => x.environment.path === name);
  if (!m) throw new Error(`no example ${name}`);
  return m;
}

/** Waits the engine asked for (the recording sleep does not wait). */
export interface SleepLog {
  readonly waits: number[];
}

/** An engine against `sim` with fast polls and a recording sleep. */
export function engineFor(sim: GcpSimulator, options: Partial<GcpEngineOptions> = {}, sleeps: SleepLog = { waits: [] }) {
  return createGcpDeployEngine({
    env: { MLPLANE_GCP_ENDPOINT: sim.url },
    pollIntervalMs: 1,
    lockPollMs: 5,
    retry: {
      baseMs: 1,
      sleep: async (ms) => {
        sleeps.waits.push(ms);
      },
    },
    ...options,
  });
}

/** Requests that changed state (the simulator's view). */
export function writes(sim: GcpSimulator) {
  return sim.requestLog.filter((r) => r.write);
}

/** A snapshot of every stored resource (name → type; duplicates show as `#duplicate`), for convergence checks. */
export function inventory(sim: GcpSimulator): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, r] of [...sim.state.resources.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (name.endsWith('/_mlplane_lock')) continue;
    // Service-assigned numeric ids differ between runs: name those resources by display name.
    const key = /\/\d+$/.test(name) ? name.replace(/\/\d+$/, `/~${String(r.body.displayName)}`) : name;
    if (out[key] !== undefined) out[`${key}#duplicate`] = r.type;
    else out[key] = r.type;
  }
  return out;
}

/** Resources of one type, by a stable description (display name or name), for duplicate checks. */
export function countBy(sim: GcpSimulator, type: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of sim.state.resources.values()) {
    if (!r.type.endsWith(type)) continue;
    const k = String(r.body.displayName ?? r.body.id ?? '?');
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Empty the simulator (resources, policies, operations, faults, log) between cases. */
export function resetSimulator(sim: GcpSimulator): void {
  sim.state.resources.clear();
  sim.state.policies.clear();
  sim.state.operations.clear();
  sim.state.modelVersions.clear();
  sim.faults.clear();
  sim.requestLog.length = 0;
}

/** A deep copy of a model with `edit` applied to its resource at `path`. */
export function editResource(model: EnvironmentModel, path: string, edit: (r: Record<string, unknown>) => void): EnvironmentModel {
  const copy = structuredClone(model) as EnvironmentModel;
  const r = copy.resources.find((x) => x.path === path);
  if (!r) throw new Error(`no resource ${path}`);
  edit(r as unknown as Record<string, unknown>);
  return copy;
}

/** Keys of the manifest entries whose documents differ between two syntheses. */
export function changedEntries(a: DeployInput<GcpSettings>, b: DeployInput<GcpSettings>): string[] {
  const manifest = b.documents['manifest.json'] as { entries: { key: string; document: string }[] };
  return manifest.entries.filter((e) => JSON.stringify(a.documents[e.document]) !== JSON.stringify(b.documents[e.document])).map((e) => e.key);
}
