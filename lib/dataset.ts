import type { Construct } from 'constructs';
import { hasBrand, brand } from './core/brand';
import type { Duration } from './core/duration';
import { addProblem, show } from './core/errors';
import { checkEnum } from './environment';
import type { DatasetModel, FieldModel } from './model/types';
import { MlResource, type IGrantable } from './resource';
import { fieldNameProblems, findField, type Schema } from './schema';
import { checkKnownProps, type KnownKeys } from './core/props';

/** File format of a dataset's data. */
export enum DataFormat {
  PARQUET = 'parquet',
  CSV = 'csv',
  JSONL = 'jsonl',
  DELTA = 'delta',
}

/** Granularity of time partitions. */
export enum PartitionGranularity {
  HOUR = 'hour',
  DAY = 'day',
  MONTH = 'month',
  YEAR = 'year',
}

/** What happens to stored data when the environment is destroyed. */
export enum RemovalPolicy {
  /** Keep the data (the default for every data-bearing resource). */
  RETAIN = 'retain',
  /** Delete the data with the environment. */
  DESTROY = 'destroy',
}

/**
 * Where a dataset's data lives.
 *
 * @example DataSource.external('gs://acme-raw/transactions/')
 */
export class DataSource {
  /** Storage defined and managed by the environment (bucket / table / datastore). */
  public static managed(): DataSource {
    return new DataSource(undefined);
  }

  /**
   * Data the user already has at `uri` (`gs://`, `s3://`, `abfss://`, `azureml://`, `https://`).
   * Each target accepts only its own cloud's schemes.
   */
  public static external(uri: string): DataSource {
    return new DataSource(uri);
  }

  private constructor(private readonly uri: string | undefined) {}

  /** @internal */
  public _render(scope: Construct): DatasetModel['source'] {
    if (this.uri === undefined) return { kind: 'managed' };
    if (!/^(gs|s3|abfss|azureml|https):\/\/[^\s]+$/.test(this.uri)) {
      addProblem(scope, `source URI ${show(this.uri)} is not a storage URI; use gs://, s3://, abfss://, azureml:// or https:// followed by a location`);
    }
    return { kind: 'external', uri: this.uri };
  }
}

/** Time partitioning of a dataset. */
export interface PartitionOptions {
  /** A timestamp or date column. */
  readonly field: string;
  /**
   * Partition size.
   *
   * @default PartitionGranularity.DAY
   */
  readonly granularity?: PartitionGranularity;
}

/** @internal The keys of `PartitionOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const PARTITION_OPTIONS_KEYS: KnownKeys<PartitionOptions> = { field: true, granularity: true };

/** Properties of a `Dataset`. */
export interface DatasetProps {
  /** The columns. */
  readonly schema: Schema;
  /**
   * Where the data lives.
   *
   * @default DataSource.managed()
   */
  readonly source?: DataSource;
  /**
   * File format.
   *
   * @default DataFormat.PARQUET
   */
  readonly format?: DataFormat;
  /**
   * Version label of this definition; a new data asset version is registered when it changes.
   *
   * @default '1'
   */
  readonly version?: string;
  /**
   * How long data is kept.
   *
   * @default - forever
   */
  readonly retention?: Duration;
  /**
   * Time partitioning.
   *
   * @default - not partitioned
   */
  readonly partitionBy?: PartitionOptions;
  /**
   * Columns to cluster by, most selective first (at most 4).
   *
   * @default - not clustered
   */
  readonly clusterBy?: string[];
  /**
   * What happens to the data when the environment is destroyed.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * What the data is.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `DatasetProps`, for the run-time check of unknown keys (the type keeps it in sync). */
const DATASET_PROPS_KEYS: KnownKeys<DatasetProps> = { schema: true, source: true, format: true, version: true, retention: true, partitionBy: true, clusterBy: true, removalPolicy: true, description: true };

/** A dataset: tabular or file data with a schema. */
export interface IDataset extends Construct {
  /** The columns (a copy). */
  readonly fields: FieldModel[];
  /** Allow `grantee` to read the data. */
  grantRead(grantee: IGrantable): void;
  /** Allow `grantee` to write the data. */
  grantWrite(grantee: IGrantable): void;
}

const BRAND = 'Dataset';

/**
 * A versioned dataset with a typed schema.
 *
 * Becomes a data asset version (azure), a BigQuery table (gcp), or an S3 prefix with a Glue
 * table (aws).
 *
 * @example
 * new Dataset(env, 'Transactions', {
 *   schema: Schema.of({ txId: Field.string({ nullable: false }), amount: Field.float(), ts: Field.timestamp() }),
 *   partitionBy: { field: 'ts' },
 *   retention: Duration.days(365),
 * });
 */
export class Dataset extends MlResource implements IDataset {
  /** Whether `x` is a `Dataset`. */
  public static isDataset(x: unknown): x is Dataset {
    return hasBrand(x, BRAND);
  }

