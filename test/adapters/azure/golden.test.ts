import { describe, expect, it } from 'vitest';
import { stableStringify } from '../../../lib/model/stable-json';
import type { EnvironmentModel } from '../../../lib/model/types';
import { examples, synth } from './models';

/** Write every document of a synth as a readable golden file under golden/<name>/. */
async function matchGolden(name: string, model: EnvironmentModel): Promise<void> {
  const { documents, warnings } = synth(model);
  for (const [file, content] of Object.entries(documents)) {
    const text = typeof content === 'string' ? content : stableStringify(content);
    await expect(text).toMatchFileSnapshot(`golden/${name}/${file}`);
  }
  await expect(stableStringify(warnings)).toMatchFileSnapshot(`golden/${name}/warnings.json`);
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
