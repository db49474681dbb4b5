/**
 * GCP naming rules (trimmed from the left with a short hash) and the `mlplane:gcp` settings.
 */
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../../adapters/gcp';
import { VERTEX_ACCELERATORS } from '../../../adapters/gcp/machines';
import {
  bigQueryColumnProblem,
  bigQueryId,
  displayName,
  dnsName,
  labelKey,
  labelValue,
  LABEL_KEY,
  LABEL_VALUE,
  numericId,
  serviceAccountId,
  SERVICE_ACCOUNT_ID,
  shortHash,
  snakeId,
  tagValue,
  uniqueLabelKeys,
  VERTEX_JOB_ID,
  VERTEX_SNAKE_ID,
} from '../../../adapters/gcp/names';
import { ValidationErrors, type Problem } from '../../../lib/core/errors';
import { protoRoot } from './support/specs';

const long = `Fraud/${'VeryLongConstructName'.repeat(12)}/Tail`;

describe('names', () => {
  it('keeps BigQuery ids that are valid, replaces other characters and adds a hash', () => {
    expect(bigQueryId('Fraud_prod')).toBe('Fraud_prod');
    expect(bigQueryId('Raw-Events')).toBe(`Raw_Events_${shortHash('Raw-Events')}`);
    expect(bigQueryId('Raw_Events')).not.toBe(bigQueryId('Raw-Events'));
  });

  it('trims long ids from the left, keeping the specific end and a hash of the whole', () => {
    const id = bigQueryId(long, 64);
    expect(id).toHaveLength(64);
    expect(id).toMatch(/^[0-9A-Za-z_]+$/);
    expect(id.endsWith(`Tail_${shortHash(long)}`)).toBe(true);
  });

  it('makes KFP / Vertex job names from camelCase ids and hashes what it had to change', () => {
    expect(dnsName('TrainModel')).toBe('train-model');
    expect(dnsName('fraud-prod-train')).toBe('fraud-prod-train');
    expect(dnsName('2fast_Steps')).toMatch(VERTEX_JOB_ID);
    expect(dnsName('2fast_Steps')).toBe(`fast-steps-${shortHash('2fast_Steps')}`);
    const trimmed = dnsName(long);
    expect(trimmed).toMatch(VERTEX_JOB_ID);
    expect(trimmed.length).toBeLessThanOrEqual(128);
    expect(trimmed.endsWith(`tail-${shortHash(long)}`)).toBe(true);
  });

  it('makes feature store ids ^[a-z_][a-z0-9_]{0,59}$', () => {
    expect(snakeId('CustomerFeatures')).toBe('customer_features');
    expect(snakeId(long)).toMatch(VERTEX_SNAKE_ID);
    expect(snakeId('9lives')).toMatch(VERTEX_SNAKE_ID);
  });

  it('makes label values lossless when possible, else lowercase ≤ 63 with a hash', () => {
    expect(labelValue('fraud/scoring')).toBe('fraud-scoring');
    expect(labelValue('fraud-prod')).toBe('fraud-prod');
    expect(labelValue('Fraud/Scoring')).toBe(`fraud-scoring-${shortHash('Fraud/Scoring')}`);
    expect(labelValue(long)).toMatch(LABEL_VALUE);
    expect(labelValue(long)).toHaveLength(63);
    expect(labelKey('costCenter')).toBe('cost-center');
    expect(labelKey('Cost Center')).toBe('cost-center');
    expect(labelKey('team')).toBe('team');
    expect(labelKey('9to5')).toBe('t-9to5');
    expect(labelKey(long)).toMatch(LABEL_KEY);
    expect(tagValue('R&D 42')).toBe('r-d-42');
  });

  it('tells apart tag keys that become the same label key', () => {
    const keys = uniqueLabelKeys(['costCenter', 'cost-center', 'team']);
    expect(keys.get('team')).toBe('team');
    expect(keys.get('costCenter')).toBe(`cost-center-${shortHash('costCenter')}`);
    expect(keys.get('cost-center')).toBe(`cost-center-${shortHash('cost-center')}`);
  });

  it('trims display names to 128 characters with a hash', () => {
    expect(displayName('blue')).toBe('blue');
    const d = displayName('x'.repeat(300));
    expect([...d]).toHaveLength(128);
    expect(d.endsWith(`~${shortHash('x'.repeat(300))}`)).toBe(true);
  });

  it('makes service account ids of 6–30 characters unique by a hash', () => {
    const a = serviceAccountId('Train', 'fraud-prod/Fraud/Train');
    expect(a).toBe(`mlp-train-${shortHash('fraud-prod/Fraud/Train')}`);
    expect(serviceAccountId('A', 'x')).toMatch(SERVICE_ACCOUNT_ID);
    expect(serviceAccountId(long, long)).toMatch(SERVICE_ACCOUNT_ID);
  });

  it('makes DeployedModel ids of exactly 10 digits, stable', () => {
    expect(numericId('Fraud/Scoring/blue')).toMatch(/^[1-9][0-9]{9}$/);
    expect(numericId('Fraud/Scoring/blue')).toBe(numericId('Fraud/Scoring/blue'));
    expect(numericId('Fraud/Scoring/blue')).not.toBe(numericId('Fraud/Scoring/green'));
  });

  it('checks BigQuery column names without renaming them', () => {
    expect(bigQueryColumnProblem('amount_z')).toBeUndefined();
    expect(bigQueryColumnProblem('_private')).toBeUndefined();
    expect(bigQueryColumnProblem('a'.repeat(301))).toMatch(/at most 300 characters/);
    expect(bigQueryColumnProblem('_table_suffix')).toMatch(/prefix '_TABLE_'/);
  });

  it('knows exactly the Vertex AcceleratorType values of the v1 proto (minus UNSPECIFIED and deprecated K80)', () => {
    const values = Object.keys(protoRoot().lookupEnum('google.cloud.aiplatform.v1.AcceleratorType').values).filter(
      (v) => v !== 'ACCELERATOR_TYPE_UNSPECIFIED' && v !== 'NVIDIA_TESLA_K80',
    );
    expect([...VERTEX_ACCELERATORS].sort()).toEqual(values.sort());
  });
});

