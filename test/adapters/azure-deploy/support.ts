/**
 * Shared setup of the azure deploy tests: the example environments synthesized for azure, a
 * simulator, an engine pointed at it with tiny poll intervals, and a recording progress sink.
 */
import { azureAdapter } from '../../../adapters/azure';
import { locationsFor, type AzureSettings } from '../../../adapters/azure/settings';
import { createAzureDeployEngine } from '../../../adapters/azure/deploy';
import { startAzureSimulator, type AzureSimulator } from '../../../adapters/azure/simulator';
import type { DeployEngine, DeployInput, ProgressEvent, ProgressSink } from '../../../adapters/deploy';
import { App } from 'aws-cdk-lib';
import { renderEnvironment, STAGE_CONTEXT_KEY } from '../../../lib';
import type { EnvironmentModel } from '../../../lib/model/types';
import { defineEnvironments } from '../../../stacks';
import { conformancePath } from '../../support/conformance';
import { exampleModels } from '../../support/examples';

/** Subscription of every test. */
export const SUBSCRIPTION = '00000000-1111-2222-3333-444444444444';

/**
 * The example environments in a form the azure target accepts: as written when the azure adapter
 * synthesizes them, otherwise with the changes a user targeting azure would make.
 *
 * The azure adapter refuses some things by design, naming the alternative: dataset clustering, an
 * online feature TTL, and a container step that relies on its image's entrypoint (Azure ML runs a
 * component's `command`, never the ENTRYPOINT). For an example it refuses, those are changed (drop
 * clustering and the TTL, give the step an explicit command); everything else is deployed as
 * defined.
 */
export function azureExamples(stage?: string): EnvironmentModel[] {
  return (stage === undefined ? exampleModels() : stagedExampleModels(stage)).map((m) => {
    try {
      azureAdapter.synth(m, settingsFor(m));
      return m;
    } catch {
      return adaptForAzure(m);
    }
  });
}

function adaptForAzure(m: EnvironmentModel): EnvironmentModel {
  const copy = structuredClone(m) as unknown as { resources: Record<string, unknown>[] };
  for (const r of copy.resources) {
    if (r.kind === 'dataset') r.clusterBy = [];
    if (r.kind === 'featureTable') delete r.ttlSeconds;
    if (r.kind === 'pipeline') {
      for (const s of r.steps as Record<string, unknown>[]) {
        if (s.kind === 'container' && Array.isArray(s.command) && s.command.length === 0) s.command = ['python', '-m', String(s.name).toLowerCase()];
      }
    }
  }
  return copy as unknown as EnvironmentModel;
}

/** The example environments at one of their declared stages (`--stage <stage>`). */
function stagedExampleModels(stage: string): EnvironmentModel[] {
  const app = new App({ context: { [STAGE_CONTEXT_KEY]: stage } });
  return defineEnvironments(app).map(renderEnvironment);
}

/** The example with this environment name, at its default stage or at `stage`. */
export function example(name: string, stage?: string): EnvironmentModel {
  const m = azureExamples(stage).find((x) => x.environment.name === name);
  if (!m) throw new Error(`no example environment ${name}`);
  return m;
}

/** Settings of an environment: a resource group of its own, a region matching its residency hint. */
export function settingsFor(model: EnvironmentModel, resourceGroup = `rg-${model.environment.name.toLowerCase()}`): AzureSettings {
  const region = model.environment.region;
  return { subscriptionId: SUBSCRIPTION, resourceGroup, location: region === 'any' ? 'westeurope' : (locationsFor(region)[0] as string) };
}

/** A progress sink that keeps everything. */
export function recordingProgress(): ProgressSink & { events: ProgressEvent[]; logs: string[] } {
  const events: ProgressEvent[] = [];
  const logs: string[] = [];
  return { events, logs, event: (e) => events.push(e), log: (m) => logs.push(m) };
}

/** Synthesize and wrap one environment as the CLI would. */
export function inputFor(model: EnvironmentModel, settings = settingsFor(model)): DeployInput<AzureSettings> & { progress: ReturnType<typeof recordingProgress> } {
  const { documents } = azureAdapter.synth(model, settings);
  return { model, documents, settings, progress: recordingProgress() };
}

/** Start a simulator checking bodies against the shared conformance data. */
export function simulator(): Promise<AzureSimulator> {
  return startAzureSimulator({ conformanceDir: conformancePath('azure') });
}

/** An engine pointed at the simulator, polling every few milliseconds, retrying fast. */
export function engineFor(sim: AzureSimulator): DeployEngine<AzureSettings> {
  return createAzureDeployEngine({ endpoint: sim.url, pollIntervalMs: 2, retry: { baseMs: 1, capMs: 10 } });
}

/** Requests logged since `mark` (an index into the request log). */
export function since(sim: AzureSimulator, mark: number) {
  return sim.requestLog.slice(mark);
}
