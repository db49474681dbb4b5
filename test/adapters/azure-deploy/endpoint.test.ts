import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DefaultAzureCredential } from '@azure/identity';
import { createAzureDeployEngine } from '../../../adapters/azure/deploy';
import { ARM_ENDPOINT, createClients, ENDPOINT_ENV, isWrite } from '../../../adapters/azure/deploy/transport';
import type { AzureSimulator } from '../../../adapters/azure/simulator';
import { main, parseSimulatorArgs } from '../../../adapters/azure/simulator/main';
import { example, inputFor, settingsFor, simulator, SUBSCRIPTION } from './support';

let sim: AzureSimulator;
const saved = process.env[ENDPOINT_ENV];

beforeAll(async () => {
  sim = await simulator();
});
afterEach(() => {
  if (saved === undefined) delete process.env[ENDPOINT_ENV];
  else process.env[ENDPOINT_ENV] = saved;
});
afterAll(() => sim.close());

describe('MLPLANE_AZURE_ENDPOINT', () => {
  it('points the deployer at the simulator when set', async () => {
    process.env[ENDPOINT_ENV] = sim.url;
    const before = sim.requestLog.length;
    const engine = createAzureDeployEngine({ pollIntervalMs: 2 });
    const model = example('Churn');

    const plan = await engine.diff(inputFor(model, settingsFor(model, 'rg-env')));

    expect(plan.items.length).toBeGreaterThan(10);
    expect(createClients({ subscriptionId: SUBSCRIPTION }).credential).not.toBeInstanceOf(DefaultAzureCredential);
    expect(sim.requestLog.length).toBeGreaterThan(before);
  });

  it('leaves the real ARM endpoint and DefaultAzureCredential in place when unset', () => {
    delete process.env[ENDPOINT_ENV];
    const clients = createClients({ subscriptionId: SUBSCRIPTION });
    expect(clients.target).toBe(ARM_ENDPOINT);
    const policies = clients.resources.pipeline.getOrderedPolicies().map((p) => p.name);
    expect(policies).toContain('bearerTokenAuthenticationPolicy');
    expect(clients.credential).toBeInstanceOf(DefaultAzureCredential);
  });

  it('fails if the variable is not a base URL, before any request', async () => {
    process.env[ENDPOINT_ENV] = 'localhost:8443/x';
    const model = example('Churn');
    await expect(createAzureDeployEngine().diff(inputFor(model))).rejects.toThrow(/^\[Churn\] MLPLANE_AZURE_ENDPOINT must be the simulator's base URL, like http:\/\/127\.0\.0\.1:8443, got "localhost:8443\/x"/);
  });
});

describe('what counts as a write', () => {
  it.each([
    ['PUT', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Resources/deployments/d?api-version=1', true],
    ['DELETE', '/x?api-version=1', true],
    ['POST', '/subscriptions/s/providers/Microsoft.KeyVault/locations/l/deletedVaults/v/purge?api-version=1', true],
    ['POST', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Resources/deployments/d/whatIf?api-version=1', false],
    ['POST', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/listKeys?api-version=1', false],
    ['GET', '/x', false],
  ])('%s %s → %s', (method, path, expected) => {
    expect(isWrite(method, `${ARM_ENDPOINT}${path}`)).toBe(expected);
  });
});

describe('the simulator command line', () => {
  it('starts on the given port and prints its URL first', async () => {
    const lines: string[] = [];
    const started = await main(['--port', '0', '--no-validate', '--resource-ms', '40', '--lro-ms=70'], (l) => lines.push(l));
    try {
      expect([started.faults.resourceDurationMs, started.faults.lroDurationMs]).toEqual([40, 70]);
      expect(lines[0]).toBe(started.url);
      expect(lines[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(lines.join('\n')).toMatch(/MLPLANE_AZURE_ENDPOINT=http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await started.close();
    }
  });

  it.each([
    [['--port', 'x'], /--port must be an integer from 0 to 65535, got "x"/],
    [['--verbose'], /unknown argument "--verbose"; allowed: --port N, --conformance DIR, --no-validate, --resource-ms N, --lro-ms N/],
    [['--resource-ms', '-5'], /--resource-ms must be an integer from 0 to 3600000 \(milliseconds each resource of a deployment takes\), got "-5"/],
    [['--lro-ms', '1.5'], /--lro-ms must be an integer from 0 to 3600000 \(milliseconds a direct long-running operation takes\), got "1\.5"/],
  ])('fails if the arguments are %j, saying what is allowed', (argv, message) => {
    expect(() => parseSimulatorArgs(argv)).toThrow(message);
  });
});
