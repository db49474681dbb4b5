import { Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { defineGenerated } from '../../../bench/generate';
import { renderEnvironment } from '../../../lib';
import type { EnvironmentModel, PipelineModel, StepModel } from '../../../lib/model/types';
import { synth } from './support';

/**
 * A model server reads one prefix per served model (`models/<registry>/<model>/`), whatever the
 * number of pipelines registering that model: its role's policy must not grow with them (at 1,000
 * pipelines one grant per pipeline made ~29 overflow managed policies per role, beyond IAM's quota
 * of managed policies per role).
 */

class Root extends Construct {
  constructor() {
    super(undefined as unknown as Construct, '');
  }
}

/** The bench app of `pipelines` pipelines, with every register step registering the first model (the one `Endpoint0` serves). */
function generated(pipelines: number): EnvironmentModel {
  const model = renderEnvironment(defineGenerated(new Root(), pipelines));
  const served = model.resources.find((r) => r.kind === 'onlineEndpoint' && r.path === 'Bench/Endpoint0');
  if (served?.kind !== 'onlineEndpoint') throw new Error('bench app changed: no Bench/Endpoint0');
  const name = served.deployments[0]?.model.model as string;
  const resources = model.resources.map((r) =>
    r.kind === 'pipeline' ? ({ ...r, steps: r.steps.map((s): StepModel => (s.kind === 'register' ? { ...s, model: name } : s)) } satisfies PipelineModel) : r,
  );
  return { ...model, resources };
}

interface RolePolicies {
  /** Statements of every policy attached to the role (inline and managed). */
  readonly statements: number;
  /** Resources named by those statements. */
  readonly resources: number;
  /** Managed policies attached to the role (aws-cdk-lib's overflow policies). */
  readonly managed: number;
}

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** What the role whose logical id starts with `rolePrefix` is granted, across the stacks of the app; and every managed policy of the app. */
function policiesOf(model: EnvironmentModel, rolePrefix: string): RolePolicies & { readonly managedInApp: number; readonly registering: number } {
  const s = synth(model);
  let statements = 0;
  let resources = 0;
  let managed = 0;
  let managedInApp = 0;
  let found = false;
  for (const stack of s.stacks) {
    const t = Template.fromStack(stack).toJSON() as { Resources: Resources };
    const role = Object.keys(t.Resources).find((id) => id.startsWith(rolePrefix) && t.Resources[id]?.Type === 'AWS::IAM::Role');
    for (const r of Object.values(t.Resources)) {
      if (r.Type === 'AWS::IAM::ManagedPolicy') managedInApp += 1;
      if (!role || (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy')) continue;
      if (!JSON.stringify(r.Properties.Roles ?? []).includes(`"${role}"`)) continue;
      found = true;
      if (r.Type === 'AWS::IAM::ManagedPolicy') managed += 1;
      for (const st of (r.Properties.PolicyDocument as { Statement: { Resource: unknown }[] }).Statement) {
        statements += 1;
        resources += [st.Resource].flat().length;
      }
    }
  }
  if (!found) throw new Error(`no policy of a role ${rolePrefix}* in the app`);
  const registering = model.resources.filter((r) => r.kind === 'pipeline' && r.steps.some((x) => x.kind === 'register')).length;
  return { statements, resources, managed, managedInApp, registering };
}

describe('model servers read one prefix per model (aws)', () => {
  it('fails if the serving role\'s grants grow with the number of pipelines registering its model (10 vs 60)', () => {
    const few = policiesOf(generated(10), 'Endpoint0blueRole');
    const many = policiesOf(generated(60), 'Endpoint0blueRole');
    expect([few.registering, many.registering]).toEqual([10, 60]);
    expect({ statements: many.statements, resources: many.resources, managed: many.managed }).toEqual({ statements: few.statements, resources: few.resources, managed: few.managed });
    // No role of the app outgrows its inline policy: the stack budget has no overflow policies to count.
    expect([few.managedInApp, many.managedInApp]).toEqual([0, 0]);
  }, 180_000);
});
