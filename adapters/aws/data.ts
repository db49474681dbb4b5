import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { SynthWarning } from '../../lib/adapter';
import type { DatasetModel, FeatureTableModel, FieldModel, FieldTypeModel } from '../../lib/model/types';
import { constructId, datasetPrefix, glueTableName } from './names';
import type { Platform } from './platform';
import type { AwsSettings } from './settings';

/** Where a dataset lives in S3 and in the Glue catalog. */
export interface DatasetBinding {
  readonly model: DatasetModel;
  readonly bucket: s3.IBucket;
  /** Key prefix inside the bucket, with trailing slash (empty for a whole bucket). */
  readonly prefix: string;
  /** `s3://bucket/prefix/` */
  readonly uri: string;
  readonly glueTable: glue.CfnTable;
}

/** A feature table's offline (Glue) and optional online (DynamoDB) stores. */
export interface FeatureTableBinding {
  readonly model: FeatureTableModel;
  readonly glueTable: glue.CfnTable;
  readonly online?: dynamodb.Table;
  readonly source: DatasetBinding;
}

/** Hive input/output formats and SerDe of each dataset format. */
const FORMATS: Readonly<Record<DatasetModel['format'], glue.CfnTable.StorageDescriptorProperty>> = {
  parquet: {
    inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
  },
  delta: {
    inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
  },
  csv: {
    inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
    serdeInfo: {
      serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
      parameters: { 'field.delim': ',', 'skip.header.line.count': '1' },
    },
  },
  jsonl: {
    inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
    serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
  },
};

/** The Glue (Hive) type of a model column type. */
export function glueType(t: FieldTypeModel): string {
  switch (t.type) {
    case 'string':
      return 'string';
    case 'int':
      return 'bigint';
    case 'float':
      return 'double';
    case 'bool':
      return 'boolean';
    case 'timestamp':
      return 'timestamp';
    case 'date':
      return 'date';
    case 'array':
      return `array<${glueType(t.items)}>`;
    case 'struct':
      return `struct<${t.fields.map((f) => `${f.name}:${glueType(f)}`).join(',')}>`;
    default: {
      const never: never = t;
      throw new Error(`unhandled field type ${JSON.stringify(never)}`);
    }
  }
}

function columns(fields: readonly FieldModel[]): glue.CfnTable.ColumnProperty[] {
  return fields.map((f) => ({ name: f.name, type: glueType(f), comment: f.description }));
}

function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucket: rest, prefix: '' };
  const prefix = rest.slice(slash + 1);
  return { bucket: rest.slice(0, slash), prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}

/** Define the S3 location and Glue table of a dataset. */
export function buildDataset(stack: Stack, envPath: string, r: DatasetModel, platform: Platform, settings: AwsSettings): DatasetBinding {
  const id = constructId(envPath, r.path);
  let bucket: s3.IBucket = platform.bucket;
  let prefix = datasetPrefix(envPath, r.path);
  if (r.source.kind === 'external') {
    const parsed = parseS3Uri(r.source.uri);
    bucket = s3.Bucket.fromBucketName(stack, `${id}-ExternalBucket`, parsed.bucket);
    prefix = parsed.prefix;
  }
  const uri = bucket.s3UrlForObject(prefix);
  const format = FORMATS[r.format];
  const glueTable = new glue.CfnTable(stack, `${id}-Table`, {
    catalogId: settings.account,
    databaseName: platform.glueDatabaseName,
    tableInput: {
      name: glueTableName(envPath, r.path),
      description: r.description,
      tableType: 'EXTERNAL_TABLE',
      parameters: {
        classification: r.format === 'jsonl' ? 'json' : r.format === 'delta' ? 'parquet' : r.format,
        'mlplane:path': r.path,
        'mlplane:version': r.version,
        ...(r.format === 'delta' ? { table_type: 'DELTA' } : {}),
      },
      partitionKeys: r.partitionBy ? [{ name: `${r.partitionBy.field}_${r.partitionBy.granularity}`, type: 'string' }] : undefined,
      storageDescriptor: {
        ...format,
        location: uri,
        columns: columns(r.schema),
        sortColumns: r.clusterBy.length > 0 ? r.clusterBy.map((column) => ({ column, sortOrder: 1 })) : undefined,
      },
    },
  });
  glueTable.node.addDependency(platform.glueDatabase);
  glueTable.applyRemovalPolicy(r.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
  return { model: r, bucket, prefix, uri, glueTable };
}

/** Define the Glue table and, for online serving, the DynamoDB table of a feature table. */
export function buildFeatureTable(
  stack: Stack,
  envPath: string,
  r: FeatureTableModel,
  platform: Platform,
  settings: AwsSettings,
  datasets: ReadonlyMap<string, DatasetBinding>,
  warnings: SynthWarning[],
): FeatureTableBinding | undefined {
  const source = datasets.get(r.source);
  if (!source) return undefined; // reported by validateForAws
  const id = constructId(envPath, r.path);
  const sourceFields = source.model.schema;
  const keyFields = r.entity.keys.map((k) => sourceFields.find((f) => f.name === k) ?? { name: k, type: 'string' as const, nullable: false });
  const extra = r.timestampField ? sourceFields.filter((f) => f.name === r.timestampField) : [];
  const all = [...keyFields, ...extra, ...r.features.filter((f) => !r.entity.keys.includes(f.name) && f.name !== r.timestampField)];
  const glueTable = new glue.CfnTable(stack, `${id}-Table`, {
    catalogId: settings.account,
    databaseName: platform.glueDatabaseName,
    tableInput: {
      name: glueTableName(envPath, r.path),
      description: r.description ?? `features of ${r.entity.name} from ${r.source}`,
      tableType: 'EXTERNAL_TABLE',
      parameters: {
        classification: source.model.format === 'jsonl' ? 'json' : source.model.format === 'delta' ? 'parquet' : source.model.format,
        'mlplane:path': r.path,
        'mlplane:entity': r.entity.name,
        'mlplane:keys': r.entity.keys.join(','),
        ...(r.timestampField ? { 'mlplane:timestamp': r.timestampField } : {}),
      },
      storageDescriptor: { ...FORMATS[source.model.format], location: source.uri, columns: columns(all) },
    },
  });
  glueTable.node.addDependency(platform.glueDatabase);
  glueTable.applyRemovalPolicy(source.model.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);

  let online: dynamodb.Table | undefined;
  if (r.online) {
    const single = keyFields.length === 1 ? keyFields[0] : undefined;
    online = new dynamodb.Table(stack, `${id}-Online`, {
      partitionKey: single
        ? { name: single.name, type: single.type === 'int' || single.type === 'float' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING }
        : { name: 'entity_key', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: platform.key ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: platform.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: r.ttlSeconds !== undefined ? 'expires_at' : undefined,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (r.refreshSeconds !== undefined) {
      warnings.push({
        id: 'mlplane:aws:feature-refresh-by-pipeline',
        path: r.path,
        message: `the aws target does not schedule the online refresh every ${r.refreshSeconds}s; write to the DynamoDB table from a pipeline step granted write on '${r.path}'`,
      });
    }
  }
  return { model: r, glueTable, online, source };
}
