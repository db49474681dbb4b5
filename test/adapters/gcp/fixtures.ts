/**
 * Model fixtures and settings for the gcp adapter tests: the two examples of `stacks/` (through
 * `test/support/examples.ts`) plus a hand-written edge-case environment covering what the examples
 * do not (external and nested data, offline features, parameter I/O, entrypoint-only containers,
 * rate schedules, version references, request autoscaling, capture destination, a plain GPU step).
 */
import { gcpAdapter, type GcpSettings } from '../../../adapters/gcp';
import type { EnvironmentModel } from '../../../lib/model/types';
import { exampleModels } from '../../support/examples';

/** Settings the examples synthesize with (fraud in the EU with EU BigQuery, churn in the US). */
export function settingsFor(model: EnvironmentModel): GcpSettings {
  if (model.environment.region === 'eu') return gcpAdapter.parseSettings({ project: 'acme-fraud-prod', region: 'europe-west4', bigqueryLocation: 'EU' });
  return gcpAdapter.parseSettings({ project: 'acme-growth', region: 'us-central1' });
}

/** The example models: fraud, then churn. */
export function examples(): { fraud: EnvironmentModel; churn: EnvironmentModel } {
  const [fraud, churn] = exampleModels();
  if (!fraud || !churn) throw new Error('test/support/examples.ts must export fraud and churn');
  return { fraud, churn };
}

/** A deep writable view of a readonly model, for building variants in tests. */
export type Writable<T> = T extends readonly (infer U)[] ? Writable<U>[] : T extends object ? { -readonly [K in keyof T]: Writable<T[K]> } : T;

/** A deep copy of `model` changed by `change`. */
export function variant(model: EnvironmentModel, change: (m: Writable<EnvironmentModel>) => void): EnvironmentModel {
  const copy = structuredClone(model) as Writable<EnvironmentModel>;
  change(copy);
  return copy as EnvironmentModel;
}

/** The resource at `path` of a writable model, narrowed to `kind`. */
export function find<K extends EnvironmentModel['resources'][number]['kind']>(
  m: Writable<EnvironmentModel>,
  kind: K,
  path: string,
): Extract<Writable<EnvironmentModel>['resources'][number], { kind: K }> {
  const r = m.resources.find((x) => x.path === path);
  if (!r || r.kind !== kind) throw new Error(`no ${kind} at ${path}`);
  return r as Extract<Writable<EnvironmentModel>['resources'][number], { kind: K }>;
}

/** Settings of the edge-case environment. */
export const LAB_SETTINGS: GcpSettings = gcpAdapter.parseSettings({ project: 'acme-lab', region: 'asia-southeast1', stagingBucket: 'acme-lab-staging' });

