import { ValidationErrors, show, type Problem } from '../../lib/core/errors';
import type { RegionHintName } from '../../lib/model/types';

/** Settings of the azure target, from cdk context `mlplane:azure`. */
export interface AzureSettings {
  /** Subscription the resource group lives in (a GUID). */
  readonly subscriptionId: string;
  /** Resource group the ARM deployment targets. */
  readonly resourceGroup: string;
  /** Azure region name as ARM writes it (`westeurope`). */
  readonly location: string;
}

/** Context key of the settings. */
export const SETTINGS_KEY = 'mlplane:azure';

type Geography = Exclude<RegionHintName, 'any'> | 'other';

/**
 * Azure regions with Azure Machine Learning, by the mlplane region hint they satisfy.
 * `eu` means regions in EU member states; the UK, Switzerland and Norway are separate
 * Azure geographies and only satisfy `any`.
 */
const REGIONS: Readonly<Record<string, Geography>> = {
  westeurope: 'eu', northeurope: 'eu', francecentral: 'eu', francesouth: 'eu', germanywestcentral: 'eu',
  germanynorth: 'eu', swedencentral: 'eu', polandcentral: 'eu', italynorth: 'eu', spaincentral: 'eu',
  eastus: 'us', eastus2: 'us', centralus: 'us', northcentralus: 'us', southcentralus: 'us', westcentralus: 'us',
  westus: 'us', westus2: 'us', westus3: 'us',
  eastasia: 'apac', southeastasia: 'apac', japaneast: 'apac', japanwest: 'apac', koreacentral: 'apac',
  koreasouth: 'apac', australiaeast: 'apac', australiasoutheast: 'apac', australiacentral: 'apac',
  centralindia: 'apac', southindia: 'apac', westindia: 'apac', jioindiawest: 'apac', newzealandnorth: 'apac',
  uksouth: 'other', ukwest: 'other', switzerlandnorth: 'other', switzerlandwest: 'other', norwayeast: 'other',
  canadacentral: 'other', canadaeast: 'other', brazilsouth: 'other', uaenorth: 'other', southafricanorth: 'other',
  qatarcentral: 'other', israelcentral: 'other', mexicocentral: 'other',
};

/** Known Azure region names, sorted. */
export function knownLocations(): string[] {
  return Object.keys(REGIONS).sort();
}

/** Whether `location` satisfies the region hint. */
export function locationSatisfies(location: string, hint: RegionHintName): boolean {
  return hint === 'any' || REGIONS[location] === hint;
}

/** Regions satisfying a hint, sorted. */
export function locationsFor(hint: RegionHintName): string[] {
  return knownLocations().filter((l) => locationSatisfies(l, hint));
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RESOURCE_GROUP = /^[-\w.()]{1,90}$/;

/**
 * Read and check `mlplane:azure`.
 *
 * @throws ValidationErrors naming `mlplane:azure.<key>`, the value given, what is allowed and the fix.
 */
export function parseAzureSettings(raw: unknown): AzureSettings {
  const problems: Problem[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValidationErrors([
      {
        path: SETTINGS_KEY,
        message: `expected an object { subscriptionId, resourceGroup, location }, got ${show(raw)}; set it in cdk.json "context" or pass -c ${SETTINGS_KEY}='{"subscriptionId":"…","resourceGroup":"…","location":"westeurope"}'`,
      },
    ]);
  }
  const o = raw as Record<string, unknown>;
  const str = (key: string): string | undefined => {
    const v = o[key];
    if (typeof v === 'string' && v.length > 0) return v;
    problems.push({ path: `${SETTINGS_KEY}.${key}`, message: `is required and must be a non-empty string, got ${show(v)}; add "${key}" to the ${SETTINGS_KEY} context object` });
    return undefined;
  };
  const subscriptionId = str('subscriptionId');
  const resourceGroup = str('resourceGroup');
  const location = str('location');
  if (subscriptionId !== undefined && !GUID.test(subscriptionId)) {
    problems.push({ path: `${SETTINGS_KEY}.subscriptionId`, message: `must be a subscription GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), got ${show(subscriptionId)}; copy it from 'az account show --query id'` });
  }
  if (resourceGroup !== undefined && (!RESOURCE_GROUP.test(resourceGroup) || resourceGroup.endsWith('.'))) {
    problems.push({ path: `${SETTINGS_KEY}.resourceGroup`, message: `must be 1–90 letters, digits, '-', '_', '.', '(' or ')' and not end with '.', got ${show(resourceGroup)}; use the resource group's exact name` });
  }
  if (location !== undefined && REGIONS[location] === undefined) {
    const hint = location.toLowerCase().replace(/\s+/g, '');
    const suggestion = REGIONS[hint] !== undefined ? `; did you mean '${hint}'?` : '';
    problems.push({ path: `${SETTINGS_KEY}.location`, message: `${show(location)} is not an Azure region with Azure Machine Learning known to mlplane; use the ARM name (lowercase, no spaces), one of: ${knownLocations().join(', ')}${suggestion}` });
  }
  for (const key of Object.keys(o).sort()) {
    if (!['subscriptionId', 'resourceGroup', 'location'].includes(key)) {
      problems.push({ path: `${SETTINGS_KEY}.${key}`, message: `unknown setting ${show(key)}; allowed: subscriptionId, resourceGroup, location — remove it` });
    }
  }
  if (problems.length > 0) throw new ValidationErrors(problems);
  return { subscriptionId: subscriptionId as string, resourceGroup: resourceGroup as string, location: location as string };
}
