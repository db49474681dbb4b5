/**
 * Every resource body the gcp target emits conforms to the public API it is sent to: Vertex AI
 * bodies to the v1 (and v1beta1) protos shipped in @google-cloud/aiplatform, BigQuery bodies to the
 * v2 discovery document, IAM policies to google.iam.v1.Policy; and the manifest names real methods
 * whose request carries that body, in dependency order.
 */
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../../adapters/gcp';
import type { Manifest } from '../../../adapters/gcp/documents';
import { LABEL_KEY, LABEL_VALUE } from '../../../adapters/gcp/names';
import type { EnvironmentModel } from '../../../lib/model/types';
import { examples, LAB_SETTINGS, labModel, settingsFor } from './fixtures';
import { discoveryMethodIds, loadDiscovery, type DiscoverySchema } from './support/discovery-check';
import { formatIssues } from './support/proto-check';
import { bigqueryDiscovery, checkBody, protoRoot } from './support/specs';

interface Synthesized {
  readonly name: string;
  readonly documents: Readonly<Record<string, unknown>>;
  readonly manifest: Manifest;
}

function synth(name: string, model: EnvironmentModel, settings = settingsFor(model)): Synthesized {
  const { documents } = gcpAdapter.synth(model, settings);
  return { name, documents, manifest: documents['manifest.json'] as Manifest };
}

function environments(): Synthesized[] {
  const { fraud, churn } = examples();
  return [synth('fraud', fraud), synth('churn', churn), synth('lab', labModel(), LAB_SETTINGS)];
}

const aiplatform = loadDiscovery('aiplatform.v1');
const aiplatformMethods = discoveryMethodIds(aiplatform);
const bigqueryMethods = discoveryMethodIds(bigqueryDiscovery());

