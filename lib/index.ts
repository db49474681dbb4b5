/**
 * mlplane construct library: define an MLOps environment once, provider-neutral.
 *
 * Depends on `constructs` only. Adapters read the rendered `EnvironmentModel`, never these classes.
 */
export * from './core/duration';
export * from './core/size';
export * from './core/errors';
export * from './environment';
export * from './schema';
export * from './dataset';
export * from './feature-table';
export * from './compute';
export * from './schedule';
export * from './pipeline';
export * from './registry';
export * from './endpoint';
export * from './batch';
export * from './monitor';
export * from './monitor-metrics';
export * from './promotion';
export { Secret, type SecretProps, type AzureSecretReference, type GcpSecretReference, type AwsSecretReference, type EnvValue } from './secret';
export { MlResource, type IGrantable } from './resource';
export * from './model/types';
export * from './model/render';
export * from './model/capabilities';
export * from './model/stable-json';
export * from './model/placeholders';
export * from './adapter';
export * from './model/graph';
export * from './policy/rule';
export * from './policy/packs';
export * from './policy/suppress';
