import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRegistry } from '../../adapters/local';
import type { PromotionGateModel } from '../../lib/model/types';
import { appDir, removeAppDirs, artifactOut, envOf, fromParam, fromStep, lines, paramOut, registerStep, runIn, shStep, states } from './support';

afterAll(removeAppDirs);

describe('mlplane run: cache', () => {
  it('a second run takes every cacheable step from the cache and restores its outputs', async () => {
    const dir = appDir();
    const count = path.join(dir, 'count');
    const env = envOf([
      shStep('A', 'echo A >> "$COUNT"; echo hello > {{outputs.data}}/f', { outputs: [artifactOut('data')], env: { COUNT: count } }),
      shStep('B', 'echo B >> "$COUNT"; tr a-z A-Z < {{inputs.data}}/f > {{outputs.upper}}/g', { inputs: [fromStep('data', 'A', 'data')], outputs: [artifactOut('upper')], env: { COUNT: count } }),
    ]);
    const first = await runIn(dir, env);
    expect(states(first.record)).toEqual({ A: 'done', B: 'done' });
    const second = await runIn(dir, env);
    expect(states(second.record)).toEqual({ A: 'cached', B: 'cached' });
    expect(second.record.steps.every((s) => s.cacheHit && s.reusedFrom === first.record.runId)).toBe(true);
    expect(lines(count)).toEqual(['A', 'B']);
    expect(fs.readFileSync(path.join(dir, second.record.steps[1].outputs.upper.path, 'g'), 'utf8')).toBe('HELLO\n');
    expect(second.events.filter((e) => e.state === 'cached').map((e) => e.step)).toEqual(['A', 'B']);
  });

  it('--no-cache runs every step again', async () => {
    const dir = appDir();
    const count = path.join(dir, 'count');
    const env = envOf([shStep('A', 'echo A >> "$COUNT"', { env: { COUNT: count } })]);
    await runIn(dir, env);
    const second = await runIn(dir, env, { cache: false });
    expect(states(second.record)).toEqual({ A: 'done' });
    expect(lines(count)).toEqual(['A', 'A']);
  });

  it('changing a parameter re-runs only the steps that depend on it', async () => {
    const dir = appDir();
    const count = path.join(dir, 'count');
    const e = { COUNT: count };
    const env = envOf([
      shStep('Prep', 'echo Prep >> "$COUNT"; echo rows > {{outputs.data}}/d', { outputs: [artifactOut('data')], env: e }),
      shStep('Fit', 'echo Fit >> "$COUNT"; echo "lr={{inputs.lr}}" > {{outputs.model}}/m', { inputs: [fromStep('data', 'Prep', 'data'), fromParam('lr', 'lr', 'float')], outputs: [artifactOut('model', 'model')], env: e }),
      shStep('Eval', 'echo Eval >> "$COUNT"; cat {{inputs.model}}/m > {{outputs.report}}/r', { inputs: [fromStep('model', 'Fit', 'model', 'model')], outputs: [artifactOut('report')], env: e }),
      shStep('Stats', 'echo Stats >> "$COUNT"; wc -l < {{inputs.data}}/d > {{outputs.stats}}/s', { inputs: [fromStep('data', 'Prep', 'data')], outputs: [artifactOut('stats')], env: e }),
    ], [{ name: 'lr', type: 'float', default: 0.05 }]);
    await runIn(dir, env);
    const second = await runIn(dir, env, { parameters: { lr: '0.1' } });
    expect(states(second.record)).toEqual({ Prep: 'cached', Fit: 'done', Eval: 'done', Stats: 'cached' });
    expect(lines(count).slice(4).sort()).toEqual(['Eval', 'Fit']);
    expect(fs.readFileSync(path.join(dir, second.record.steps[2].outputs.report.path, 'r'), 'utf8')).toBe('lr=0.1\n');
  });

  it('a changed dataset file re-runs the steps that read it', async () => {
    const dir = appDir();
    const data = path.join(dir, 'sample.csv');
    fs.writeFileSync(data, 'a\n1\n');
    const env = envOf([shStep('Read', 'cat {{inputs.raw}}/*.csv > {{outputs.copy}}/c', { inputs: [{ name: 'raw', type: { kind: 'artifact', type: 'dataset' }, source: { kind: 'dataset', dataset: 'T/Raw' } }], outputs: [artifactOut('copy')] })], [], [
      { kind: 'dataset', path: 'T/Raw', id: 'Raw', schema: [], source: { kind: 'managed' }, format: 'csv', version: '1', clusterBy: [], retain: true },
    ]);
    await runIn(dir, env, { data: { Raw: 'sample.csv' } });
    expect(states((await runIn(dir, env, { data: { Raw: 'sample.csv' } })).record)).toEqual({ Read: 'cached' });
    fs.writeFileSync(data, 'a\n2\n');
    const third = await runIn(dir, env, { data: { Raw: 'sample.csv' } });
    expect(states(third.record)).toEqual({ Read: 'done' });
    expect(fs.readFileSync(path.join(dir, third.record.steps[0].outputs.copy.path, 'c'), 'utf8')).toBe('a\n2\n');
  });
});

