import type { Construct, IConstruct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import { addProblem, show } from './core/errors';
import { checkKnownProps, type KnownKeys } from './core/props';
import type { PrincipalModel, SecretModel } from './model/types';
import { MlResource } from './resource';

/** Where the secret lives on Azure: a secret of a Key Vault. */
export interface AzureSecretReference {
  /**
   * Key Vault name (3-24 letters, digits, '-').
   *
   * @default - the environment's own Key Vault
   */
  readonly vaultName?: string;
  /**
   * Secret name in the vault (1-127 letters, digits, '-').
   *
   * @default - the Secret's `secretName`
   */
  readonly secretName?: string;
}

/** Where the secret lives on Google Cloud: a Secret Manager secret version. */
export interface GcpSecretReference {
  /**
   * Project holding the secret.
   *
   * @default - the environment's project
   */
  readonly project?: string;
  /**
   * Secret id (1-255 letters, digits, '-', '_').
   *
   * @default - the Secret's `secretName`
   */
  readonly secretName?: string;
  /**
   * Version number, or `latest`.
   *
   * @default 'latest'
   */
  readonly version?: string;
}

/** Where the secret lives on AWS: a Secrets Manager secret. */
export interface AwsSecretReference {
  /**
   * Full ARN of the secret (use it for a secret of another account or region).
   *
   * @default - the secret named `secretName` in the stack's account and region
   */
  readonly secretArn?: string;
  /**
   * Secret name.
   *
   * @default - the Secret's `secretName`
   */
  readonly secretName?: string;
}

/** Properties of a `Secret`. */
export interface SecretProps {
  /**
   * Name of the secret in each platform's secret store (1-64 letters, digits and '-', starting
   * with a letter), unless a per-target reference names it otherwise.
   *
   * @default - the construct id in kebab-case (`DbPassword` → `db-password`)
   */
  readonly secretName?: string;
  /**
   * The Key Vault secret on azure.
   *
   * @default - `secretName` in the environment's Key Vault
   */
  readonly azure?: AzureSecretReference;
  /**
   * The Secret Manager secret version on gcp.
   *
   * @default - the `latest` version of `secretName` in the environment's project
   */
  readonly gcp?: GcpSecretReference;
  /**
   * The Secrets Manager secret on aws.
   *
   * @default - the secret named `secretName`
   */
  readonly aws?: AwsSecretReference;
}

const SECRET_PROPS_KEYS: KnownKeys<SecretProps> = { secretName: true, azure: true, gcp: true, aws: true };
const AZURE_KEYS: KnownKeys<AzureSecretReference> = { vaultName: true, secretName: true };
const GCP_KEYS: KnownKeys<GcpSecretReference> = { project: true, secretName: true, version: true };
const AWS_KEYS: KnownKeys<AwsSecretReference> = { secretArn: true, secretName: true };

const BRAND = 'Secret';
const SECRET_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

/**
 * A reference to a secret kept in each platform's secret store (Key Vault, Secret Manager,
 * Secrets Manager). mlplane never sees the value: it passes a reference, the platform resolves it
 * when the step or deployment starts, and only the identity that reads it is granted access to
 * that one secret.
 *
 * Use it as an `env` value of a pipeline step or an endpoint deployment. `mlplane run` reads the
 * value from the environment variable `MLPLANE_SECRET_<NAME>` (the name upper-cased, '-' as '_')
 * or the file `.mlplane/secrets/<name>`.
 *
 * @example
 * const openAi = new Secret(env, 'OpenAiKey', { secretName: 'openai-api-key' });
 * train.addStep('Label', { image: 'ghcr.io/acme/label:1.0', command: ['label'], env: { OPENAI_API_KEY: openAi } });
 */
export class Secret extends MlResource {
  /** Whether `x` is a `Secret`. */
  public static isSecret(x: unknown): x is Secret {
    return hasBrand(x, BRAND);
  }

  /** Name of the secret in the platforms' secret stores. */
  public readonly secretName: string;
  private readonly props: SecretProps;

  constructor(scope: Construct, id: string, props: SecretProps = {}) {
    super(scope, id);
    brand(this, BRAND);
    this.props = props;
    checkKnownProps(this, 'SecretProps', props, SECRET_PROPS_KEYS);
    checkKnownProps(this, 'AzureSecretReference', props.azure, AZURE_KEYS, 'azure');
    checkKnownProps(this, 'GcpSecretReference', props.gcp, GCP_KEYS, 'gcp');
    checkKnownProps(this, 'AwsSecretReference', props.aws, AWS_KEYS, 'aws');
    this.secretName = props.secretName ?? id.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/_/g, '-').toLowerCase();
    if (!SECRET_NAME.test(this.secretName)) addProblem(this, `secretName ${show(this.secretName)} must be 1-64 letters, digits and '-' starting with a letter; rename it`);
    const a = props.azure;
    if (a?.vaultName !== undefined && !/^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$/.test(a.vaultName)) addProblem(this, `azure vaultName ${show(a.vaultName)} must be a Key Vault name: 3-24 letters, digits and '-', starting with a letter`);
    if (a?.secretName !== undefined && !/^[A-Za-z0-9-]{1,127}$/.test(a.secretName)) addProblem(this, `azure secretName ${show(a.secretName)} must be 1-127 letters, digits and '-' (Key Vault secret names)`);
    const g = props.gcp;
    if (g?.secretName !== undefined && !/^[A-Za-z0-9_-]{1,255}$/.test(g.secretName)) addProblem(this, `gcp secretName ${show(g.secretName)} must be 1-255 letters, digits, '-' and '_' (Secret Manager secret ids)`);
    if (g?.project !== undefined && !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(g.project)) addProblem(this, `gcp project ${show(g.project)} must be a project id: 6-30 lower-case letters, digits and '-'`);
    if (g?.version !== undefined && !/^(latest|[1-9][0-9]*)$/.test(g.version)) addProblem(this, `gcp version ${show(g.version)} must be 'latest' or a version number such as '3'`);
    const w = props.aws;
    if (w?.secretArn !== undefined && !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/.test(w.secretArn)) addProblem(this, `aws secretArn ${show(w.secretArn)} must be a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`);
    if (w?.secretName !== undefined && !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(w.secretName)) addProblem(this, `aws secretName ${show(w.secretName)} must be 1-512 letters, digits and /_+=.@- (Secrets Manager names)`);
    if (w?.secretArn !== undefined && w.secretName !== undefined) addProblem(this, `aws sets both secretArn and secretName; give one`);
  }

  /** @internal Record that `principals` read this secret at run time. */
  public _readBy(principals: readonly PrincipalModel[]): void {
    this._recordGrants(principals, 'read', 'wiring');
  }

  /** @internal */
  public _render(): SecretModel {
    const p = this.props;
    return {
      kind: 'secret',
      path: this.node.path,
      id: this.node.id,
      secretName: this.secretName,
      azure: { vaultName: p.azure?.vaultName, secretName: p.azure?.secretName ?? this.secretName },
      gcp: { project: p.gcp?.project, secretName: p.gcp?.secretName ?? this.secretName, version: p.gcp?.version ?? 'latest' },
      aws: { secretArn: p.aws?.secretArn, secretName: p.aws?.secretArn !== undefined ? undefined : (p.aws?.secretName ?? this.secretName) },
    };
  }
}

