/**
 * Promote a model version between stages on the aws target: MLflow registry + S3 copy.
 *
 * Each stage's platform stack (`<Env>-mlops`, in the stage's account and region) says where its
 * registry and artifacts are: the outputs `MlflowUrl` and `ArtifactBucket`, read with CloudFormation
 * `DescribeStacks`, each with that stage's credentials (`--from-profile`, `--to-profile`, else the
 * default provider chain). The source version (by alias or number) is read from the source stage's MLflow;
 * the gate is decided on its `metric.<name>` tags (what the register step records) against the
 * target alias holder's; its artifact prefix is copied object by object (read in the source account,
 * written in the target's) into the target stage's bucket under the model's prefix
 * (`models/<registry>/<model>/`, the one prefix the target's model servers read) with the same key
 * below it (`<pipeline>/<step>/<run>/`, as the register step wrote it); a new version is created in the target stage's MLflow whose `source` is the
 * copy, tagged with the lineage (source stage, version, model, run id) and the metrics; then the
 * alias is set. A version whose lineage tags name the same source version is the earlier
 * promotion: nothing is copied or created again (at most the alias is moved back to it).
 *
 * @see https://mlflow.org/docs/latest/rest-api.html#create-modelversion
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LINEAGE, PromotionRefused, checkGate, type PromotionRequest, type PromotionResult, type PromotionSide } from '../../shared/promotion';
import { modelPrefix, stackName } from '../names';
import { stagedEnvironmentName } from '../../shared/names';
import { PLATFORM_OUTPUTS } from '../platform';
import { MlflowRegistry, tagMap, type MlflowModelVersion, type MlflowTag } from './mlflow';
import type { AwsSettings } from '../settings';

/**
 * Environment variable pointing the CloudFormation and S3 clients at a local stand-in
 * (`http://127.0.0.1:N`, path-style S3 addressing); unset: the AWS endpoints of each stage's region.
 */
export const AWS_ENDPOINT_ENV = 'MLPLANE_AWS_ENDPOINT';

/** Tag prefix of the metrics the register step records on a version (`metric.auc`). */
const METRIC_TAG = 'metric.';
/** Tag of the pipeline run that registered a version. */
const RUN_TAG = 'mlplane.run';

interface Located {
  readonly stage: string;
  readonly settings: AwsSettings;
  readonly stack: string;
  readonly mlflow: MlflowRegistry;
  readonly mlflowUrl: string;
  readonly bucket: string;
  readonly s3: S3Client;
}

