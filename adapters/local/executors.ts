/**
 * Executors of `mlplane run`: how one attempt of a container step is started on this machine.
 *
 * - `process` runs the step's command on the host, in the app directory, with the step's env laid
 *   over this process's env.
 * - `container` runs the step's image with docker or podman, every artifact bind-mounted.
 *
 * What the step receives (argv, env, paths) comes from the pure functions of `contract.ts`; the
 * container argv is built by the pure `containerArgv`, so it is tested without an engine.
 * Every attempt runs in its own process group, killed as a whole on timeout or interrupt.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ContainerStepModel } from '../../lib/model/types';
import { resolveStep, type Bindings } from './contract';

/** Where one step's inputs and outputs are on the host, and the values it receives. */
export interface StepIo {
  readonly inputs: Readonly<Record<string, { readonly kind: 'artifact'; readonly dir: string } | { readonly kind: 'parameter'; readonly text: string }>>;
  readonly outputs: Readonly<Record<string, { readonly kind: 'artifact'; readonly dir: string } | { readonly kind: 'parameter'; readonly file: string }>>;
  /** Pipeline parameter name → value text. */
  readonly params: Readonly<Record<string, string>>;
  /** Directory holding the parameter output files. */
  readonly paramsDir: string;
}

/** One attempt to start. */
export interface Launch {
  readonly step: ContainerStepModel;
  readonly io: StepIo;
  /** The app directory: the process executor's working directory. */
  readonly appDir: string;
  /** File receiving stdout and stderr. */
  readonly logFile: string;
  /** Per-attempt time limit. @default - none */
  readonly timeoutMs?: number;
  /** Aborted on Ctrl-C: the attempt is killed. */
  readonly signal: AbortSignal;
  /** A name unique to this attempt (container name). */
  readonly name: string;
  /**
   * Values of the step's secret env (resolved by the runner). They reach the step through the
   * process environment only, never argv or logs.
   *
   * @default - none
   */
  readonly secrets?: Readonly<Record<string, string>>;
}

/** How an attempt ended. */
export interface AttemptOutcome {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly interrupted: boolean;
  /** Why it could not start (command not found, ...). */
  readonly error?: string;
}

/** Runs one attempt of a container step. */
export interface Executor {
  readonly name: 'process' | 'container';
  launch(l: Launch): Promise<AttemptOutcome>;
}

/** Bindings seen by a process on the host: the host paths themselves. */
export function hostBindings(io: StepIo): Bindings {
  return {
    inputs: Object.fromEntries(Object.entries(io.inputs).map(([n, i]) => [n, i.kind === 'artifact' ? i.dir : i.text])),
    outputs: Object.fromEntries(Object.entries(io.outputs).map(([n, o]) => [n, o.kind === 'artifact' ? o.dir : o.file])),
    params: io.params,
  };
}

/** A bind mount of the container executor. */
export interface Mount {
  readonly host: string;
  readonly container: string;
  readonly readOnly: boolean;
}

/** Root of everything mlplane mounts into a step container. */
export const CONTAINER_ROOT = '/mlplane';

/**
 * The container's view of a step: input artifacts read-only at `/mlplane/inputs/<name>`, output
 * artifacts at `/mlplane/outputs/<name>`, parameter outputs as files in `/mlplane/params/`.
 */
export function containerView(io: StepIo): { bindings: Bindings; mounts: Mount[] } {
  const mounts: Mount[] = [];
  const inputs: Record<string, string> = {};
  const outputs: Record<string, string> = {};
  for (const [name, i] of Object.entries(io.inputs)) {
    if (i.kind === 'parameter') {
      inputs[name] = i.text;
      continue;
    }
    inputs[name] = `${CONTAINER_ROOT}/inputs/${name}`;
    mounts.push({ host: i.dir, container: inputs[name], readOnly: true });
  }
  let params = false;
  for (const [name, o] of Object.entries(io.outputs)) {
    if (o.kind === 'parameter') {
      outputs[name] = `${CONTAINER_ROOT}/params/${path.basename(o.file)}`;
      params = true;
      continue;
    }
    outputs[name] = `${CONTAINER_ROOT}/outputs/${name}`;
    mounts.push({ host: o.dir, container: outputs[name], readOnly: false });
  }
  if (params) mounts.push({ host: io.paramsDir, container: `${CONTAINER_ROOT}/params`, readOnly: false });
  return { bindings: { inputs, outputs, params: io.params }, mounts };
}

/** Options of `containerArgv`. */
export interface ContainerArgvOptions {
  /** Container name (for `kill`). */
  readonly name: string;
  /** `uid:gid` the step runs as, so its outputs belong to the user. @default - the image's user */
  readonly user?: string;
}

/**
 * The `docker run` / `podman run` arguments (without the engine name) for one attempt: removed
 * on exit, every artifact bind-mounted, env with `-e`, `--entrypoint` = `command[0]` and the rest
 * of `command` followed by `args` as the container's arguments. A step without `command` keeps
 * the image's entrypoint and receives `args` only.
 */
