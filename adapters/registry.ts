import type { Adapter } from '../lib/adapter';

/**
 * Every target mlplane knows, with a loader for its adapter (imported lazily, so commands that
 * do not synthesize a target never load its code).
 */
export const TARGETS: Readonly<Record<string, () => Promise<Adapter>>> = {};

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
