/**
 * Command-line parsing shared by every mlplane verb. No dependencies, so `--help` loads nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { targetNames } from '../adapters/registry';
import { editDistance } from '../lib/core/props';

/** Exit codes (documented in the README). */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, CHANGES: 3 } as const;

/** A usage error: wrong verb, flag or value. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parsed command line. */
export interface Args {
  readonly verb: string | undefined;
  readonly positional: string[];
  /** `-c key=value` / `--context key=value`, values parsed as JSON when they parse. */
  readonly context: Record<string, unknown>;
  readonly flags: Record<string, string | boolean>;
  /** Every value of a repeatable flag (`--data a=x --data b=y`), in order; `flags` holds the last. */
  readonly lists?: Record<string, string[]>;
}

const VALUE_FLAGS = new Set(['app', 'target', 'out', 'format', 'require-approval', 'provider', 'concurrency', 'lock-timeout', 'lock-lease', 'port', 'stages', 'stage', 'executor', 'resume', 'data', 'param', 'from', 'to', 'approved-by', 'from-profile', 'to-profile']);
const LIST_FLAGS = new Set(['data', 'param']);
const BOOL_FLAGS = new Set(['json', 'strict', 'all-targets', 'help', 'version', 'quiet', 'fail', 'destroy-data', 'purge', 'force', 'yes', 'parity', 'markdown', 'no-cache', 'refresh']);
const SHORT: Record<string, string> = { h: 'help', t: 'target', o: 'out' };

/** Parse `argv` (without node and script). */
export function parseArgs(argv: readonly string[]): Args {
  const positional: string[] = [];
  const context: Record<string, unknown> = {};
  const flags: Record<string, string | boolean> = {};
  const lists: Record<string, string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c' || a === '--context') {
      const kv = argv[++i];
      if (kv === undefined || !kv.includes('=')) throw new UsageError(`${a} needs key=value, e.g. -c mlplane:target=gcp`);
      const eq = kv.indexOf('=');
      context[kv.slice(0, eq)] = parseValue(kv.slice(eq + 1));
      continue;
    }
    const long = a.startsWith('--') ? a.slice(2) : a.startsWith('-') && a.length === 2 ? SHORT[a.slice(1)] : undefined;
    if (long === undefined) {
      if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'; see mlplane --help`);
      positional.push(a);
      continue;
    }
    const [name, inline] = long.includes('=') ? [long.slice(0, long.indexOf('=')), long.slice(long.indexOf('=') + 1)] : [long, undefined];
    if (BOOL_FLAGS.has(name)) {
      flags[name] = inline === undefined ? true : inline !== 'false';
    } else if (VALUE_FLAGS.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      flags[name] = value;
      if (LIST_FLAGS.has(name)) (lists[name] ??= []).push(value);
    } else {
      throw new UsageError(`unknown option '--${name}'; see mlplane --help`);
    }
  }
  return { verb: positional.shift(), positional, context, flags, lists };
}

/**
 * The app command `--app` gives, for verbs that build from source (`--app 'npx tsx bin/app.ts'`,
 * as with the CDK CLI); a cloud assembly directory is refused here (only diff, deploy and destroy
 * use one). Undefined: the app of `cdk.json`.
 */
export function sourceApp(args: Args): string | undefined {
  const flag = args.flags.app;
  if (typeof flag !== 'string') return undefined;
  const full = path.resolve(flag);
  if (fs.existsSync(full) && fs.statSync(full).isDirectory()) {
    throw new UsageError(`--app '${flag}' is a directory (a cloud assembly); ${args.verb ?? 'this command'} builds from source: give the app's command, e.g. --app 'npx tsx bin/app.ts' (only diff, deploy and destroy take a synthesized assembly)`);
  }
  return flag;
}

/**
 * `--target` names, checked like any other flag value: a typo is a usage error (exit 2), not a
 * definition problem.
 */
export function checkedTargets(raw: string): string {
  const known = targetNames();
  const names = raw.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  if (names.length === 1 && names[0] === 'all') return raw;
  const unknown = names.filter((t) => !known.includes(t));
  if (names.length === 0 || unknown.length > 0) {
    const near = unknown.map((u) => known.find((k) => editDistance(u, k) <= 2)).filter(Boolean);
    throw new UsageError(`--target ${JSON.stringify(raw)}: unknown target${unknown.length === 1 ? '' : 's'} ${unknown.map((u) => `'${u}'`).join(', ') || "''"}; use ${known.map((k) => `'${k}'`).join(', ')}, a comma-separated list, or 'all'${near.length > 0 ? ` (did you mean '${near[0]}'?)` : ''}`);
  }
  return raw;
}

function parseValue(raw: string): unknown {
  if (/^[[{"]|^(true|false|null|-?\d+(\.\d+)?)$/.test(raw)) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

/**
 * The context a CDK CLI run would give the app: cdk.json `context`, then cdk.context.json, then
 * `-c` values, then `--target` / `--all-targets`.
 */
export function resolveContext(args: Args, dir = process.cwd()): Record<string, unknown> {
  const read = (file: string): Record<string, unknown> => {
    const p = path.join(dir, file);
    if (!fs.existsSync(p)) return {};
    const json = JSON.parse(fs.readFileSync(p, 'utf8')) as Record<string, unknown>;
    return (file === 'cdk.json' ? (json.context as Record<string, unknown>) : json) ?? {};
  };
  const context = { ...read('cdk.json'), ...read('cdk.context.json'), ...args.context };
  if (typeof args.flags.target === 'string') context['mlplane:target'] = checkedTargets(args.flags.target);
  if (args.flags['all-targets'] === true) context['mlplane:target'] = 'all';
  if (typeof args.flags.stage === 'string') context['mlplane:stage'] = args.flags.stage;
  return context;
}
