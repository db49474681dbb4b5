import { describe, expect, it } from 'vitest';
import { glueDatabaseName, glueTableName, keySlug, stackName, stateName, trimLeft } from '../../../adapters/aws/names';
import { levels } from '../../../adapters/aws/pipelines';
import { awsSchedule, fargateSize, gpuInstance } from '../../../adapters/aws/sizing';
import type { StepModel } from '../../../lib/model/types';

describe('fargateSize', () => {
  it('rounds up to the smallest valid Fargate size', () => {
    expect(fargateSize({ cpu: 0.25, memoryGiB: 0.5 })).toEqual({ ok: true, value: { cpu: 256, memoryMiB: 512 } });
    expect(fargateSize({ cpu: 1, memoryGiB: 1 })).toEqual({ ok: true, value: { cpu: 1024, memoryMiB: 2048 } });
    expect(fargateSize({ cpu: 3, memoryGiB: 10 })).toEqual({ ok: true, value: { cpu: 4096, memoryMiB: 10240 } });
    expect(fargateSize({ cpu: 1, memoryGiB: 12 })).toEqual({ ok: true, value: { cpu: 2048, memoryMiB: 12288 } });
    expect(fargateSize({ cpu: 8, memoryGiB: 17 })).toEqual({ ok: true, value: { cpu: 8192, memoryMiB: 20480 } });
  });

  it('fails if the size exceeds Fargate', () => {
    const r = fargateSize({ cpu: 32, memoryGiB: 64 });
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/32 vCPU \/ 64 GiB does not fit a Fargate task .*run the step on a ComputePool/) });
  });
});

