/**
 * Where a `--profile` of `bench/gcp-deploy.bench.ts` spent its CPU: each busy sample counted once,
 * in the first bucket that has a frame on its stack (the order below), then the top self-time
 * frames. `node --import tsx bench/profile-buckets.ts <file.cpuprofile> [top frames, default 20]`.
 * Method: bench/README.md, "GCP deploy".
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

const short = (url: string) => url.replace(/.*node_modules\//, '').replace(/^file:\/\/.*?\/(adapters|lib|bench)\//, '$1/');

/** Buckets in the order a sample is tried against them. */
const BUCKETS: readonly [string, (f: CallFrame) => boolean][] = [
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['gax request encoding (fromObject, toProto3JSON, REST transcoding)', (f) => /google-gax\/build\/src\/(fallbackRest|transcoding)|proto3-json-serializer.*toproto3json/.test(f.url) || /fromObject$/.test(f.functionName)],
  ['gax response decoding (fromProto3JSON, toObject)', (f) => /fromproto3json|streamArrayParser/.test(f.url) || /toObject$/.test(f.functionName)],
  ['protobufjs (code generation on first use, other)', (f) => /protobufjs/.test(f.url)],
  ['BigQuery SDK (@google-cloud/common, teeny-request)', (f) => /@google-cloud\/(bigquery|common)|teeny-request/.test(f.url)],
  ['IAM SDK (googleapis-common)', (f) => /googleapis-common|@googleapis\/iam/.test(f.url)],
  ['HTTP client (gaxios, node-fetch, transport.ts, node http/net/streams)', (f) => /gaxios|node-fetch|fetch-blob|undici|google-auth-library|deploy\/transport/.test(f.url) || /^node:(http|_http|net|stream|internal\/(streams|http|url|stream_base)|url|events|buffer)/.test(f.url)],
  ['mlplane (engine or simulator)', (f) => /^(adapters|lib|bench)\//.test(short(f.url))],
  ['gax call wrappers (retries, timeouts, pagination)', (f) => /google-gax/.test(f.url)],
];

const file = process.argv[2];
if (!file) throw new Error('usage: node --import tsx bench/profile-buckets.ts <file.cpuprofile> [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const hits = new Map<number, number>();
for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);

let idle = 0;
const buckets = new Map<string, number>();
const self = new Map<string, number>();
for (const [id, n] of hits) {
  const frame = (byId.get(id) as ProfileNode).callFrame;
  if (frame.functionName === '(idle)' || frame.functionName === '(program)') {
    idle += n;
    continue;
  }
  const key = `${frame.functionName || '(anonymous)'} ${short(frame.url)}:${frame.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + n);
  const stack: CallFrame[] = [];
  for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push((byId.get(x) as ProfileNode).callFrame);
  const bucket = BUCKETS.find(([, test]) => stack.some(test))?.[0] ?? 'other (promises, timers, node internals)';
  buckets.set(bucket, (buckets.get(bucket) ?? 0) + n);
}
const busy = profile.samples.length - idle;
const ms = (profile.endTime - profile.startTime) / 1000;
const pct = (n: number) => `${((100 * n) / busy).toFixed(1).padStart(5)} %`;
console.log(`${profile.samples.length} samples over ${Math.round(ms)} ms, ${busy} busy (${Math.round((100 * busy) / profile.samples.length)} %)`);
for (const [name, n] of [...buckets].sort((a, b) => b[1] - a[1])) console.log(`${pct(n)}  ${name}`);
console.log('top self time:');
for (const [name, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 20))) console.log(`${pct(n)}  ${name}`);
