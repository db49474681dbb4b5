import * as actualFs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { startSimulator } from './support';

// Every file the simulator reads, with the file read.
const reads = vi.hoisted(() => [] as string[]);
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof actualFs>();
  const readFileSync = ((file: actualFs.PathOrFileDescriptor, ...rest: unknown[]) => {
    reads.push(String(file));
    return (fs.readFileSync as (...a: unknown[]) => unknown)(file, ...rest);
  }) as typeof fs.readFileSync;
  return { ...fs, readFileSync, default: { ...fs, readFileSync } };
});

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator({});
});
afterAll(async () => {
  await sim.close();
});

const PARENT = 'projects/p1-test/locations/europe-west4';

describe('the simulator at startup', () => {
  it('reads the .proto sources its checks need (field behaviours, comments) before the first request, not while answering it', async () => {
    // GIVEN a started simulator
    expect(reads.filter((f) => f.endsWith('.proto')).length).toBeGreaterThan(0);
    reads.length = 0;
    // WHEN the first requests that check field behaviours, id and display-name rules (proto comments) arrive
    const res = await fetch(`${sim.url}/v1/${PARENT}/endpoints?endpointId=e1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ displayName: 'e' }) });
    const bad = await fetch(`${sim.url}/v1/${PARENT}/endpoints?endpointId=E_1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ displayName: 'e' }) });
    // THEN they are checked with no file read
    expect(res.status).toBe(200);
    expect(bad.status).toBe(400);
    expect(reads).toEqual([]);
  });
});