describe('gpuInstance', () => {
  it('picks the smallest instance with enough GPUs', () => {
    expect(gpuInstance({ kind: 'known', name: 'nvidia-t4', count: 1 })).toMatchObject({ ok: true, value: { instanceType: 'g4dn.xlarge', gpus: 1 } });
    expect(gpuInstance({ kind: 'known', name: 'nvidia-a10g', count: 2 })).toMatchObject({ ok: true, value: { instanceType: 'g5.12xlarge', gpus: 4 } });
    expect(gpuInstance({ kind: 'custom', provider: 'aws', name: 'g6e.2xlarge', count: 1 })).toMatchObject({ ok: true, value: { instanceType: 'g6e.2xlarge' } });
  });

  it('picks an instance large enough for the node, keeping memory for the ECS agent', () => {
    expect(gpuInstance({ kind: 'known', name: 'nvidia-t4', count: 1 }, { cpu: 8, memoryGiB: 28 })).toMatchObject({ ok: true, value: { instanceType: 'g4dn.2xlarge' } });
    expect(gpuInstance({ kind: 'known', name: 'nvidia-t4', count: 1 }, { cpu: 8, memoryGiB: 32 })).toMatchObject({ ok: true, value: { instanceType: 'g4dn.4xlarge' } });
    expect(gpuInstance({ kind: 'known', name: 'nvidia-a10g', count: 4 }, { cpu: 64, memoryGiB: 200 })).toMatchObject({ ok: true, value: { instanceType: 'g5.24xlarge' } });
  });

  it('fails if no instance holds the node', () => {
    expect(gpuInstance({ kind: 'known', name: 'nvidia-v100', count: 1 }, { cpu: 128, memoryGiB: 64 })).toEqual({
      ok: false,
      error: expect.stringMatching(/128 vCPU \/ 64 GiB with 1 x nvidia-v100 fits no EC2 instance \(largest: p3.16xlarge/),
    });
  });

  it('fails if the accelerator is custom for another provider', () => {
    expect(gpuInstance({ kind: 'custom', provider: 'azure', name: 'Standard_NC24ads_A100_v4', count: 1 })).toEqual({
      ok: false,
      error: expect.stringMatching(/custom for provider 'azure'.*Accelerator.custom\('aws', '<EC2 instance type>'\)/),
    });
  });

  it('fails if more GPUs are asked than one instance has', () => {
    expect(gpuInstance({ kind: 'known', name: 'nvidia-h100', count: 16 })).toEqual({ ok: false, error: expect.stringMatching(/16 x nvidia-h100 exceeds .*use at most 8/) });
  });
});

describe('awsSchedule', () => {
  it('turns five-field cron into EventBridge cron with the time zone', () => {
    expect(awsSchedule({ kind: 'cron', expression: '0 2 * * *', timeZone: 'Europe/Amsterdam' })).toEqual({
      ok: true,
      value: { expression: 'cron(0 2 * * ? *)', timeZone: 'Europe/Amsterdam' },
    });
  });

  it('shifts numeric days of the week to EventBridge numbering and blanks day-of-month', () => {
    expect(awsSchedule({ kind: 'cron', expression: '30 3 * * 1-5', timeZone: 'UTC' })).toMatchObject({ ok: true, value: { expression: 'cron(30 3 ? * 2-6 *)' } });
    expect(awsSchedule({ kind: 'cron', expression: '0 9 * * MON', timeZone: 'UTC' })).toMatchObject({ ok: true, value: { expression: 'cron(0 9 ? * MON *)' } });
    expect(awsSchedule({ kind: 'cron', expression: '0 4 1 * *', timeZone: 'UTC' })).toMatchObject({ ok: true, value: { expression: 'cron(0 4 1 * ? *)' } });
  });

  it('turns rates into whole units', () => {
    expect(awsSchedule({ kind: 'rate', seconds: 21600 })).toEqual({ ok: true, value: { expression: 'rate(6 hours)' } });
    expect(awsSchedule({ kind: 'rate', seconds: 86400 })).toEqual({ ok: true, value: { expression: 'rate(1 day)' } });
    expect(awsSchedule({ kind: 'rate', seconds: 300 })).toEqual({ ok: true, value: { expression: 'rate(5 minutes)' } });
  });

  it('fails if a rate is not whole minutes', () => {
    expect(awsSchedule({ kind: 'rate', seconds: 90 })).toEqual({ ok: false, error: expect.stringMatching(/90 seconds is not a whole number of minutes/) });
  });

  it('fails if cron sets both day fields', () => {
    expect(awsSchedule({ kind: 'cron', expression: '0 0 1 * MON', timeZone: 'UTC' })).toEqual({
      ok: false,
      error: expect.stringMatching(/sets both day-of-month and day-of-week/),
    });
  });
});

describe('names', () => {
  it('derives stack names from the environment name', () => {
    expect(stackName('Fraud', 0)).toBe('Fraud-mlops');
    expect(stackName('Fraud', 2)).toBe('Fraud-mlops-3');
    expect(stackName('9 lives_env', 0)).toBe('lives-env-mlops');
  });

  it('trims long names from the left and appends a hash of the whole', () => {
    const long = `${'a'.repeat(200)}-tail`;
    const trimmed = trimLeft(long, 60, '-');
    expect(trimmed).toHaveLength(60);
    expect(trimmed).toMatch(/a-tail-[0-9a-f]{8}$/);
    expect(trimLeft(long, 60, '-')).toBe(trimmed);
    expect(stateName('x'.repeat(100))).toHaveLength(80);
  });

  it('derives Glue and S3 names from paths', () => {
    expect(glueDatabaseName('Fraud')).toBe('fraud_mlops');
    expect(glueTableName('Fraud', 'Fraud/CustomerFeatures')).toBe('customer_features');
    expect(keySlug('Fraud', 'Fraud/Train/ValidateData')).toBe('train/validate-data');
  });
});

describe('levels', () => {
  const step = (name: string, dependsOn: string[]): StepModel =>
    ({ kind: 'container', name, path: `E/P/${name}`, dependsOn, orderOnly: [], conditions: [], retries: 0, caching: false, image: 'i', command: [], args: [], env: {}, inputs: [], outputs: [], resources: { cpu: 1, memoryGiB: 2 } }) as StepModel;

  it('puts independent steps on the same level so they run in parallel', () => {
    const l = levels([step('a', []), step('b', []), step('c', ['a', 'b']), step('d', ['a'])]);
    expect(l.map((x) => x.map((s) => s.name))).toEqual([['a', 'b'], ['c', 'd']]);
  });

  it('puts a step after a step it depends on without data (order only)', () => {
    const after = { ...step('b', ['a']), orderOnly: ['a'] } as StepModel;
    expect(levels([step('a', []), after, step('c', [])]).map((x) => x.map((s) => s.name))).toEqual([['a', 'c'], ['b']]);
  });
});
