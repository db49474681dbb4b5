import type { FieldModel, FieldTypeModel, ScalarTypeName } from './model/types';
import { unknownPropsProblems, type KnownKeys } from './core/props';

/** Options of a schema field. */
export interface FieldOptions {
  /**
   * Whether the column may hold nulls.
   *
   * @default true
   */
  readonly nullable?: boolean;
  /**
   * What the column means.
   *
   * @default - no description
   */
  readonly description?: string;
}

/** @internal The keys of `FieldOptions`, for the run-time check of unknown keys (the type keeps it in sync). */
const FIELD_OPTIONS_KEYS: KnownKeys<FieldOptions> = { nullable: true, description: true };

/**
 * The type of a schema column.
 *
 * @example Field.array(Field.float())
 */
export class Field {
  /** UTF-8 text. */
  public static string(options?: FieldOptions): Field {
    return Field.scalar('string', options);
  }
  /** 64-bit signed integer. */
  public static int(options?: FieldOptions): Field {
    return Field.scalar('int', options);
  }
  /** 64-bit floating point. */
  public static float(options?: FieldOptions): Field {
    return Field.scalar('float', options);
  }
  /** Boolean. */
  public static bool(options?: FieldOptions): Field {
    return Field.scalar('bool', options);
  }
  /** Instant in time (UTC, microsecond precision). */
  public static timestamp(options?: FieldOptions): Field {
    return Field.scalar('timestamp', options);
  }
  /** Calendar date. */
  public static date(options?: FieldOptions): Field {
    return Field.scalar('date', options);
  }
  /** A list of values of one type. */
  public static array(items: Field, options?: FieldOptions): Field {
    return new Field(() => ({ type: 'array', items: items._renderType() }), options, (where) => items._problems(`${where}[]`));
  }
  /** A nested record. */
  public static struct(fields: Record<string, Field>, options?: FieldOptions): Field {
    const nested = (where: string) => Object.entries(fields).flatMap(([n, f]) => f._problems(`${where}.${n}`));
    return new Field(() => ({ type: 'struct', fields: Object.entries(fields).map(([n, f]) => f._render(n)) }), options, nested);
  }

  private static scalar(type: ScalarTypeName, options?: FieldOptions): Field {
    return new Field(() => ({ type }), options);
  }

  private constructor(
    private readonly renderType: () => FieldTypeModel,
    private readonly options: FieldOptions = {},
    private readonly nestedProblems: (where: string) => string[] = () => [],
  ) {}

  /** @internal Problems with the options of this field (and of nested fields), for field path `where`. */
  public _problems(where: string): string[] {
    return [...unknownPropsProblems('FieldOptions', this.options, FIELD_OPTIONS_KEYS, `field '${where}'`), ...this.nestedProblems(where)];
  }

  /** @internal */
  public _renderType(): FieldTypeModel {
    return this.renderType();
  }

  /** @internal */
  public _render(name: string): FieldModel {
    return { name, nullable: this.options.nullable ?? true, description: this.options.description, ...this.renderType() };
  }
}

/**
 * The columns of a dataset, in order.
 *
 * @example Schema.of({ txId: Field.string({ nullable: false }), amount: Field.float() })
 */
export class Schema {
  /** A schema from an object of column name → type (declaration order is kept). */
  public static of(fields: Record<string, Field>): Schema {
    return new Schema(Object.entries(fields));
  }

  /** A schema from a list of `[name, type]` pairs (allows names an object literal cannot hold). */
  public static fromEntries(fields: ReadonlyArray<readonly [string, Field]>): Schema {
    return new Schema(fields.map(([n, f]) => [n, f] as [string, Field]));
  }

  private constructor(private readonly entries: Array<[string, Field]>) {}

  /** @internal Problems with the fields' options. */
  public _problems(): string[] {
    return this.entries.flatMap(([name, field]) => (field instanceof Field ? field._problems(name) : []));
  }

  /** @internal */
  public _render(): FieldModel[] {
    return this.entries.map(([name, field]) => field._render(name));
  }
}

/** Rule every column name must satisfy on every target (BigQuery's is the strictest). */
export const FIELD_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * Problems with the names in a list of fields (recursively): invalid names and duplicates that
 * differ only in case. Each message names the field's dotted path.
 */
export function fieldNameProblems(fields: readonly FieldModel[], prefix = ''): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const f of fields) {
    const full = `${prefix}${f.name}`;
    if (!FIELD_NAME_PATTERN.test(f.name)) {
      problems.push(`schema field '${full}' is not a valid column name: use 1-128 letters, digits and '_', not starting with a digit; rename it`);
    }
    const key = f.name.toLowerCase();
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push(`schema field '${full}' duplicates '${prefix}${earlier}' (column names are compared case-insensitively); rename or remove one`);
    } else {
      seen.set(key, f.name);
    }
    if (f.type === 'struct') {
      if (f.fields.length === 0) problems.push(`schema field '${full}' is a struct with no fields; give it at least one field`);
      problems.push(...fieldNameProblems(f.fields, `${full}.`));
    }
    if (f.type === 'array' && f.items.type === 'array') {
      problems.push(`schema field '${full}' is an array of arrays, which BigQuery, Glue and Azure ML tables cannot store; wrap the inner array in a struct`);
    }
  }
  return problems;
}

/** Find a top-level field by name (exact match). */
export function findField(fields: readonly FieldModel[], name: string): FieldModel | undefined {
  return fields.find((f) => f.name === name);
}
