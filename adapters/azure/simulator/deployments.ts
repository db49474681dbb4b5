/**
 * Template deployments that progress in (simulated) time, as ARM runs them: a deployment is
 * `Accepted`, then `Running` while its resources are deployed, each one as soon as everything it
 * `dependsOn` has succeeded (independent resources in parallel), each taking a configurable
 * duration; then `Succeeded`, `Failed` or `Canceled`. Timers drive it, not polls: a client that
 * never polls finds it finished later, and one that reads meanwhile sees the intermediate state
 * (resources already written, some still `Creating`, the deployment still active).
 *
 * Every resource deployment is a deployment operation (`Microsoft.Resources/deployments/operations`,
 * REST API 2025-04-01 `DeploymentOperation`): `provisioningOperation` `Create`, `provisioningState`
 * `Running` → `Succeeded`/`Failed`, `statusCode` from the provider, `statusMessage` with the
 * provider's error, `targetResource` naming the resource. A resource the provider refuses stops
 * what depends on it; the rest is deployed, and the deployment fails with every error.
 *
 * @see https://learn.microsoft.com/rest/api/resources/deployment-operations/list
 * @see https://learn.microsoft.com/azure/azure-resource-manager/templates/resource-dependency
 */
import { randomUUID } from 'node:crypto';
import { evaluateDeep, TemplateError, UnresolvedReference, type Json } from './expressions';
import type { StoredResource } from './store';
import { evaluateBody, orderResources, templateContext, type RawTemplate, type ResourceBody, type ResourceUnit, type TemplateScope } from './template';

/** ARM error body. */
export interface ArmError {
  readonly code: string;
  readonly message: string;
  readonly target?: string;
  readonly details?: readonly ArmError[];
}

/** One operation of a deployment: the deployment of one resource (or of a nested deployment, or its outputs). */
export interface DeploymentOperationRecord {
  /** ARM's operation id (16 upper-case hex digits). */
  readonly operationId: string;
  readonly provisioningOperation: 'Create' | 'EvaluateDeploymentOutput';
  provisioningState: 'Running' | 'Succeeded' | 'Failed';
  /** The resource it deploys (absent for `EvaluateDeploymentOutput`). */
  readonly target?: { readonly id: string; readonly type: string; readonly name: string; readonly apiVersion: string };
  /** Wall-clock ms when it started. */
  readonly startedAt: number;
  /** Wall-clock ms when it ended. */
  endedAt?: number;
  /** HTTP status name the provider answered (`Created`, `OK`, `BadRequest`). */
  statusCode?: string;
  /** The provider's error, when it failed. */
  error?: ArmError;
  readonly serviceRequestId: string;
}

/** A template deployment the simulator knows. */
export interface DeploymentRecord {
  readonly id: string;
  readonly name: string;
  readonly resourceGroup: string;
  state: 'Accepted' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled';
  readonly template: RawTemplate;
  readonly parameters: Record<string, unknown>;
  readonly mode: string;
  readonly tags: Record<string, string>;
  readonly timestamp: string;
  outputs?: Record<string, { type: string; value: Json }>;
  error?: ArmError;
  outputResources: string[];
  /** Its deployment operations, in the order they started. */
  readonly operations: DeploymentOperationRecord[];
}

/** What the clock needs from the simulator around it. */
export interface DeploymentHost {
  /** Evaluation scope of a deployment (strict: unsupported functions fail). */
  scopeFor(subscriptionId: string, resourceGroup: string, deploymentName: string): TemplateScope;
  /** Write one resource as its provider would; throws an error carrying `error: ArmError` when the provider refuses. */
  put(id: string, apiVersion: string, body: ResourceBody, deployment: string): { created: boolean; stored: StoredResource };
  /** Record a nested deployment (it becomes readable as a deployment of its own). */
  register(record: DeploymentRecord): void;
  /** How long the provider takes to deploy this resource, in ms. */
  durationOf(id: string): number;
  /** Whether ARM holds every deployment (no resource starts while true). */
  held(): boolean;
}

/**
 * The simulator's clock: runs deployments on timers, and any other long-running operation (a
 * direct Azure ML PUT, a DELETE, what-if) through {@link DeploymentClock.after}, so that every LRO
 * progresses with time and polls only observe it.
 */
export interface DeploymentClock {
  /** Run `fn` once `ms` have passed (cleared by {@link DeploymentClock.close}). */
  after(ms: number, fn: () => void): void;
  /** Start a deployment just accepted (state `Accepted`). */
  start(record: DeploymentRecord, subscriptionId: string): void;
  /** Let held deployments go on (after `holdDeployments` is cleared). */
  resume(): void;
  /** Stop every timer (the simulator is closing). */
  close(): void;
}