/** A hand-written environment with the features the examples do not use. */
export function labModel(): EnvironmentModel {
  return {
    schemaVersion: '1.0.0',
    environment: {
      name: 'Lab',
      path: 'Lab',
      stage: 'dev',
      region: 'any',
      tags: { 'Cost Center': 'R&D 42' },
      network: { mode: 'public' },
      encryption: { kind: 'platform' },
    },
    resources: [
      {
        kind: 'onlineEndpoint',
        path: 'Lab/Api',
        id: 'Api',
        auth: 'token',
        deployments: [
          {
            name: 'v3',
            model: { registry: 'Lab/Models', model: 'ranker', version: '3' },
            resources: { cpu: 4, memoryGiB: 8, accelerator: { kind: 'known', name: 'nvidia-t4', count: 1 } },
            minReplicas: 1,
            maxReplicas: 3,
            autoscaling: { metric: 'requests', target: 20 },
            traffic: 100,
            mirror: 0,
          },
        ],
        capture: { requests: true, responses: false, samplingRate: 0.1, destination: 'Lab/Requests' },
      },
      {
        kind: 'dataset',
        path: 'Lab/Events',
        id: 'Events',
        schema: [
          { name: 'eventId', type: 'string', nullable: false },
          { name: 'day', type: 'date', nullable: false },
          { name: 'score', type: 'float', nullable: true },
          { name: 'device', type: 'struct', nullable: true, fields: [{ name: 'os', type: 'string', nullable: true }, { name: 'tags', type: 'array', items: { type: 'string' }, nullable: true }] },
          { name: 'items', type: 'array', items: { type: 'struct', fields: [{ name: 'sku', type: 'string', nullable: false }, { name: 'qty', type: 'int', nullable: true }] }, nullable: true },
        ],
        source: { kind: 'managed' },
        format: 'parquet',
        version: 'v2',
        retentionDays: 30,
        clusterBy: [],
        retain: false,
      },
      {
        kind: 'computePool',
        path: 'Lab/Gpu',
        id: 'Gpu',
        node: { cpu: 8, memoryGiB: 32, accelerator: { kind: 'known', name: 'nvidia-l4', count: 1 } },
        minNodes: 0,
        maxNodes: 2,
        spot: false,
        idleSeconds: 600,
      },
      {
        kind: 'modelRegistry',
        path: 'Lab/Models',
        id: 'Models',
        models: [
          {
            name: 'ranker',
            path: 'Lab/Models/Ranker',
            aliases: ['prod'],
            framework: 'pytorch',
            serving: { image: 'ghcr.io/acme/ranker-serve:0.9', port: 7080, predictRoute: '/predict', healthRoute: '/ready', env: { MODEL_DIR: '/m' } },
          },
        ],
        retain: false,
      },
      {
        kind: 'batchInference',
        path: 'Lab/Nightly',
        id: 'Nightly',
        model: { registry: 'Lab/Models', model: 'ranker', alias: 'prod' },
        input: 'Lab/Events',
        output: 'Lab/Requests',
        resources: { cpu: 2, memoryGiB: 4 },
        instanceCount: 2,
        miniBatchSize: 64,
        schedules: [],
        retries: 0,
      },
      {
        kind: 'dataset',
        path: 'Lab/RawFiles',
        id: 'RawFiles',
        description: 'Files dropped by the collector',
        schema: [{ name: 'line', type: 'string', nullable: true }],
        source: { kind: 'external', uri: 'gs://acme-raw/events/*.parquet' },
        format: 'parquet',
        version: '1',
        clusterBy: [],
        retain: true,
      },
      {
        kind: 'dataset',
        path: 'Lab/Requests',
        id: 'Requests',
        schema: [{ name: 'payload', type: 'string', nullable: true }],
        source: { kind: 'managed' },
        format: 'jsonl',
        version: '1',
        clusterBy: [],
        retain: false,
      },
      {
        kind: 'pipeline',
        path: 'Lab/Score',
        id: 'Score',
        parameters: [
          { name: 'threshold', type: 'float', default: 0.5, description: 'Decision threshold' },
          { name: 'mode', type: 'string', default: 'full' },
          { name: 'dryRun', type: 'bool', default: false },
          { name: 'limit', type: 'int' },
        ],
        steps: [
          {
            kind: 'container',
            name: 'Extract',
            path: 'Lab/Score/Extract',
            dependsOn: [],
            orderOnly: [],
            conditions: [],
            retries: 3,
            caching: false,
            image: 'ghcr.io/acme/extract:1',
            command: [],
            args: ['--verbose', '--events', '{{inputs.events}}', '--limit', '{{inputs.limit}}', '--batch', '{{inputs.batch}}', '--mode={{params.mode}}', '--rows', '{{outputs.rows}}', '--table', '{{outputs.table}}'],
            env: { B: '2', A: '1' },
            inputs: [
              { name: 'events', type: { kind: 'parameter', type: 'string' }, source: { kind: 'dataset', dataset: 'Lab/Events' } },
              { name: 'limit', type: { kind: 'parameter', type: 'int' }, source: { kind: 'parameter', parameter: 'limit' } },
              { name: 'batch', type: { kind: 'parameter', type: 'int' }, source: { kind: 'value', value: 128 } },
            ],
            outputs: [
              { name: 'rows', type: { kind: 'parameter', type: 'int' } },
              { name: 'table', type: { kind: 'artifact', type: 'dataset' } },
            ],
            resources: { cpu: 0.5, memoryGiB: 1.5 },
          },
          {
            kind: 'container',
            name: 'Infer',
            path: 'Lab/Score/Infer',
            dependsOn: ['Extract'],
            orderOnly: [],
            conditions: [],
            retries: 0,
            caching: true,
            image: 'ghcr.io/acme/infer:1',
            command: ['python', 'infer.py'],
            args: ['--table={{inputs.table}}', '--rows', '{{inputs.rows}}', '--threshold', '{{params.threshold}}'],
            env: { SCORES_DIR: '{{outputs.scores}}', PRICE: '$(HOME) costs $5' },
            inputs: [
              { name: 'table', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'step', step: 'Extract', output: 'table' } },
              { name: 'rows', type: { kind: 'parameter', type: 'int' }, source: { kind: 'step', step: 'Extract', output: 'rows' } },
            ],
            outputs: [{ name: 'scores', type: { kind: 'artifact', type: 'artifact' } }],
            resources: { cpu: 8, memoryGiB: 32 },
            compute: 'Lab/Gpu',
          },
        ],
        schedules: [
          { kind: 'rate', seconds: 900 },
          { kind: 'cron', expression: '0 6 * * 1-5', timeZone: 'Asia/Singapore' },
        ],
      },
      {
        kind: 'featureTable',
        path: 'Lab/UserStats',
        id: 'UserStats',
        entity: { name: 'event', keys: ['eventId'] },
        source: 'Lab/Events',
        features: [{ name: 'score', type: 'float', nullable: true }],
        online: false,
      },
      {
        kind: 'driftMonitor',
        path: 'Lab/Watch',
        id: 'Watch',
        target: { kind: 'endpoint', endpoint: 'Lab/Api', deployment: 'v3' },
        baseline: 'Lab/Events',
        signals: [
          { kind: 'drift', metric: 'lInfinity', thresholds: [{ feature: 'eventId', threshold: 0.3 }] },
          { kind: 'skew', metric: 'jensenShannonDistance', thresholds: [{ feature: 'score', threshold: 0.05 }] },
        ],
        schedule: { kind: 'cron', expression: '0 */4 * * *', timeZone: 'UTC' },
        lookbackDays: 2,
        alerts: [
          { kind: 'email', address: 'a@acme.example' },
          { kind: 'email', address: 'b@acme.example' },
        ],
      },
    ],
    grants: [
      { principal: { kind: 'step', pipeline: 'Lab/Score', step: 'Extract' }, resource: 'Lab/Events', access: 'read', origin: 'explicit' },
      { principal: { kind: 'step', pipeline: 'Lab/Score', step: 'Infer' }, resource: 'Lab/Models', access: 'write', origin: 'explicit' },
      { principal: { kind: 'deployment', endpoint: 'Lab/Api', deployment: 'v3' }, resource: 'Lab/UserStats', access: 'read', origin: 'explicit' },
      { principal: { kind: 'batchInference', batch: 'Lab/Nightly' }, resource: 'Lab/Requests', access: 'readWrite', origin: 'wiring' },
      { principal: { kind: 'driftMonitor', monitor: 'Lab/Watch' }, resource: 'Lab/Events', access: 'read', origin: 'wiring' },
    ],
  };
}
