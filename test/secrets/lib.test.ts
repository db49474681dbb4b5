import { describe, expect, it } from 'vitest';
import { OnlineEndpoint, ParameterType, Pipeline, Secret, ServingContainer, ModelRegistry, renderEnvironment } from '../../lib';
import { expectProblem, expectProblems, newEnv, problemsOf } from '../support/fixtures';

/** Fake credentials built at run time, so no literal in this file looks like a credential. */
const FAKE = {
  openAi: ['sk', 'proj', 'Z'.repeat(32)].join('-'),
  accountKey: `DefaultEndpointsProtocol=https;AccountName=acme;Account${'Key'}=${'QUJD'.repeat(11)}==;EndpointSuffix=core.windows.net`,
  pem: `-----BEGIN RSA PRIVATE ${'KEY'}-----\nMIIEow${'A'.repeat(40)}\n-----END RSA PRIVATE KEY-----`,
  password: 'correct-horse-battery-staple',
  awsKeyId: `AKIA${'Q'.repeat(16)}`,
  dbUrl: `postgres://app:${'s3cr3tpw'}@db.internal:5432/app`,
};

function stepWith(env: ReturnType<typeof newEnv>, props: { env?: Record<string, string | Secret>; command?: string[]; args?: string[] }) {
  const p = new Pipeline(env, 'P');
  p.addStep('Step', { image: 'ghcr.io/acme/step:1.0', command: props.command ?? ['run'], args: props.args, env: props.env });
  return p;
}

/** Every problem message of `env`, to check that no value leaks into them. */
function messages(env: ReturnType<typeof newEnv>): string {
  return problemsOf(env).map((p) => `[${p.path}] ${p.message}`).join('\n');
}

