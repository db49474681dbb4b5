// Preload for tests: record every module the process loads (ESM resolve + CJS require) into the
// file named by TRACE_IMPORTS_FILE, one URL or path per line.
import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';

const file = process.env.TRACE_IMPORTS_FILE;
const hooks = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(file)}, r.url + '\\n');
  return r;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
const Module = createRequire(import.meta.url)('node:module');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  appendFileSync(file, `${request}\n`);
  return load.apply(this, arguments);
};
