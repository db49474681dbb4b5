/**
 * The CDK app (cdk.json `app`): `cdk synth` runs this file. It defines every environment in
 * `stacks/`, validates them, and synthesizes every selected target into `cdk.out/`.
 */
import { ValidationErrors, constructIdProblem } from '../lib';
import { buildApp } from './build';

try {
  const { app } = await buildApp();
  app.synth();
} catch (e) {
  // Definition problems (including ids the constructs library refuses) print as `[path] message`, without a stack trace.
  const problems = ValidationErrors.isValidationErrors(e) ? e : constructIdProblem(e);
  if (problems) {
    process.stderr.write(`${problems.message}\n`);
    process.exit(1);
  }
  throw e;
}
