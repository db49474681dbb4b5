import type { EnvironmentModel } from '../model/types';
import type { Finding, PolicyRule } from './rule';
import { endpointMonitored } from './rules/endpoint-monitored';
import { prodCustomerManagedKey } from './rules/prod-customer-managed-key';
import { prodEndpointRedundancy } from './rules/prod-endpoint-redundancy';
import { prodPrivateNetwork } from './rules/prod-private-network';
import { retainData } from './rules/retain-data';
import { spotStepsRetry } from './rules/spot-steps-retry';

/** The recommended pack, run by `synth` and `check`. */
export const RECOMMENDED_PACK: readonly PolicyRule[] = [
  prodPrivateNetwork,
  prodCustomerManagedKey,
  prodEndpointRedundancy,
  retainData,
  endpointMonitored,
  spotStepsRetry,
];

/** A suppression: a rule switched off at a path (and below), with the reason. */
export interface Suppression {
  readonly rule: string;
  readonly path: string;
  readonly reason: string;
}

/** Findings of a pack, split into active and suppressed (each suppressed one with its reason). */
export interface PolicyReport {
  readonly findings: readonly Finding[];
  readonly suppressed: ReadonlyArray<Finding & { readonly reason: string }>;
}

/** Run `pack` over `model`, applying `suppressions`. */
export function runPolicy(model: EnvironmentModel, suppressions: readonly Suppression[], pack: readonly PolicyRule[] = RECOMMENDED_PACK): PolicyReport {
  const findings: Finding[] = [];
  const suppressed: Array<Finding & { reason: string }> = [];
  for (const rule of pack) {
    for (const f of rule.check(model)) {
      const finding: Finding = { rule: rule.id, level: rule.level, path: f.path, message: f.message };
      const s = suppressions.find((x) => x.rule === rule.id && (f.path === x.path || f.path.startsWith(`${x.path}/`)));
      if (s) suppressed.push({ ...finding, reason: s.reason });
      else findings.push(finding);
    }
  }
  return { findings, suppressed };
}
