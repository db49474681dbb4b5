import { PassThrough } from 'node:stream';
import { main } from '../../bin/mlplane';

/** Run the mlplane CLI in process and collect its exit code, stdout and stderr. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c) => chunks.out.push(c));
  err.on('data', (c) => chunks.err.push(c));
  const code = await main(argv, out, err);
  return { code, stdout: Buffer.concat(chunks.out).toString(), stderr: Buffer.concat(chunks.err).toString() };
}
