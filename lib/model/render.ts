import type { IConstruct } from 'constructs';
import { ValidationErrors, type Problem } from '../core/errors';
import { MlopsEnvironment } from '../environment';
import { MlResource } from '../resource';
import { MODEL_SCHEMA_VERSION, type EnvironmentModel, type GrantModel } from './types';

/**
 * Every problem recorded anywhere under `root` (all environments of an app, or one), as
 * `{ path, message }`, sorted by path.
 */
export function validateTree(root: IConstruct): Problem[] {
  const problems: Problem[] = [];
  for (const c of root.node.findAll()) {
    for (const message of c.node.validate()) problems.push({ path: c.node.path, message });
  }
  return problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every environment defined under `root`, in path order. */
export function environmentsOf(root: IConstruct): MlopsEnvironment[] {
  return root.node
    .findAll()
    .filter((c): c is MlopsEnvironment => MlopsEnvironment.isMlopsEnvironment(c))
    .sort((a, b) => (a.node.path < b.node.path ? -1 : 1));
}

/**
 * Render an environment into its model after validating the whole environment.
 *
 * Deterministic: the same definition gives an equal model (and byte-identical JSON through
 * `stableStringify`).
 *
 * @throws ValidationErrors with every problem of the environment.
 */
export function renderEnvironment(env: MlopsEnvironment): EnvironmentModel {
  const problems = validateTree(env);
  if (problems.length > 0) throw new ValidationErrors(problems);
  return renderValidatedEnvironment(env);
}

/**
 * Render an environment that `validateTree` has already found without problems, without validating
 * it again: the build validates the whole app once, then renders each valid environment (running
 * every construct's validations twice was ~2 % of an azure+gcp synth of 100 pipelines).
 *
 * @internal
 */
export function renderValidatedEnvironment(env: MlopsEnvironment): EnvironmentModel {
  const resources = env.node
    .findAll()
    .filter((c): c is MlResource => MlResource.isMlResource(c))
    .map((r) => r._render())
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    schemaVersion: MODEL_SCHEMA_VERSION,
    environment: {
      name: env.node.id,
      path: env.node.path,
      description: env.description,
      stage: env._stageName(),
      ...(env._perStage() ? { stages: env.stages } : {}),
      region: env._regionName(),
      tags: sortedRecord(env.tagMap),
      network: { mode: env.network === 'public' ? 'public' : 'private' },
      encryption: env._encryption(),
    },
    resources,
    grants: dedupeGrants(env._grants()),
  };
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Grants without duplicates, an explicit grant winning over the same implied one, in a stable order. */
function dedupeGrants(grants: readonly GrantModel[]): GrantModel[] {
  const byKey = new Map<string, GrantModel>();
  for (const g of grants) {
    const key = JSON.stringify([g.principal, g.resource, g.access]);
    const existing = byKey.get(key);
    if (!existing || (existing.origin === 'wiring' && g.origin === 'explicit')) byKey.set(key, g);
  }
  const keyed = [...byKey.values()].map((g) => ({ g, key: `${g.resource}\0${JSON.stringify(g.principal)}\0${g.access}` }));
  return keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((k) => k.g);
}
