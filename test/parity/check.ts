import { describe, expect, it } from 'vitest';
import { parityOf, type Adapter, type Feature } from '../../lib';
import { CATALOGUE, modelOf, synthesize, used, type ParityEntry } from './catalogue';

/**
 * Walk the catalogue for `adapter`: for each entry, the app with the feature must behave as the
 * capability declarations of the features it newly uses announce.
 */
export function checkParity(adapter: Adapter, entries: readonly ParityEntry[] = CATALOGUE): void {
  describe(`parity of the ${adapter.target} target`, () => {
    it.each(entries.map((e) => [e.feature, e] as const))('%s is the same, or announced, on this target', (_, entry) => {
      const before = synthesize(adapter, modelOf(entry, false));
      expect(before.problems, `the app without ${entry.feature} must synthesize`).toEqual([]);
      const after = synthesize(adapter, modelOf(entry, true));

      const newlyUsed = [...used(after.model)].filter((f) => !used(before.model).has(f));
      expect(newlyUsed, 'the app pair exercises the feature').toContain(entry.feature);
      const declared = new Map<Feature, ReturnType<typeof parityOf>>(newlyUsed.map((f) => [f, parityOf(adapter.capabilities[f])]));
      const refused = [...declared].filter(([, p]) => p.verdict === 'refused').map(([f]) => f);

      const key = (p: { path: string; message: string }) => `${p.path}\0${p.message}`;
      const oldProblems = new Set(before.problems.map(key));
      const newProblems = after.problems.filter((p) => !oldProblems.has(key(p)));
      if (refused.length > 0) {
        // Refused: synth fails, naming each refused feature (and so its alternative).
        for (const f of refused) expect(newProblems.map((p) => p.message).join('\n'), f).toContain(`(${f})`);
        return;
      }
      expect(newProblems, 'no feature the app newly uses is declared unsupported').toEqual([]);

      const announced = new Set([...declared.values()].flatMap((p) => p.warnings));
      const oldWarnings = new Set(before.warnings.map((w) => w.id));
      const newWarnings = [...new Set(after.warnings.map((w) => w.id))].filter((id) => !oldWarnings.has(id));
      for (const id of newWarnings) expect([...announced], `warning ${id} is announced by a newly used feature`).toContain(id);
      const emitted = new Set(after.warnings.map((w) => w.id));
      for (const [f, p] of declared) {
        if (p.verdict === 'approximated') expect(p.warnings.some((id) => emitted.has(id)), `${f} is approximated: one of ${p.warnings.join(', ')} must be emitted`).toBe(true);
      }
    });
  });
}
