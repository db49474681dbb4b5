import { Duration, TimeZone } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { DriftMonitorModel } from '../../lib/model/types';
import { resolveSignalFeatures } from '../../lib/monitor-metrics';
import { constructId, metricNamespace, relativePath } from './names';
import { stagedEnvironmentName } from '../shared/names';
import { MLFLOW_IMAGE } from './platform';
import type { WorkloadContext } from './pipelines';
import { capturePrefix } from './serving';
import { awsSchedule } from './sizing';
import { fargateContainer, stateMachine, taskRole, workloadLogGroup } from './tasks';

/**
 * The Python the drift task runs (numpy and pandas ship with the MLflow image). See README, "Drift job".
 *
 * For each monitored stream (a deployment's captured inputs, or a batch's input data) it compares
 * the production window (the last lookback days) with a reference: the baseline dataset for skew,
 * the window of the same length before it for drift. Metrics follow lib/monitor-metrics.ts:
 * base-2 Jensen-Shannon distance, natural-log PSI, Wasserstein over the reference's standard
 * deviation (floored at 0.001, as Azure ML does), L-infinity of category shares; the feature kind
 * (numeric: 10 shared histogram bins; categorical: value shares) comes from the baseline schema.
 */
export const DRIFT_SCRIPT = `
import io, json, os
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse
import boto3
import numpy as np
import pandas as pd
e = os.environ
s3 = boto3.client('s3')
def load(uri, since=None, until=None):
    u = urlparse(uri)
    parts = []
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=u.netloc, Prefix=u.path.lstrip('/')):
        for o in page.get('Contents', []):
            if since is not None and o['LastModified'] < since:
                continue
            if until is not None and o['LastModified'] >= until:
                continue
            k = o['Key']
            body = io.BytesIO(s3.get_object(Bucket=u.netloc, Key=k)['Body'].read())
            if k.endswith('.parquet'):
                parts.append(pd.read_parquet(body))
            elif k.endswith('.csv'):
                parts.append(pd.read_csv(body))
            elif k.endswith('.json') or k.endswith('.jsonl'):
                parts.append(pd.read_json(body, lines=True))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
def dists(kind, a, b):
    if kind == 'numeric':
        edges = np.histogram_bin_edges(np.concatenate([a, b]).astype(float), bins=10)
        p, q = np.histogram(a.astype(float), edges)[0], np.histogram(b.astype(float), edges)[0]
    else:
        cats = sorted(set(a.astype(str)) | set(b.astype(str)))
        p = a.astype(str).value_counts().reindex(cats, fill_value=0).to_numpy()
        q = b.astype(str).value_counts().reindex(cats, fill_value=0).to_numpy()
    return p / p.sum(), q / q.sum()
def score(metric, kind, a, b):
    if metric == 'normalizedWassersteinDistance':
        grid = np.linspace(0, 1, 101)
        qa, qb = np.quantile(a.astype(float), grid), np.quantile(b.astype(float), grid)
        return float(np.mean(np.abs(qa - qb)) / max(float(np.std(a.astype(float))), 0.001))
    p, q = dists(kind, a, b)
    if metric == 'lInfinity':
        return float(np.max(np.abs(p - q)))
    p, q = p + 1e-6, q + 1e-6
    p, q = p / p.sum(), q / q.sum()
    if metric == 'jensenShannonDistance':
        m = (p + q) / 2
        return float(np.sqrt(0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.sum(q * np.log2(q / m))))
    if metric == 'populationStabilityIndex':
        return float(np.sum((q - p) * np.log(q / p)))
    raise ValueError('unknown metric ' + metric)
days = int(e['MLPLANE_LOOKBACK_DAYS'])
now = datetime.now(timezone.utc)
base = load(e['MLPLANE_BASELINE_URI'])
data = []
for t in json.loads(e['MLPLANE_TARGETS']):
    cur = load(t['uri'], now - timedelta(days=days))
    previous = None
    for sig in json.loads(e['MLPLANE_SIGNALS']):
        if sig['kind'] == 'drift':
            if previous is None:
                previous = load(t['uri'], now - timedelta(days=2 * days), now - timedelta(days=days))
            ref = previous
        else:
            ref = base
        for f in sig['features']:
            n = f['name']
            if n not in ref or n not in cur or cur[n].dropna().empty or ref[n].dropna().empty:
                continue
            value = score(f['metric'], f['kind'], ref[n].dropna(), cur[n].dropna())
            dims = [{'Name': 'Monitor', 'Value': e['MLPLANE_MONITOR']}, {'Name': 'Feature', 'Value': n}]
            if t['deployment']:
                dims.append({'Name': 'Deployment', 'Value': t['deployment']})
            data.append({'MetricName': sig['kind'] + '_' + f['metric'], 'Dimensions': dims, 'Value': value})
            print(t['deployment'], sig['kind'], f['metric'], n, value)
cw = boto3.client('cloudwatch')
for i in range(0, len(data), 20):
    cw.put_metric_data(Namespace=e['MLPLANE_NAMESPACE'], MetricData=data[i:i + 20])
`.trim();