  private readonly props: DatasetProps;
  private readonly schemaFields: FieldModel[];
  private readonly source: DatasetModel['source'];

  constructor(scope: Construct, id: string, props: DatasetProps) {
    super(scope, id);
    brand(this, BRAND);
    this.props = props;
    checkKnownProps(this, 'DatasetProps', props, DATASET_PROPS_KEYS);
    checkKnownProps(this, 'PartitionOptions', props.partitionBy, PARTITION_OPTIONS_KEYS, 'partitionBy');
    if (props.schema && typeof props.schema._problems === 'function') for (const p of props.schema._problems()) addProblem(this, p);
    this.schemaFields = props.schema?._render() ?? [];
    this.source = (props.source ?? DataSource.managed())._render(this);
    if (this.schemaFields.length === 0) addProblem(this, 'schema has no fields; declare at least one column with Schema.of({ ... })');
    for (const p of fieldNameProblems(this.schemaFields)) addProblem(this, p);
    if (props.format !== undefined) checkEnum(this, 'format', props.format, Object.values(DataFormat));
    if (props.removalPolicy !== undefined) checkEnum(this, 'removalPolicy', props.removalPolicy, Object.values(RemovalPolicy));
    const version = props.version ?? '1';
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$/.test(version)) {
      addProblem(this, `version ${show(version)} must be 1-30 letters, digits, '.', '_' or '-' starting with a letter or digit; use e.g. '2' or '2026.11'`);
    }
    if (props.retention !== undefined) {
      const s = props.retention.toSeconds();
      if (!(s >= 86400) || s % 86400 !== 0) {
        addProblem(this, `retention ${props.retention.toString()} must be a whole number of days, at least 1; use e.g. Duration.days(365), or omit it to keep data forever`);
      }
    }
    if (props.partitionBy) {
      const f = findField(this.schemaFields, props.partitionBy.field);
      if (!f) {
        addProblem(this, `partitionBy field ${show(props.partitionBy.field)} is not in the schema (columns: ${this.columnList()}); name a timestamp or date column`);
      } else if (f.type !== 'timestamp' && f.type !== 'date') {
        addProblem(this, `partitionBy field '${f.name}' has type ${f.type}; partition by a timestamp or date column`);
      }
      if (props.partitionBy.granularity !== undefined) checkEnum(this, 'partitionBy.granularity', props.partitionBy.granularity, Object.values(PartitionGranularity));
    }
    const clusterBy = props.clusterBy ?? [];
    if (clusterBy.length > 4) addProblem(this, `clusterBy has ${clusterBy.length} columns (${clusterBy.join(', ')}); at most 4 are allowed, keep the most selective`);
    for (const c of clusterBy) {
      const f = findField(this.schemaFields, c);
      if (!f) addProblem(this, `clusterBy column ${show(c)} is not in the schema (columns: ${this.columnList()}); name an existing column`);
      else if (f.type === 'array' || f.type === 'struct' || f.type === 'float') addProblem(this, `clusterBy column '${c}' has type ${f.type}; cluster by a string, int, bool, date or timestamp column`);
    }
  }

  /** The columns (a copy). */
  public get fields(): FieldModel[] {
    return [...this.schemaFields];
  }

  /** Allow `grantee` to read the data. */
  public grantRead(grantee: IGrantable): void {
    this._grant(grantee, 'read', 'explicit');
  }

  /** Allow `grantee` to write the data. */
  public grantWrite(grantee: IGrantable): void {
    this._grant(grantee, 'write', 'explicit');
  }

  /** Allow `grantee` to read and write the data. */
  public grantReadWrite(grantee: IGrantable): void {
    this._grant(grantee, 'readWrite', 'explicit');
  }

  /** @internal Record an access edge implied by wiring. */
  public _grantImplied(grantee: IGrantable, access: 'read' | 'write'): void {
    this._grant(grantee, access, 'wiring');
  }

  /** @internal */
  public _render(): DatasetModel {
    const p = this.props;
    return {
      kind: 'dataset',
      path: this.node.path,
      id: this.node.id,
      description: p.description,
      schema: this.schemaFields,
      source: this.source,
      format: p.format ?? DataFormat.PARQUET,
      version: p.version ?? '1',
      retentionDays: p.retention ? p.retention.toSeconds() / 86400 : undefined,
      partitionBy: p.partitionBy ? { field: p.partitionBy.field, granularity: p.partitionBy.granularity ?? PartitionGranularity.DAY } : undefined,
      clusterBy: [...(p.clusterBy ?? [])],
      retain: (p.removalPolicy ?? RemovalPolicy.RETAIN) === RemovalPolicy.RETAIN,
    };
  }

  private columnList(): string {
    return this.schemaFields.map((f) => f.name).join(', ');
  }
}
