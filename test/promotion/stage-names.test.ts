import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws';
import { synthAzure } from '../../adapters/azure';
import { MlopsEnvironment, ModelRegistry, Network, STAGE_CONTEXT_KEY, renderEnvironment, type EnvironmentModel } from '../../lib';

// Names carry the stage when one definition declares its stages, so two stages can share an aws
// account and region (or, for the workspace-level names, an azure resource group); a single-stage
// environment keeps its names (renaming would replace deployed resources).
function model(stages: boolean, stage = 'prod'): EnvironmentModel {
  const app = new App({ context: stages ? { [STAGE_CONTEXT_KEY]: stage } : {} });
  const env = new MlopsEnvironment(app, 'Demo', { ...(stages ? { stages: { staging: {}, prod: {} } } : { stage }), network: Network.PRIVATE });
  new ModelRegistry(env, 'Registry');
  return renderEnvironment(env);
}

function awsNames(m: EnvironmentModel): { stack: string; glue: unknown } {
  const app = new App();
  awsAdapter.synth(app, m, awsAdapter.parseSettings({ account: '123456789012', region: 'eu-west-1' }));
  const stack = app.node.children.find((c): c is Stack => Stack.isStack(c)) as Stack;
  const glue = stack.node.findAll().map((c) => (c as { cfnResourceType?: string; databaseInput?: { name?: string } })).find((c) => c.cfnResourceType === 'AWS::Glue::Database');
  return { stack: stack.stackName, glue: glue?.databaseInput?.name };
}

function azureWorkspaces(m: EnvironmentModel): string[] {
  const template = synthAzure(m, { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'rg', location: 'westeurope' } as never).documents['template.json'] as { resources: Array<{ type: string; name: string; tags?: Record<string, string> }> };
  return template.resources.filter((r) => r.type === 'Microsoft.MachineLearningServices/workspaces').map((r) => `${r.name} (mlplane-stage=${r.tags?.['mlplane-stage'] ?? '-'})`);
}

describe('names carry the stage of a definition with stages', () => {
  it('records the declared stages in the model, and none for a single-stage environment', () => {
    expect(model(true).environment.stages).toEqual(['staging', 'prod']);
    expect(model(false).environment).not.toHaveProperty('stages');
  });

  it('aws: the stack and the Glue database of each stage differ (Demo-staging-mlops, Demo-prod-mlops)', () => {
    expect(awsNames(model(true, 'staging'))).toEqual({ stack: 'Demo-staging-mlops', glue: 'demo_staging_mlops' });
    expect(awsNames(model(true, 'prod'))).toEqual({ stack: 'Demo-prod-mlops', glue: 'demo_prod_mlops' });
  });

  it('aws: a single-stage environment keeps Demo-mlops', () => {
    expect(awsNames(model(false))).toEqual({ stack: 'Demo-mlops', glue: 'demo_mlops' });
  });

  it('azure: the workspace of each stage differs and is tagged with it; a single-stage environment keeps its name', () => {
    expect(azureWorkspaces(model(true, 'staging'))).toEqual(['demo-staging (mlplane-stage=staging)']);
    expect(azureWorkspaces(model(true, 'prod'))).toEqual(['demo-prod (mlplane-stage=prod)']);
    expect(azureWorkspaces(model(false))).toEqual(['demo (mlplane-stage=prod)']);
  });
});