/** The discovery schema name of a proto message (`google.cloud.aiplatform.v1.Endpoint` → `GoogleCloudAiplatformV1Endpoint`). */
function discoveryName(message: string): string {
  return message
    .split('.')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

interface DiscoveryMethod {
  readonly id: string;
  readonly parameterOrder?: readonly string[];
  readonly parameters: Readonly<Record<string, { readonly pattern?: string }>>;
  readonly request?: { readonly $ref: string };
}

/** A method of the aiplatform v1 discovery document by id. */
function discoveryMethod(methodId: string): DiscoveryMethod | undefined {
  let found: DiscoveryMethod | undefined;
  const walk = (resources: Record<string, unknown>) => {
    for (const r of Object.values(resources) as { methods?: Record<string, DiscoveryMethod>; resources?: Record<string, unknown> }[]) {
      for (const m of Object.values(r.methods ?? {})) if (m.id === methodId) found = m;
      if (r.resources) walk(r.resources);
    }
  };
  walk(aiplatform.resources as Record<string, unknown>);
  return found;
}

/** The request schema of a discovery method id. */
function requestSchema(methodId: string, doc: typeof aiplatform): string | undefined {
  let found: string | undefined;
  const walk = (resources: Record<string, unknown>) => {
    for (const r of Object.values(resources) as { methods?: Record<string, { id: string; request?: { $ref: string } }>; resources?: Record<string, unknown> }[]) {
      for (const m of Object.values(r.methods ?? {})) if (m.id === methodId) found = m.request?.$ref;
      if (r.resources) walk(r.resources);
    }
  };
  walk(doc.resources as Record<string, unknown>);
  return found;
}

describe.each(environments())('$name', ({ documents, manifest }) => {
  it('every body validates strictly against its proto or discovery schema', () => {
    for (const e of manifest.entries) {
      expect(documents[e.document], e.document).toBeDefined();
      expect(formatIssues(checkBody(e.schema, documents[e.document])), e.document).toBe('');
    }
  });

  it('every Vertex v1 and BigQuery method exists and its request carries the document (directly or as requestField)', () => {
    const checked = manifest.entries.filter((e) => e.method.startsWith('aiplatform.') || e.method.startsWith('bigquery.'));
    expect(checked.length).toBeGreaterThan(5);
    for (const e of checked) {
      if (e.schema.kind === 'proto' && e.schema.message.startsWith('google.cloud.aiplatform.v1beta1.')) continue;
      const isBq = e.method.startsWith('bigquery.');
      expect(isBq ? bigqueryMethods.has(e.method) : aiplatformMethods.has(e.method), e.method).toBe(true);
      const req = requestSchema(e.method, isBq ? bigqueryDiscovery() : aiplatform);
      const body = e.schema.kind === 'discovery' ? e.schema.schema : e.schema.kind === 'proto' ? discoveryName(e.schema.message) : '';
      if (e.requestField) {
        const schemas = (isBq ? bigqueryDiscovery() : aiplatform).schemas as Record<string, DiscoverySchema>;
        expect(schemas[req ?? '']?.properties?.[e.requestField]?.$ref, e.key).toBe(body);
      } else {
        expect(req, e.key).toBe(body);
      }
    }
  });

  it('parents and ids fill the method URL: the path parameter matches its discovery pattern', () => {
    for (const e of manifest.entries.filter((x) => x.method.startsWith('aiplatform.'))) {
      if (e.schema.kind === 'proto' && e.schema.message.startsWith('google.cloud.aiplatform.v1beta1.')) {
        expect(e.parent, e.key).toMatch(/^projects\/[^/]+\/locations\/[^/]+$/);
        continue;
      }
      const method = discoveryMethod(e.method);
      const [param] = method?.parameterOrder ?? [];
      const pattern = param ? method?.parameters[param]?.pattern : undefined;
      expect(pattern, e.method).toBeDefined();
      // `parent` and deployModel's `endpoint` are the entry's parent; `name` / `resource` name the resource itself.
      const value = param === 'parent' || param === 'endpoint' ? e.parent : `${e.parent}/${e.collection.split('.').pop()}/${e.id}`;
      expect(value, e.key).toMatch(new RegExp(pattern ?? '^$'));
    }
    for (const e of manifest.entries.filter((x) => x.method.startsWith('bigquery.'))) {
      expect(e.parent, e.key).toMatch(e.method.startsWith('bigquery.datasets.') ? /^projects\/[^/]+$/ : /^projects\/[^/]+\/datasets\/[^/]+$/);
    }
  });

  it('v1beta1 bodies are the resource of their v1beta1 create request', () => {
    for (const e of manifest.entries) {
      if (e.schema.kind !== 'proto' || !e.schema.message.startsWith('google.cloud.aiplatform.v1beta1.')) continue;
      const short = e.schema.message.split('.').pop() ?? '';
      const req = protoRoot().lookupType(`google.cloud.aiplatform.v1beta1.Create${short}Request`);
      const field = req.fieldsArray.find((f) => f.resolvedType?.fullName === `.${e.schema.kind === 'proto' ? e.schema.message : ''}`);
      expect(field, e.key).toBeDefined();
    }
  });

  it('lists entries in dependency order with unique keys and documents', () => {
    const seen = new Set<string>();
    for (const e of manifest.entries) {
      for (const d of e.dependsOn) expect(seen.has(d), `${e.key} needs ${d} first`).toBe(true);
      expect(seen.has(e.key)).toBe(false);
      seen.add(e.key);
    }
    expect(new Set(manifest.entries.map((e) => e.document)).size).toBe(manifest.entries.length);
  });

  it('every document is a manifest entry, a pipeline spec or the manifest itself', () => {
    const listed = new Set(manifest.entries.map((e) => e.document));
    for (const path of Object.keys(documents)) expect(listed.has(path) || path.startsWith('pipelines/') || path === 'manifest.json', path).toBe(true);
  });

  it('labels every labelled resource with mlplane-env and mlplane-path, all keys and values valid', () => {
    let labelled = 0;
    for (const e of manifest.entries) {
      const body = documents[e.document] as { labels?: Record<string, string> };
      if (!body.labels) continue;
      labelled++;
      expect(body.labels['mlplane-env'], e.key).toBe(manifest.ownershipLabels['mlplane-env']);
      expect(body.labels['mlplane-path'], e.key).toMatch(LABEL_VALUE);
      for (const [k, v] of Object.entries(body.labels)) {
        expect(k, e.key).toMatch(LABEL_KEY);
        expect(v, e.key).toMatch(LABEL_VALUE);
      }
    }
    expect(labelled).toBeGreaterThan(5);
  });

  it('every Vertex message that can carry labels does', () => {
    for (const e of manifest.entries) {
      if (e.schema.kind !== 'proto' || !e.schema.message.startsWith('google.cloud.aiplatform.')) continue;
      const type = protoRoot().lookupType(e.schema.message);
      const body = documents[e.document] as Record<string, unknown>;
      if (type.fields.labels && e.updateMask === undefined) expect(body.labels, e.key).toBeDefined();
    }
  });

  it('ids the caller chooses follow the API rules', () => {
    const rules: Record<string, RegExp> = {
      'projects.locations.endpoints': /^[a-z][a-z0-9-]{0,62}$/,
      'projects.locations.models': /^[a-z_][a-z0-9_-]{0,62}$/,
      'projects.locations.featureOnlineStores': /^[a-z_][a-z0-9_]{0,59}$/,
      'projects.locations.featureOnlineStores.featureViews': /^[a-z_][a-z0-9_]{0,59}$/,
      datasets: /^[0-9A-Za-z_]{1,1024}$/,
      tables: /^[0-9A-Za-z_]{1,1024}$/,
      'projects.serviceAccounts': /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/,
    };
    for (const e of manifest.entries) {
      const rule = rules[e.collection];
      if (rule && e.id !== null && e.method !== 'aiplatform.projects.locations.endpoints.deployModel') expect(e.id, e.key).toMatch(rule);
      if (e.method.endsWith('deployModel')) expect(e.id, e.key).toMatch(/^[0-9]{1,10}$/);
    }
  });

  it('display names are at most 128 characters', () => {
    for (const e of manifest.entries) {
      const body = documents[e.document] as { displayName?: string };
      if (body.displayName !== undefined) expect([...body.displayName].length, e.key).toBeLessThanOrEqual(128);
    }
  });
});

describe('switches', () => {
  const { fraud, churn } = examples();
  const cmek = synth('fraud', fraud);

  it('CMEK: every Vertex body whose message has encryptionSpec sets it; BigQuery sets default and table encryption', () => {
    let encrypted = 0;
    for (const e of cmek.manifest.entries) {
      const body = cmek.documents[e.document] as Record<string, unknown>;
      if (e.schema.kind === 'proto' && e.schema.message.startsWith('google.cloud.aiplatform.') && e.updateMask === undefined) {
        if (protoRoot().lookupType(e.schema.message).fields.encryptionSpec) {
          expect(body.encryptionSpec, e.key).toEqual({ kmsKeyName: 'projects/acme-fraud-prod/locations/europe-west4/keyRings/mlplane-fraud-prod/cryptoKeys/fraud-cmk' });
          encrypted++;
        }
      }
    }
    expect(encrypted).toBeGreaterThanOrEqual(6);
    expect(cmek.documents['bigquery/datasets/Fraud_prod.json']).toMatchObject({
      defaultEncryptionConfiguration: { kmsKeyName: 'projects/acme-fraud-prod/locations/europe/keyRings/mlplane-fraud-prod/cryptoKeys/fraud-cmk' },
    });
    expect(cmek.documents['bigquery/tables/Transactions.json']).toMatchObject({ encryptionConfiguration: { kmsKeyName: expect.stringContaining('/locations/europe/') } });
  });

  it('CMEK off: no encryptionSpec anywhere', () => {
    const plain = synth('churn', churn);
    expect(JSON.stringify(plain.documents).match(/encryptionSpec|EncryptionConfiguration|encryption_spec\W*:|cryptoKeys/)).toBeNull();
  });

  it('private network: Private Service Connect on the endpoint and the feature online store; public: none', () => {
    expect(cmek.documents['vertex/endpoints/fraud-prod-scoring.json']).toMatchObject({
      privateServiceConnectConfig: { enablePrivateServiceConnect: true, projectAllowlist: ['acme-fraud-prod'] },
    });
    expect(cmek.documents['vertex/featureOnlineStores/fraud_prod_features.json']).toMatchObject({
      dedicatedServingEndpoint: { privateServiceConnectConfig: { enablePrivateServiceConnect: true, projectAllowlist: ['acme-fraud-prod'] } },
    });
    const lab = synth('lab', labModel(), LAB_SETTINGS);
    expect(JSON.stringify(lab.documents).includes('privateServiceConnectConfig')).toBe(false);
  });

  it('private network with mlplane:gcp.network: pipeline jobs and custom jobs peer with it', () => {
    const settings = gcpAdapter.parseSettings({ project: 'acme-fraud-prod', region: 'europe-west4', bigqueryLocation: 'EU', network: 'projects/123456/global/networks/ml' });
    const { documents, warnings } = gcpAdapter.synth(fraud, settings);
    expect(documents['vertex/schedules/fraud-prod-train.json']).toMatchObject({ createPipelineJobRequest: { pipelineJob: { network: 'projects/123456/global/networks/ml' } } });
    expect(JSON.stringify(documents['pipelines/fraud-prod-train.json'])).toContain('\\"network\\":\\"projects/123456/global/networks/ml\\"');
    expect(warnings.map((w) => w.id)).not.toContain('mlplane:gcp:pipeline-network');
  });
});

describe('official proto3 JSON parser (proto3-json-serializer, used by google-gax)', () => {
  it('parses every Vertex body and every PipelineSpec without a type error', async () => {
    const { fromProto3JSON } = await import('proto3-json-serializer');
    let parsed = 0;
    for (const env of environments()) {
      for (const e of env.manifest.entries) {
        if (e.schema.kind !== 'proto') continue;
        const body = env.documents[e.document] as Parameters<typeof fromProto3JSON>[1];
        expect(() => fromProto3JSON(protoRoot().lookupType(e.schema.kind === 'proto' ? e.schema.message : ''), body), e.key).not.toThrow();
        parsed++;
      }
      for (const [path, spec] of Object.entries(env.documents)) {
        if (!path.startsWith('pipelines/')) continue;
        const typed = spec as Parameters<typeof fromProto3JSON>[1];
        expect(() => fromProto3JSON(protoRoot().lookupType('ml_pipelines.PipelineSpec'), typed), path).not.toThrow();
        const deployment = (spec as { deploymentSpec: Parameters<typeof fromProto3JSON>[1] }).deploymentSpec;
        expect(() => fromProto3JSON(protoRoot().lookupType('ml_pipelines.PipelineDeploymentConfig'), deployment), path).not.toThrow();
        parsed++;
      }
    }
    expect(parsed).toBeGreaterThan(30);
  });
});
