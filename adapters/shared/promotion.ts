/**
 * What every target's promotion shares: the request, the result, the lineage recorded on the
 * promoted version, and the gate decision (`decideGate`, the same function register steps use).
 */
import type { EnvironmentModel } from '../../lib/model/types';
import type { PromotionSpec } from '../../lib/promotion';
import { decideGate } from './gate';

/** One stage's side of a promotion: its model, its target documents and its target settings. */
export interface PromotionSide {
  readonly model: EnvironmentModel;
  readonly documents: Readonly<Record<string, unknown>>;
  readonly settings: unknown;
}

/** A promotion to run. */
export interface PromotionRequest {
  readonly spec: PromotionSpec;
  /** The source version: by alias (`champion`) or by version id (`3`). */
  readonly selector: { readonly alias: string } | { readonly version: string };
  readonly source: PromotionSide;
  readonly target: PromotionSide;
  /** Who approved (required when the promotion requires approval; recorded on the version). */
  readonly approvedBy?: string;
  /**
   * aws: named profiles of the shared AWS config (`~/.aws/config`) to act as in each stage's
   * account (`--from-profile`, `--to-profile`); a stage without one uses the default provider chain.
   */
  readonly profiles?: { readonly from?: string; readonly to?: string };
  /** Progress lines. */
  readonly log: (line: string) => void;
}

/** What a promotion did. */
export interface PromotionResult {
  /** `promoted`: a new version in the target; `unchanged`: it was promoted before (nothing written but, at most, the alias). */
  readonly outcome: 'promoted' | 'unchanged';
  /** Resource name / id of the source version. */
  readonly source: string;
  readonly sourceVersion: string;
  /** Resource name / id of the target version. */
  readonly target: string;
  readonly targetVersion: string;
  /** The gate's reason, or why nothing changed. */
  readonly reason: string;
  readonly writes: number;
}

/** A promotion the gate or the approval refused; nothing was written. */
export class PromotionRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployError';
  }
}

/**
 * Lineage keys on the promoted version (Azure ML tags, Vertex labels): where it came from, so a
 * second promotion of the same version finds it and changes nothing.
 */
export const LINEAGE = {
  fromStage: 'mlplane-promoted-from',
  sourceVersion: 'mlplane-source-version',
  sourceModel: 'mlplane-source-model',
  sourceRun: 'mlplane-source-run',
  approvedBy: 'mlplane-approved-by',
} as const;

/** Prefix of the metric tags / labels the register steps record (step contract). */
export const METRIC_PREFIX = 'mlplane-metric-';

/**
 * Apply the promotion's gate to the source version's recorded metrics.
 *
 * @param reference the metric on the target's alias holder (gates against an alias), if any
 * @throws PromotionRefused naming the metric, the values and the gate, when it does not pass.
 */
export function checkGate(request: PromotionRequest, sourceLabel: string, metrics: Readonly<Record<string, number>>, reference: number | undefined): string {
  const gate = request.spec.gate;
  const decision = decideGate(gate, metrics, reference);
  if (decision.outcome === 'promote') return decision.reason;
  const against = gate?.against.kind === 'alias' ? ` (reference: ${request.spec.to}'s ${gate.against.alias})` : '';
  throw new PromotionRefused(
    `[${request.spec.path}] not promoting ${sourceLabel} from ${request.spec.from} to ${request.spec.to}: the gate ${decision.outcome === 'keep' ? 'did not pass' : 'cannot be evaluated'}: ${decision.reason}${against}; nothing was changed. ` +
      `Promote a version whose recorded metrics pass, or change the ModelPromotion's when`,
  );
}

/** The approval a promotion requires, checked before any cloud call. */
export function approvalProblem(spec: PromotionSpec, approvedBy: string | undefined): string | undefined {
  if (spec.approval !== 'required' || (approvedBy !== undefined && approvedBy.trim() !== '')) return undefined;
  return `[${spec.path}] promotion from ${spec.from} to ${spec.to} requires approval; run it from the CI job behind the ${spec.to} environment's approval with --approved-by <who approved> (mlplane ci init writes that job)`;
}
