import { azureAdapter } from '../../../adapters/azure';
import type { AzureSettings } from '../../../adapters/azure/settings';
import type { DocumentSynthResult } from '../../../lib/adapter';
import type { EnvironmentModel } from '../../../lib/model/types';
import { exampleModels } from '../../support/examples';
import { churnModel, contractModel, fraudModel, SETTINGS } from './fixtures';

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

/** Every model the conformance tests run over: both examples and the edge-case fixtures. */
export function conformanceModels(): { readonly label: string; readonly model: EnvironmentModel }[] {
  const [fraud, churn] = examples() as [EnvironmentModel, EnvironmentModel];
  return [
    { label: 'fraud example', model: fraud },
    { label: 'churn example', model: churn },
    { label: 'fraud fixture (mirror, requests autoscale, webhook-free retrain)', model: fraudModel() },
    { label: 'churn fixture (external data, batch monitor, webhook)', model: churnModel() },
    { label: 'contract fixture (parameter outputs, conditions, order-only dependencies)', model: contractModel() },
  ];
}