type NodeState = 'waiting' | 'running' | 'succeeded' | 'failed';

interface Node {
  readonly unit: ResourceUnit;
  /** What it waits for: resources of the same template (a nested template resolves its own). */
  deps: readonly Node[];
  readonly parent?: Node;
  children: Node[];
  state: NodeState;
  op?: DeploymentOperationRecord;
  /** The nested deployment's own record. */
  record?: DeploymentRecord;
}

interface Run {
  readonly record: DeploymentRecord;
  readonly sub: string;
  readonly nodes: Node[];
  readonly failures: ArmError[];
}

/** Status name of an HTTP status, as deployment operations report it. */
function statusName(status: number): string {
  return ({ 200: 'OK', 201: 'Created', 400: 'BadRequest', 404: 'NotFound', 409: 'Conflict', 500: 'InternalServerError' } as Record<number, string>)[status] ?? String(status);
}

/** An ARM operation id: 16 upper-case hex digits. */
function operationId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
}

/** What a provider or the template evaluation said, as an ARM error with its HTTP status. */
function armErrorOf(e: unknown, target: string): { status: number; error: ArmError } {
  if (e instanceof UnresolvedReference) return { status: 404, error: { code: 'ResourceNotFound', message: e.message, target } };
  if (e instanceof TemplateError) return { status: 400, error: { code: 'InvalidTemplate', message: e.message, target } };
  const withError = e as { status?: unknown; error?: ArmError };
  if (withError && typeof withError.status === 'number' && withError.error && typeof withError.error.code === 'string') return { status: withError.status, error: withError.error };
  return { status: 500, error: { code: 'InternalServerError', message: e instanceof Error ? e.message : String(e), target } };
}

/** ISO 8601 duration of an operation (`PT1.234S`), as ARM reports it. */
export function isoDuration(ms: number): string {
  return `PT${(Math.max(0, ms) / 1000).toFixed(3).replace(/\.?0+$/, '') || '0'}S`;
}

