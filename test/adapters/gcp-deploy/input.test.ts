import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeployError } from '../../../adapters/deploy';
import { createGcpDeployEngine } from '../../../adapters/gcp/deploy';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { editResource, engineFor, example, inputFor, resetSimulator, settingsFor, startSimulator } from './support';
import { gcpAdapter } from '../../../adapters/gcp';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
beforeEach(() => resetSimulator(sim));
afterAll(async () => {
  await sim.close();
});

describe('an invalid app makes zero requests', () => {
  it('fails in synth when the model is invalid for gcp, before any engine call', async () => {
    const model = editResource(example('Fraud'), 'Fraud/Scoring', (r) => {
      for (const d of r.deployments as { traffic: number }[]) d.traffic = 10;
    });
    const settings = settingsFor(model);
    expect(() => gcpAdapter.synth({ ...model, environment: { ...model.environment, region: 'us' } }, settings)).toThrow(/region is 'us'/);
    expect(sim.requestLog).toEqual([]);
  });

  it('fails if a document has a field the Vertex API does not know, listing it, with zero requests', async () => {
    const input = inputFor(example('Fraud'));
    const doc = Object.keys(input.documents).find((k) => k.startsWith('vertex/endpoints/') && !k.includes('traffic')) as string;
    const tampered = { ...input, documents: { ...input.documents, [doc]: { ...(input.documents[doc] as object), trafficSplitt: { a: 1 } } } };
    const error = await engineFor(sim).deploy(tampered).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployError);
    expect((error as DeployError).message).toContain(`[Fraud/Scoring] ${doc}: trafficSplitt: Invalid JSON payload received. Unknown name "trafficSplitt"`);
    expect(sim.requestLog).toEqual([]);
  });

  it('fails if a document sets an output-only field, with zero requests', async () => {
    const input = inputFor(example('Fraud'));
    const doc = Object.keys(input.documents).find((k) => k.startsWith('vertex/models/')) as string;
    const tampered = { ...input, documents: { ...input.documents, [doc]: { ...(input.documents[doc] as object), createTime: '2026-01-01T00:00:00Z' } } };
    await expect(engineFor(sim).diff(tampered)).rejects.toThrow(/createTime: field is output only/);
    expect(sim.requestLog).toEqual([]);
  });

  it('fails if the manifest references a dependency it does not list, with zero requests', async () => {
    const input = inputFor(example('Fraud'));
    const manifest = input.documents['manifest.json'] as { entries: { dependsOn: string[] }[] };
    const broken = { ...manifest, entries: manifest.entries.map((e, i) => (i === 3 ? { ...e, dependsOn: [...e.dependsOn, 'vertex.endpoint/Nowhere'] } : e)) };
    await expect(engineFor(sim).deploy({ ...input, documents: { ...input.documents, 'manifest.json': broken } })).rejects.toThrow(/depends on vertex\.endpoint\/Nowhere/);
    expect(sim.requestLog).toEqual([]);
  });

  it('fails if MLPLANE_GCP_ENDPOINT points anywhere but the loopback', async () => {
    const engine = createGcpDeployEngine({ env: { MLPLANE_GCP_ENDPOINT: 'https://aiplatform.googleapis.com' } });
    await expect(engine.diff(inputFor(example('Fraud')))).rejects.toThrow(/MLPLANE_GCP_ENDPOINT must be http:\/\/127\.0\.0\.1:<port>/);
    expect(sim.requestLog).toEqual([]);
  });
});
