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
      stream.write(`${stamp()} ${ICON[e.state]} ${e.action.padEnd(7)} ${e.resource ?? e.path}${e.resource ? ` [${e.path}]` : ''} ${e.state}${elapsed}${e.message ? `: ${e.message}` : ''}\n`);
    },
    log(message) {
      stream.write(`${stamp()} ${message}\n`);
    },
  };
}

/**
 * A sink redrawing a table of the resources' states and elapsed times, for terminals. The table is
 * bounded to the terminal's height (resources in progress or failed first, then the latest to
 * change; a last line counts the others), and a redraw rewrites only the lines that changed.
 */
export function liveProgress(stream: NodeJS.WriteStream, now: () => number = Date.now): ProgressSink & { stop(): void } {
  const rows = new Map<string, { e: ProgressEvent; since: number; changed: number }>();
  let shown: string[] = [];
  let tick = 0;
  const width = () => (stream.columns ?? 120) - 1;
  const render = ({ e, since }: { e: ProgressEvent; since: number }) => {
    const secs = e.elapsedMs !== undefined ? e.elapsedMs / 1000 : e.state === 'running' || e.state === 'retrying' ? (now() - since) / 1000 : 0;
    return `${ICON[e.state]} ${e.action.padEnd(7)} ${(e.resource ? `${e.resource} [${e.path}]` : e.path).padEnd(48)} ${e.state.padEnd(8)} ${secs ? `${secs.toFixed(1)}s` : ''}${e.message ? `  ${e.message}` : ''}`.slice(0, width());
  };
  const visible = (): string[] => {
    const all = [...rows.values()];
    const room = Math.max(3, (stream.rows ?? 24) - 2);
    if (all.length <= room) return all.map(render);
    const active = (r: (typeof all)[number]) => r.e.state === 'running' || r.e.state === 'retrying' || r.e.state === 'failed';
    const ranked = [...all].sort((a, b) => Number(active(b)) - Number(active(a)) || b.changed - a.changed);
    const keep = new Set(ranked.slice(0, room - 1));
    const hidden = all.filter((r) => !keep.has(r));
    const count = (state: ProgressEvent['state']) => hidden.filter((r) => r.e.state === state).length;
    return [...all.filter((r) => keep.has(r)).map(render), `… ${hidden.length} more: ${count('done')} done, ${count('pending')} pending`.slice(0, width())];
  };
  const draw = () => {
    const lines = visible();
    let out = shown.length > 0 ? `\x1b[${shown.length}A` : '';
    lines.forEach((l, i) => {
      out += l === shown[i] ? '\n' : `\x1b[2K${l}\n`;
    });
    if (lines.length < shown.length) out += '\x1b[J';
    if (out !== '' && lines.some((l, i) => l !== shown[i]) || lines.length !== shown.length) stream.write(out);
    shown = lines;
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return {
    event(e) {
      const prev = rows.get(e.id);
      rows.set(e.id, { e, since: prev && prev.e.state === e.state ? prev.since : now(), changed: ++tick });
      draw();
    },
    log(message) {
      if (shown.length > 0) stream.write(`\x1b[${shown.length}A\x1b[J`);
      shown = [];
      stream.write(`${message}\n`);
      draw();
    },
    stop() {
      clearInterval(timer);
      draw();
    },
  };
}
