/**
 * The drift/skew metric catalogue: what each metric a `DriftMonitor` may ask for computes, on
 * which kind of feature, in which unit, and what a threshold on it means — plus the vocabulary
 * adapters use to say how their target honours it (exactly, by a conversion announced with a
 * warning, or not at all).
 *
 * Definitions, and the sources they were checked against:
 * - Jensen-Shannon *divergence* JSD(P‖Q) = ½ KL(P‖M) + ½ KL(Q‖M), M = ½(P + Q), with base-2
 *   logarithms, so 0 ≤ JSD ≤ 1. The Jensen-Shannon *distance* is √JSD, also in [0, 1].
 *   TFDV (which Vertex AI Model Monitoring v1 runs, https://cloud.google.com/vertex-ai/docs/model-monitoring/overview)
 *   computes the divergence with `std::log2` (tensorflow/data-validation, anomalies/metrics.cc,
 *   `JensenShannonDivergence`); Azure ML's model-monitoring component computes the distance with
 *   `scipy.spatial.distance.jensenshannon(..., base=2)` (azureml-assets, `_jensen_shannon_numerical`).
 *   A distance threshold d is therefore exactly a divergence threshold d².
 * - L-infinity (Chebyshev) distance: max over categories |p_i − q_i| of the normalized value
 *   counts, in [0, 1] (TFDV `LInftyDistance`); defined on categorical features only.
 * - Population stability index: Σ (q_i − p_i) · ln(q_i / p_i) over histogram bins or categories,
 *   natural logarithm, ≥ 0 and unbounded (azureml-assets `_psi_numerical`).
 * - Normalized Wasserstein distance: the 1-Wasserstein (earth mover's) distance between the two
 *   samples divided by the standard deviation of the reference, ≥ 0 and unbounded; numeric only
 *   (azureml-assets `_normalized_wasserstein`).
 *
 * A threshold is crossed when the computed value is strictly greater than it.
 */
import type { DriftMetricName, FieldModel } from './model/types';

/** The kind of a monitored feature: its values are numbers (binned) or categories (counted). */
export type FeatureKind = 'numeric' | 'categorical';

/** What a metric computes. */
export interface DriftMetricDefinition {
  readonly metric: DriftMetricName;
  /** Name as people write it. */
  readonly title: string;
  /** Feature kinds the metric is defined on. */
  readonly appliesTo: readonly FeatureKind[];
  /** Smallest and largest value (`undefined` upper bound: unbounded). */
  readonly range: readonly [number, number | undefined];
  /** Logarithm base of the definition, where it has one. */
  readonly logBase?: 2 | 'e';
  /** What a threshold on the metric means, in one sentence. */
  readonly threshold: string;
}

/** Every metric a `DriftMonitor` can ask for. */
export const DRIFT_METRICS: Readonly<Record<DriftMetricName, DriftMetricDefinition>> = {
  jensenShannonDistance: {
    metric: 'jensenShannonDistance',
    title: 'Jensen-Shannon distance',
    appliesTo: ['numeric', 'categorical'],
    range: [0, 1],
    logBase: 2,
    threshold: 'alert when √JSD (base-2 Jensen-Shannon divergence) of the two distributions exceeds the value',
  },
  populationStabilityIndex: {
    metric: 'populationStabilityIndex',
    title: 'population stability index',
    appliesTo: ['numeric', 'categorical'],
    range: [0, undefined],
    logBase: 'e',
    threshold: 'alert when Σ (q−p)·ln(q/p) over bins or categories exceeds the value (0.1 moderate, 0.25 large shift)',
  },
  normalizedWassersteinDistance: {
    metric: 'normalizedWassersteinDistance',
    title: 'normalized Wasserstein distance',
    appliesTo: ['numeric'],
    range: [0, undefined],
    threshold: "alert when the earth mover's distance divided by the reference's standard deviation exceeds the value",
  },
  lInfinity: {
    metric: 'lInfinity',
    title: 'L-infinity distance',
    appliesTo: ['categorical'],
    range: [0, 1],
    threshold: 'alert when the largest difference in the share of any one category exceeds the value',
  },
};

/**
 * The kind of a column: int and float are numeric, string and bool categorical; other types
 * (timestamps, dates, arrays, structs) cannot be monitored.
 */
export function featureKind(field: Pick<FieldModel, 'type'>): FeatureKind | undefined {
  switch (field.type) {
    case 'int':
    case 'float':
      return 'numeric';
    case 'string':
    case 'bool':
      return 'categorical';
    default:
      return undefined;
  }
}

/** Why a threshold is outside a metric's range, or `undefined` when it is inside. */
export function thresholdProblem(metric: DriftMetricName, threshold: number): string | undefined {
  const d = DRIFT_METRICS[metric];
  const [lo, hi] = d.range;
  if (typeof threshold === 'number' && threshold >= lo && (hi === undefined || threshold <= hi) && Number.isFinite(threshold)) return undefined;
  const range = hi === undefined ? `[${lo}, ∞)` : `[${lo}, ${hi}]`;
  return `outside ${range}; use e.g. ${metric === 'populationStabilityIndex' ? '0.25' : '0.15'}`;
}

/** A Jensen-Shannon distance threshold as the equivalent divergence threshold (both base 2): d². */
export function jensenShannonDivergenceOf(distance: number): number {
  return Number((distance * distance).toPrecision(12));
}

/** How a target honours one metric on one feature kind. */
export type MetricSupport =
  /** The target computes the same metric; `as` is its name there. */
  | { readonly level: 'exact'; readonly as: string }
  /**
   * The target computes an equivalent or nearby metric; the threshold is converted with
   * `convert`, and synth warns with `warning` (`mlplane:<target>:<what>`).
   */
  | { readonly level: 'converted'; readonly as: string; readonly warning: string; readonly how: string; readonly convert: (threshold: number) => number }
  /** The target cannot compute it: synth fails naming `alternative`. */
  | { readonly level: 'refused'; readonly alternative: string };

/** A target's metric table: metric × feature kind (only the kinds the metric applies to). */
export type MetricTable = Readonly<Record<DriftMetricName, Partial<Readonly<Record<FeatureKind, MetricSupport>>>>>;

/** How `table` honours `metric` on a `kind` feature (`undefined`: the metric is not defined on that kind). */
export function metricSupport(table: MetricTable, metric: DriftMetricName, kind: FeatureKind): MetricSupport | undefined {
  if (!DRIFT_METRICS[metric].appliesTo.includes(kind)) return undefined;
  return table[metric][kind];
}

/** One monitored feature of a signal, resolved against the baseline's schema. */
export interface ResolvedFeature {
  readonly feature: string;
  readonly threshold: number;
  /** Absent when the baseline has no such column or its type cannot be monitored. */
  readonly kind?: FeatureKind;
  /** The metric this feature is measured with (`categoricalMetric` for categorical features, else `metric`). */
  readonly metric: DriftMetricName;
}

/** The features of `signal` with their kind (from `schema`) and metric. */
export function resolveSignalFeatures(
  signal: { readonly metric: DriftMetricName; readonly categoricalMetric?: DriftMetricName; readonly thresholds: readonly { readonly feature: string; readonly threshold: number }[] },
  schema: readonly FieldModel[],
): ResolvedFeature[] {
  return signal.thresholds.map((t) => {
    const field = schema.find((f) => f.name === t.feature);
    const kind = field ? featureKind(field) : undefined;
    const metric = kind === 'categorical' && signal.categoricalMetric !== undefined ? signal.categoricalMetric : signal.metric;
    return { feature: t.feature, threshold: t.threshold, kind, metric };
  });
}
