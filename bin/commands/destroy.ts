import type { Args } from '../cli-args';
import { runDeployVerb } from './deploy-verbs';

/** `mlplane destroy`. */
export function run(args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  return runDeployVerb('destroy', args, out, err);
}
