import type { Construct } from 'constructs';
import type { MlopsEnvironment } from '../lib';
import { defineChurnScoring } from './churn';
import { defineFraudDetection } from './fraud';

/** Define every environment of this app under `scope` (the CDK App). */
export function defineEnvironments(scope: Construct): MlopsEnvironment[] {
  return [defineFraudDetection(scope), defineChurnScoring(scope)];
}
