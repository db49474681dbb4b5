import type { Construct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import type { Duration } from './core/duration';
import { addProblem, show } from './core/errors';
import type { FeatureTableModel, FieldModel } from './model/types';
import { MlResource, sameEnvironment, type IGrantable } from './resource';
import { Dataset, type IDataset } from './dataset';
import { findField } from './schema';
import { checkKnownProps, type KnownKeys } from './core/props';

/** Properties of a `FeatureTable`. */
export interface FeatureTableProps {
  /** The dataset the features are computed from. */
  readonly source: IDataset;
  /**
   * Name of the entity the features describe.
   *
   * @default - the construct id in lower case
   */
  readonly entity?: string;
  /** Key columns of the entity in the source dataset. */
  readonly keys: string[];
  /** Feature columns of the source dataset. */
  readonly features: string[];
  /**
   * Event-time column, used for point-in-time correct training data.
   *
   * @default - no event time: the latest value per key
   */
  readonly timestampField?: string;
  /**
   * Also serve the features online (low-latency lookup by key).
   *
   * @default false
   */
  readonly online?: boolean;
  /**
   * How long an online value stays valid.
   *
   * @default - no expiry
   */
  readonly ttl?: Duration;
  /**
   * How often the online store is refreshed from the source. Only with `online`.
   *
   * @default - Duration.hours(1) when online
   */
  readonly refreshEvery?: Duration;
  /**
   * What the features are.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `FeatureTableProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const FEATURE_TABLE_PROPS_KEYS: KnownKeys<FeatureTableProps> = { source: true, entity: true, keys: true, features: true, timestampField: true, online: true, ttl: true, refreshEvery: true, description: true };

const BRAND = 'FeatureTable';

/**
 * Features keyed by an entity, computed from a dataset, served offline and optionally online.
 *
 * @example
 * new FeatureTable(env, 'CustomerFeatures', { source: transactions, keys: ['customerId'],
 *   features: ['amount', 'merchantCategory'], timestampField: 'ts', online: true, ttl: Duration.days(7) });
 */
export class FeatureTable extends MlResource {
  /** Whether `x` is a `FeatureTable`. */
  public static isFeatureTable(x: unknown): x is FeatureTable {
    return hasBrand(x, BRAND);
  }

  private readonly props: FeatureTableProps;

  constructor(scope: Construct, id: string, props: FeatureTableProps) {
    super(scope, id);
    brand(this, BRAND);
    this.props = props;
    checkKnownProps(this, 'FeatureTableProps', props, FEATURE_TABLE_PROPS_KEYS);
    if (!Dataset.isDataset(props.source)) {
      addProblem(this, `source ${show((props.source as unknown as Construct)?.node?.path ?? props.source)} is not a Dataset; pass a Dataset of this environment`);
      return;
    }
    sameEnvironment(this, 'source', props.source);
    const fields = props.source.fields;
    const columns = fields.map((f) => f.name).join(', ');
    const entity = props.entity ?? id.toLowerCase();
    if (!/^[a-z][a-z0-9_]{0,59}$/.test(entity)) addProblem(this, `entity ${show(entity)} must be 1-60 lower-case letters, digits or '_' starting with a letter; rename it`);
    if (props.keys.length === 0) addProblem(this, `keys is empty; name the entity key column(s) of '${props.source.node.path}'`);
    for (const k of props.keys) {
      const f = findField(fields, k);
      if (!f) addProblem(this, `key ${show(k)} is not a column of '${props.source.node.path}' (columns: ${columns}); name an existing column`);
      else if (f.type !== 'string' && f.type !== 'int') addProblem(this, `key '${k}' has type ${f.type}; entity keys must be string or int columns`);
    }
    if (props.features.length === 0) addProblem(this, `features is empty; name at least one column of '${props.source.node.path}'`);
    const seen = new Set<string>();
    for (const name of props.features) {
      if (seen.has(name)) addProblem(this, `feature ${show(name)} is listed twice; remove the duplicate`);
      seen.add(name);
      if (!findField(fields, name)) addProblem(this, `feature ${show(name)} is not a column of '${props.source.node.path}' (columns: ${columns}); name an existing column`);
      if (props.keys.includes(name)) addProblem(this, `feature '${name}' is also a key; keys are not features, remove it from features`);
    }
    if (props.timestampField !== undefined) {
      const f = findField(fields, props.timestampField);
      if (!f) addProblem(this, `timestampField ${show(props.timestampField)} is not a column of '${props.source.node.path}'; name a timestamp column`);
      else if (f.type !== 'timestamp') addProblem(this, `timestampField '${f.name}' has type ${f.type}; it must be a timestamp column`);
    }
    if (props.ttl !== undefined && !(props.ttl.toSeconds() >= 60)) addProblem(this, `ttl ${props.ttl.toString()} must be at least 1 minute; omit it for no expiry`);
    if (props.refreshEvery !== undefined) {
      if (!props.online) addProblem(this, `refreshEvery is set but online is false; set online: true or remove refreshEvery`);
      if (!(props.refreshEvery.toSeconds() >= 300)) addProblem(this, `refreshEvery ${props.refreshEvery.toString()} must be at least 5 minutes`);
    }
  }

  /** Allow `grantee` to read features (offline and online). */
  public grantRead(grantee: IGrantable): void {
    this._grant(grantee, 'read', 'explicit');
  }

  /** @internal */
  public _render(): FeatureTableModel {
    const p = this.props;
    const fields = p.source.fields;
    return {
      kind: 'featureTable',
      path: this.node.path,
      id: this.node.id,
      description: p.description,
      entity: { name: p.entity ?? this.node.id.toLowerCase(), keys: [...p.keys] },
      source: p.source.node.path,
      timestampField: p.timestampField,
      features: p.features.map((n) => findField(fields, n)).filter((f): f is FieldModel => f !== undefined),
      online: p.online ?? false,
      ttlSeconds: p.ttl?.toSeconds(),
      refreshSeconds: p.online ? (p.refreshEvery?.toSeconds() ?? 3600) : undefined,
    };
  }
}