describe('mlplane run: failures, retries, timeouts', () => {
  it('fails if a step keeps failing: retried per its policy, each attempt with empty outputs, downstream not run, naming the step and its log', async () => {
    const dir = appDir();
    const trace = path.join(dir, 'trace');
    const env = envOf([
      shStep('Flaky', 'echo "seen:$(ls {{outputs.out}} | tr -d \'\\n\')" >> "$TRACE"; touch {{outputs.out}}/stale; echo boom >&2; exit 3', { outputs: [artifactOut('out')], retries: 2, env: { TRACE: trace } }),
      shStep('After', 'true', { inputs: [fromStep('x', 'Flaky', 'out')] }),
    ]);
    const { record, events } = await runIn(dir, env);
    expect(record.status).toBe('failed');
    expect(states(record)).toEqual({ Flaky: 'failed', After: 'not-run' });
    expect(lines(trace)).toEqual(['seen:', 'seen:', 'seen:']);
    const flaky = record.steps[0];
    expect(flaky.attempts.map((a) => a.exitCode)).toEqual([3, 3, 3]);
    expect(events.filter((e) => e.state === 'retried').map((e) => e.attempt)).toEqual([1, 2]);
    expect(record.failed).toEqual({ step: 'Flaky', reason: 'exit code 3 (after 3 attempts)', log: path.join('.mlplane', 'runs', record.runId, 'steps', 'Flaky', 'attempt-3.log') });
    expect(fs.readFileSync(path.join(dir, record.failed!.log!), 'utf8')).toContain('boom');
    expect(record.steps[1].reason).toBe("upstream step 'Flaky' failed");
  });

  it('a step that fails once and then succeeds is done after its retry', async () => {
    const dir = appDir();
    const env = envOf([shStep('Once', 'if [ -f "$M" ]; then exit 0; fi; touch "$M"; exit 1', { retries: 1, env: { M: path.join(dir, 'marker') } })]);
    const { record, events } = await runIn(dir, env);
    expect(states(record)).toEqual({ Once: 'done' });
    expect(record.steps[0].attempts.map((a) => a.exitCode)).toEqual([1, 0]);
    expect(events.map((e) => e.state)).toEqual(['queued', 'running', 'retried', 'running', 'done']);
  });

  it('a timeout stops the attempt and kills its whole process group; the timeout bounds each attempt', async () => {
    const dir = appDir();
    const pids = path.join(dir, 'pids');
    const env = envOf([shStep('Slow', 'sleep 30 & echo $! >> "$PIDS"; wait', { timeoutSeconds: 0.5, retries: 1, env: { PIDS: pids } })]);
    const started = Date.now();
    const { record } = await runIn(dir, env);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(record.steps[0].attempts.map((a) => a.timedOut)).toEqual([true, true]);
    expect(record.failed?.reason).toBe("timed out after 0.5 s (the step's timeout bounds each attempt) (after 2 attempts)");
    const children = lines(pids).map(Number);
    expect(children).toHaveLength(2);
    for (const pid of children) expect(alive(pid)).toBe(false);
  });

  it('fails if a step does not write a declared parameter output', async () => {
    const dir = appDir();
    const { record } = await runIn(dir, envOf([shStep('Check', 'true', { outputs: [paramOut('ok', 'bool')] })]));
    expect(record.status).toBe('failed');
    expect(record.failed?.reason).toContain("did not write parameter output 'ok'");
  });

  it('fails if a parameter output is not text of its type', async () => {
    const dir = appDir();
    const { record } = await runIn(dir, envOf([shStep('Check', 'echo maybe > {{outputs.ok}}', { outputs: [paramOut('ok', 'bool')] })]));
    expect(record.failed?.reason).toBe("parameter output 'ok' (bool): 'maybe' is not a bool (true or false)");
  });
});

