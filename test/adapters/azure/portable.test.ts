/**
 * Issue 16 item 6: the ARM template and the Azure ML documents take the location, subscription and
 * resource group from where they are deployed (`resourceGroup().location`, the variables Azure ML
 * sets in jobs) or from parameters: nothing of `mlplane:azure` is baked into them.
 */
import { describe, expect, it } from 'vitest';
import type { ArmTemplate } from '../../../adapters/azure/arm';
import { conformanceModels, settingsFor, synth } from './models';

const quoted = (s: string) => new RegExp(`(^|[^A-Za-z0-9-])${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z0-9-]|$)`);

describe('azure documents are portable', () => {
  for (const { label, model } of conformanceModels()) {
    it(`${label}: no configured location, subscription or resource group in any document but the parameters file`, () => {
      const settings = settingsFor(model);
      const { documents } = synth(model);
      for (const [file, doc] of Object.entries(documents)) {
        if (file === 'parameters.json') continue;
        const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
        expect(text, file).not.toMatch(quoted(settings.subscriptionId));
        expect(text, file).not.toMatch(quoted(settings.resourceGroup));
        expect(text, file).not.toMatch(quoted(settings.location));
      }
    });
  }

  it("every resource's location is the location parameter, whose default is the resource group's", () => {
    const model = conformanceModels()[0]!.model;
    const { documents } = synth(model);
    const template = documents['template.json'] as ArmTemplate;
    expect(template.parameters.location).toMatchObject({ type: 'string', defaultValue: '[resourceGroup().location]' });
    const located = template.resources.filter((r) => r.location !== undefined);
    expect(located.length).toBeGreaterThan(5);
    for (const r of located) expect([`[parameters('location')]`, 'global']).toContain(r.location);
    // The parameters file passes the configured location, so mlplane deploy places everything there.
    expect((documents['parameters.json'] as { parameters: Record<string, { value: unknown }> }).parameters.location).toEqual({ value: settingsFor(model).location });
  });
});
