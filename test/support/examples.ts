import { Construct } from 'constructs';
import { renderEnvironment, type EnvironmentModel } from '../../lib';
import { defineEnvironments } from '../../stacks';

/** A bare root construct (no aws-cdk-lib App) for construct → model tests. */
export class TestRoot extends Construct {
  constructor() {
    super(undefined as unknown as Construct, '');
  }
}

/** The models of the example environments in `stacks/`: fraud first, then churn. */
export function exampleModels(): EnvironmentModel[] {
  return defineEnvironments(new TestRoot()).map(renderEnvironment);
}