/** Run a promotion between two stages' MLflow registries and artifact buckets. */
export async function promoteAws(request: PromotionRequest): Promise<PromotionResult> {
  const source = await locate(request, request.source, 'from');
  const target = await locate(request, request.target, 'to');
  const name = request.spec.model;
  let writes = 0;

  const selectorText = 'alias' in request.selector ? `@${request.selector.alias}` : `/${request.selector.version}`;
  const version = 'alias' in request.selector ? await source.mlflow.versionByAlias(name, request.selector.alias) : await source.mlflow.version(name, request.selector.version);
  if (!version) {
    throw new Error(`[${request.spec.path}] ${source.stage} has no version ${name}${selectorText} in its MLflow registry (${source.mlflowUrl}); register one there first (run the stage's pipeline)`);
  }
  const versionId = version.version;
  const sourceModel = `${source.settings.account}/${source.settings.region}/${source.stack}/${name}`;
  const sourceLabel = `${sourceModel}/${versionId}`;
  const tags = tagMap(version.tags);

  const targetVersions = await target.mlflow.versions(name);
  const previous = targetVersions.find((v) => {
    const t = tagMap(v.tags);
    return t[LINEAGE.sourceModel] === sourceModel && t[LINEAGE.sourceVersion] === versionId && t[LINEAGE.fromStage] === request.spec.from;
  });
  const alias = request.spec.alias ?? ('alias' in request.selector ? request.selector.alias : undefined);
  if (previous) {
    if (alias && !(previous.aliases ?? []).includes(alias)) {
      await target.mlflow.setAlias(name, alias, previous.version);
      writes += 1;
    }
    return { outcome: 'unchanged', source: sourceLabel, sourceVersion: versionId, target: `${target.mlflowUrl} ${name}/${previous.version}`, targetVersion: previous.version, reason: `already promoted as version ${previous.version}${writes > 0 ? ` (alias ${alias as string} moved back to it)` : ''}`, writes };
  }

  const gate = request.spec.gate;
  const holder = gate?.against.kind === 'alias' ? await target.mlflow.versionByAlias(name, gate.against.alias) : undefined;
  const reference = gate ? metricsOf(tagMap(holder?.tags))[gate.metric] : undefined;
  const reason = checkGate(request, sourceLabel, metricsOf(tags), reference);

  // Copy the artifacts first: a crash before the version exists leaves only copies, which the next
  // promotion overwrites with the same objects.
  const from = parseS3(request, version, source);
  const to = promotedPrefix(request, from.prefix);
  const keys = await listKeys(source.s3, from.bucket, from.prefix);
  if (keys.length === 0) {
    throw new PromotionRefused(`[${request.spec.path}] ${sourceLabel}'s source s3://${from.bucket}/${from.prefix} holds no objects, so there is nothing to promote; nothing was changed. Promote a version whose artifacts exist`);
  }
  request.log(`copying ${keys.length} object${keys.length === 1 ? '' : 's'} of s3://${from.bucket}/${from.prefix} to s3://${target.bucket}/${to}`);
  for (const key of keys) {
    // Read with the source stage's credentials, write with the target's: stages in different
    // accounts need no bucket policy across them (CopyObject would need one).
    const object = await source.s3.send(new GetObjectCommand({ Bucket: from.bucket, Key: key }));
    await target.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: `${to}${key.slice(from.prefix.length)}`, Body: object.Body as Readable, ContentLength: object.ContentLength, ...(object.ContentType ? { ContentType: object.ContentType } : {}) }));
    writes += 1;
  }

  if (!(await target.mlflow.hasModel(name))) {
    await target.mlflow.createModel(name, `promoted from ${request.spec.from}`);
    writes += 1;
  }
  const lineage: MlflowTag[] = Object.entries({
    ...Object.fromEntries(Object.entries(tags).filter(([k]) => k.startsWith(METRIC_TAG) || k === RUN_TAG)),
    'mlplane-stage': request.spec.to,
    [LINEAGE.fromStage]: request.spec.from,
    [LINEAGE.sourceVersion]: versionId,
    [LINEAGE.sourceModel]: sourceModel,
    ...(tags[RUN_TAG] ? { [LINEAGE.sourceRun]: tags[RUN_TAG] } : {}),
    ...(request.approvedBy ? { [LINEAGE.approvedBy]: request.approvedBy } : {}),
  })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));
  request.log(`creating ${name} in ${target.stage}'s MLflow (${target.mlflowUrl}) from s3://${target.bucket}/${to}`);
  const created = await target.mlflow.createVersion({ name, source: `s3://${target.bucket}/${to}`, description: `promoted from ${request.spec.from} (${sourceLabel})`, tags: lineage });
  writes += 1;
  await ready(target.mlflow, created, request);
  if (alias) {
    await target.mlflow.setAlias(name, alias, created.version);
    writes += 1;
  }
  return { outcome: 'promoted', source: sourceLabel, sourceVersion: versionId, target: `${target.mlflowUrl} ${name}/${created.version}`, targetVersion: created.version, reason, writes };
}