export function containerArgv(step: ContainerStepModel, io: StepIo, options: ContainerArgvOptions): { argv: string[]; problems: readonly string[] } {
  const { bindings, mounts } = containerView(io);
  const r = resolveStep(step, bindings);
  const argv = ['run', '--rm', '--name', options.name];
  if (options.user) argv.push('--user', options.user);
  for (const m of mounts) argv.push('--mount', `type=bind,source=${m.host},target=${m.container}${m.readOnly ? ',readonly' : ''}`);
  for (const [k, v] of Object.entries(r.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) argv.push('--env', `${k}=${v}`);
  // A secret is named without a value: the engine copies it from the client's environment.
  for (const k of Object.keys(step.secretEnv ?? {}).sort()) argv.push('--env', k);
  if (r.command.length > 0) argv.push('--entrypoint', r.command[0]);
  argv.push(step.image, ...r.command.slice(1), ...r.args);
  return { argv, problems: r.problems };
}

/** The process executor: the step's command on this machine, in the app directory. */
export function processExecutor(): Executor {
  return {
    name: 'process',
    launch(l) {
      const r = resolveStep(l.step, hostBindings(l.io));
      if (r.problems.length > 0) return Promise.resolve({ exitCode: null, signal: null, timedOut: false, interrupted: false, error: r.problems.join('; ') });
      const argv = [...r.command, ...r.args];
      if (r.command.length === 0) {
        return Promise.resolve({
          exitCode: null, signal: null, timedOut: false, interrupted: false,
          error: `step has no command (it relies on the entrypoint of ${l.step.image}); the process executor needs one: set command, or run with --executor container`,
        });
      }
      return runGroup(argv, { cwd: l.appDir, env: { ...process.env, ...r.env, ...(l.secrets ?? {}) }, logFile: l.logFile, timeoutMs: l.timeoutMs, signal: l.signal });
    },
  };
}

/** A container engine found on this machine. */
export type ContainerEngine = 'docker' | 'podman';

/** The first of docker, podman whose `info` succeeds (the engine is reachable), or undefined. */
export function detectContainerEngine(): ContainerEngine | undefined {
  for (const engine of ['docker', 'podman'] as const) {
    const r = spawnSync(engine, ['info'], { stdio: 'ignore', timeout: 10_000 });
    if (r.status === 0) return engine;
  }
  return undefined;
}

/** The container executor: the step's image with `engine run`. */
export function containerExecutor(engine: ContainerEngine): Executor {
  const user = typeof process.getuid === 'function' && typeof process.getgid === 'function' ? `${process.getuid()}:${process.getgid()}` : undefined;
  return {
    name: 'container',
    launch(l) {
      const { argv, problems } = containerArgv(l.step, l.io, { name: l.name, user });
      if (problems.length > 0) return Promise.resolve({ exitCode: null, signal: null, timedOut: false, interrupted: false, error: problems.join('; ') });
      // Killing the client does not always stop the container: kill it by name as well.
      const onKill = () => void spawn(engine, ['kill', l.name], { stdio: 'ignore' }).on('error', () => undefined);
      return runGroup([engine, ...argv], { cwd: l.appDir, env: { ...process.env, ...(l.secrets ?? {}) }, logFile: l.logFile, timeoutMs: l.timeoutMs, signal: l.signal, onKill });
    },
  };
}

/** Seconds between SIGTERM and SIGKILL when an attempt is stopped. */
export const KILL_GRACE_MS = 3000;

interface GroupOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  readonly timeoutMs?: number;
  readonly signal: AbortSignal;
  readonly onKill?: () => void;
}

/**
 * Spawn `argv` as the leader of a new process group with stdout and stderr appended to the log;
 * on timeout or abort, SIGTERM the whole group, then SIGKILL after a grace period.
 */
export function runGroup(argv: readonly string[], o: GroupOptions): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
    const fd = fs.openSync(o.logFile, 'a');
    let timedOut = false;
    let interrupted = false;
    let settled = false;
    const child = spawn(argv[0], argv.slice(1), { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    const timers: NodeJS.Timeout[] = [];
    const kill = () => {
      o.onKill?.();
      signalGroup(child.pid, 'SIGTERM');
      const t = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
      t.unref();
      timers.push(t);
    };
    const onAbort = () => {
      interrupted = true;
      kill();
    };
    if (o.signal.aborted) onAbort();
    else o.signal.addEventListener('abort', onAbort, { once: true });
    if (o.timeoutMs !== undefined) {
      timers.push(setTimeout(() => {
        timedOut = true;
        kill();
      }, o.timeoutMs));
    }
    const finish = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      o.signal.removeEventListener('abort', onAbort);
      // Whatever the leader left behind in its group goes with it.
      if (outcome.error === undefined) signalGroup(child.pid, 'SIGKILL');
      resolve(outcome);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      const error = e.code === 'ENOENT' ? `command '${argv[0]}' was not found on PATH` : e.message;
      finish({ exitCode: null, signal: null, timedOut, interrupted, error });
    });
    child.on('exit', (code, sig) => finish({ exitCode: code, signal: sig, timedOut, interrupted }));
  });
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // The group is already gone.
  }
}