function settingsProblems(raw: unknown): Problem[] {
  try {
    gcpAdapter.parseSettings(raw);
  } catch (e) {
    if (ValidationErrors.isValidationErrors(e)) return [...e.problems];
    throw e;
  }
  throw new Error('parseSettings did not fail');
}

describe('settings (mlplane:gcp)', () => {
  it('defaults the BigQuery location to the region and leaves the staging bucket to the environment', () => {
    expect(gcpAdapter.parseSettings({ project: 'acme-ml', region: 'europe-west4' })).toEqual({
      project: 'acme-ml',
      region: 'europe-west4',
      bigqueryLocation: 'europe-west4',
    });
  });

  it('accepts the multi-region that contains the region, in any case', () => {
    expect(gcpAdapter.parseSettings({ project: 'acme-ml', region: 'europe-west4', bigqueryLocation: 'eu' }).bigqueryLocation).toBe('EU');
    expect(gcpAdapter.parseSettings({ project: 'acme-ml', region: 'us-east1', bigqueryLocation: 'US' }).bigqueryLocation).toBe('US');
  });

  it('fails if settings are not an object', () => {
    expect(settingsProblems(undefined)).toEqual([
      {
        path: 'mlplane:gcp',
        message: 'expected an object { project, region, bigqueryLocation? }, got nothing; set context "mlplane:gcp": { "project": "my-project", "region": "europe-west4" } in cdk.json',
      },
    ]);
  });

  it('fails if the Vertex location is a multi-region, naming mlplane:gcp.region', () => {
    expect(settingsProblems({ project: 'acme-ml', region: 'eu' })).toEqual([
      {
        path: 'mlplane:gcp.region',
        message:
          "region must be a Vertex AI region like 'europe-west4', got 'eu' ('eu' is a multi-region; Vertex AI needs a region such as europe-west4 or us-central1); set mlplane:gcp.region to a region",
      },
    ]);
  });

  it('fails if the BigQuery location is not compatible with the region', () => {
    expect(settingsProblems({ project: 'acme-ml', region: 'europe-west4', bigqueryLocation: 'US' })).toEqual([
      {
        path: 'mlplane:gcp.bigqueryLocation',
        message: "bigqueryLocation 'US' is not compatible with Vertex region 'europe-west4': allowed are 'europe-west4' or 'EU'; BigQuery data must live where Vertex AI reads it",
      },
    ]);
    expect(settingsProblems({ project: 'acme-ml', region: 'asia-east1', bigqueryLocation: 'EU' })[0]?.message).toContain("allowed are 'asia-east1';");
  });

  it('fails with every bad key at once: project id, unknown key, bucket, network', () => {
    expect(settingsProblems({ project: 'Acme', region: 'us-central1', zone: 'a', stagingBucket: 'gs://x', network: 'default' }).map((p) => p.path)).toEqual([
      'mlplane:gcp.network',
      'mlplane:gcp.project',
      'mlplane:gcp.stagingBucket',
      'mlplane:gcp.zone',
    ]);
  });
});
