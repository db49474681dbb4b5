import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { analyzeApp } from '../../bin/build';
import { MlopsEnvironment, Schedule } from '../../lib';
import { smallDataset, smallPipeline } from '../support/fixtures';

const context = { 'mlplane:target': 'gcp', 'mlplane:gcp': { project: 'mlplane-test', region: 'europe-west4' } };

describe('validation in a build', () => {
  it("runs each construct's validations once: the app is validated, then each valid environment is rendered without validating it again", async () => {
    let runs = 0;
    const { problems, environments } = await analyzeApp({
      context,
      define: (app) => {
        const env = new MlopsEnvironment(app, 'Fraud');
        smallPipeline(env, smallDataset(env));
        new Construct(env, 'Counter').node.addValidation({ validate: () => (runs++, []) });
      },
    });
    expect(problems).toEqual([]);
    expect(environments.map((e) => e.name)).toEqual(['Fraud']);
    expect(runs).toBe(1);
  }, 60_000);

  it('fails if an environment below another construct with a definition problem is rendered instead of reported with the others', async () => {
    const { problems, environments } = await analyzeApp({
      context,
      define: (app) => {
        const good = new MlopsEnvironment(app, 'Good');
        smallPipeline(good, smallDataset(good));
        const bad = new MlopsEnvironment(new Construct(app, 'Group'), 'Bad');
        smallPipeline(bad, smallDataset(bad)).addSchedule(Schedule.cron({ hour: 2, timeZone: 'Europe/Atlantis' }));
      },
    });
    expect(environments.map((e) => e.name)).toEqual(['Good']);
    expect(problems).toEqual([expect.objectContaining({ path: 'Group/Bad/Train', message: expect.stringMatching(/^time zone 'Europe\/Atlantis' is not an IANA time zone name/) })]);
  }, 60_000);
});