/** What a drift monitor defines. */
export interface MonitorBinding {
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly topic: sns.Topic;
  /** Rule that starts retraining, when the monitor has `onDrift`. */
  readonly retrainRule?: events.Rule;
}

/**
 * Define a drift monitor: a scheduled Fargate task that computes each signal per feature and
 * publishes CloudWatch metrics, an alarm per threshold notifying an SNS topic, and — with
 * `onDrift: retrain(...)` — an EventBridge rule that starts a cooldown-guarded retraining run.
 */
export function buildDriftMonitor(scope: Construct, ctx: WorkloadContext, m: DriftMonitorModel): MonitorBinding | undefined {
  const { platform, model } = ctx;
  const envPath = model.environment.path;
  const baseline = ctx.datasets.get(m.baseline);
  const schedule = awsSchedule(m.schedule);
  if (!baseline || !schedule.ok) return undefined; // reported by validateForAws
  const root = new Construct(scope, constructId(envPath, m.path));
  const namespace = metricNamespace(stagedEnvironmentName(model.environment));
  const monitorName = relativePath(envPath, m.path);

  const role = taskRole(root, 'Role', `mlplane drift monitor ${m.path}`);
  ctx.grants.register({ kind: 'driftMonitor', monitor: m.path }, role);
  ctx.grants.grant(role, m.baseline, 'read');
  // Every monitored stream, each compared on its own: each deployment's captured inputs (all of
  // the endpoint's unless narrowed), or the input data of a batch (the features it scores).
  const targets: { deployment: string; uri: string }[] = [];
  const target = m.target;
  if (target.kind === 'endpoint') {
    const endpoint = model.resources.find((r) => r.path === target.endpoint);
    if (endpoint?.kind !== 'onlineEndpoint') return undefined; // reported by validateForAws
    const names = target.deployment ? [target.deployment] : endpoint.deployments.map((d) => d.name);
    const destination = endpoint.capture.destination ? ctx.datasets.get(endpoint.capture.destination) : undefined;
    if (destination) ctx.grants.grant(role, destination.model.path, 'read');
    for (const name of names) {
      if (destination) targets.push({ deployment: name, uri: `${destination.uri}capture/${name}/` });
      else {
        const prefix = `${capturePrefix(envPath, target.endpoint)}${name}/`;
        targets.push({ deployment: name, uri: platform.bucket.s3UrlForObject(prefix) });
        ctx.grants.grantPrefix(role, prefix, true, false);
      }
    }
  } else {
    const batchModel = model.resources.find((r) => r.path === target.batch);
    const input = batchModel && batchModel.kind === 'batchInference' ? ctx.datasets.get(batchModel.input) : undefined;
    if (!input) return undefined; // reported by validateForAws
    targets.push({ deployment: '', uri: input.uri });
    ctx.grants.grant(role, input.model.path, 'read');
  }
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': namespace } },
    }),
  );

  const schema = baseline.model.schema;
  const signals = m.signals.map((s) => ({
    kind: s.kind,
    features: resolveSignalFeatures(s, schema).flatMap((f) => (f.kind ? [{ name: f.feature, kind: f.kind, metric: f.metric }] : [])),
  }));
  const c = fargateContainer(root, 'Task', {
    image: MLFLOW_IMAGE,
    size: { cpu: 1024, memoryMiB: 4096 },
    role,
    logGroup: workloadLogGroup(root, 'TaskLogs', platform),
    entryPoint: ['/bin/sh', '-c'],
    command: [`pip install --quiet --no-cache-dir 'boto3==1.35.99' && exec python -c "$MLPLANE_DRIFT_SCRIPT"`],
    environment: {
      MLPLANE_MONITOR: monitorName,
      MLPLANE_NAMESPACE: namespace,
      MLPLANE_BASELINE_URI: baseline.uri,
      MLPLANE_TARGETS: JSON.stringify(targets),
      MLPLANE_LOOKBACK_DAYS: String(m.lookbackDays),
      MLPLANE_SIGNALS: JSON.stringify(signals),
      MLPLANE_DRIFT_SCRIPT: DRIFT_SCRIPT,
    },
    envReason: `drift monitor '${m.path}': environment holds data URIs, signal settings and the drift script; no secrets`,
  });
  new scheduler.Schedule(root, 'Schedule', {
    description: `${m.path} drift job`.slice(0, 512),
    schedule: scheduler.ScheduleExpression.expression(schedule.value.expression, schedule.value.timeZone ? TimeZone.of(schedule.value.timeZone) : undefined),
    target: new schedulerTargets.EcsRunFargateTask(platform.cluster, {
      taskDefinition: c.taskDefinition,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [platform.workloadSecurityGroup],
      assignPublicIp: false,
    }),
  });

  const topic = new sns.Topic(root, 'Alerts', { displayName: `mlplane drift ${monitorName}`.slice(0, 100), masterKey: platform.keyFor(root), enforceSSL: true });
  for (const a of m.alerts) {
    if (a.kind === 'email') topic.addSubscription(new subscriptions.EmailSubscription(a.address));
    else topic.addSubscription(new subscriptions.UrlSubscription(a.url, { protocol: sns.SubscriptionProtocol.HTTPS }));
  }

  const alarms: cloudwatch.Alarm[] = [];
  for (const s of m.signals) {
    for (const t of resolveSignalFeatures(s, schema)) {
      for (const { deployment } of targets) {
        const on = deployment ? ` on ${deployment}` : '';
        const alarm = new cloudwatch.Alarm(root, `Alarm-${s.kind}-${t.metric}-${t.feature}${deployment ? `-${deployment}` : ''}`, {
          alarmDescription: `${m.path}: ${s.kind} ${t.metric} of '${t.feature}'${on} above ${t.threshold}`,
          metric: new cloudwatch.Metric({
            namespace,
            metricName: `${s.kind}_${t.metric}`,
            dimensionsMap: { Monitor: monitorName, Feature: t.feature, ...(deployment ? { Deployment: deployment } : {}) },
            statistic: cloudwatch.Stats.MAXIMUM,
            period: Duration.hours(1),
          }),
          threshold: t.threshold,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
        alarm.addAlarmAction(new cwActions.SnsAction(topic));
        alarms.push(alarm);
      }
    }
  }

  let retrainRule: events.Rule | undefined;
  const onDrift = m.onDrift;
  const pipeline = onDrift ? ctx.grants.stateMachines.get(onDrift.pipeline) : undefined;
  if (onDrift && pipeline && alarms.length > 0) {
    const cooldownMs = onDrift.cooldownSeconds * 1000;
    const last = tasks.CallAwsService.jsonata(root, 'LastRun', {
      service: 'sfn',
      action: 'listExecutions',
      iamAction: 'states:ListExecutions',
      iamResources: [pipeline.stateMachineArn],
      parameters: { StateMachineArn: pipeline.stateMachineArn, MaxResults: 1 },
      outputs: {
        last: '{% $count($states.result.Executions) > 0 ? $states.result.Executions[0].StartDate : "" %}',
      },
    });
    const recent =
      '{% $states.input.last != "" and ($millis() - ($type($states.input.last) = "number" ? $states.input.last * 1000 : $toMillis($states.input.last))) < ' +
      `${cooldownMs} %}`;
    const retrain = tasks.StepFunctionsStartExecution.jsonata(root, 'Retrain', {
      stateMachine: pipeline,
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      input: sfn.TaskInput.fromObject({ parameters: { ...onDrift.parameters }, trigger: m.path }),
    });
    const decide = sfn.Choice.jsonata(root, 'CoolingDown')
      .when(sfn.Condition.jsonata(recent), sfn.Succeed.jsonata(root, 'SkipCooldown', { comment: `last run is younger than ${onDrift.cooldownSeconds}s` }))
      .otherwise(retrain);
    const gate = stateMachine(root, 'RetrainGate', platform, last.next(decide), `cooldown gate: retrain ${onDrift.pipeline} on drift of ${m.path}`, sfn.QueryLanguage.JSONATA);
    retrainRule = new events.Rule(root, 'OnDrift', {
      description: `${m.path}: start ${onDrift.pipeline} when a drift alarm fires`.slice(0, 512),
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        resources: alarms.map((a) => a.alarmArn),
        detail: { state: { value: ['ALARM'] } },
      },
      targets: [new eventsTargets.SfnStateMachine(gate)],
    });
  }
  return { alarms, topic, retrainRule };
}
