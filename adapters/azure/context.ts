import type { NameClaim, SynthWarning } from '../../lib/adapter';
import type { Problem } from '../../lib/core/errors';
import type { EnvironmentModel, ResourceModel } from '../../lib/model/types';
import { ArmExpr, resourceId, resourceKey, type ArmParameter, type ArmParameterValue, type ArmResource, type ArmValue } from './arm';
import { deriveName, NameError, RULES, type NameRule } from './names';
import { stagedEnvironmentName } from '../shared/names';
import type { AzureSettings } from './settings';

/** API version of Microsoft.MachineLearningServices used for every ML resource. */
export const ML_API = '2026-05-01';
/** Resource type prefix of Azure ML. */
export const ML = 'Microsoft.MachineLearningServices';

/** API versions of the dependencies (stable versions ARM accepts). */
export const API = {
  storage: '2023-05-01',
  keyVault: '2023-07-01',
  identity: '2023-01-31',
  logAnalytics: '2023-09-01',
  appInsights: '2020-02-02',
  containerRegistry: '2023-07-01',
  roleAssignments: '2022-04-01',
  autoscale: '2022-10-01',
  eventGrid: '2022-06-15',
  logic: '2019-05-01',
  redis: '2024-03-01',
} as const;

/** Names of the environment's shared resources. */
export interface CoreNames {
  readonly workspace: string;
  readonly storage: string;
  readonly keyVault: string;
  readonly registry: string;
  readonly logAnalytics: string;
  readonly appInsights: string;
  readonly identity: string;
}

/**
 * Everything one synth run accumulates: resources, parameters, documents, problems, warnings.
 *
 * Mapping modules add to it; `index.ts` renders it once at the end.
 */
export class SynthContext {
  public readonly resources: ArmResource[] = [];
  public readonly parameters: Record<string, ArmParameter> = {};
  public readonly parameterValues: Record<string, ArmParameterValue> = {};
  public readonly outputs: Record<string, { type: string; value: ArmValue }> = {};
  public readonly documents: Record<string, unknown> = {};
  public readonly problems: Problem[] = [];
  public readonly warnings: SynthWarning[] = [];
  public readonly core: CoreNames;
  /** Every resource name of the template, with the construct it is derived from. */
  public readonly claims: NameClaim[] = [];
  private readonly byPath = new Map<string, ResourceModel>();
  private readonly keys = new Map<string, string>();
  /** Construct paths each derived name came from. */
  private readonly origins = new Map<string, Set<string>>();

  constructor(
    public readonly model: EnvironmentModel,
    public readonly settings: AzureSettings,
  ) {
    for (const r of model.resources) this.byPath.set(r.path, r);
    const env = model.environment;
    const salt = [settings.subscriptionId, settings.resourceGroup];
    const base = this.baseSegments;
    this.core = {
      workspace: this.name(RULES.workspace, base, env.path),
      storage: this.name(RULES.storageAccount, ['st', ...base], env.path, salt),
      keyVault: this.name(RULES.keyVault, ['kv', ...base], env.path, salt),
      registry: this.name(RULES.containerRegistry, ['cr', ...base], env.path, salt),
      logAnalytics: this.name(RULES.monitoring, ['log', ...base], env.path),
      appInsights: this.name(RULES.monitoring, ['appi', ...base], env.path),
      identity: this.name(RULES.identity, ['id', ...base], env.path),
    };
  }

  /**
   * Leading segments of the environment-wide names (workspace, storage, key vault, …): the
   * environment, and its stage when the definition declares its stages (`fraud-prod`).
   */
  public get baseSegments(): string[] {
    return this.staged([this.model.environment.name]);
  }

  /**
   * The environment's name in what it shares with the other stages of the definition in one
   * resource group (ARM deployment, custom role names): `Fraud-staging` when the definition
   * declares its stages, `Fraud` for a single-stage environment.
   */
  public get stagedName(): string {
    return stagedEnvironmentName(this.model.environment);
  }

  /**
   * Segments of a resource-group-level name of a construct (identity, endpoint, Logic App), with
   * the stage last when the definition declares its stages (`['id', 'train']` →
   * `['id', 'train', 'staging']`), so the stages of one definition can share a resource group.
   * Children of the workspace need not carry it: the workspace does.
   */
  public staged(segments: readonly string[]): string[] {
    const env = this.model.environment;
    return env.stages ? [...segments, env.stage] : [...segments];
  }

  /** The environment. */
  public get env() {
    return this.model.environment;
  }

  /** A resource of the model by path. */
  public resource(path: string): ResourceModel | undefined {
    return this.byPath.get(path);
  }

