import { ValidationErrors, show, type Problem } from '../../lib/core/errors';
import type { RegionHintName } from '../../lib/model/types';

/** Context key the aws target reads its settings from. */
export const AWS_CONTEXT_KEY = 'mlplane:aws';

/**
 * Settings of the aws target, read from cdk context `mlplane:aws` (with the app's
 * `environments.<Env>` entries laid over the shared ones before they reach the adapter).
 *
 * @example { "account": "123456789012", "region": "eu-west-1", "environments": { "Churn": { "region": "us-east-1" } } }
 */
export interface AwsSettings {
  /** 12-digit AWS account id the stacks deploy to. */
  readonly account: string;
  /** AWS region the stacks deploy to, e.g. `eu-west-1`. */
  readonly region: string;
}

const REGION_PATTERN = /^(us|eu|ap|ca|sa|me|af|il|mx)(-gov)?-(north|south|east|west|central|northeast|southeast|northwest|southwest)-\d$/;

/** Region prefixes that satisfy each residency hint. */
const REGION_PREFIXES: Readonly<Record<Exclude<RegionHintName, 'any'>, readonly string[]>> = {
  eu: ['eu-'],
  us: ['us-'],
  apac: ['ap-'],
};

/**
 * Read and check `mlplane:aws` from context.
 *
 * @throws ValidationErrors naming every wrong `mlplane:aws.<key>`, the value given and the fix.
 */
export function parseAwsSettings(raw: unknown): AwsSettings {
  const problems: Problem[] = [];
  if (raw === undefined || raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValidationErrors([
      {
        path: AWS_CONTEXT_KEY,
        message: `must be an object { "account": "<12 digits>", "region": "<aws region>" }, got ${show(raw)}; set it in cdk.json context or with -c ${AWS_CONTEXT_KEY}='{"account":"123456789012","region":"eu-west-1"}'`,
      },
    ]);
  }
  const obj = raw as Record<string, unknown>;
  const account = obj.account;
  const region = obj.region;
  if (typeof account !== 'string' || !/^\d{12}$/.test(account)) {
    problems.push({
      path: `${AWS_CONTEXT_KEY}.account`,
      message: `must be a 12-digit AWS account id as a string, got ${show(account)}; set "account": "123456789012" (your account id)`,
    });
  }
  if (typeof region !== 'string' || !REGION_PATTERN.test(region)) {
    problems.push({
      path: `${AWS_CONTEXT_KEY}.region`,
      message: `must be an AWS region such as 'eu-west-1' or 'us-east-1', got ${show(region)}; set "region" to the region to deploy to`,
    });
  }
  for (const key of Object.keys(obj).sort()) {
    if (key !== 'account' && key !== 'region') {
      problems.push({
        path: `${AWS_CONTEXT_KEY}.${key}`,
        message: `is not a setting of the aws target (allowed: account, region, and per-environment overrides in environments.<Env>); remove it`,
      });
    }
  }
  if (problems.length > 0) throw new ValidationErrors(problems);
  return { account: account as string, region: region as string };
}

/**
 * The problem, if any, when `region` does not lie in the environment's residency hint.
 *
 * @param envPath path of the environment, reported as the problem's path
 */
export function regionProblem(hint: RegionHintName, region: string, envPath: string): Problem | undefined {
  if (hint === 'any') return undefined;
  const prefixes = REGION_PREFIXES[hint];
  if (prefixes.some((p) => region.startsWith(p))) return undefined;
  return {
    path: envPath,
    message: `region hint '${hint}' does not allow ${AWS_CONTEXT_KEY}.region ${show(region)} (allowed: regions starting with ${prefixes.map((p) => `'${p}'`).join(', ')}); set ${AWS_CONTEXT_KEY}.environments.${envPath}.region to a region there, or change the environment's region`,
  };
}