describe('mlplane run: conditions and order', () => {
  const checkThen = (written: string) => envOf([
    shStep('Check', `echo ${written} > {{outputs.ok}}`, { outputs: [paramOut('ok', 'bool')] }),
    shStep('Deploy', 'echo deployed > {{outputs.out}}/x', {
      dependsOn: ['Check'], orderOnly: [], outputs: [artifactOut('out')],
      conditions: [{ operand: { kind: 'stepOutput', step: 'Check', output: 'ok', type: 'bool' }, op: '==', value: true, declaredOn: 'Deploy' }],
    }),
    shStep('Notify', 'true', {
      inputs: [fromStep('x', 'Deploy', 'out')],
      conditions: [{ operand: { kind: 'stepOutput', step: 'Check', output: 'ok', type: 'bool' }, op: '==', value: true, declaredOn: 'Deploy' }],
    }),
    shStep('Other', 'true', { dependsOn: ['Check'], orderOnly: ['Check'] }),
  ]);

  it('a false condition skips the step and every step downstream of it, and the run succeeds', async () => {
    const { record, events } = await runIn(appDir(), checkThen('false'));
    expect(record.status).toBe('succeeded');
    expect(states(record)).toEqual({ Check: 'done', Deploy: 'skipped', Notify: 'skipped', Other: 'done' });
    expect(record.steps[1].reason).toBe('condition is false: Check.ok == true (Check.ok = false)');
    expect(record.steps[2].reason).toBe("upstream step 'Deploy' was skipped");
    expect(events.filter((e) => e.state === 'skipped').map((e) => e.step)).toEqual(['Deploy', 'Notify']);
  });

  it('a true condition runs the step', async () => {
    const { record } = await runIn(appDir(), checkThen('true'));
    expect(states(record)).toEqual({ Check: 'done', Deploy: 'done', Notify: 'done', Other: 'done' });
    expect(record.steps[1].conditions).toEqual([{ text: 'Check.ok == true (Check.ok = true)', holds: true }]);
  });

  it('a metric condition reads metrics.json of the upstream metrics output', async () => {
    const env = (auc: number) => envOf([
      shStep('Evaluate', `echo '{"auc": ${auc}, "loss": 0.2}' > {{outputs.metrics}}/metrics.json`, { outputs: [artifactOut('metrics', 'metrics')] }),
      shStep('Ship', 'true', { dependsOn: ['Evaluate'], conditions: [{ operand: { kind: 'metric', step: 'Evaluate', output: 'metrics', metric: 'auc' }, op: '>', value: 0.8, declaredOn: 'Ship' }] }),
    ]);
    const good = await runIn(appDir(), env(0.91));
    expect(states(good.record)).toEqual({ Evaluate: 'done', Ship: 'done' });
    expect(good.record.steps[0].metrics).toEqual({ metrics: { auc: 0.91, loss: 0.2 } });
    expect(states((await runIn(appDir(), env(0.7))).record)).toEqual({ Evaluate: 'done', Ship: 'skipped' });
  });

  it('a parameter condition compares the run parameter', async () => {
    const env = envOf([shStep('Full', 'true', { conditions: [{ operand: { kind: 'parameter', parameter: 'mode', type: 'string' }, op: '==', value: 'full', declaredOn: 'Full' }] })], [{ name: 'mode', type: 'string', default: 'quick' }]);
    expect(states((await runIn(appDir(), env)).record)).toEqual({ Full: 'skipped' });
    expect(states((await runIn(appDir(), env, { parameters: { mode: 'full' } })).record)).toEqual({ Full: 'done' });
  });

  it('an order-only dependency starts the step after its upstream step has finished', async () => {
    const dir = appDir();
    const trace = path.join(dir, 'trace');
    const e = { TRACE: trace };
    const env = envOf([
      shStep('First', 'sleep 0.4; echo first-end >> "$TRACE"', { env: e }),
      shStep('Second', 'echo second-start >> "$TRACE"', { dependsOn: ['First'], orderOnly: ['First'], env: e }),
      shStep('Free', 'echo free >> "$TRACE"', { env: e }),
    ]);
    await runIn(dir, env, { concurrency: 4 });
    const t = lines(trace);
    expect(t.indexOf('first-end')).toBeLessThan(t.indexOf('second-start'));
    expect(t.indexOf('free')).toBeLessThan(t.indexOf('first-end'));
  });
});