  /** A physical name; a name that cannot be derived becomes a problem at `path`. */
  public name(rule: NameRule, segments: readonly string[], path: string, salt: readonly string[] = []): string {
    try {
      const derived = deriveName(rule, segments, salt);
      const from = this.origins.get(derived.name) ?? new Set<string>();
      from.add(path);
      this.origins.set(derived.name, from);
      if (derived.shortened) {
        this.warn(
          'name-shortened',
          path,
          `${rule.what} name '${derived.readable}' is longer than Azure allows (${rule.max}); it becomes '${derived.name}' (middle cut out, hash of the path added); use a shorter construct id to keep the whole name`,
        );
      }
      return derived.name;
    } catch (e) {
      if (e instanceof NameError) {
        this.problem(path, `${e.message}; rename the construct so its id contains letters or digits`);
        return 'invalid';
      }
      throw e;
    }
  }

  /** The segments of a construct path below the environment (`Fraud/Scoring` → `['Scoring']`). */
  public localSegments(path: string): string[] {
    const parts = path.split('/');
    const envParts = this.env.path.split('/');
    return parts.slice(envParts.length).length > 0 ? parts.slice(envParts.length) : parts;
  }

  /** Record a problem. */
  public problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** Record a warning with a stable id. */
  public warn(id: string, path: string, message: string): void {
    this.warnings.push({ id: `mlplane:azure:${id}`, path, message });
  }

  /**
   * Add a resource, claiming its name for the construct it is derived from. Two constructs whose
   * names become equal once sanitised are reported by `nameCollisions` (both paths, the name); a
   * second resource of the same construct with the same name is a bug, and a problem here.
   */
  public add(resource: ArmResource): void {
    const key = resourceKey(resource.type, resource.name).toLowerCase();
    const path = this.ownerOf(resource);
    const owner = this.keys.get(key);
    if (owner !== undefined) {
      if (owner === path) this.problem(path, `defines the Azure resource ${resourceKey(resource.type, resource.name)} twice; give one of its parts a different id`);
      else this.claims.push(this.claim(resource, path));
      return;
    }
    this.keys.set(key, path);
    this.claims.push(this.claim(resource, path));
    this.resources.push(resource);
  }

  /** The construct a resource is derived from: its `mlplane-path` tag, else the construct its name came from. */
  private ownerOf(resource: ArmResource): string {
    const tagged = resource.tags?.['mlplane-path'];
    if (typeof tagged === 'string') return tagged;
    for (const part of resource.name.split('/').reverse()) {
      const from = this.origins.get(part);
      if (from?.size === 1) return [...from][0] as string;
    }
    return this.env.path;
  }

  private claim(resource: ArmResource, path: string): NameClaim {
    // Resource names are unique per type in a resource group, ignoring case.
    return { scope: `resource group ${this.settings.resourceGroup} of subscription ${this.settings.subscriptionId}`, what: resource.type, name: resource.name, path, ignoreCase: true };
  }

  /** Whether a resource key is part of the template. */
  public has(key: string): boolean {
    return this.keys.has(key.toLowerCase());
  }

  /** Tags of every owned resource: user tags plus the environment and construct path. */
  public tags(path: string): Record<string, string> {
    return { ...this.env.tags, 'mlplane-env': this.env.name, 'mlplane-path': path, 'mlplane-stage': this.env.stage };
  }

  /** Declare a template parameter with its value in the parameters file. */
  public parameter(name: string, param: ArmParameter, value: ArmParameterValue): ArmExpr {
    this.parameters[name] = param;
    this.parameterValues[name] = value;
    return new ArmExpr(`parameters('${name}')`);
  }

  /**
   * The location of every resource: template parameter `location`, by default the resource group's
   * (`[resourceGroup().location]`), so the template deploys wherever it is sent; the parameters file
   * gives the configured `mlplane:azure.location`.
   */
  public location(): ArmExpr {
    if (!this.parameters.location) {
      this.parameter('location', {
        type: 'string',
        defaultValue: '[resourceGroup().location]',
        metadata: { description: 'Azure region of every resource (default: the resource group\'s); mlplane deploy passes mlplane:azure.location' },
      }, this.settings.location);
    }
    return new ArmExpr(`parameters('location')`);
  }

  /** ARM id of the workspace. */
  public workspaceId(): ArmExpr {
    return resourceId(`${ML}/workspaces`, this.core.workspace);
  }

  /** ARM id of the environment's user-assigned identity. */
  public identityId(): ArmExpr {
    return resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', this.core.identity);
  }

  /** ARM id of a child of the workspace (`computes`, `data/versions`, ...). */
  public mlId(child: string, ...names: string[]): ArmExpr {
    return resourceId(`${ML}/workspaces/${child}`, this.core.workspace, ...names);
  }
}