describe('secret literals', () => {
  it.each([
    ['DB_PASSWORD', FAKE.password, "'password'"],
    ['OPENAI_API_KEY', 'abc123abc123', "'api key'"],
    ['GITHUB_TOKEN', 'abc123abc123', "'token'"],
    ['StorageConnectionString', 'some text', "'connection string'"],
  ])('fails if step env %s holds a literal (named like a credential)', (name, value, why) => {
    const env = newEnv();
    stepWith(env, { env: { [name]: value } });
    expectProblem(env, 'Test/P/Step', new RegExp(`^env '${name}' is named like a credential \\(${why}\\) and holds a literal; env values allowed here are non-secret configuration; pass a Secret instead: define it once with new Secret\\(env`));
    expect(messages(env)).not.toContain(value);
  });

  it.each([
    ['SETTINGS', FAKE.openAi, 'an API key \\(sk-…\\)'],
    ['STORE', FAKE.accountKey, 'a connection string with a key'],
    ['CERT', FAKE.pem, 'a PEM private key'],
    ['DATABASE_URL', FAKE.dbUrl, 'a URL with a password'],
    ['DB_PASSWORD_FILE', FAKE.pem, 'a PEM private key'],
    ['AWS_KEY_ID', FAKE.awsKeyId, 'an AWS access key id'],
  ])('fails if step env %s holds a value shaped like a credential', (name, value, what) => {
    const env = newEnv();
    stepWith(env, { env: { [name]: value } });
    expectProblem(env, 'Test/P/Step', new RegExp(`^env '${name}' holds ${what} as a literal; `));
    expect(messages(env)).not.toContain(value);
  });

  it('fails if an argument holds a credential, naming its position and never its value', () => {
    const env = newEnv();
    stepWith(env, { command: ['python', '-m', 'label'], args: ['--model', 'gpt', '--api-key', FAKE.password, `--password=${FAKE.password}`, FAKE.openAi] });
    expectProblems(env, [
      ['Test/P/Step', /^argument 7 of command\/args \(after '--api-key'\) passes a credential \('api key'\) as a literal; arguments allowed here are non-secret; pass a Secret instead/],
      ['Test/P/Step', /^argument 8 of command\/args \('--password=…'\) passes a credential \('password'\) as a literal/],
      ['Test/P/Step', /^argument 9 of command\/args holds an API key \(sk-…\) as a literal/],
    ]);
    expect(messages(env)).not.toContain(FAKE.password);
    expect(messages(env)).not.toContain(FAKE.openAi);
  });

  it('fails if a deployment or serving container env holds a credential literal', () => {
    const env = newEnv();
    const registry = new ModelRegistry(env, 'Registry');
    const model = registry.addModel('M', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0', { env: { OPENAI_API_KEY: FAKE.openAi } }), aliases: ['champion'] });
    new OnlineEndpoint(env, 'Scoring', { deployments: [{ name: 'blue', model: model.alias('champion'), env: { DB_PASSWORD: FAKE.password } }] });
    expectProblems(env, [
      ['Test/Registry/M', /^serving env 'OPENAI_API_KEY' holds an API key \(sk-…\) as a literal; .*use it in the env of each deployment that serves this model/],
      ['Test/Scoring', /^deployment 'blue': env 'DB_PASSWORD' is named like a credential \('password'\) and holds a literal/],
    ]);
    expect(messages(env)).not.toContain(FAKE.password);
    expect(messages(env)).not.toContain(FAKE.openAi);
  });

  it('accepts configuration whose names merely mention tokens, and placeholders after a credential flag', () => {
    const env = newEnv();
    const p = stepWith(env, {
      env: { MAX_TOKENS: '512', TOKENIZER: 'bert-base', USE_SAS: 'false', LOG_LEVEL: 'info', DB_PASSWORD_FILE: '/run/secrets/db', TOKEN_URL: 'https://login.example/oauth2/token', API_KEY_SECRET_NAME: 'openai' },
      args: ['--max-tokens', '512', '--api-key={{params.key}}', '--password-file', '/run/secrets/db'],
    });
    p.addParameter('key', ParameterType.STRING, { default: 'ref' });
    expect(problemsOf(env).filter((x) => x.path === 'Test/P/Step')).toEqual([]);
  });
});

describe('Secret', () => {
  it('renders a reference with per-target defaults and a read grant to the step that uses it', () => {
    const env = newEnv();
    const secret = new Secret(env, 'DbPassword', { gcp: { version: '3' }, aws: { secretName: 'prod/db' } });
    stepWith(env, { env: { DB_PASSWORD: secret, MODE: 'fast' } });
    const model = renderEnvironment(env);
    expect(model.resources.find((r) => r.path === 'Test/DbPassword')).toEqual({
      kind: 'secret', path: 'Test/DbPassword', id: 'DbPassword', secretName: 'db-password',
      azure: { secretName: 'db-password' }, gcp: { secretName: 'db-password', version: '3' }, aws: { secretName: 'prod/db' },
    });
    const pipeline = model.resources.find((r) => r.kind === 'pipeline');
    expect(pipeline?.kind === 'pipeline' && pipeline.steps[0]).toMatchObject({ env: { MODE: 'fast' }, secretEnv: { DB_PASSWORD: 'Test/DbPassword' } });
    expect(model.grants.filter((g) => g.resource === 'Test/DbPassword')).toEqual([{ principal: { kind: 'step', pipeline: 'Test/P', step: 'Step' }, resource: 'Test/DbPassword', access: 'read', origin: 'wiring' }]);
  });

  it('grants a deployment secret to that deployment only', () => {
    const env = newEnv();
    const secret = new Secret(env, 'OpenAiKey');
    const model = new ModelRegistry(env, 'Registry').addModel('M', { serving: ServingContainer.image('ghcr.io/acme/serve:1.0'), aliases: ['champion', 'challenger'] });
    new OnlineEndpoint(env, 'Scoring', {
      deployments: [{ name: 'blue', model: model.alias('champion'), env: { OPENAI_API_KEY: secret } }, { name: 'green', model: model.alias('challenger') }],
      traffic: { blue: 100 },
    });
    const m = renderEnvironment(env);
    expect(m.grants.filter((g) => g.resource === 'Test/OpenAiKey').map((g) => g.principal)).toEqual([{ kind: 'deployment', endpoint: 'Test/Scoring', deployment: 'blue' }]);
  });

  it('fails if a Secret of another environment is used', () => {
    const env = newEnv('Alpha');
    const other = newEnv('Beta');
    const secret = new Secret(other, 'Key');
    stepWith(env, { env: { KEY: secret } });
    expectProblem(env, 'Alpha/P/Step', /^env secret 'Beta\/Key' belongs to environment 'Beta', not 'Alpha'/);
  });

  it('fails if a reference is malformed', () => {
    const env = newEnv();
    new Secret(env, 'Key', { secretName: '9bad', gcp: { version: 'newest' }, aws: { secretArn: 'arn:aws:s3:::bucket' } });
    expectProblems(env, [
      ['Test/Key', /^secretName '9bad' must be 1-64 letters, digits and '-' starting with a letter/],
      ['Test/Key', /^gcp version 'newest' must be 'latest' or a version number/],
      ['Test/Key', /^aws secretArn 'arn:aws:s3:::bucket' must be a Secrets Manager ARN/],
    ]);
  });
});
