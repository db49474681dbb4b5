/**
 * What the gcp target cannot honour fails synth with the construct path, the value given, what is
 * allowed and the fix — every problem at once.
 */
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../../adapters/gcp';
import { ValidationErrors, type Problem } from '../../../lib/core/errors';
import type { EnvironmentModel } from '../../../lib/model/types';
import { contractModel } from '../../support/contract-pipeline';
import { examples, find, LAB_SETTINGS, labModel, settingsFor, variant } from './fixtures';

function problems(model: EnvironmentModel, settings = model.environment.name === 'Lab' ? LAB_SETTINGS : settingsFor(model)): Problem[] {
  try {
    gcpAdapter.synth(model, settings);
  } catch (e) {
    if (ValidationErrors.isValidationErrors(e)) return [...e.problems];
    throw e;
  }
  throw new Error('synth did not fail');
}

const { fraud, churn } = examples();

describe('fails if', () => {
  it('fails if the Vertex region is outside the environment region hint', () => {
    const settings = gcpAdapter.parseSettings({ project: 'acme-fraud-prod', region: 'us-central1' });
    expect(problems(fraud, settings)).toEqual([
      {
        path: 'Fraud',
        message: "the environment's region is 'eu' but mlplane:gcp.region is 'us-central1', which is outside it; use a region starting with 'europe-', or change the environment's region",
      },
    ]);
  });

  it('fails if a deployment mirrors traffic, naming the alternative', () => {
    const m = variant(fraud, (w) => {
      const green = find(w, 'onlineEndpoint', 'Fraud/Scoring').deployments[1];
      if (green) green.mirror = 20;
    });
    expect(problems(m)).toEqual([
      {
        path: 'Fraud/Scoring',
        message: expect.stringMatching(/^target 'gcp' cannot honour mirrored \(shadow\) traffic \(endpoint\.mirrorTraffic\); Vertex AI endpoints cannot mirror traffic/),
      },
    ]);
  });

  it('fails if an endpoint uses key authentication', () => {
    const m = variant(fraud, (w) => {
      find(w, 'onlineEndpoint', 'Fraud/Scoring').auth = 'key';
    });
    expect(problems(m)).toEqual([
      { path: 'Fraud/Scoring', message: "target 'gcp' cannot honour key authentication (endpoint.auth.key); Vertex AI endpoints authenticate with IAM tokens only; use auth: token" },
    ]);
  });

  it('fails if an alert is a webhook', () => {
    const m = variant(churn, (w) => {
      find(w, 'driftMonitor', 'Churn/Skew').alerts.push({ kind: 'webhook', url: 'https://hooks.example/x' });
    });
    expect(problems(m)).toEqual([{ path: 'Churn/Skew', message: expect.stringContaining('(monitor.alert.webhook); Vertex model monitoring alerts by e-mail') }]);
  });

  it('fails if an accelerator is not offered by Vertex AI, on steps and on deployments', () => {
    const m = variant(labModel(), (w) => {
      const dep = find(w, 'onlineEndpoint', 'Lab/Api').deployments[0];
      if (dep) dep.resources.accelerator = { kind: 'known', name: 'nvidia-a10g', count: 1 };
      find(w, 'computePool', 'Lab/Gpu').node.accelerator = { kind: 'custom', provider: 'azure', name: 'Standard_NC6', count: 1 };
    });
    expect(problems(m)).toEqual([
      { path: 'Lab/Api/v3', message: "accelerator 'nvidia-a10g' is not offered by Vertex AI; use one of nvidia-t4, nvidia-l4, nvidia-v100, nvidia-a100, nvidia-h100" },
      {
        path: 'Lab/Gpu',
        message: "custom accelerator 'Standard_NC6' is for provider 'azure', not gcp; use a known accelerator or Accelerator.custom('gcp', '<Vertex AcceleratorType>')",
      },
      {
        path: 'Lab/Score/Infer',
        message: "custom accelerator 'Standard_NC6' is for provider 'azure', not gcp; use a known accelerator or Accelerator.custom('gcp', '<Vertex AcceleratorType>')",
      },
    ]);
  });

  it('fails if a column name is not valid in BigQuery, or two differ only in case', () => {
    const m = variant(labModel(), (w) => {
      const events = find(w, 'dataset', 'Lab/Events');
      events.schema.push({ name: '2nd-score', type: 'float', nullable: true });
      events.schema.push({ name: 'Score', type: 'float', nullable: true });
      events.schema.push({ name: '_PARTITIONTIME', type: 'timestamp', nullable: true });
    });
    expect(problems(m)).toEqual([
      { path: 'Lab/Events', message: "column name '2nd-score' is not valid in BigQuery: use letters, digits and '_', not starting with a digit, at most 300 characters; rename the field" },
      { path: 'Lab/Events', message: "columns 'score' and 'Score' differ only in case; BigQuery compares column names case-insensitively; rename one" },
      { path: 'Lab/Events', message: "column name '_PARTITIONTIME' uses the prefix '_PARTITION' that BigQuery reserves; rename the field" },
    ]);
  });

  it('fails if a nested column name is invalid, naming the column path', () => {
    const m = variant(labModel(), (w) => {
      const device = find(w, 'dataset', 'Lab/Events').schema.find((f) => f.name === 'device');
      if (device?.type === 'struct') device.fields.push({ name: 'os version', type: 'string', nullable: true });
    });
    expect(problems(m)).toEqual([{ path: 'Lab/Events', message: expect.stringMatching(/^column name 'device\.os version' is not valid in BigQuery/) }]);
  });

  it('fails if a column is an array of arrays', () => {
    const m = variant(labModel(), (w) => {
      find(w, 'dataset', 'Lab/Events').schema.push({ name: 'matrix', type: 'array', items: { type: 'array', items: { type: 'float' } }, nullable: true });
    });
    expect(problems(m)).toEqual([{ path: 'Lab/Events', message: "column 'matrix' is an array of arrays, which BigQuery cannot store; wrap the inner array in a struct" }]);
  });

  it('fails if partitioning, clustering or an external dataset ask what BigQuery cannot do', () => {
    const m = variant(labModel(), (w) => {
      const req = find(w, 'dataset', 'Lab/Requests');
      req.partitionBy = { field: 'payload', granularity: 'day' };
      req.clusterBy = ['a', 'b', 'c', 'd', 'payload'];
      const raw = find(w, 'dataset', 'Lab/RawFiles');
      raw.source = { kind: 'external', uri: 's3://acme/raw/' };
      raw.retentionDays = 7;
    });
    expect(problems(m)).toEqual([
      {
        path: 'Lab/RawFiles',
        message: "external dataset URI 's3://acme/raw/' is not on Cloud Storage; on gcp an external dataset must be a gs:// URI (BigQuery external table); copy the data to Cloud Storage",
      },
      {
        path: 'Lab/RawFiles',
        message: 'an external dataset cannot be partitioned, clustered or expired by BigQuery (it reads files it does not own); remove partitionBy, clusterBy and retention',
      },
      { path: 'Lab/Requests', message: "partition column 'payload' must be a timestamp or date column of the schema; got string" },
      { path: 'Lab/Requests', message: 'BigQuery clusters by at most 4 columns, got 5 (a, b, c, d, payload); drop some' },
      { path: 'Lab/Requests', message: "cluster column 'a' is not in the schema; use one of payload" },
      { path: 'Lab/Requests', message: "cluster column 'b' is not in the schema; use one of payload" },
      { path: 'Lab/Requests', message: "cluster column 'c' is not in the schema; use one of payload" },
      { path: 'Lab/Requests', message: "cluster column 'd' is not in the schema; use one of payload" },
    ]);
  });

  it('fails if a drift metric is not one Vertex model monitoring computes', () => {
    const m = variant(fraud, (w) => {
      const signal = find(w, 'driftMonitor', 'Fraud/Drift').signals[0];
      if (signal) signal.metric = 'populationStabilityIndex';
    });
    const alternative = 'Vertex AI Model Monitoring computes Jensen-Shannon divergence on numeric features and L-infinity distance on categorical features only; use metric: DriftMetric.JENSEN_SHANNON and categoricalMetric: DriftMetric.L_INFINITY';
    expect(problems(m)).toEqual([
      { path: 'Fraud/Drift', message: `target 'gcp' cannot honour population stability index threshold on numeric features (monitor.metric.populationStabilityIndex.numeric); ${alternative}` },
      { path: 'Fraud/Drift', message: `target 'gcp' cannot honour population stability index threshold on categorical features (monitor.metric.populationStabilityIndex.categorical); ${alternative}` },
    ]);
  });

  it('fails if an endpoint monitor does not run every whole number of hours', () => {
    const m = variant(fraud, (w) => {
      find(w, 'driftMonitor', 'Fraud/Drift').schedule = { kind: 'rate', seconds: 1800 };
    });
    expect(problems(m)).toEqual([
      { path: 'Fraud/Drift', message: 'Vertex model monitoring runs every whole number of hours (at least 1); a schedule every 1800s cannot be honoured; use a multiple of 1 hour' },
    ]);
  });

  it('fails if a monitor cron does not fire at a fixed interval', () => {
    const m = variant(fraud, (w) => {
      find(w, 'driftMonitor', 'Fraud/Drift').schedule = { kind: 'cron', expression: '0 9 1 * *', timeZone: 'UTC' };
    });
    expect(problems(m)).toEqual([
      {
        path: 'Fraud/Drift',
        message: "cron '0 9 1 * *' does not fire at a fixed interval; Vertex model monitoring runs every N hours; use Schedule.rate or a cron like '0 */6 * * *'",
      },
    ]);
  });

  it('fails if a rate has no cron equivalent, naming the schedule', () => {
    const m = variant(churn, (w) => {
      find(w, 'pipeline', 'Churn/Train').schedules[0] = { kind: 'rate', seconds: 5 * 3600 };
    });
    expect(problems(m)).toEqual([
      {
        path: 'Churn/Train',
        message:
          'schedule 1: a fixed rate of 18000s has no cron equivalent (Vertex schedules are cron-based); use a rate that divides an hour or a day, 1 day or 7 days, or use Schedule.cron',
      },
    ]);
  });

  it('fails if a deployment may scale to zero replicas', () => {
    const m = variant(fraud, (w) => {
      const green = find(w, 'onlineEndpoint', 'Fraud/Scoring').deployments[1];
      if (green) green.minReplicas = 0;
    });
    expect(problems(m)).toEqual([
      { path: 'Fraud/Scoring/green', message: 'minReplicas 0 is not allowed on Vertex AI endpoints (at least 1 replica serves); set minReplicas to 1 or more' },
    ]);
  });

  it('fails if a model alias is not a valid Vertex version alias', () => {
    const m = variant(churn, (w) => {
      const model = find(w, 'modelRegistry', 'Churn/Registry').models[0];
      if (model) model.aliases = ['production', 'Prod_1'];
    });
    expect(problems(m)).toEqual([
      { path: 'Churn/Registry/Churn', message: "alias 'Prod_1' is not a valid Vertex version alias (pattern [a-z][a-zA-Z0-9-]{0,126}[a-z0-9], not 'default'); rename it" },
    ]);
  });

  it('fails if a step running as a custom job has a parameter output', () => {
    const m = variant(labModel(), (w) => {
      const extract = find(w, 'pipeline', 'Lab/Score').steps[0];
      if (extract?.kind === 'container') extract.timeoutSeconds = 600;
    });
    expect(problems(m)).toEqual([
      {
        path: 'Lab/Score/Extract',
        message:
          "output 'rows' is a parameter, but the step runs as a Vertex custom job (it has a timeout or runs on a spot pool) and custom jobs can only write artifacts; make 'rows' an artifact output, or drop the timeout and the spot pool",
      },
    ]);
  });

  it('fails if a deployment references an alias the model does not declare', () => {
    const m = variant(fraud, (w) => {
      const blue = find(w, 'onlineEndpoint', 'Fraud/Scoring').deployments[0];
      if (blue) blue.model = { registry: 'Fraud/Registry', model: 'fraud', alias: 'gold' };
    });
    expect(problems(m)).toEqual([{ path: 'Fraud/Scoring/blue', message: "alias 'gold' is not declared on model 'fraud'; declared are 'champion', 'challenger'" }]);
  });

  it('fails if two step names become the same KFP task name', () => {
    const m = variant(labModel(), (w) => {
      const infer = find(w, 'pipeline', 'Lab/Score').steps[1];
      if (infer) infer.name = 'extract';
    });
    expect(problems(m)).toEqual([{ path: 'Lab/Score/Infer', message: "step 'extract' and step 'Extract' both become KFP task 'extract'; rename one of them" }]);
  });

  it('fails if two constructs become the same GCP resource', () => {
    const m = variant(labModel(), (w) => {
      const models = find(w, 'modelRegistry', 'Lab/Models');
      const twin = structuredClone(models);
      twin.path = 'Lab/Models2';
      twin.id = 'Models2';
      const ranker = twin.models[0];
      if (ranker) ranker.path = 'Lab/Models2/Ranker';
      w.resources.push(twin);
    });
    expect(problems(m)).toEqual([
      {
        path: 'Lab/Models2/Ranker',
        message:
          "becomes the same GCP resource as 'Lab/Models/Ranker' (projects.locations.models 'lab-dev-ranker'); GCP names are lowercase and shortened, so rename one of the two constructs",
      },
    ]);
  });

  it('fails if the model has a schema version this adapter does not read', () => {
    const m = variant(churn, (w) => {
      w.schemaVersion = '2.0.0';
    });
    expect(problems(m)).toEqual([
      { path: 'Churn', message: "model schemaVersion '2.0.0' is not supported by the gcp adapter, which reads 1.x; use a matching mlplane version" },
    ]);
  });

  it('reports every problem of the environment at once, sorted by path', () => {
    const m = variant(fraud, (w) => {
      find(w, 'onlineEndpoint', 'Fraud/Scoring').auth = 'key';
      const signal = find(w, 'driftMonitor', 'Fraud/Drift').signals[0];
      if (signal) signal.metric = 'lInfinity';
      find(w, 'dataset', 'Fraud/Transactions').clusterBy.push('nope');
    });
    const settings = gcpAdapter.parseSettings({ project: 'acme-fraud-prod', region: 'asia-east1' });
    // lInfinity is defined on categorical features only: the numeric ones of Fraud/Drift are a problem too.
    expect([...new Set(problems(m, settings).map((p) => p.path))]).toEqual(['Fraud', 'Fraud/Drift', 'Fraud/Scoring', 'Fraud/Transactions']);
  });
});

