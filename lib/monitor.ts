import type { Construct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import { Duration } from './core/duration';
import { addProblem, show } from './core/errors';
import { BatchInference } from './batch';
import { Dataset } from './dataset';
import { OnlineEndpoint } from './endpoint';
import { MlopsEnvironment } from './environment';
import type { AlertModel, DriftMetricName, DriftMonitorModel, MonitorSignalModel, PrincipalModel, RetrainActionModel } from './model/types';
import { Pipeline } from './pipeline';
import { MlResource, markGrantable, sameEnvironment, type IGrantable } from './resource';
import { Schedule } from './schedule';
import { DRIFT_METRICS, featureKind, thresholdProblem } from './monitor-metrics';
import { findField } from './schema';
import { checkKnownProps, type KnownKeys } from './core/props';

/**
 * Distance between the reference and the observed distribution of a feature. Definitions, units
 * and what each target computes: `DRIFT_METRICS` in lib/monitor-metrics.ts.
 */
export enum DriftMetric {
  /** Jensen-Shannon distance √JSD, base-2 logarithms, in [0, 1]; numeric and categorical features. */
  JENSEN_SHANNON = 'jensenShannonDistance',
  /** Population stability index Σ (q−p)·ln(q/p), ≥ 0; numeric and categorical features. */
  PSI = 'populationStabilityIndex',
  /** Wasserstein distance divided by the reference's standard deviation, ≥ 0; numeric features only. */
  WASSERSTEIN = 'normalizedWassersteinDistance',
  /** Largest difference in the share of one category, in [0, 1]; categorical features only. */
  L_INFINITY = 'lInfinity',
}

/** What a monitor compares. */
export enum MonitorKind {
  /** The production window (`lookback`) vs the production window of the same length just before it: change over time. */
  DRIFT = 'drift',
  /** The production window vs the baseline (the training data): training-serving skew. */
  SKEW = 'skew',
}

/**
 * Where alerts go.
 *
 * @example Alert.email('ml-oncall@acme.example')
 */
export class Alert {
  /** An email to `address`. */
  public static email(address: string): Alert {
    return new Alert({ kind: 'email', address });
  }
  /** An HTTPS POST to `url` (no credentials in the URL: they would land in templates). */
  public static webhook(url: string): Alert {
    return new Alert({ kind: 'webhook', url });
  }

  private constructor(private readonly model: AlertModel) {}

  /** @internal */
  public _problems(): string[] {
    const m = this.model;
    if (m.kind === 'email') {
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(m.address) ? [] : [`alert email ${show(m.address)} is not an email address; use name@domain`];
    }
    let url: URL | undefined;
    try {
      url = new URL(m.url);
    } catch {
      url = undefined;
    }
    if (!url || url.protocol !== 'https:') return [`alert webhook ${show(m.url)} must be an https:// URL`];
    if (url.username || url.password || /(token|key|secret|sig|password)=/i.test(url.search)) {
      return [`alert webhook URL for host '${url.host}' carries credentials, which would be written to templates and logs; put the secret in the receiving service and use a plain URL`];
    }
    return [];
  }

  /** @internal */
  public _render(): AlertModel {
    return this.model;
  }
}

/** Options of `retrain(...)`. */
export interface RetrainOptions {
  /**
   * Run parameter values for the retraining run.
   *
   * @default - the pipeline's defaults
   */
  readonly parameters?: Record<string, string | number | boolean>;
  /**
   * Shortest time between two retraining runs started by drift.
   *
   * @default Duration.hours(24)
   */
  readonly cooldown?: Duration;
  /**
   * Allow retraining a pipeline with no gated register step (the new model would be promoted
   * whether or not it is better). Only for pipelines that promote through another process.
   *
   * @default false
   */
  readonly allowUngatedPromotion?: boolean;
}

/** @internal The keys of `RetrainOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const RETRAIN_OPTIONS_KEYS: KnownKeys<RetrainOptions> = { parameters: true, cooldown: true, allowUngatedPromotion: true };

/** The action a monitor takes on drift. */
export class RetrainAction {
  /** @internal */
  constructor(
    /** @internal */ public readonly _pipeline: Pipeline,
    /** @internal */ public readonly _options: RetrainOptions,
  ) {}
}

/**
 * Retrain with `pipeline` when drift crosses a threshold; promotion stays behind the pipeline's
 * gated register step (the closed loop monitor → alert → retrain → gated promotion).
 */
export function retrain(pipeline: Pipeline, options: RetrainOptions = {}): RetrainAction {
  return new RetrainAction(pipeline, options);
}

/** Properties of a `DriftMonitor`. */
export interface DriftMonitorProps {
  /**
   * Endpoint whose captured traffic is monitored. Exactly one of `endpoint` and `batch`.
   *
   * @default - none
   */
  readonly endpoint?: OnlineEndpoint;
  /**
   * Only this deployment of the endpoint.
   *
   * @default - every deployment of the endpoint, each compared on its own
   */
  readonly deployment?: string;
  /**
   * Batch inference whose output is monitored. Exactly one of `endpoint` and `batch`.
   *
   * @default - none
   */
  readonly batch?: BatchInference;
  /**
   * The training data: the reference of skew signals, and the schema that says whether a
   * feature is numeric (int, float) or categorical (string, bool).
   */
  readonly baseline: Dataset;
  /** Monitored features: names (with `threshold`) or name → threshold. */
  readonly features: string[] | Record<string, number>;
  /**
   * Threshold for features listed without one, in the unit of the feature's metric.
   *
   * @default 0.1
   */
  readonly threshold?: number;
  /**
   * Distance metric of every feature (of numeric features when `categoricalMetric` is set).
   *
   * @default DriftMetric.JENSEN_SHANNON
   */
  readonly metric?: DriftMetric;
  /**
   * Distance metric of categorical (string, bool) features.
   *
   * @default - `metric`
   */
  readonly categoricalMetric?: DriftMetric;
  /**
   * What to compare.
   *
   * @default [MonitorKind.DRIFT]
   */
  readonly kinds?: MonitorKind[];
  /**
   * When the monitor runs.
   *
   * @default Schedule.rate(Duration.hours(24))
   */
  readonly schedule?: Schedule;
  /**
   * Production data each run looks at.
   *
   * @default Duration.days(1)
   */
  readonly lookback?: Duration;
  /**
   * Alerts (applied with `addAlert`).
   *
   * @default - no alerts
   */
  readonly alerts?: Alert[];
  /**
   * Action on drift.
   *
   * @default - alert only
   */
  readonly onDrift?: RetrainAction;
  /**
   * What the monitor watches.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `DriftMonitorProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const DRIFT_MONITOR_PROPS_KEYS: KnownKeys<DriftMonitorProps> = { endpoint: true, deployment: true, batch: true, baseline: true, features: true, threshold: true, metric: true, categoricalMetric: true, kinds: true, schedule: true, lookback: true, alerts: true, onDrift: true, description: true };

const BRAND = 'DriftMonitor';

/**
 * Watches the inputs of an endpoint (every deployment, each on its own, unless `deployment` names
 * one) or of a batch inference: skew against the baseline (the training data), drift against the
 * production window before; alerts, and optionally retrains. Thresholds are in the unit of each
 * feature's metric (lib/monitor-metrics.ts); targets convert or refuse them as `mlplane check
 * --parity` shows.
 *
 * @example
 * new DriftMonitor(env, 'Drift', { endpoint, baseline: transactions, features: ['amount', 'hour'],
 *   threshold: 0.15, schedule: Schedule.rate(Duration.hours(6)), onDrift: retrain(train),
 *   alerts: [Alert.email('ml-oncall@acme.example')] });
 */
export class DriftMonitor extends MlResource implements IGrantable {
  /** Whether `x` is a `DriftMonitor`. */
  public static isDriftMonitor(x: unknown): x is DriftMonitor {
    return hasBrand(x, BRAND);
  }

  private readonly props: DriftMonitorProps;
  private readonly alerts: Alert[] = [];
  private readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    brand(this, BRAND);
    markGrantable(this);
    this.props = props;
    checkKnownProps(this, 'DriftMonitorProps', props, DRIFT_MONITOR_PROPS_KEYS);
    if (props.onDrift instanceof RetrainAction) checkKnownProps(this, 'RetrainOptions', props.onDrift._options, RETRAIN_OPTIONS_KEYS, 'onDrift');
    this.schedule = props.schedule ?? Schedule.rate(Duration.hours(24));
    for (const p of this.schedule._problems()) addProblem(this, p);
    for (const a of props.alerts ?? []) this.addAlert(a);

    const targets = [props.endpoint, props.batch].filter((t) => t !== undefined);
    if (targets.length !== 1) addProblem(this, `set exactly one of endpoint and batch (got ${targets.length}); a monitor watches one endpoint or one batch inference`);
    if (props.endpoint !== undefined) {
      if (!OnlineEndpoint.isOnlineEndpoint(props.endpoint)) addProblem(this, 'endpoint is not an OnlineEndpoint');
      else if (sameEnvironment(this, 'endpoint', props.endpoint)) {
        this.node.addValidation({
          validate: () => {
            const ep = props.endpoint!;
            const problems: string[] = [];
            if (props.deployment !== undefined && !ep.deploymentNames.includes(props.deployment)) {
              problems.push(`deployment ${show(props.deployment)} is not a deployment of '${ep.node.path}' (deployments: ${ep.deploymentNames.join(', ')}); fix the name`);
            }
            if (!ep._capturing()) problems.push(`endpoint '${ep.node.path}' does not capture requests, so there is no production data to monitor; set capture: true on the endpoint`);
            return problems;
          },
        });
      }
    } else if (props.deployment !== undefined) {
      addProblem(this, `deployment ${show(props.deployment)} is set without an endpoint; remove it or set endpoint`);
    }
    if (props.batch !== undefined) {
      if (!BatchInference.isBatchInference(props.batch)) addProblem(this, 'batch is not a BatchInference');
      else sameEnvironment(this, 'batch', props.batch);
    }

    if (!Dataset.isDataset(props.baseline)) addProblem(this, 'baseline must be a Dataset of this environment');
    else if (sameEnvironment(this, 'baseline', props.baseline)) props.baseline._grantImplied(this, 'read');

    const metrics = Object.values(DriftMetric);
    const metricOk = (m: DriftMetric | undefined) => m === undefined || metrics.includes(m);
    for (const [name, m] of [['metric', props.metric], ['categoricalMetric', props.categoricalMetric]] as const) {
      if (!metricOk(m)) addProblem(this, `${name} ${show(m)} is not allowed; use one of ${metrics.map(show).join(', ')}`);
    }
    const metric = metricOk(props.metric) ? (props.metric ?? DriftMetric.JENSEN_SHANNON) : DriftMetric.JENSEN_SHANNON;
    const categoricalMetric = metricOk(props.categoricalMetric) ? (props.categoricalMetric ?? metric) : metric;
    const defaultThreshold = props.threshold ?? 0.1;
    const entries = this.featureEntries(defaultThreshold);
    if (entries.length === 0) addProblem(this, 'features is empty; name at least one feature of the baseline to monitor');
    const fields = Dataset.isDataset(props.baseline) ? props.baseline.fields : [];
    for (const { feature, threshold } of entries) {
      const f = findField(fields, feature);
      if (Dataset.isDataset(props.baseline) && !f) {
        addProblem(this, `feature '${feature}' is not in the schema of baseline '${props.baseline.node.path}' (columns: ${fields.map((c) => c.name).join(', ')}); add it to the baseline or stop monitoring it`);
        continue;
      }
      if (!f) continue;
      const kind = featureKind(f);
      if (kind === undefined) {
        addProblem(this, `feature '${feature}' has type ${f.type}; only numeric (int, float) and categorical (string, bool) features can be monitored; derive a numeric or categorical feature from it`);
        continue;
      }
      const m = kind === 'categorical' ? categoricalMetric : metric;
      const def = DRIFT_METRICS[m];
      if (!def.appliesTo.includes(kind)) {
        const fix = kind === 'numeric' ? `set metric to ${show(DriftMetric.JENSEN_SHANNON)} (or another numeric metric) and categoricalMetric: ${show(m)}` : `set categoricalMetric to ${show(DriftMetric.JENSEN_SHANNON)} or ${show(DriftMetric.L_INFINITY)}`;
        addProblem(this, `metric ${show(m)} (${def.title}) is defined on ${def.appliesTo.join(' and ')} features only, but feature '${feature}' is ${kind} (${f.type}); ${fix}`);
        continue;
      }
      const outside = typeof threshold === 'number' ? thresholdProblem(m, threshold) : 'not a number; use e.g. 0.15';
      if (outside) addProblem(this, `threshold for feature '${feature}' is ${show(threshold)}, ${outside}`);
    }
    const kinds = props.kinds ?? [MonitorKind.DRIFT];
    if (kinds.length === 0) addProblem(this, 'kinds is empty; use [MonitorKind.DRIFT], [MonitorKind.SKEW] or both');
    for (const k of kinds) if (!Object.values(MonitorKind).includes(k)) addProblem(this, `kind ${show(k)} is not allowed; use MonitorKind.DRIFT or MonitorKind.SKEW`);
    if (new Set(kinds).size !== kinds.length) addProblem(this, `kinds lists a kind twice (${kinds.join(', ')}); remove the duplicate`);
    const lookback = (props.lookback ?? Duration.days(1)).toSeconds();
    if (!(lookback >= 86400) || lookback % 86400 !== 0 || lookback > 90 * 86400) addProblem(this, `lookback ${props.lookback?.toString()} must be a whole number of days between 1 and 90`);

    if (props.onDrift !== undefined) this.checkRetrain(props.onDrift);
  }

  /** Send alerts to `alert` too. */
  public addAlert(alert: Alert): void {
    if (!(alert instanceof Alert)) {
      addProblem(this, `alert ${show(String(alert))} is not an Alert; use Alert.email(...) or Alert.webhook(...)`);
      return;
    }
    for (const p of alert._problems()) addProblem(this, p);
    this.alerts.push(alert);
  }

  /** @internal */
  public _principals(): PrincipalModel[] {
    return [{ kind: 'driftMonitor', monitor: this.node.path }];
  }

  /** @internal */
  public _render(): DriftMonitorModel {
    const p = this.props;
    const thresholds = this.featureEntries(p.threshold ?? 0.1).sort((a, b) => (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0));
    const metric = (p.metric ?? DriftMetric.JENSEN_SHANNON) as DriftMetricName;
    const categoricalMetric = p.categoricalMetric as DriftMetricName | undefined;
    const signals: MonitorSignalModel[] = (p.kinds ?? [MonitorKind.DRIFT]).map((kind) => ({
      kind: kind as 'drift' | 'skew',
      metric,
      ...(categoricalMetric !== undefined && categoricalMetric !== metric ? { categoricalMetric } : {}),
      thresholds,
    }));
    return {
      kind: 'driftMonitor',
      path: this.node.path,
      id: this.node.id,
      description: p.description,
      target: p.endpoint ? { kind: 'endpoint', endpoint: p.endpoint.node.path, deployment: p.deployment } : { kind: 'batch', batch: p.batch!.node.path },
      baseline: p.baseline.node.path,
      signals,
      schedule: this.schedule._render(),
      lookbackDays: (p.lookback ?? Duration.days(1)).toSeconds() / 86400,
      alerts: this.alerts.map((a) => a._render()),
      onDrift: p.onDrift ? this.renderRetrain(p.onDrift) : undefined,
    };
  }

  private featureEntries(defaultThreshold: number): Array<{ feature: string; threshold: number }> {
    const f = this.props.features ?? [];
    return Array.isArray(f) ? f.map((feature) => ({ feature, threshold: defaultThreshold })) : Object.entries(f).map(([feature, threshold]) => ({ feature, threshold }));
  }

  private checkRetrain(action: RetrainAction): void {
    const pipeline = action._pipeline;
    if (!(action instanceof RetrainAction) || !Pipeline.isPipeline(pipeline)) {
      addProblem(this, `onDrift must be retrain(pipeline) with a Pipeline of this environment`);
      return;
    }
    if (MlopsEnvironment.of(pipeline) !== this.environment) {
      addProblem(this, `onDrift retrains '${pipeline.node.path}' of environment '${MlopsEnvironment.of(pipeline).node.id}'; retrain a pipeline of '${this.environment.node.id}'`);
      return;
    }
    const o = action._options;
    this.node.addValidation({
      validate: () => {
        const problems: string[] = [];
        if (pipeline.gatedRegisterSteps.length === 0 && !o.allowUngatedPromotion) {
          problems.push(`onDrift retrains '${pipeline.node.path}', which has no register step with a promotion gate, so a worse model could replace the champion; add addRegisterStep(..., { when: Metric.greaterThanAlias(...) }) or pass allowUngatedPromotion: true`);
        }
        for (const name of Object.keys(o.parameters ?? {})) {
          if (!pipeline.parameterNames.includes(name)) problems.push(`onDrift sets parameter '${name}', which '${pipeline.node.path}' does not define (parameters: ${pipeline.parameterNames.join(', ') || 'none'}); fix the name`);
        }
        return problems;
      },
    });
    const cooldown = (o.cooldown ?? Duration.hours(24)).toSeconds();
    if (!(cooldown >= 3600)) addProblem(this, `retrain cooldown ${o.cooldown?.toString()} must be at least 1 hour, so drift cannot start a retraining storm`);
  }

  private renderRetrain(action: RetrainAction): RetrainActionModel {
    const gated = action._pipeline.gatedRegisterSteps[0];
    return {
      action: 'retrain',
      pipeline: action._pipeline.node.path,
      parameters: { ...(action._options.parameters ?? {}) },
      gateStep: gated?.node.id,
      cooldownSeconds: (action._options.cooldown ?? Duration.hours(24)).toSeconds(),
    };
  }
}
