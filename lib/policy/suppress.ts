import type { IConstruct } from 'constructs';
import { addProblem, show } from '../core/errors';
import { MlopsEnvironment } from '../environment';
import { RECOMMENDED_PACK } from './packs';

/**
 * Switch a policy rule off for `scope` and everything below it, with the reason (at least 10
 * characters; it is recorded in `cdk.out/<env>.policy.json` and printed by `mlplane check`).
 *
 * @example suppressPolicy(endpoint, 'mlplane-prod-endpoint-redundancy', 'internal batch-style endpoint, retried by callers');
 */
export function suppressPolicy(scope: IConstruct, rule: string, reason: string): void {
  if (!RECOMMENDED_PACK.some((r) => r.id === rule)) {
    addProblem(scope, `cannot suppress unknown policy rule ${show(rule)}; rules: ${RECOMMENDED_PACK.map((r) => r.id).join(', ')}`);
    return;
  }
  if (typeof reason !== 'string' || reason.trim().length < 10) {
    addProblem(scope, `suppressing ${rule} needs a reason of at least 10 characters, got ${show(reason)}; say why the rule does not apply here`);
    return;
  }
  MlopsEnvironment.of(scope)._addSuppression({ rule, path: scope.node.path, reason: reason.trim() });
}