/** An environment variable value: literal text, or a `Secret` resolved by the platform at run time. */
export type EnvValue = string | Secret;

// ---------------------------------------------------------------------------------------------
// Secret-literal detection

/** Name words that mark a value as a credential (`DB_PASSWORD`, `OPENAI_API_KEY`, `SAS_TOKEN`). */
const SECRET_WORDS = new Set(['PASSWORD', 'PASSWD', 'PWD', 'PASS', 'SECRET', 'SECRETS', 'TOKEN', 'APIKEY', 'CREDENTIAL', 'CREDENTIALS', 'PASSPHRASE', 'SAS', 'CONNSTR', 'CONNECTIONSTRING']);
/** Adjacent name words that mark a credential (`API_KEY`, `ACCESS_KEY`, `CONNECTION_STRING`). */
const SECRET_PAIRS = new Set(['API KEY', 'ACCESS KEY', 'SECRET KEY', 'PRIVATE KEY', 'ACCOUNT KEY', 'CLIENT SECRET', 'CONNECTION STRING', 'CONN STR', 'AUTH KEY', 'SIGNING KEY', 'MASTER KEY', 'SHARED KEY']);

/** Value shapes of credentials, with what each is. */
const SECRET_VALUES: ReadonlyArray<readonly [RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key'],
  [/(^|;)\s*(AccountKey|SharedAccessKey|SharedAccessSignature)=/i, 'a connection string with a key'],
  [/(^|;)\s*(Password|Pwd)=[^;]+/i, 'a connection string with a password'],
  [/\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@{}]+:[^/\s@{}]+@/i, 'a URL with a password'],
  [/\bsk-(proj-|ant-)?[A-Za-z0-9_-]{20,}/, 'an API key (sk-…)'],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, 'an AWS access key id'],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}/, 'a GitHub token'],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/, 'a Slack token'],
  [/\bAIza[0-9A-Za-z_-]{35}\b/, 'a Google API key'],
  [/\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+/, 'a JSON Web Token'],
  [/[?&]sig=[A-Za-z0-9%+/=]{20,}/, 'a SAS signature'],
];

/**
 * Last name words that make the value something *about* a credential, not the credential
 * (`PASSWORD_FILE`, `TOKEN_URL`, `API_KEY_SECRET_NAME`, `TOKEN_TTL`); its value is still checked.
 */
