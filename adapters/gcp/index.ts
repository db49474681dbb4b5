/**
 * The gcp target: Vertex AI + BigQuery.
 *
 * `synth` turns the environment model into one REST body per resource (Vertex AI v1 / v1beta1,
 * BigQuery v2, IAM), KFP v2 PipelineSpecs and a manifest listing the resources in dependency
 * order for mlplane's GCP reconciler.
 */
import type { DocumentAdapter } from '../../lib/adapter';
import { GCP_CAPABILITIES } from './capabilities';
import { parseGcpSettings, type GcpSettings } from './settings';
import { synthGcp } from './synth';

export type { GcpSettings } from './settings';
export type { Manifest, ManifestEntry } from './documents';
export type { PipelineSpec } from './kfp-types';

/**
 * The gcp document adapter.
 *
 * @example
 * const settings = gcpAdapter.parseSettings({ project: 'acme-ml', region: 'europe-west4' });
 * const { documents } = gcpAdapter.synth(model, settings);
 */
export const gcpAdapter: DocumentAdapter<GcpSettings> = {
  kind: 'documents',
  target: 'gcp',
  description: 'Vertex AI + BigQuery: resource bodies, KFP v2 pipeline specs and a manifest for the mlplane reconciler',
  capabilities: GCP_CAPABILITIES,
  docs: 'adapters/gcp/README.md',
  parseSettings: parseGcpSettings,
  synth: synthGcp,
};
