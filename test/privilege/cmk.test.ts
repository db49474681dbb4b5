import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { azureAdapter } from '../../adapters/azure';
import type { EnvironmentModel } from '../../lib';
import { examples, synth } from '../adapters/aws/support';

/**
 * An environment that asks for a customer-managed key gets it on every storage, workspace, cache and
 * registry the target creates, or a warning with a stable id naming the resource that cannot take one.
 */

const CONTEXT = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../cdk.json'), 'utf8')).context['mlplane:azure'] as Record<string, unknown>;

describe('azure: customer-managed keys everywhere', () => {
  const { fraud } = examples();
  expect(fraud.environment.encryption.kind).toBe('customer-managed');
  const { environments: _, ...settings } = CONTEXT;
  const out = azureAdapter.synth(fraud, azureAdapter.parseSettings(settings));
  const resources = (out.documents['template.json'] as { resources: Array<{ type: string; name: string; properties: Record<string, unknown>; identity?: unknown }> }).resources;

  it('encrypts every storage account, workspace (the feature store too) and registry with the key', () => {
    const of = (type: string) => resources.filter((r) => r.type === type);
    const storage = of('Microsoft.Storage/storageAccounts');
    expect(storage.length).toBe(2); // the workspace's and the feature store's ADLS account
    for (const s of storage) {
      expect(s.properties.encryption, s.name).toMatchObject({ keySource: 'Microsoft.Keyvault', keyvaultproperties: { keyname: 'fraud-cmk' } });
      expect(s.identity, s.name).toMatchObject({ type: 'UserAssigned' });
    }
    const workspaces = of('Microsoft.MachineLearningServices/workspaces');
    expect(workspaces.map((w) => w.name).sort()).toEqual(['fraud-prod', 'fraud-prod-fs']);
    for (const w of workspaces) expect(w.properties.encryption, w.name).toMatchObject({ status: 'Enabled', keyVaultProperties: { keyIdentifier: expect.stringContaining("'fraud-cmk')") } });
    for (const r of of('Microsoft.ContainerRegistry/registries')) expect(r.properties.encryption, r.name).toMatchObject({ status: 'enabled' });
  });

  it('warns, naming the resource, where Azure takes no customer-managed key (Redis, Log Analytics)', () => {
    const cmk = out.warnings.filter((w) => w.id === 'mlplane:azure:cmk-not-supported');
    expect(cmk.map((w) => w.path).sort()).toEqual(['Fraud', 'Fraud/FeatureStore']);
    const redis = resources.find((r) => r.type === 'Microsoft.Cache/redis');
    expect(cmk.find((w) => w.path === 'Fraud/FeatureStore')?.message).toContain(`the online feature store ${redis?.name} (Azure Cache for Redis) cannot take the customer-managed key 'fraud-cmk'`);
    expect(cmk.find((w) => w.path === 'Fraud')?.message).toMatch(/^the Log Analytics workspace \S+ \(and the Application Insights component \S+ that stores into it\) cannot take the customer-managed key 'fraud-cmk'/);
  });

  it('makes no such warning when the environment uses platform keys', () => {
    const platform = structuredClone(fraud) as { environment: { encryption: unknown } };
    platform.environment.encryption = { kind: 'platform' };
    const plain = azureAdapter.synth(platform as EnvironmentModel, azureAdapter.parseSettings(settings));
    expect(plain.warnings.filter((w) => w.id === 'mlplane:azure:cmk-not-supported')).toEqual([]);
    const fs2 = (plain.documents['template.json'] as { resources: Array<{ type: string; name: string; properties: Record<string, unknown> }> }).resources.find((r) => r.name === 'fraud-fs');
    expect(fs2?.properties.encryption).toBeUndefined();
  });
});

describe('aws: customer-managed keys everywhere', () => {
  it('encrypts every bucket, database, table, log group and secret with the KMS key, and names the access-log bucket (SSE-S3 only) in a warning', () => {
    const { fraud } = examples();
    const s = synth(fraud);
    const missing: string[] = [];
    for (const stack of s.stacks) {
      const t = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
      for (const [id, r] of Object.entries(t.Resources)) {
        const p = r.Properties ?? {};
        const kms = (() => {
          switch (r.Type) {
            case 'AWS::S3::Bucket':
              return JSON.stringify(p.BucketEncryption ?? {}).includes('aws:kms');
            case 'AWS::RDS::DBInstance':
            case 'AWS::RDS::DBCluster':
              return p.StorageEncrypted === true && p.KmsKeyId !== undefined;
            case 'AWS::DynamoDB::Table':
              return JSON.stringify(p.SSESpecification ?? {}).includes('KMS');
            case 'AWS::Logs::LogGroup':
              return p.KmsKeyId !== undefined;
            case 'AWS::SecretsManager::Secret':
              return p.KmsKeyId !== undefined;
            case 'AWS::SNS::Topic':
              return p.KmsMasterKeyId !== undefined;
            case 'AWS::SQS::Queue':
              return p.KmsMasterKeyId !== undefined;
            default:
              return true;
          }
        })();
        if (!kms) missing.push(`${r.Type} ${id}`);
      }
    }
    // The access-log bucket is the one exception AWS imposes, and the synth says so.
    expect(missing).toEqual([expect.stringMatching(/^AWS::S3::Bucket PlatformAccessLogs[0-9A-F]{8}$/)]);
    expect(s.warnings.filter((w) => w.id === 'mlplane:aws:cmk-not-supported')).toEqual([
      { id: 'mlplane:aws:cmk-not-supported', path: 'Fraud', message: expect.stringMatching(/^the access-log bucket \(AccessLogs: S3 server access logs and ALB access logs\) cannot take the customer-managed key 'fraud-cmk'/) },
    ]);
  }, 40_000);
});
