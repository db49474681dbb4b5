import { createHash } from 'node:crypto';
import type { NameClaim } from '../../lib/adapter';
import type { EnvironmentModel } from '../../lib/model/types';
import { shortenMiddle, stagedEnvironmentName } from '../shared/names';

/**
 * Naming rules of the aws target.
 *
 * CDK-generated physical names are preferred everywhere; the names below exist only where a name
 * is part of a contract (stack names users see in `cdk ls`, the Glue catalog users query with
 * Athena, S3 prefixes and environment variables containers read, CloudWatch metric names alarms
 * match on). Every name derives from the construct path, so it is deterministic; when a provider
 * limit is exceeded the name is trimmed from the left and ends with a short hash of the full path.
 */

/** A short, stable hash of `text` (8 hex characters). */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/**
 * Keep at most `max` characters; when too long, cut out the middle (the start and the leaf id
 * both survive) and append a hash of the whole.
 */
export function trimLeft(name: string, max: number, separator: string): string {
  if (name.length <= max) return name;
  return shortenMiddle(name, max, `${separator}${shortHash(name)}`, separator);
}

/** The path below the environment: `Fraud/Train/Fit` → `Train/Fit`. */
export function relativePath(envPath: string, path: string): string {
  return path.startsWith(`${envPath}/`) ? path.slice(envPath.length + 1) : path;
}

/**
 * CloudFormation stack name of the environment's `index`-th stack (0-based): `Fraud-mlops`,
 * `Fraud-mlops-2`, … Letters, digits and hyphens, starting with a letter, at most 128 characters.
 */
export function stackName(envName: string, index: number): string {
  let base = envName.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^[^A-Za-z]+/, '');
  if (base === '') base = `env${shortHash(envName)}`;
  const suffix = index === 0 ? '-mlops' : `-mlops-${index + 1}`;
  return `${trimLeft(base, 128 - suffix.length, '-')}${suffix}`;
}

/** Construct id for a resource inside a stack: the path below the environment with `/` → `-`. */
export function constructId(envPath: string, path: string): string {
  return relativePath(envPath, path).replace(/\//g, '-');
}

/** Lower-case kebab slug of a path below the environment (`Train/Fit` → `train/fit`), for S3 keys. */
export function keySlug(envPath: string, path: string): string {
  return relativePath(envPath, path)
    .split('/')
    .map((s) =>
      s
        .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
        .replace(/[^A-Za-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .toLowerCase(),
    )
    .join('/');
}

/** S3 key prefix (with trailing slash) of a managed dataset. */
export function datasetPrefix(envPath: string, path: string): string {
  return `datasets/${keySlug(envPath, path)}/`;
}

/**
 * S3 key prefix (with trailing slash) that holds the files of every version of one registered
 * model: `models/<registry>/<model>/`. The register step copies a run's model output below it and
 * registers the copy as the version's `source`, so a model server reads this one prefix whatever the
 * number of pipelines registering the model. Model names are already S3-safe (`[a-z][a-z0-9_-]*`).
 */
export function modelPrefix(envPath: string, registryPath: string, model: string): string {
  return `models/${keySlug(envPath, registryPath)}/${model}/`;
}

/**
 * S3 key prefix (with trailing slash) of the versions one register step registers:
 * `models/<registry>/<model>/<pipeline>/<step>/`; the version of run `<run>` is `<run>/` below it.
 */
export function registerStepPrefix(envPath: string, pipelinePath: string, step: string, registryPath: string, model: string): string {
  return `${modelPrefix(envPath, registryPath, model)}${keySlug(envPath, pipelinePath)}/${keySlug('', step)}/`;
}

/** Glue database name of an environment: lower case, `[a-z0-9_]`, at most 255 characters. */
export function glueDatabaseName(envName: string): string {
  return trimLeft(`${snake(envName)}_mlops`, 255, '_');
}

/** Glue table name of a dataset or feature table: lower case, `[a-z0-9_]`, at most 255 characters. */
export function glueTableName(envPath: string, path: string): string {
  return trimLeft(snake(relativePath(envPath, path)), 255, '_');
}

/** Environment variable name for a step input or output: `MLPLANE_INPUT_CLEAN_DATA`. */
export function envVar(prefix: string, name: string): string {
  return `${prefix}_${snake(name).toUpperCase()}`;
}

/** State name in a Step Functions definition: at most 80 characters. */
export function stateName(name: string): string {
  return trimLeft(name.replace(/[^A-Za-z0-9 _.-]+/g, '-'), 80, '-');
}

/** CloudWatch metric namespace of an environment's drift metrics. */
export function metricNamespace(envName: string): string {
  return trimLeft(`mlplane/${envName}`, 255, '-');
}

function snake(text: string): string {
  const s = text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  return s === '' ? `x${shortHash(text)}` : /^[0-9]/.test(s) ? `x_${s}` : s;
}

/**
 * Every name of the environment that must be unique, with its scope: the S3 key prefixes in the
 * environment's buckets (datasets, pipeline runs, registered models, request capture, load-balancer logs), the Glue
 * tables and construct ids in its stacks, and — shared with other environments of the account and
 * region — its stack names, Glue database and metric namespace. Checked by `nameCollisions`.
 */
export function awsNameClaims(model: EnvironmentModel, account: string, region: string): NameClaim[] {
  const env = model.environment;
  const bucket = `the artifact bucket of ${env.path}`;
  const stacks = `the stacks of ${env.path}`;
  const accountRegion = `account ${account}, region ${region}`;
  const claims: NameClaim[] = [
    { scope: accountRegion, what: 'CloudFormation stack', name: stackName(stagedEnvironmentName(env), 0), path: env.path },
    { scope: accountRegion, what: 'Glue database', name: glueDatabaseName(stagedEnvironmentName(env)), path: env.path },
  ];
  for (const r of model.resources) {
    claims.push({ scope: stacks, what: 'construct id', name: constructId(env.path, r.path), path: r.path });
    switch (r.kind) {
      case 'dataset':
      case 'featureTable':
        claims.push({ scope: bucket, what: 'S3 prefix', name: datasetPrefix(env.path, r.path), path: r.path });
        claims.push({ scope: 'the Glue database', what: 'Glue table', name: glueTableName(env.path, r.path), path: r.path });
        break;
      case 'pipeline':
        claims.push({ scope: bucket, what: 'S3 prefix', name: `runs/${keySlug(env.path, r.path)}/`, path: r.path });
        break;
      case 'modelRegistry':
        claims.push({ scope: bucket, what: 'S3 prefix', name: `models/${keySlug(env.path, r.path)}/`, path: r.path });
        break;
      case 'onlineEndpoint':
        claims.push({ scope: bucket, what: 'S3 prefix', name: `capture/${keySlug(env.path, r.path)}/`, path: r.path });
        claims.push({ scope: 'the log bucket', what: 'S3 prefix', name: `alb/${keySlug(env.path, r.path)}`, path: r.path });
        break;
      default:
        break;
    }
  }
  return claims;
}
