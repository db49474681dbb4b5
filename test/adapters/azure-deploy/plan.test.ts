import { describe, expect, it } from 'vitest';
import type { WhatIfChange } from '../../../adapters/azure/deploy/arm';
import { planFromWhatIf } from '../../../adapters/azure/deploy/plan';
import { templateIndex } from '../../../adapters/azure/deploy/template';

const RG = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/fraud';
const ENDPOINT = `${RG}/onlineEndpoints/scoring`;
const template = {
  parameters: { modelVersion_fraud_champion: { type: 'string', metadata: { 'mlplane:alias': { registry: 'Fraud/Registry', model: 'fraud', alias: 'champion', tag: 'mlplane-alias-champion' } } } },
  resources: [
    { type: 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints', apiVersion: '2026-05-01', name: 'fraud/scoring', tags: { 'mlplane-path': 'Fraud/Scoring' }, properties: { authMode: 'AADToken' } },
    {
      type: 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments',
      apiVersion: '2026-05-01',
      name: 'fraud/scoring/blue',
      tags: { 'mlplane-path': 'Fraud/Scoring/blue' },
      properties: { model: "[resourceId('Microsoft.MachineLearningServices/workspaces/models/versions', 'fraud', 'fraud', parameters('modelVersion_fraud_champion'))]" },
    },
    { type: 'Microsoft.MachineLearningServices/workspaces/schedules', apiVersion: '2026-05-01', name: 'fraud/drift', properties: { tags: { 'mlplane-path': 'Fraud/Drift' } } },
  ],
};
const index = templateIndex(template, 'Fraud', { subscriptionId: 's1', resourceGroup: 'rg' }, { modelVersion_fraud_champion: '4' });
const plan = (changes: WhatIfChange[]) => planFromWhatIf('Fraud', changes, index);

describe('what-if rendered in ML terms (ARM response shapes)', () => {
  it('renders a traffic shift as one line, with the construct path from the tag', () => {
    const p = plan([
      {
        resourceId: ENDPOINT,
        changeType: 'Modify',
        before: { properties: { traffic: { blue: 90, green: 10 } } },
        after: { properties: { traffic: { blue: 80, green: 20 } } },
        delta: [
          { path: 'properties.traffic.blue', propertyChangeType: 'Modify', before: 90, after: 80 },
          { path: 'properties.traffic.green', propertyChangeType: 'Modify', before: 10, after: 20 },
        ],
      },
    ]);
    expect(p.items).toEqual([
      expect.objectContaining({ id: ENDPOINT, path: 'Fraud/Scoring', action: 'update', summary: ['traffic blue 90% → 80%, green 10% → 20%'] }),
    ]);
  });

  it('renders an alias move on the deployment that follows the alias', () => {
    const p = plan([
      {
        resourceId: `${ENDPOINT}/deployments/blue`,
        changeType: 'Modify',
        delta: [{ path: 'properties.model', propertyChangeType: 'Modify', before: `${RG}/models/fraud/versions/3`, after: `${RG}/models/fraud/versions/4` }],
      },
    ]);
    expect(p.items[0]?.summary).toEqual(['model fraud version 3 → 4', 'alias champion: v3 → v4', "rolls to version 4 (the alias moved outside mlplane's register step)"]);
    expect(p.items[0]?.path).toBe('Fraud/Scoring/blue');
  });

  it('renders a threshold inside an array (ARM nests array changes in children)', () => {
    const signal = (v: number) => ({ features: { features: ['amount'] }, metricThresholds: [{ metric: 'JensenShannonDistance', threshold: { value: v } }] });
    const p = plan([
      {
        resourceId: `${RG}/schedules/drift`,
        changeType: 'Modify',
        before: { properties: { action: { monitorDefinition: { signals: { s1: signal(0.1) } } } } },
        after: { properties: { action: { monitorDefinition: { signals: { s1: signal(0.15) } } } } },
        delta: [
          {
            path: 'properties.action.monitorDefinition.signals.s1.metricThresholds',
            propertyChangeType: 'Array',
            children: [{ path: '0', propertyChangeType: 'Modify', children: [{ path: 'threshold.value', propertyChangeType: 'Modify', before: 0.1, after: 0.15 }] }],
          },
        ],
      },
    ]);
    expect(p.items[0]).toMatchObject({ path: 'Fraud/Drift', summary: ['threshold amount JensenShannonDistance 0.1 → 0.15'] });
  });

  it('treats a Modify whose every delta is NoEffect as no change, and leaves Ignore out', () => {
    const p = plan([
      { resourceId: ENDPOINT, changeType: 'Modify', delta: [{ path: 'properties.provisioningState', propertyChangeType: 'NoEffect', before: 'Succeeded', after: null }] },
      { resourceId: `${RG}/computes/foreign`, changeType: 'Ignore' },
    ]);
    expect(p.items).toEqual([expect.objectContaining({ id: ENDPOINT, action: 'noop', changes: [], summary: [] })]);
  });

  it('names a created endpoint and its traffic', () => {
    const p = plan([{ resourceId: ENDPOINT, changeType: 'Create', after: { properties: { traffic: { blue: 100 } } } }]);
    expect(p.items[0]?.summary).toEqual(["create online endpoint 'scoring'", 'traffic blue 100%']);
  });
});
