/**
 * The CDK app (cdk.json `app`): `cdk synth` runs this file. It defines every environment in
 * `stacks/`, validates them, and synthesizes every selected target into `cdk.out/`.
 */
import { ValidationErrors } from '../lib';
import { buildApp } from './build';

try {
  const { app } = await buildApp();
  app.synth();
} catch (e) {
  if (ValidationErrors.isValidationErrors(e)) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
