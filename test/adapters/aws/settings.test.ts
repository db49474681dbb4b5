import { describe, expect, it } from 'vitest';
import { awsAdapter, parseAwsSettings } from '../../../adapters/aws';
import { ValidationErrors, type Problem } from '../../../lib/core/errors';
import { examples, synth } from './support';

function problemsOf(f: () => unknown): Problem[] {
  try {
    f();
  } catch (e) {
    if (ValidationErrors.isValidationErrors(e)) return [...e.problems];
    throw e;
  }
  throw new Error('expected ValidationErrors');
}

describe('aws settings (mlplane:aws)', () => {
  it('reads account and region', () => {
    expect(parseAwsSettings({ account: '123456789012', region: 'eu-west-1' })).toEqual({ account: '123456789012', region: 'eu-west-1' });
  });

  it('fails if the settings are missing', () => {
    const problems = problemsOf(() => parseAwsSettings(undefined));
    expect(problems).toEqual([{ path: 'mlplane:aws', message: expect.stringMatching(/must be an object .*got nothing; set it in cdk.json/) }]);
  });

  it('fails if account and region are wrong, reporting both at once', () => {
    const problems = problemsOf(() => parseAwsSettings({ account: 12345, region: 'europe' }));
    expect(problems).toEqual([
      { path: 'mlplane:aws.account', message: expect.stringMatching(/12-digit AWS account id as a string, got 12345/) },
      { path: 'mlplane:aws.region', message: expect.stringMatching(/AWS region such as 'eu-west-1'.*got 'europe'/) },
    ]);
  });

  it('fails if a key is unknown', () => {
    const problems = problemsOf(() => parseAwsSettings({ account: '123456789012', region: 'eu-west-1', profile: 'dev' }));
    expect(problems).toEqual([{ path: 'mlplane:aws.profile', message: expect.stringMatching(/not a setting of the aws target \(allowed: account, region, and per-environment overrides in environments.<Env>\)/) }]);
  });

  it("fails if the environment's region hint does not allow the region", () => {
    const { churn } = examples();
    const problems = problemsOf(() => synth(churn, { account: '123456789012', region: 'eu-west-1' }));
    expect(problems).toEqual([
      {
        path: 'Churn',
        message: expect.stringMatching(/region hint 'us' does not allow mlplane:aws.region 'eu-west-1' .*set mlplane:aws.environments.Churn.region to a region there/),
      },
    ]);
  });

  it('is the adapter used by the app', () => {
    expect(awsAdapter.parseSettings({ account: '123456789012', region: 'us-east-1' }).region).toBe('us-east-1');
    expect(awsAdapter.kind).toBe('constructs');
    expect(awsAdapter.docs).toBe('adapters/aws/README.md');
  });
});
