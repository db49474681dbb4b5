/**
 * Progress display for deploy engines: a live table on a TTY, plain log lines otherwise (CI).
 */
import type { ProgressEvent, ProgressSink } from '../adapters/deploy';

const ICON: Record<ProgressEvent['state'], string> = { pending: '·', running: '…', retrying: '↻', done: '✔', failed: '✖' };

/** A sink writing one line per event, for logs and CI. */
export function lineProgress(stream: NodeJS.WritableStream, now: () => number = Date.now): ProgressSink {
  const started = now();
  const stamp = () => `+${((now() - started) / 1000).toFixed(1).padStart(6)}s`;
  return {
    event(e) {
      if (e.state === 'pending') return;
      const elapsed = e.elapsedMs !== undefined ? ` (${(e.elapsedMs / 1000).toFixed(1)} s)` : '';
      stream.write(`${stamp()} ${ICON[e.state]} ${e.action.padEnd(7)} ${e.path} ${e.state}${elapsed}${e.message ? `: ${e.message}` : ''}\n`);
    },
    log(message) {
      stream.write(`${stamp()} ${message}\n`);
    },
  };
}

/** A sink redrawing a table of every resource's state and elapsed time, for terminals. */
export function liveProgress(stream: NodeJS.WriteStream, now: () => number = Date.now): ProgressSink & { stop(): void } {
  const rows = new Map<string, { e: ProgressEvent; since: number }>();
  let drawn = 0;
  const draw = () => {
    const lines = [...rows.values()].map(({ e, since }) => {
      const secs = e.elapsedMs !== undefined ? e.elapsedMs / 1000 : e.state === 'running' || e.state === 'retrying' ? (now() - since) / 1000 : 0;
      return `${ICON[e.state]} ${e.action.padEnd(7)} ${e.path.padEnd(48)} ${e.state.padEnd(8)} ${secs ? `${secs.toFixed(1)}s` : ''}${e.message ? `  ${e.message}` : ''}`;
    });
    if (drawn > 0) stream.write(`\x1b[${drawn}A`);
    for (const l of lines) stream.write(`\x1b[2K${l.slice(0, (stream.columns ?? 120) - 1)}\n`);
    drawn = lines.length;
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return {
    event(e) {
      const prev = rows.get(e.id);
      rows.set(e.id, { e, since: prev && prev.e.state === e.state ? prev.since : now() });
      draw();
    },
    log(message) {
      if (drawn > 0) stream.write(`\x1b[${drawn}A\x1b[J`);
      drawn = 0;
      stream.write(`${message}\n`);
      draw();
    },
    stop() {
      clearInterval(timer);
      draw();
    },
  };
}
