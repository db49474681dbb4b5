/**
 * The local target: `mlplane run` executes a pipeline model on this machine under the step
 * contract (docs/step-contract.md). See README.md in this folder.
 */
export * from './contract';
export * from './executors';
export * from './plan';
export * from './record';
export * from './registry-store';
export * from './runner';
export * from './store';
