import { azureAdapter } from '../../../adapters/azure';
import type { AzureSettings } from '../../../adapters/azure/settings';
import type { DocumentSynthResult } from '../../../lib/adapter';
import type { EnvironmentModel, PipelineModel } from '../../../lib/model/types';
import { exampleModels } from '../../support/examples';
import { churnModel, fraudModel, SETTINGS } from './fixtures';

/** Settings whose location satisfies the model's region hint. */
export function settingsFor(model: EnvironmentModel): AzureSettings {
  const location = { eu: 'westeurope', us: 'eastus', apac: 'southeastasia', any: 'westeurope' }[model.environment.region];
  return { ...SETTINGS, location };
}

/** Synthesize with matching settings. */
export function synth(model: EnvironmentModel): DocumentSynthResult {
  return azureAdapter.synth(model, settingsFor(model));
}

/** The example environments of `stacks/` (fraud first, then churn). */
export function examples(): EnvironmentModel[] {
  return exampleModels();
}

/** Whether every container step of the model has an explicit command (Azure ML needs one). */
export function hasCommands(model: EnvironmentModel): boolean {
  return model.resources.every((r) => r.kind !== 'pipeline' || r.steps.every((s) => s.kind !== 'container' || s.command.length > 0));
}

/**
 * `model` with an explicit command on every container step that has none (the image entrypoint
 * Azure ML would otherwise skip), so the rest of the example can be checked.
 */
export function withCommands(model: EnvironmentModel): EnvironmentModel {
  return {
    ...model,
    resources: model.resources.map((r) =>
      r.kind !== 'pipeline'
        ? r
        : ({
            ...r,
            steps: r.steps.map((s) => (s.kind === 'container' && s.command.length === 0 ? { ...s, command: ['python', '-m', s.name.toLowerCase()] } : s)),
          } as PipelineModel),
    ),
  };
}

/** Every model the conformance tests run over: both examples (made runnable) and the edge-case fixtures. */
export function conformanceModels(): { readonly label: string; readonly model: EnvironmentModel }[] {
  const [fraud, churn] = examples() as [EnvironmentModel, EnvironmentModel];
  return [
    { label: 'fraud example', model: withCommands(fraud) },
    { label: 'churn example', model: withCommands(churn) },
    { label: 'fraud fixture (mirror, requests autoscale, webhook-free retrain)', model: fraudModel() },
    { label: 'churn fixture (external data, batch monitor, webhook)', model: churnModel() },
  ];
}
