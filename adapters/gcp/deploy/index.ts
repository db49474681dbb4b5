/**
 * The gcp deploy engine: mlplane's reconciler on `@google-cloud/aiplatform` and
 * `@google-cloud/bigquery`. Loaded lazily by `bin/` only.
 *
 * @see ./README.md
 */
export { createGcpDeployEngine, checkInput, mergeBindings, type GcpEngineOptions, type MutationPoint } from './engine';
export { classifyGcp, classifyGcp as classifyGcpError, cloudError, ENDPOINT_ENV, type RetryTuning } from './clients';
export { holderGone, LOCK_TABLE, parseRecord, type LockRecord, type Intent } from './lock';
