import type { Adapter } from '../lib/adapter';

/**
 * Every target mlplane knows, with a loader for its adapter (imported lazily, so commands that
 * do not synthesize a target never load its code).
 */
const TARGETS: Record<string, () => Promise<Adapter>> = {};

/**
 * Register (or replace) a target's adapter loader — used for the built-in targets below, by
 * third-party targets, and by tests.
 */
export function registerTarget(target: string, load: () => Promise<Adapter>): void {
  if (!/^[a-z][a-z0-9-]{1,20}$/.test(target)) throw new Error(`target name '${target}' must be 2-21 lower-case letters, digits or '-'`);
  TARGETS[target] = load;
}

/** Remove a target (tests). */
export function unregisterTarget(target: string): void {
  delete TARGETS[target];
}

/** Target names in a stable order. */
export function targetNames(): string[] {
  return Object.keys(TARGETS).sort();
}

/**
 * Load the adapter of `target`.
 *
 * @throws Error for an unknown target.
 */
export async function loadAdapter(target: string): Promise<Adapter> {
  const load = TARGETS[target];
  if (!load) throw new Error(`unknown target '${target}'; known targets: ${targetNames().join(', ') || 'none'}`);
  return load();
}

registerTarget('azure', async () => (await import('./azure')).azureAdapter);
registerTarget('gcp', async () => (await import('./gcp')).gcpAdapter);
registerTarget('aws', async () => (await import('./aws')).awsAdapter);
