import { describe, expect, it } from 'vitest';
import { azureAdapter } from '../../../adapters/azure';
import { locationSatisfies } from '../../../adapters/azure/settings';
import { ValidationErrors } from '../../../lib/core/errors';

function problems(raw: unknown): { path: string; message: string }[] {
  try {
    azureAdapter.parseSettings(raw);
  } catch (e) {
    if (ValidationErrors.isValidationErrors(e)) return [...e.problems];
    throw e;
  }
  throw new Error('parseSettings did not fail');
}

describe('mlplane:azure settings', () => {
  it('reads subscriptionId, resourceGroup and location', () => {
    expect(azureAdapter.parseSettings({ subscriptionId: '00000000-1111-2222-3333-444444444444', resourceGroup: 'rg-ml', location: 'westeurope' })).toEqual({
      subscriptionId: '00000000-1111-2222-3333-444444444444',
      resourceGroup: 'rg-ml',
      location: 'westeurope',
    });
  });

  it('fails if the settings are missing, naming the context key and how to set it', () => {
    expect(problems(undefined)).toEqual([{ path: 'mlplane:azure', message: expect.stringContaining('expected an object { subscriptionId, resourceGroup, location }, got nothing') }]);
  });

  it('fails if keys are missing, naming each key', () => {
    expect(problems({}).map((p) => p.path)).toEqual(['mlplane:azure.location', 'mlplane:azure.resourceGroup', 'mlplane:azure.subscriptionId']);
    expect(problems({})[0]?.message).toContain('is required and must be a non-empty string, got nothing');
  });

  it('fails if the subscription is not a GUID, naming the value and where to find it', () => {
    expect(problems({ subscriptionId: 'my-sub', resourceGroup: 'rg', location: 'westeurope' })).toEqual([
      { path: 'mlplane:azure.subscriptionId', message: expect.stringContaining("got 'my-sub'; copy it from 'az account show --query id'") },
    ]);
  });

  it('fails if the location is a display name, suggesting the ARM name', () => {
    const [p] = problems({ subscriptionId: '00000000-1111-2222-3333-444444444444', resourceGroup: 'rg', location: 'West Europe' });
    expect(p?.path).toBe('mlplane:azure.location');
    expect(p?.message).toContain("did you mean 'westeurope'?");
  });

  it('fails if an unknown key is given', () => {
    expect(problems({ subscriptionId: '00000000-1111-2222-3333-444444444444', resourceGroup: 'rg', location: 'westeurope', region: 'eu' })).toEqual([
      { path: 'mlplane:azure.region', message: expect.stringContaining("unknown setting 'region'") },
    ]);
  });

  it('matches region hints to Azure geographies', () => {
    expect(locationSatisfies('westeurope', 'eu')).toBe(true);
    expect(locationSatisfies('uksouth', 'eu')).toBe(false);
    expect(locationSatisfies('eastus2', 'us')).toBe(true);
    expect(locationSatisfies('japaneast', 'apac')).toBe(true);
    expect(locationSatisfies('brazilsouth', 'any')).toBe(true);
  });
});