describe('mlplane run: parallelism', () => {
  it('runs independent steps in parallel, never more than --concurrency at once', async () => {
    const dir = appDir();
    const trace = path.join(dir, 'trace');
    const steps = Array.from({ length: 6 }, (_, i) => shStep(`S${i}`, 'echo "+ $(date +%s%N)" >> "$TRACE"; sleep 0.3; echo "- $(date +%s%N)" >> "$TRACE"', { env: { TRACE: trace }, caching: false }));
    await runIn(dir, envOf(steps), { concurrency: 2 });
    const events = lines(trace).map((l) => ({ delta: l.startsWith('+') ? 1 : -1, t: BigInt(l.slice(2)) })).sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.delta));
    let now = 0;
    let peak = 0;
    for (const e of events) peak = Math.max(peak, (now += e.delta));
    expect(events).toHaveLength(12);
    expect(peak).toBe(2);
  });
});

describe('mlplane run: register steps and the promotion gate', () => {
  const gate: PromotionGateModel = { metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.01 };
  const env = envOf([
    shStep('Fit', 'echo "weights {{params.auc}}" > {{outputs.model}}/model.txt', { outputs: [artifactOut('model', 'model')] }),
    shStep('Evaluate', 'echo "{\\"auc\\": {{params.auc}}}" > {{outputs.metrics}}/metrics.json', { outputs: [artifactOut('metrics', 'metrics')], caching: false }),
    registerStep('Register', { artifact: { step: 'Fit', output: 'model' }, metrics: { step: 'Evaluate', output: 'metrics' }, promoteTo: 'champion', gate }),
  ], [{ name: 'auc', type: 'float' }]);

  it('the first version becomes champion; a candidate that does not beat it by minDelta is kept; a better one is promoted', async () => {
    const dir = appDir();
    const registry = new LocalRegistry(path.join(dir, '.mlplane', 'registry'));
    const r1 = (await runIn(dir, env, { parameters: { auc: '0.8' } })).record;
    expect(r1.steps[2].registration).toMatchObject({ version: 1, promotedTo: 'champion', gate: { outcome: 'promote', reason: 'auc=0.8; no reference value' } });
    const r2 = (await runIn(dir, env, { parameters: { auc: '0.805' } })).record;
    expect(r2.steps[2].registration).toMatchObject({ version: 2, previous: 1, gate: { outcome: 'keep', reason: 'auc=0.805 is not > 0.8 + 0.01' } });
    expect(r2.steps[2].registration?.promotedTo).toBeUndefined();
    expect(registry.aliases('T/Registry', 'm')).toEqual({ champion: 1 });
    const r3 = (await runIn(dir, env, { parameters: { auc: '0.9' } })).record;
    expect(r3.steps[2].registration).toMatchObject({ version: 3, promotedTo: 'champion', previous: 1 });
    expect(registry.aliases('T/Registry', 'm')).toEqual({ champion: 3 });
    expect(registry.versions('T/Registry', 'm').map((v) => v.metrics)).toEqual([{ auc: 0.8 }, { auc: 0.805 }, { auc: 0.9 }]);
    expect(fs.readFileSync(path.join(dir, '.mlplane', 'registry', 'T', 'Registry', 'm', 'versions', '3', 'model', 'model.txt'), 'utf8')).toBe('weights 0.9\n');
  });

  it('fails if the gate metric is missing from metrics.json, naming it, and registers nothing', async () => {
    const dir = appDir();
    const noAuc = envOf([
      shStep('Fit', 'echo w > {{outputs.model}}/model.txt', { outputs: [artifactOut('model', 'model')] }),
      shStep('Evaluate', 'echo \'{"f1": 0.5}\' > {{outputs.metrics}}/metrics.json', { outputs: [artifactOut('metrics', 'metrics')] }),
      registerStep('Register', { artifact: { step: 'Fit', output: 'model' }, metrics: { step: 'Evaluate', output: 'metrics' }, promoteTo: 'champion', gate }),
    ]);
    const { record } = await runIn(dir, noAuc);
    expect(record.status).toBe('failed');
    expect(record.failed?.step).toBe('Register');
    expect(record.failed?.reason).toBe("promotion gate of 'Register': metric auc is missing or not a finite number in metrics.json (metrics: f1)");
    expect(new LocalRegistry(path.join(dir, '.mlplane', 'registry')).versions('T/Registry', 'm')).toEqual([]);
  });
});

