/**
 * The repository's own CDK app (cdk.json `app`): the example environments in `stacks/`. `cdk synth`
 * runs this file; the mlplane CLI loads it in process. A project made with `mlplane init` has its
 * own `bin/app.ts` of the same shape.
 */
import { defineEnvironments } from '../stacks';
import { runApp } from './build';

await runApp(defineEnvironments);