const ABOUT_WORDS = new Set(['FILE', 'PATH', 'DIR', 'NAME', 'ID', 'ARN', 'URI', 'URL', 'ENDPOINT', 'HOST', 'VAR', 'ENV', 'REF', 'HEADER', 'LENGTH', 'LEN', 'LIMIT', 'COUNT', 'TTL', 'EXPIRY', 'TYPE', 'VERSION', 'REGION', 'FIELD']);

/** Why a name reads as a credential's name, or undefined. */
function secretName(name: string): string | undefined {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter(Boolean);
  if (ABOUT_WORDS.has(words[words.length - 1] as string)) return undefined;
  for (let i = 0; i < words.length; i++) {
    if (SECRET_WORDS.has(words[i] as string)) return (words[i] as string).toLowerCase();
    if (i + 1 < words.length && SECRET_PAIRS.has(`${words[i]} ${words[i + 1]}`)) return `${words[i]} ${words[i + 1]}`.toLowerCase();
  }
  return undefined;
}

/** Why a value reads as a credential, or undefined. The value itself is never part of the answer. */
function secretValue(value: string): string | undefined {
  for (const [re, what] of SECRET_VALUES) if (re.test(value)) return what;
  return undefined;
}

const FIX = `pass a Secret instead: define it once with new Secret(env, '<Id>', { secretName: '<name>' }) and use it as the env value (env: { NAME: secret }); literals in env and args land in pipeline definitions, cdk.out and logs`;

/**
 * Problems of literal env values and argv words that look like credentials. Messages name the key
 * (or the argument's position) and the reason, never the value.
 *
 * @internal
 */
export function secretLiteralProblems(env: Readonly<Record<string, unknown>>, argv: readonly unknown[], where = ''): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string' || Secret.isSecret(value)) continue;
    const byValue = secretValue(value);
    // A number or a flag is configuration (`MAX_TOKENS=512`, `USE_SAS=true`), never a credential.
    const plain = value === '' || /^(-?\d+(\.\d+)?|true|false|yes|no|on|off)$/i.test(value);
    const byName = plain ? undefined : secretName(name);
    if (byValue) problems.push(`${where}env '${name}' holds ${byValue} as a literal; env values allowed here are non-secret configuration; ${FIX}`);
    else if (byName) problems.push(`${where}env '${name}' is named like a credential ('${byName}') and holds a literal; env values allowed here are non-secret configuration; ${FIX}`);
  }
  argv.forEach((word, i) => {
    if (typeof word !== 'string') return;
    const byValue = secretValue(word);
    const flag = /^--?([A-Za-z][A-Za-z0-9_-]*)=(.+)$/.exec(word);
    const flagName = flag && !/^(-?\d+(\.\d+)?|true|false)$/i.test(flag[2] as string) && !/^\{\{[^}]+\}\}$/.test(flag[2] as string) ? secretName(flag[1] as string) : undefined;
    const prev = i > 0 ? argv[i - 1] : undefined;
    const prevFlag = typeof prev === 'string' && /^--?[A-Za-z][A-Za-z0-9_-]*$/.test(prev) && !/^\{\{[^}]+\}\}$/.test(word) && !word.startsWith('-') ? secretName(prev.replace(/^-+/, '')) : undefined;
    if (byValue) problems.push(`${where}argument ${i + 1} of command/args holds ${byValue} as a literal; arguments allowed here are non-secret; ${FIX}`);
    else if (flagName) problems.push(`${where}argument ${i + 1} of command/args ('--${flag?.[1]}=…') passes a credential ('${flagName}') as a literal; arguments allowed here are non-secret; ${FIX}, and read it from the environment`);
    else if (prevFlag) problems.push(`${where}argument ${i + 1} of command/args (after '${prev}') passes a credential ('${prevFlag}') as a literal; arguments allowed here are non-secret; ${FIX}, and read it from the environment`);
  });
  return problems;
}

/**
 * Split an env map into literal values and secret references, recording problems on `scope`
 * (bad names, values that are neither text nor a Secret, Secrets of another environment).
 *
 * @internal
 */
export function splitEnv(scope: IConstruct, env: Readonly<Record<string, unknown>> | undefined, where = ''): { literals: Record<string, string>; secrets: Record<string, Secret> } {
  const literals: Record<string, string> = {};
  const secrets: Record<string, Secret> = {};
  for (const [k, v] of Object.entries(env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) addProblem(scope, `${where}env name ${show(k)} must be letters, digits and '_' not starting with a digit`);
    if (Secret.isSecret(v)) secrets[k] = v;
    else if (typeof v === 'string') literals[k] = v;
    else addProblem(scope, `${where}env '${k}' must be a string or a Secret, got ${show(v)}`);
  }
  return { literals, secrets };
}
