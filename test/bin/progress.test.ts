/**
 * Issue 15 item 3: the live deploy view is bounded to the terminal's height and rewrites only the
 * lines that changed (it used to redraw every row on every event: 458 KB for 48 resources).
 */
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../adapters/deploy';
import { liveProgress } from '../../bin/progress';

/** A terminal of `rows` × 100 that records what is written and replays it onto a screen. */
function terminal(rows: number) {
  let bytes = 0;
  const screen: string[] = [];
  let cursor = 0;
  let tallest = 0;
  const stream = {
    isTTY: true,
    columns: 100,
    rows,
    write(chunk: string) {
      bytes += Buffer.byteLength(chunk);
      // Replay: ESC[nA (up n), ESC[2K (clear line), ESC[J (clear below), text, newline.
      for (const token of chunk.match(/\x1b\[\d*[AKJ]|\n|[^\x1b\n]+/g) ?? []) {
        const up = /^\x1b\[(\d+)A$/.exec(token);
        if (up) cursor -= Number(up[1]);
        else if (token === '\x1b[2K') screen[cursor] = '';
        else if (token === '\x1b[J') screen.length = cursor;
        else if (token === '\n') cursor++;
        else screen[cursor] = (screen[cursor] ?? '') + token;
        tallest = Math.max(tallest, screen.length);
      }
      return true;
    },
  };
  return { stream: stream as unknown as NodeJS.WriteStream, bytes: () => bytes, screen: () => screen.slice(0, cursor), tallest: () => tallest };
}

const event = (i: number, state: ProgressEvent['state']): ProgressEvent => ({ id: `r${i}`, path: `Fraud/Resource${i}`, action: 'create', state, ...(state === 'done' ? { elapsedMs: 1000 + i } : {}) });

describe('live deploy view', () => {
  it('stays within the terminal height and writes a small fraction of a full redraw per event', () => {
    const t = terminal(20);
    const view = liveProgress(t.stream, () => 0);
    for (let i = 0; i < 48; i++) view.event(event(i, 'pending'));
    for (let i = 0; i < 48; i++) {
      view.event(event(i, 'running'));
      view.event(event(i, 'done'));
    }
    view.stop();
    expect(t.tallest()).toBeLessThanOrEqual(19);
    // 144 events; the full redraw of 48 rows per event this replaced wrote about 500 KB here
    // (measured 90 KB now: rows entering the window shift the ones below them).
    expect(t.bytes()).toBeLessThan(120_000);
    const screen = t.screen();
    expect(screen.at(-1)).toMatch(/^… 31 more: 31 done, 0 pending$/); // 18 lines: 17 resources and this one
    // The latest to change are shown: resource 47 is on screen, resource 0 is not.
    expect(screen.some((l) => l.includes('Fraud/Resource47 '))).toBe(true);
    expect(screen.some((l) => l.includes('Fraud/Resource0 '))).toBe(false);
  });

  it('shows every resource when they fit, and resources in progress before finished ones when not', () => {
    const t = terminal(8);
    const view = liveProgress(t.stream, () => 0);
    for (let i = 0; i < 10; i++) view.event(event(i, 'done'));
    view.event(event(2, 'running'));
    view.event(event(3, 'failed'));
    for (let i = 10; i < 14; i++) view.event(event(i, 'done'));
    const screen = t.screen();
    expect(screen.length).toBeLessThanOrEqual(6);
    expect(screen.some((l) => l.includes('Fraud/Resource2 ') && l.includes('running'))).toBe(true);
    expect(screen.some((l) => l.includes('Fraud/Resource3 ') && l.includes('failed'))).toBe(true);
    const small = terminal(40);
    const all = liveProgress(small.stream, () => 0);
    for (let i = 0; i < 10; i++) all.event(event(i, 'done'));
    expect(small.screen()).toHaveLength(10);
    all.stop();
    view.stop();
  });
});

describe('progress lines', () => {
  it('name the cloud resource, with the construct path after it', async () => {
    const { lineProgress } = await import('../../bin/progress');
    const { cloudResource } = await import('../../adapters/gcp/deploy/apply');
    const resource = cloudResource({
      item: { id: 'endpoints/scoring.json', type: 'Endpoint', path: 'Fraud/Scoring', action: 'create', changes: [], summary: [] },
      deps: [], phase: 'apply', rank: 0, target: 'projects/acme/locations/europe-west4/endpoints:fraud-prod-scoring',
    });
    expect(resource).toBe('gcp Endpoint fraud-prod-scoring');
    let out = '';
    const sink = lineProgress({ write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream, () => 0);
    sink.event({ id: 'x', path: 'Fraud/Scoring', action: 'create', resource, state: 'done', elapsedMs: 1500 });
    expect(out).toBe('+   0.0s ✔ create  gcp Endpoint fraud-prod-scoring [Fraud/Scoring] done (1.5 s)\n');
  });
});
