import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { EnvironmentModel, ResourceModel } from '../../../lib/model/types';
import { exampleModels } from '../../support/examples';
import { awsAdapter, type AwsSettings } from '../../../adapters/aws';

/** Context `mlplane:aws` as the example app's cdk.json has it. */
export const AWS_CONTEXT = { account: '123456789012', region: 'eu-west-1', environments: { Churn: { region: 'us-east-1' } } } as const;

/** The settings the app passes for `model`: `environments.<Env>` laid over the shared values, then parsed. */
export function settingsOf(model: EnvironmentModel): AwsSettings {
  const { environments, ...shared } = AWS_CONTEXT;
  const own = (environments as Record<string, object>)[model.environment.name] ?? {};
  return awsAdapter.parseSettings({ ...shared, ...own });
}

/** What `synth` produced for one model. */
export interface Synthesized {
  readonly app: App;
  readonly stacks: Stack[];
  readonly warnings: readonly { id: string; path: string; message: string }[];
}

/** Synthesize `model` into a fresh App (CloudFormation validation off unless asked). */
export function synth(model: EnvironmentModel, settings: AwsSettings = settingsOf(model), validation = false): Synthesized {
  const app = new App({ builtinCloudFormationValidation: validation, context: validation ? { '@aws-cdk/core:validateAgainstDefaultRules': true } : {} });
  const { warnings } = awsAdapter.synth(app, model, settings);
  const stacks = app.node.children.filter((c): c is Stack => Stack.isStack(c));
  return { app, stacks, warnings };
}

/** Template of the stack named `name` (default: the first). */
export function template(s: Synthesized, index = 0): Template {
  const stack = s.stacks[index];
  if (!stack) throw new Error(`no stack ${index}`);
  return Template.fromStack(stack);
}

/**
 * Unacknowledged AwsSolutions findings of error severity, as `rule @ path`. Synthesizes the app
 * first, as `cdk synth` does before it runs validation plugins.
 */
export function nagErrors(app: App): string[] {
  app.synth();
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations
    .filter((v) => v.severity === 'error')
    .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath ?? '?'}`))
    .sort();
}

/** The example models (fraud, churn), deep-copied so tests may patch them. */
export function examples(): { fraud: EnvironmentModel; churn: EnvironmentModel } {
  const [fraud, churn] = exampleModels().map((m) => structuredClone(m) as EnvironmentModel);
  if (!fraud || !churn) throw new Error('examples missing');
  return { fraud, churn };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** A deep-copied model with the resource at `path` changed by `patch`. */
export function patchResource<K extends ResourceModel['kind']>(
  model: EnvironmentModel,
  path: string,
  kind: K,
  patch: (r: Mutable<Extract<ResourceModel, { kind: K }>>) => void,
): EnvironmentModel {
  const copy = structuredClone(model) as Mutable<EnvironmentModel>;
  const r = copy.resources.find((x) => x.path === path);
  if (!r || r.kind !== kind) throw new Error(`no ${kind} at ${path}`);
  patch(r as Mutable<Extract<ResourceModel, { kind: K }>>);
  return copy as EnvironmentModel;
}

/** Resources of `type` in a template, as [logicalId, resource] pairs. */
export function resourcesOfType(t: Template, type: string): [string, { Properties?: Record<string, unknown>; DeletionPolicy?: string }][] {
  return Object.entries(t.findResources(type)) as [string, { Properties?: Record<string, unknown>; DeletionPolicy?: string }][];
}

/** The definition of a state machine, with CloudFormation references replaced by `<ref>`. */
export function definitionOf(resource: { Properties?: Record<string, unknown> }): Record<string, unknown> {
  const def = resource.Properties?.DefinitionString as { 'Fn::Join': [string, unknown[]] } | string;
  const text = typeof def === 'string' ? def : def['Fn::Join'][1].map((x) => (typeof x === 'string' ? x : '<ref>')).join('');
  return JSON.parse(text) as Record<string, unknown>;
}
