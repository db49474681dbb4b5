import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { stableStringify } from '../../../lib/model/stable-json';
import type { EnvironmentModel } from '../../../lib/model/types';
import { expectGoldenFolder } from '../../support/golden';
import { examples, synth } from './models';

/** Every document of a synth, and its warnings, match the readable golden files under golden/<name>/. */
async function matchGolden(name: string, model: EnvironmentModel): Promise<void> {
  const { documents, warnings } = synth(model);
  const files: Record<string, string> = { 'warnings.json': stableStringify(warnings) };
  for (const [file, content] of Object.entries(documents)) files[file] = typeof content === 'string' ? content : stableStringify(content);
  await expectGoldenFolder(fileURLToPath(new URL(`./golden/${name}`, import.meta.url)), files);
}

const [fraud, churn] = examples() as [EnvironmentModel, EnvironmentModel];

describe('golden files of the examples', () => {
  it('matches the fraud example', async () => {
    await matchGolden('fraud', fraud);
  });

  it('matches the churn example', async () => {
    await matchGolden('churn', churn);
  });
});