describe('mlplane run: interrupt and resume', () => {
  it('an interrupt kills running steps and records the run as interrupted; resuming re-uses the completed steps', async () => {
    const dir = appDir();
    const count = path.join(dir, 'count');
    const pids = path.join(dir, 'pids');
    const go = path.join(dir, 'go');
    const e = { COUNT: count, PIDS: pids, GO: go };
    const env = envOf([
      shStep('Quick', 'echo Quick >> "$COUNT"; echo q > {{outputs.out}}/q', { outputs: [artifactOut('out')], env: e }),
      shStep('Long', 'echo Long >> "$COUNT"; if [ ! -f "$GO" ]; then sleep 30 & echo $! >> "$PIDS"; wait; fi; cat {{inputs.q}}/q > {{outputs.out}}/l', { inputs: [fromStep('q', 'Quick', 'out')], outputs: [artifactOut('out')], env: e }),
      shStep('Last', 'echo Last >> "$COUNT"', { inputs: [fromStep('l', 'Long', 'out')], env: e }),
    ]);
    const controller = new AbortController();
    const abortWhenSleeping = () => (lines(pids).length > 0 ? controller.abort() : setTimeout(abortWhenSleeping, 50));
    const first = await runIn(dir, env, { signal: controller.signal, onEvent: (ev) => ev.step === 'Long' && ev.state === 'running' && abortWhenSleeping() });
    expect(first.record.status).toBe('interrupted');
    expect(states(first.record)).toEqual({ Quick: 'done', Long: 'interrupted', Last: 'not-run' });
    expect(first.record.steps[2].reason).toBe('the run was interrupted before it started');
    expect(alive(Number(lines(pids)[0]))).toBe(false);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, '.mlplane', 'runs', first.record.runId, 'run.json'), 'utf8'));
    expect(saved.status).toBe('interrupted');

    fs.writeFileSync(go, '');
    const resumed = await runIn(dir, env, { resume: saved });
    expect(resumed.record.runId).toBe(first.record.runId);
    expect(resumed.record.status).toBe('succeeded');
    expect(states(resumed.record)).toEqual({ Quick: 'reused', Long: 'done', Last: 'done' });
    expect(lines(count)).toEqual(['Quick', 'Long', 'Long', 'Last']);
  });
});

/** Whether a process exists and is not a zombie (an orphan's zombie may wait long for its reaper). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  return !fs.existsSync(stat) || !/^\d+ \(.*\) Z /.test(fs.readFileSync(stat, 'utf8'));
}
