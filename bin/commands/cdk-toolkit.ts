/**
 * The aws target's `diff | deploy | destroy`: the CDK toolkit (`@aws-cdk/toolkit-lib`) on the
 * stacks the aws adapter added to the app — the same result as `cdk diff|deploy|destroy`, with
 * mlplane's progress lines, `--json` and exit codes.
 */
import type { App } from 'aws-cdk-lib';
import type { Plan, PlanItem } from '../../adapters/deploy';
import { EXIT } from '../cli-args';
import type { DeployVerb } from './deploy-verbs';

/** Options of `runCdkVerb`. */
export interface CdkVerbOptions {
  readonly approval: string;
  readonly json: boolean;
  readonly fail: boolean;
  /** A synthesized cloud assembly to deploy as it is (`--app cdk.out`), as `cdk deploy --app cdk.out` does. @default - synthesize `app` */
  readonly assemblyDir?: string;
}

/** Run `verb` on `stacks` of the synthesized `app`; returns the exit code. */
export async function runCdkVerb(verb: DeployVerb, app: App, stacks: readonly string[], options: CdkVerbOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { Toolkit, StackSelectionStrategy } = await import('@aws-cdk/toolkit-lib');
  const { ResourceImpact } = await import('@aws-cdk/cloudformation-diff');
  const directory = options.assemblyDir ?? app.synth().directory;
  const started = Date.now();
  const toolkit = new Toolkit({
    ioHost: {
      async notify(msg) {
        if (msg.level === 'error' || msg.level === 'warn' || msg.level === 'result' || (msg.level === 'info' && !options.json)) {
          err.write(`[aws] ${msg.message.replace(/\n+$/, '')}\n`);
        }
      },
      async requestResponse(msg) {
        // Approval prompts: granted only with --require-approval never; never asked without a terminal.
        if (options.approval === 'never') return true as never;
        err.write(`[aws] ${msg.message}\nmlplane: approval required; rerun with --require-approval never to proceed without asking\n`);
        return false as never;
      },
    },
  });
  const cx = await toolkit.fromAssemblyDirectory(directory);
  const selector = { strategy: StackSelectionStrategy.PATTERN_MUST_MATCH, patterns: [...stacks] };
  if (verb === 'destroy') {
    const result = await toolkit.destroy(cx, { stacks: selector });
    const summary = { target: 'aws', stacks: result.stacks.map((s) => s.stackName), durationMs: Date.now() - started };
    out.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `aws: destroyed ${summary.stacks.join(', ')}\n`);
    return EXIT.OK;
  }
  const diffs = await toolkit.diff(cx, { stacks: selector });
  const plans: Plan[] = Object.entries(diffs).map(([stack, diff]) => ({
    target: 'aws',
    environment: stack,
    items: Object.entries(diff.resources.changes).map(([logicalId, change]): PlanItem => ({
      id: `${stack}/${logicalId}`,
      type: change.resourceType ?? 'AWS::CloudFormation::Resource',
      path: `${stack}/${logicalId}`,
      action: change.isAddition ? 'create' : change.isRemoval ? 'delete' : change.changeImpact === ResourceImpact.WILL_REPLACE ? 'replace' : change.isDifferent ? 'update' : 'noop',
      changes: [],
      summary: [],
    })),
  }));
  const changes = plans.some((p) => p.items.some((i) => i.action !== 'noop'));
  if (verb === 'diff') {
    if (options.json) out.write(`${JSON.stringify({ changes, plans }, null, 2)}\n`);
    return options.fail && changes ? EXIT.CHANGES : EXIT.OK;
  }
  const result = await toolkit.deploy(cx, { stacks: selector });
  const count = (a: PlanItem['action']) => plans.reduce((n, p) => n + p.items.filter((i) => i.action === a).length, 0);
  const summary = {
    target: 'aws',
    environment: result.stacks.map((s) => s.stackName).join(','),
    created: count('create'),
    updated: count('update'),
    replaced: count('replace'),
    deleted: count('delete'),
    unchanged: count('noop'),
    durationMs: Date.now() - started,
  };
  out.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `aws: deployed ${summary.environment} — ${summary.created} created, ${summary.updated} updated, ${summary.replaced} replaced, ${summary.deleted} deleted\n`);
  return EXIT.OK;
}
