/**
 * gcp: caching that cannot go stale (docs/caching.md), from the synthesized KFP IR of the Fraud
 * nightly retrain (ValidateData → BuildFeatures → TrainModel, cached, reading the Transactions table).
 */
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../../adapters/gcp';
import { FINGERPRINT_SOURCE } from '../../../adapters/gcp/fingerprint';
import { exampleModels } from '../../support/examples';
import { execFileSync } from 'node:child_process';

const fraud = exampleModels().find((m) => m.environment.path === 'Fraud');
if (!fraud) throw new Error('no Fraud example');
const { documents } = gcpAdapter.synth(fraud, gcpAdapter.parseSettings({ project: 'acme-fraud-prod', region: 'europe-west4' }));

type Task = { cachingOptions: { enableCache?: boolean }; inputs?: { parameters?: Record<string, Record<string, unknown>> }; componentRef: { name: string }; dependentTasks?: string[] };
const spec = (documents['vertex/schedules/fraud-prod-train.json'] as { createPipelineJobRequest: { pipelineJob: { pipelineSpec: { root: { dag: { tasks: Record<string, Task> } }; components: Record<string, { inputDefinitions?: { parameters?: Record<string, unknown> } }> } } } })
  .createPipelineJobRequest.pipelineJob.pipelineSpec;
const tasks = spec.root.dag.tasks;

describe('gcp: a cached step reading a mutable dataset is keyed on the data', () => {
  it('computes the table fingerprint in an uncached task at the start of the run', () => {
    const fp = tasks['fingerprint-transactions'];
    expect(fp?.cachingOptions).toEqual({});
    expect(fp?.dependentTasks).toBeUndefined();
    expect(fp?.inputs?.parameters?.table).toEqual({ runtimeValue: { constant: 'acme-fraud-prod.Fraud_prod.Transactions' } });
  });

  it('feeds the fingerprint into the cached step as mlplane_data_<input>, which its component declares', () => {
    const validate = tasks['validate-data'];
    expect(validate?.cachingOptions).toEqual({ enableCache: true });
    const [name, value] = Object.entries(validate?.inputs?.parameters ?? {}).find(([n]) => n.startsWith('mlplane_data_')) ?? [];
    expect(value).toEqual({ taskOutputParameter: { outputParameterKey: 'Output', producerTask: 'fingerprint-transactions' } });
    expect(spec.components[validate?.componentRef.name as string]?.inputDefinitions?.parameters?.[name as string]).toEqual({ parameterType: 'STRING' });
    expect(validate?.dependentTasks).toContain('fingerprint-transactions');
  });

  it('caches the export keyed on the same fingerprint, so unchanged data reuses it and changed data does not', () => {
    const exportTask = Object.entries(tasks).find(([n]) => n.startsWith('export-transactions'))?.[1];
    expect(exportTask?.cachingOptions).toEqual({ enableCache: true });
    expect(exportTask?.inputs?.parameters?.mlplane_data_table).toEqual({ taskOutputParameter: { outputParameterKey: 'Output', producerTask: 'fingerprint-transactions' } });
  });

  it('leaves steps that do not cache without a fingerprint input', () => {
    for (const [name, task] of Object.entries(tasks)) {
      if (task.cachingOptions.enableCache) continue;
      expect(Object.keys(task.inputs?.parameters ?? {}).filter((p) => p.startsWith('mlplane_data_')), name).toEqual([]);
    }
  });

  it('the fingerprint component is valid Python that reads lastModifiedTime, rows and bytes', () => {
    expect(FINGERPRINT_SOURCE).toMatch(/get_table\(table\)/);
    expect(FINGERPRINT_SOURCE).toMatch(/t\.modified\.timestamp\(\)/);
    const script = `import ast, sys\nast.parse(sys.stdin.read())\nprint('ok')`;
    expect(execFileSync('python3', ['-c', script], { input: FINGERPRINT_SOURCE }).toString().trim()).toBe('ok');
  });
});
