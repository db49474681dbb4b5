/**
 * Settings of the gcp target, read from cdk context `mlplane:gcp`, and the location rules that tie
 * the Vertex region, the BigQuery location and the environment's region hint together.
 */
import { ValidationErrors, show, type Problem } from '../../lib/core/errors';
import type { RegionHintName } from '../../lib/model/types';

/** Context key of the gcp settings. */
export const SETTINGS_KEY = 'mlplane:gcp';

/** Settings of the gcp target (`cdk.json` context `mlplane:gcp`). */
export interface GcpSettings {
  /** GCP project id every resource is defined in. */
  readonly project: string;
  /** Vertex AI region (`europe-west4`); a region, never a multi-region. */
  readonly region: string;
  /**
   * BigQuery location: the Vertex region itself or the multi-region that contains it (`EU`, `US`).
   *
   * @default - the Vertex region
   */
  readonly bigqueryLocation: string;
  /**
   * Cloud Storage bucket (name only) for pipeline roots and staging, one per environment: its
   * bucket-level IAM gives each environment's workloads access to their own artifacts only, and
   * the engine owns it by the environment's label.
   *
   * @default - `<project>-<environment label>` (trimmed to 63 characters with a hash)
   */
  readonly stagingBucket?: string;
  /**
   * VPC network pipeline jobs peer with when the environment's network is private, as
   * `projects/<project-number>/global/networks/<name>`.
   *
   * @default - none; required when the environment's network mode is `private`
   */
  readonly network?: string;
}

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const BUCKET = /^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$/;
const NETWORK = /^projects\/[0-9]+\/global\/networks\/[a-z]([-a-z0-9]*[a-z0-9])?$/;
const MULTI_REGIONS: Readonly<Record<string, string>> = { EU: 'europe-', US: 'us-' };
const KNOWN_KEYS = ['project', 'region', 'bigqueryLocation', 'stagingBucket', 'network'];

/**
 * Read and check `mlplane:gcp`.
 *
 * @throws ValidationErrors naming `mlplane:gcp.<key>`, the value given, what is allowed and the fix.
 */
export function parseGcpSettings(raw: unknown): GcpSettings {
  const problems: Problem[] = [];
  const at = (key: string) => `${SETTINGS_KEY}.${key}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ValidationErrors([
      {
        path: SETTINGS_KEY,
        message: `expected an object { project, region, bigqueryLocation? }, got ${show(raw)}; set context "${SETTINGS_KEY}": { "project": "my-project", "region": "europe-west4" } in cdk.json`,
      },
    ]);
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj).sort()) {
    if (!KNOWN_KEYS.includes(key)) {
      problems.push({ path: at(key), message: `unknown setting ${show(key)}; allowed keys are ${KNOWN_KEYS.join(', ')}; remove it or fix its spelling` });
    }
  }
  const project = obj.project;
  if (typeof project !== 'string' || !PROJECT_ID.test(project)) {
    problems.push({
      path: at('project'),
      message: `project must be a GCP project id (6–30 characters: lowercase letters, digits and '-', starting with a letter), got ${show(project)}; set ${at('project')}`,
    });
  }
  const region = obj.region;
  if (typeof region !== 'string' || !REGION.test(region)) {
    const hint = typeof region === 'string' && /^(eu|us|asia|global)$/i.test(region) ? ` (${show(region)} is a multi-region; Vertex AI needs a region such as europe-west4 or us-central1)` : '';
    problems.push({
      path: at('region'),
      message: `region must be a Vertex AI region like 'europe-west4', got ${show(region)}${hint}; set ${at('region')} to a region`,
    });
  }
  let bigqueryLocation: string | undefined;
  if (obj.bigqueryLocation !== undefined) {
    const loc = obj.bigqueryLocation;
    if (typeof loc !== 'string') {
      problems.push({ path: at('bigqueryLocation'), message: `bigqueryLocation must be a string, got ${show(loc)}; use the region or 'EU' / 'US'` });
    } else if (typeof region === 'string' && REGION.test(region)) {
      bigqueryLocation = canonicalBigQueryLocation(loc);
      const allowed = allowedBigQueryLocations(region);
      if (!allowed.includes(bigqueryLocation)) {
        problems.push({
          path: at('bigqueryLocation'),
          message: `bigqueryLocation ${show(loc)} is not compatible with Vertex region '${region}': allowed are ${allowed.map((a) => `'${a}'`).join(' or ')}; BigQuery data must live where Vertex AI reads it`,
        });
      }
    }
  }
  const bucket = obj.stagingBucket;
  if (bucket !== undefined && (typeof bucket !== 'string' || !BUCKET.test(bucket))) {
    problems.push({ path: at('stagingBucket'), message: `stagingBucket must be a Cloud Storage bucket name (3–63 characters, no gs:// prefix), got ${show(bucket)}; fix ${at('stagingBucket')}` });
  }
  const network = obj.network;
  if (network !== undefined && (typeof network !== 'string' || !NETWORK.test(network))) {
    problems.push({
      path: at('network'),
      message: `network must be 'projects/<project-number>/global/networks/<name>', got ${show(network)}; fix ${at('network')}`,
    });
  }
  if (problems.length > 0) throw new ValidationErrors(problems);
  const p = project as string;
  const r = region as string;
  return {
    project: p,
    region: r,
    bigqueryLocation: bigqueryLocation ?? r,
    ...(bucket !== undefined ? { stagingBucket: bucket as string } : {}),
    ...(network !== undefined ? { network: network as string } : {}),
  };
}

/** `eu` → `EU`, `Europe-West4` → `europe-west4`. */
function canonicalBigQueryLocation(loc: string): string {
  return /^(eu|us)$/i.test(loc) ? loc.toUpperCase() : loc.toLowerCase();
}

/** BigQuery locations compatible with a Vertex region: the region, and its multi-region if any. */
export function allowedBigQueryLocations(region: string): string[] {
  const multi = Object.entries(MULTI_REGIONS).find(([, prefix]) => region.startsWith(prefix));
  return multi ? [region, multi[0]] : [region];
}

/** Region prefixes of each region hint. */
const HINT_PREFIXES: Readonly<Record<Exclude<RegionHintName, 'any'>, readonly string[]>> = {
  eu: ['europe-'],
  us: ['us-'],
  apac: ['asia-', 'australia-'],
};

/** Why `region` does not satisfy the environment's region hint, or `undefined`. */
export function regionHintProblem(hint: RegionHintName, region: string): string | undefined {
  if (hint === 'any') return undefined;
  const prefixes = HINT_PREFIXES[hint];
  if (prefixes.some((p) => region.startsWith(p))) return undefined;
  return `the environment's region is '${hint}' but ${SETTINGS_KEY}.region is '${region}', which is outside it; use a region starting with ${prefixes.map((p) => `'${p}'`).join(' or ')}, or change the environment's region`;
}

/** The Cloud KMS location a BigQuery CMEK key must live in for a BigQuery location. */
export function kmsLocationForBigQuery(bigqueryLocation: string): string {
  if (bigqueryLocation === 'EU') return 'europe';
  if (bigqueryLocation === 'US') return 'us';
  return bigqueryLocation;
}