/** Define the clock of a simulator. */
export function deploymentClock(host: DeploymentHost): DeploymentClock {
  const runs = new Set<Run>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const newOp = (n: Node): DeploymentOperationRecord => ({
    operationId: operationId(),
    provisioningOperation: 'Create',
    provisioningState: 'Running',
    target: { id: n.unit.id, type: n.unit.type, name: n.unit.raw.name, apiVersion: n.unit.apiVersion },
    startedAt: Date.now(),
    serviceRequestId: randomUUID(),
  });

  /** The deployment records a resource belongs to: its own and every nested one around it. */
  const recordsOf = (run: Run, n: Node): DeploymentRecord[] => {
    const out = [run.record];
    for (let p = n.parent; p; p = p.parent) if (p.record) out.push(p.record);
    return out;
  };

  const ready = (n: Node): boolean =>
    n.state === 'waiting' && (n.parent === undefined || n.parent.state === 'running') && n.deps.every((d) => d.state === 'succeeded');

  /** Whether a resource (or anything in a nested deployment) is still being deployed. */
  const active = (n: Node): boolean => (n.unit.nested ? n.children.some(active) : n.state === 'running');

  const opsOf = (run: Run, n: Node): DeploymentOperationRecord[] => (n.parent?.record ?? run.record).operations;

  const start = (run: Run, n: Node): void => {
    const op = newOp(n);
    n.op = op;
    opsOf(run, n).push(op);
    if (n.unit.nested) {
      n.state = 'running';
      n.record = {
        id: `/subscriptions/${run.sub}/resourceGroups/${run.record.resourceGroup}/providers/Microsoft.Resources/deployments/${n.unit.name}`,
        name: n.unit.name,
        resourceGroup: run.record.resourceGroup,
        state: 'Running',
        template: {},
        parameters: {},
        mode: 'Incremental',
        tags: {},
        timestamp: new Date().toISOString(),
        outputResources: [],
        operations: [],
      };
      host.register(n.record);
      settleNested(n);
      return;
    }
    try {
      const body = evaluateBody(n.unit);
      const { created, stored } = host.put(n.unit.id, n.unit.apiVersion, body, run.record.name);
      // The provider accepted the PUT: the resource exists, still provisioning, until its operation ends.
      stored.provisioningState = created ? 'Creating' : 'Updating';
      n.state = 'running';
      for (const r of recordsOf(run, n)) r.outputResources.push(n.unit.id);
      later(host.durationOf(n.unit.id), () => {
        stored.provisioningState = 'Succeeded';
        op.provisioningState = 'Succeeded';
        op.statusCode = created ? 'Created' : 'OK';
        op.endedAt = Date.now();
        n.state = 'succeeded';
        if (n.parent) settleNested(n.parent);
        tick(run);
      });
    } catch (e) {
      const { status, error } = armErrorOf(e, n.unit.id);
      op.provisioningState = 'Failed';
      op.statusCode = statusName(status);
      op.error = error;
      op.endedAt = Date.now();
      n.state = 'failed';
      run.failures.push(error);
    }
  };

  /** A nested deployment succeeds once everything in it has (and so, in turn, may the one around it). */
  const settleNested = (p: Node): void => {
    if (p.state !== 'running' || !p.children.every((c) => c.state === 'succeeded')) return;
    p.state = 'succeeded';
    if (p.op) {
      p.op.provisioningState = 'Succeeded';
      p.op.statusCode = 'OK';
      p.op.endedAt = Date.now();
    }
    if (p.record) p.record.state = 'Succeeded';
    if (p.parent) settleNested(p.parent);
  };

  const finish = (run: Run): void => {
    const { record } = run;
    runs.delete(run);
    if (run.failures.length === 0) {
      try {
        const scope = host.scopeFor(run.sub, record.resourceGroup, record.name);
        const ctx = templateContext(record.template, record.parameters, scope);
        const outputs: Record<string, { type: string; value: Json }> = {};
        for (const [k, o] of Object.entries(record.template.outputs ?? {})) outputs[k] = { type: String(o.type ?? 'string'), value: evaluateDeep(o.value, ctx) };
        if (Object.keys(outputs).length > 0) {
          record.operations.push({ operationId: operationId(), provisioningOperation: 'EvaluateDeploymentOutput', provisioningState: 'Succeeded', statusCode: 'OK', startedAt: Date.now(), endedAt: Date.now(), serviceRequestId: randomUUID() });
        }
        record.outputs = outputs;
        record.state = 'Succeeded';
        return;
      } catch (e) {
        run.failures.push(armErrorOf(e, record.id).error);
      }
    }
    for (const n of run.nodes) {
      if (!n.unit.nested || n.state === 'succeeded') continue;
      n.state = 'failed';
      if (n.record) n.record.state = 'Failed';
      if (n.op) {
        n.op.provisioningState = 'Failed';
        n.op.statusCode = 'Conflict';
        n.op.endedAt = Date.now();
      }
    }
    record.state = 'Failed';
    record.error = { code: 'DeploymentFailed', target: record.id, message: 'At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.', details: run.failures };
  };

  /** Start what is ready; end the deployment when nothing is left to do. */
  function tick(run: Run): void {
    if (run.record.state !== 'Running') {
      if (run.record.state !== 'Accepted') runs.delete(run);
      return;
    }
    // A failed resource stops only what depends on it; ARM goes on with the rest, then reports every failure.
    if (host.held()) return;
    for (const n of run.nodes) if (ready(n)) start(run, n);
    if (run.nodes.some((n) => !n.unit.nested && active(n))) return;
    if (run.failures.length > 0 || run.nodes.every((n) => n.state === 'succeeded')) finish(run);
  }

  return {
    after: later,
    start(record, sub) {
      const scope = host.scopeFor(sub, record.resourceGroup, record.name);
      const run: Run = { record, sub, nodes: [], failures: [] };
      const build = (units: readonly ResourceUnit[], parent?: Node): Node[] => {
        const level = units.map((u) => {
          const n: Node = { unit: u, deps: [], parent, children: [], state: 'waiting' };
          run.nodes.push(n);
          if (u.nested) n.children = build(u.nested, n);
          return n;
        });
        // `dependsOn` names resources of the same template; an id declared again in a nested one is another deployment of it.
        const byId = new Map(level.map((n) => [n.unit.id.toLowerCase(), n] as const));
        for (const n of level) n.deps = n.unit.dependsOn.map((d) => byId.get(d.toLowerCase())).filter((d): d is Node => d !== undefined);
        return level;
      };
      try {
        build(orderResources(record.template, templateContext(record.template, record.parameters, scope), scope));
      } catch (e) {
        run.failures.push(armErrorOf(e, record.id).error);
      }
      runs.add(run);
      later(0, () => {
        if (record.state !== 'Accepted') return;
        record.state = 'Running';
        tick(run);
      });
    },
    resume() {
      for (const run of [...runs]) tick(run);
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      runs.clear();
    },
  };
}
