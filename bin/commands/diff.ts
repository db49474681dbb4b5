import type { Args } from '../cli-args';
import { runDeployVerb } from './deploy-verbs';

/** `mlplane diff`. */
export function run(args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  return runDeployVerb('diff', args, out, err);
}