/** One stage's registry and bucket, from its platform stack's outputs. */
async function locate(request: PromotionRequest, side: PromotionSide, which: 'from' | 'to'): Promise<Located> {
  const stage = which === 'from' ? request.spec.from : request.spec.to;
  const settings = side.settings as AwsSettings;
  const stack = stackName(stagedEnvironmentName(side.model.environment), 0);
  const profile = request.profiles?.[which];
  const endpoint = process.env[AWS_ENDPOINT_ENV];
  const config = { region: settings.region, ...(profile ? { profile } : {}), ...(endpoint ? { endpoint } : {}) };
  const cfn = new CloudFormationClient(config);
  const where = `stack ${stack} in account ${settings.account}, ${settings.region}`;
  let described;
  try {
    described = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
  } catch (e) {
    const err = e as { name?: string; message?: string };
    if (err.name === 'ValidationError' && /does not exist/.test(err.message ?? '')) {
      throw new Error(`[${request.spec.path}] the ${which} stage (${stage}) has no ${where}${profile ? ` (profile ${profile})` : ''}; deploy it first (mlplane deploy ${side.model.environment.name} --stage ${stage} -t aws), or pass --${which}-profile <profile> with credentials of account ${settings.account}`);
    }
    throw e;
  } finally {
    cfn.destroy();
  }
  const found = described.Stacks?.[0];
  const account = /^arn:aws[a-z-]*:cloudformation:[^:]*:(\d{12}):/.exec(found?.StackId ?? '')?.[1];
  if (account !== settings.account) {
    throw new Error(`[${request.spec.path}] the ${which} stage (${stage}) is in account ${settings.account}, but the credentials${profile ? ` of profile ${profile}` : ''} read stack ${stack} in account ${account ?? 'unknown'}; pass --${which}-profile <profile> with credentials of account ${settings.account}`);
  }
  const outputs = Object.fromEntries((found?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const mlflowUrl = outputs[PLATFORM_OUTPUTS.mlflowUrl];
  const bucket = outputs[PLATFORM_OUTPUTS.artifactBucket];
  if (!mlflowUrl || !bucket) {
    const missing = [!mlflowUrl ? PLATFORM_OUTPUTS.mlflowUrl : undefined, !bucket ? PLATFORM_OUTPUTS.artifactBucket : undefined].filter(Boolean).join(' and ');
    throw new Error(`[${request.spec.path}] ${where} has no output ${missing} (status ${found?.StackStatus ?? 'unknown'}); deploy the ${stage} stage with this version of mlplane (mlplane deploy ${side.model.environment.name} --stage ${stage} -t aws)`);
  }
  return { stage, settings, stack, mlflow: new MlflowRegistry(mlflowUrl), mlflowUrl, bucket, s3: new S3Client({ ...config, ...(endpoint ? { forcePathStyle: true } : {}) }) };
}

/** Below a model's prefix, where a promotion puts a source that lies outside the source stage's model prefix. */
const IMPORTED = '_imported';

/**
 * Key prefix (ending in `/`) of the promoted copy in the target stage's bucket: under the target's
 * model prefix (`models/<registry>/<model>/`, the one its servers read), with the key the version
 * has below the source's model prefix. A source elsewhere (a version registered before models had a
 * prefix of their own, under `runs/…`, or registered by hand) lands in `<model prefix>_imported/<its
 * key>`; `_` is in no path segment the register step writes, so the two never meet.
 */
function promotedPrefix(request: PromotionRequest, sourcePrefix: string): string {
  const { registry, model } = request.spec;
  const fromModel = modelPrefix(request.source.model.environment.path, registry, model);
  const toModel = modelPrefix(request.target.model.environment.path, registry, model);
  return sourcePrefix.startsWith(fromModel) ? `${toModel}${sourcePrefix.slice(fromModel.length)}` : `${toModel}${IMPORTED}/${sourcePrefix}`;
}

/** Bucket and key prefix (ending in `/`) of a version's `s3://` source. */
function parseS3(request: PromotionRequest, version: MlflowModelVersion, source: Located): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(version.source ?? '');
  if (!m) {
    throw new PromotionRefused(`[${request.spec.path}] ${source.stage}'s ${version.name}/${version.version} has source ${JSON.stringify(version.source ?? '')}, not an s3:// URI, so its artifacts cannot be copied; nothing was changed. Promote a version the register step registered (its source is under s3://${source.bucket}/models/…)`);
  }
  const [, bucket, key] = m as unknown as [string, string, string];
  return { bucket, prefix: key.endsWith('/') ? key : `${key}/` };
}

/** Every object key under `prefix`, all pages. */
async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** Wait until a created version is READY (MLflow may register asynchronously); fail on FAILED_REGISTRATION. */
async function ready(mlflow: MlflowRegistry, created: MlflowModelVersion, request: PromotionRequest): Promise<void> {
  let v: MlflowModelVersion | undefined = created;
  for (let i = 0; v?.status === 'PENDING_REGISTRATION' && i < 60; i += 1) {
    await new Promise((r) => setTimeout(r, 1000));
    v = await mlflow.version(created.name, created.version);
  }
  if (v?.status === 'FAILED_REGISTRATION' || v?.status === 'PENDING_REGISTRATION') {
    throw new Error(`[${request.spec.path}] MLflow did not register ${created.name}/${created.version} (${v.status}${v.status_message ? `: ${v.status_message}` : ''}); run the promotion again: it finds the version by its lineage tags`);
  }
}

/** The metrics the register step recorded as `metric.<name>` tags. */
function metricsOf(tags: Readonly<Record<string, string>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(tags)) {
    if (!k.startsWith(METRIC_TAG) || v.trim() === '') continue;
    const n = Number(v);
    if (Number.isFinite(n)) out[k.slice(METRIC_TAG.length)] = n;
  }
  return out;
}
