import type { EnvironmentModel } from '../model/types';

/** What a rule found at one path. */
export interface Finding {
  readonly rule: string;
  readonly level: 'error' | 'warning';
  readonly path: string;
  readonly message: string;
}

/**
 * A policy rule: a pure function over the model. Errors block synthesis unless suppressed;
 * warnings are reported (and fail `--strict`).
 */
export interface PolicyRule {
  /** Stable id, e.g. `mlplane-prod-private-network`. */
  readonly id: string;
  readonly level: 'error' | 'warning';
  /** One line: what the rule requires and why. */
  readonly description: string;
  check(model: EnvironmentModel): Array<{ readonly path: string; readonly message: string }>;
}
