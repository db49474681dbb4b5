import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { awsAdapter } from '../../../adapters/aws';
import { validateForAws } from '../../../adapters/aws/validate';
import { ValidationErrors, type Problem } from '../../../lib/core/errors';
import type { EnvironmentModel } from '../../../lib/model/types';
import { AWS_CONTEXT, examples, patchResource } from './support';

const settingsFor = (m: EnvironmentModel) => ({ account: AWS_CONTEXT.account, region: m.environment.region === 'us' ? 'us-east-1' : 'eu-west-1' });
const problemsFor = (m: EnvironmentModel): Problem[] => validateForAws(m, settingsFor(m));

describe('validateForAws', () => {
  it('accepts both examples', () => {
    const { fraud, churn } = examples();
    expect(problemsFor(fraud)).toEqual([]);
    expect(problemsFor(churn)).toEqual([]);
  });

  it('fails if an endpoint mirrors traffic, naming the alternative', () => {
    const m = patchResource(examples().fraud, 'Fraud/Scoring', 'onlineEndpoint', (e) => {
      (e.deployments[1] as { mirror: number }).mirror = 20;
    });
    expect(problemsFor(m)).toEqual([
      { path: 'Fraud/Scoring', message: expect.stringMatching(/target 'aws' cannot honour mirrored \(shadow\) traffic \(endpoint.mirrorTraffic\); an ALB cannot mirror requests; set mirror to 0/) },
    ]);
  });

  it('fails if a deployment asks for a GPU, since Fargate has none', () => {
    const m = patchResource(examples().fraud, 'Fraud/Scoring', 'onlineEndpoint', (e) => {
      const d = e.deployments[0] as { name: string; resources: { accelerator?: unknown } };
      d.resources.accelerator = { kind: 'known', name: 'nvidia-t4', count: 1 };
    });
    const blue = examples().fraud.resources.find((r) => r.kind === 'onlineEndpoint');
    const name = blue?.kind === 'onlineEndpoint' ? blue.deployments[0]?.name : '';
    expect(problemsFor(m)).toEqual([
      { path: `Fraud/Scoring/${name}`, message: expect.stringMatching(/asks for 1 GPU\(s\); the aws target serves on Fargate, which has no GPUs; serve on CPU or score with BatchInference/) },
    ]);
  });

  it('fails if an external dataset is not in S3', () => {
    const m = patchResource(examples().fraud, 'Fraud/Transactions', 'dataset', (d) => {
      d.source = { kind: 'external', uri: 'gs://acme/transactions/' };
      delete (d as { retentionDays?: number }).retentionDays;
    });
    expect(problemsFor(m)).toEqual([{ path: 'Fraud/Transactions', message: expect.stringMatching(/external source 'gs:\/\/acme\/transactions\/' is not an s3:\/\/ URI/) }]);
  });

  it('fails if a cron sets both day fields, which EventBridge cannot combine', () => {
    const m = patchResource(examples().fraud, 'Fraud/Train', 'pipeline', (p) => {
      p.schedules = [{ kind: 'cron', expression: '0 2 1 * MON', timeZone: 'Europe/Amsterdam' }];
    });
    expect(problemsFor(m)).toEqual([{ path: 'Fraud/Train', message: expect.stringMatching(/cron '0 2 1 \* MON' sets both day-of-month and day-of-week, which EventBridge cannot combine; keep one/) }]);
  });

  it('fails if a step asks for a GPU without a GPU compute pool', () => {
    const m = patchResource(examples().fraud, 'Fraud/Train', 'pipeline', (p) => {
      const fit = p.steps.find((s) => s.name === 'TrainModel') as { compute?: string; path: string };
      delete fit.compute;
    });
    expect(problemsFor(m)).toEqual([
      { path: 'Fraud/Train/TrainModel', message: expect.stringMatching(/asks for 1 GPU\(s\) but runs on serverless Fargate, which has no GPUs; set compute to a ComputePool with an accelerator/) },
    ]);
  });

  it('fails if a step needs more than one node of its GPU pool, which Batch would never place', () => {
    const m = patchResource(examples().fraud, 'Fraud/Train', 'pipeline', (p) => {
      const fit = p.steps.find((s) => s.name === 'TrainModel') as { resources: { cpu: number; memoryGiB: number } };
      fit.resources.cpu = 32;
    });
    expect(problemsFor(m)).toEqual([
      { path: 'Fraud/Train/TrainModel', message: expect.stringMatching(/asks for 32 vCPU .* more than one node of pool 'Fraud\/Gpu' \(g4dn.4xlarge: 16 vCPU, 57 GiB usable, 1 GPU\(s\)\); ask for less or size the pool's node up/) },
    ]);
  });

  it('fails if a webhook alert is not https', () => {
    const m = patchResource(examples().fraud, 'Fraud/Drift', 'driftMonitor', (d) => {
      d.alerts = [{ kind: 'webhook', url: 'http://hooks.acme.example/drift' }];
    });
    expect(problemsFor(m)).toEqual([{ path: 'Fraud/Drift', message: expect.stringMatching(/webhook 'http:\/\/hooks.acme.example\/drift' is not https; .*use an https URL/) }]);
  });

  it('fails if a custom accelerator belongs to another provider', () => {
    const m = patchResource(examples().fraud, 'Fraud/Gpu', 'computePool', (p) => {
      p.node.accelerator = { kind: 'custom', provider: 'azure', name: 'Standard_NC24ads_A100_v4', count: 1 };
    });
    expect(problemsFor(m)).toEqual([{ path: 'Fraud/Gpu', message: expect.stringMatching(/custom for provider 'azure'/) }]);
  });

  it('fails if the key rotation period is outside what KMS allows', () => {
    const { fraud } = examples();
    const m: EnvironmentModel = { ...fraud, environment: { ...fraud.environment, encryption: { kind: 'customer-managed', keyName: 'fraud-cmk', rotationDays: 30 } } };
    expect(problemsFor(m)).toEqual([{ path: 'Fraud', message: expect.stringMatching(/rotation every 30 days is outside what KMS allows \(90 to 2560 days\)/) }]);
  });

  it('fails if a resource takes the construct id the platform uses', () => {
    const { fraud } = examples();
    const drift = fraud.resources.find((r) => r.path === 'Fraud/Drift');
    if (!drift) throw new Error('example changed');
    const m: EnvironmentModel = { ...fraud, resources: fraud.resources.map((r) => (r === drift ? { ...r, path: 'Fraud/Platform', id: 'Platform' } : r)) };
    expect(problemsFor(m)).toEqual([{ path: 'Fraud/Platform', message: expect.stringMatching(/construct id 'Platform' is reserved by the aws target .*rename the construct/) }]);
  });

  it('fails if the model has another major schema version', () => {
    const m: EnvironmentModel = { ...examples().fraud, schemaVersion: '2.0.0' };
    expect(problemsFor(m)).toEqual([{ path: 'Fraud', message: expect.stringMatching(/schemaVersion '2.0.0' is not readable by this aws adapter \(reads 1.x\)/) }]);
  });

  it('fails with every problem at once and defines no stack', () => {
    let m = patchResource(examples().fraud, 'Fraud/Drift', 'driftMonitor', (d) => {
      d.schedule = { kind: 'rate', seconds: 90 };
    });
    m = patchResource(m, 'Fraud/Train', 'pipeline', (p) => {
      p.schedules = [{ kind: 'cron', expression: '0 2 * *', timeZone: 'UTC' }];
    });
    const app = new App({ builtinCloudFormationValidation: false });
    let thrown: unknown;
    try {
      awsAdapter.synth(app, m, { account: AWS_CONTEXT.account, region: 'us-east-1' });
    } catch (e) {
      thrown = e;
    }
    expect(ValidationErrors.isValidationErrors(thrown)).toBe(true);
    const problems = (thrown as ValidationErrors).problems;
    expect(problems).toEqual([
      { path: 'Fraud', message: expect.stringMatching(/region hint 'eu' does not allow mlplane:aws.region 'us-east-1'/) },
      { path: 'Fraud/Drift', message: expect.stringMatching(/rate of 90 seconds is not a whole number of minutes/) },
      { path: 'Fraud/Train', message: expect.stringMatching(/cron '0 2 \* \*' must have five fields/) },
    ]);
    expect(app.node.children).toHaveLength(0);
  });
});
