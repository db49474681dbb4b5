import type { DeployEngine } from './deploy';

/**
 * Deploy engines by target, loaded lazily (they pull in the cloud SDKs). The aws target has no
 * entry: it deploys through the CDK toolkit (see `bin/commands/deploy.ts`).
 */
const ENGINES: Record<string, () => Promise<DeployEngine>> = {};

/** The deploy engine of `target`, or undefined when the target deploys another way or has none yet. */
export async function loadEngine(target: string): Promise<DeployEngine | undefined> {
  const load = ENGINES[target];
  return load ? load() : undefined;
}

/**
 * Register (or replace) the engine of a target — used by the built-in targets below and by tests
 * that drive the CLI with a stand-in engine.
 */
export function registerEngine(target: string, load: () => Promise<DeployEngine>): void {
  ENGINES[target] = load;
}

registerEngine('gcp', async () => (await import('./gcp/deploy')).createGcpDeployEngine() as DeployEngine);
registerEngine('azure', async () => (await import('./azure/deploy')).createAzureDeployEngine() as DeployEngine);