describe('fails if a step cannot get what the step contract promises on gcp', () => {
  const contract = () => contractModel();
  const stepOf = (w: Parameters<Parameters<typeof variant>[1]>[0], name: string) => {
    const st = find(w, 'pipeline', 'Contract/Train').steps.find((x) => x.name === name);
    if (st?.kind !== 'container') throw new Error(`no container step ${name}`);
    return st;
  };

  it('fails if a placeholder names nothing the step declares, naming the step, the word and the placeholder', () => {
    const m = variant(contract(), (w) => {
      stepOf(w, 'Fit').args.push('--x={{inputs.nope}}', '{{run.id}}');
    });
    expect(problems(m)).toEqual([
      {
        path: 'Contract/Train/Fit',
        message: "args[6]: placeholder '{{inputs.nope}}' cannot be resolved on gcp; use {{inputs.<name>}}, {{outputs.<name>}} or {{params.<name>}} with a declared name (inputs.data, inputs.epochs, outputs.model, params.mode, params.epochs, params.publish)",
      },
      {
        path: 'Contract/Train/Fit',
        message: "args[7]: placeholder '{{run.id}}' cannot be resolved on gcp; use {{inputs.<name>}}, {{outputs.<name>}} or {{params.<name>}} with a declared name (inputs.data, inputs.epochs, outputs.model, params.mode, params.epochs, params.publish)",
      },
    ]);
  });

  it('fails if {{params.x}} names no pipeline parameter', () => {
    const m = variant(contract(), (w) => {
      stepOf(w, 'Fit').env.SEED = '{{params.seed}}';
    });
    expect(problems(m)).toEqual([
      { path: 'Contract/Train/Fit', message: "env SEED: '{{params.seed}}' names no parameter of pipeline 'Contract/Train'; declared are mode, epochs, publish; fix the placeholder" },
    ]);
  });

  it('fails if env values use placeholders on a step without a command (KFP resolves command and args only)', () => {
    const m = variant(contract(), (w) => {
      stepOf(w, 'Fit').command = [];
    });
    expect(problems(m)).toEqual([
      {
        path: 'Contract/Train/Fit',
        message: "env DATA_DIR uses placeholders, which KFP does not resolve in env; on gcp mlplane sets them through the step's command, and this step has none; give the step a command",
      },
    ]);
  });

  it("fails if env values use placeholders and command[0] contains '=' (env would read it as a variable)", () => {
    const m = variant(contract(), (w) => {
      stepOf(w, 'Fit').command = ['A=b', 'fit.py'];
    });
    expect(problems(m)).toEqual([
      { path: 'Contract/Train/Fit', message: "command[0] 'A=b' contains '=', so it cannot follow 'env NAME=value' (env would read it as a variable); rename the program" },
    ]);
  });

  it('fails if a step reads a delta dataset, which BigQuery cannot export to files', () => {
    const m = variant(contract(), (w) => {
      find(w, 'dataset', 'Contract/Raw').format = 'delta';
    });
    expect(problems(m)).toEqual([
      {
        path: 'Contract/Train/Prep',
        message: "reads dataset 'Contract/Raw' of format 'delta', which BigQuery cannot export to files for the step; on gcp a dataset a step reads must be parquet, csv or jsonl",
      },
    ]);
  });

  it('fails if a step reads a csv dataset with nested columns', () => {
    const m = variant(contract(), (w) => {
      const raw = find(w, 'dataset', 'Contract/Raw');
      raw.format = 'csv';
      raw.schema.push({ name: 'tags', type: 'array', items: { type: 'string' }, nullable: true });
    });
    expect(problems(m)).toEqual([
      {
        path: 'Contract/Train/Prep',
        message: "reads dataset 'Contract/Raw' as csv, but it has nested or repeated columns, which BigQuery cannot export as CSV; make the dataset parquet or jsonl",
      },
    ]);
  });

  it('fails if a condition compares with a value of another type, or orders strings', () => {
    const m = variant(contract(), (w) => {
      // The model repeats a condition on every step downstream of it: change every copy.
      for (const st of find(w, 'pipeline', 'Contract/Train').steps) for (const c of st.conditions) if (c.declaredOn === 'Fit') c.value = 'yes';
      const report = stepOf(w, 'Report');
      const pub = report.conditions.find((c) => c.declaredOn === 'Report');
      if (pub) {
        pub.operand = { kind: 'parameter', parameter: 'mode', type: 'string' };
        pub.op = '<';
        pub.value = 'full';
      }
    });
    expect(problems(m)).toEqual([
      { path: 'Contract/Train/Fit', message: 'condition Prep.ok == "yes" (declared on \'Fit\') compares a boolean with "yes"; compare with true or false' },
      { path: 'Contract/Train/Report', message: 'condition parameter mode < "full" (declared on \'Report\') uses \'<\' on a string; strings compare with == and != only' },
    ]);
  });

  it('fails if a step would take the name of a condition group task', () => {
    const m = variant(contract(), (w) => {
      stepOf(w, 'Report').name = 'Condition-7';
    });
    expect(problems(m)).toEqual([{
      path: 'Contract/Train/Report',
      message: "step 'Condition-7' would become KFP task 'condition-7', a name gcp keeps for condition groups (dsl.If sub-DAGs); rename the step",
    }]);
  });

  it('fails if a step joins branches that run under different conditions (KFP nests dsl.If groups)', () => {
    const m = variant(contract(), (w) => {
      const p = find(w, 'pipeline', 'Contract/Train');
      const fit = stepOf(w, 'Fit');
      const side = structuredClone(stepOf(w, 'Report'));
      side.name = 'Side';
      side.path = 'Contract/Train/Side';
      side.dependsOn = ['Prep'];
      side.orderOnly = [];
      side.conditions = [{ operand: { kind: 'parameter', parameter: 'mode', type: 'string' }, op: '==', value: 'full', declaredOn: 'Side' }];
      side.outputs = [{ name: 'notes', type: { kind: 'artifact', type: 'artifact' } }];
      const join = structuredClone(side);
      join.name = 'Join';
      join.path = 'Contract/Train/Join';
      join.dependsOn = ['Fit', 'Side'];
      join.conditions = [...side.conditions, ...fit.conditions];
      join.inputs = [
        { name: 'model', type: { kind: 'artifact', type: 'model' }, source: { kind: 'step', step: 'Fit', output: 'model' } },
        { name: 'notes', type: { kind: 'artifact', type: 'artifact' }, source: { kind: 'step', step: 'Side', output: 'notes' } },
      ];
      join.outputs = [];
      join.args = ['{{inputs.model}}', '{{inputs.notes}}'];
      p.steps.splice(1, 0, side);
      p.steps.push(join);
    });
    expect(problems(m)).toEqual([
      {
        path: 'Contract/Train/Join',
        message:
          "step 'Join' reads 'Fit' across KFP condition groups: on gcp conditions nest like KFP dsl.If groups, outermost first, so a step can only read steps whose conditions are an outer part of its own; here the reader runs under parameter mode == \"full\" and then Prep.ok == true and 'Fit' under Prep.ok == true. This happens when a step joins branches that run under different conditions: declare the condition on a step after the join instead",
      },
    ]);
  });
});
