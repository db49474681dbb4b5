/**
 * The spec data the simulators ship (`spec-data/`) is an unchanged copy of the reference
 * conformance data, every file is attributed in `spec-data/SOURCES.md`, and the simulators read it
 * by default (no folder outside the package).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findConformanceDir } from '../../adapters/azure/simulator/schemas';
import { conformanceDir, loadBigQueryDiscovery } from '../../adapters/gcp/simulator/discovery';
import { PlatformDiscovery } from '../../adapters/gcp/simulator/platform-discovery';
import { packageRoot, specDataPath } from '../../adapters/shared/spec-data';
import { conformancePath } from '../support/conformance';

const SPEC = path.resolve(__dirname, '../../spec-data');

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** Shipped spec files: everything but the attribution (SOURCES.md and licence texts). */
const specFiles = filesUnder(SPEC).filter((f) => f !== 'SOURCES.md' && !f.startsWith(`licenses${path.sep}`));

/**
 * Where the reference copy of a shipped file is: the conformance data, or for a file whose
 * SOURCES.md row names an npm package version (the Secret Manager protos) that file in the
 * installed package, which must be that version.
 */
function referenceOf(file: string): string {
  const row = fs.readFileSync(path.join(SPEC, 'SOURCES.md'), 'utf8').split('\n').find((l) => l.startsWith(`| \`${file}\` |`)) ?? '';
  const npm = /\| `([^`]+)` \| npm `((?:@[a-z0-9-]+\/)?[a-z0-9-]+)@(\d+\.\d+\.\d+)` \|/.exec(row);
  if (!npm) return conformancePath(file);
  const [, upstream, name, version] = npm as unknown as [string, string, string, string];
  // The packages' `exports` hide package.json: go up from the main entry (build/src/index.js).
  const dir = path.resolve(path.dirname(createRequire(import.meta.url).resolve(name)), '..', '..');
  expect((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version, `installed ${name}`).toBe(version);
  return path.join(dir, upstream);
}

describe('spec-data', () => {
  it('ships the files the simulators read', () => {
    expect(specFiles).toEqual([
      'azure/arm-schemas/schemas/2019-04-01/deploymentTemplate.json',
      'azure/arm-schemas/schemas/2020-02-02/Microsoft.Insights.Application.json',
      'azure/arm-schemas/schemas/2022-04-01/Microsoft.Authorization.json',
      'azure/arm-schemas/schemas/2022-06-15/Microsoft.EventGrid.json',
      'azure/arm-schemas/schemas/2022-10-01/Microsoft.Insights.json',
      'azure/arm-schemas/schemas/2022-10-01/Microsoft.MachineLearningServices.json',
      'azure/arm-schemas/schemas/2023-01-31/Microsoft.ManagedIdentity.json',
      'azure/arm-schemas/schemas/2023-05-01/Microsoft.Storage.json',
      'azure/arm-schemas/schemas/2023-07-01/Microsoft.ContainerRegistry.json',
      'azure/arm-schemas/schemas/2023-07-01/Microsoft.KeyVault.json',
      'azure/arm-schemas/schemas/2023-09-01/Microsoft.OperationalInsights.json',
      'azure/arm-schemas/schemas/2024-03-01/Microsoft.Cache.json',
      'azure/arm-schemas/schemas/2026-05-01/Microsoft.MachineLearningServices.json',
      'azure/arm-schemas/schemas/common/definitions.json',
      'azure/arm-schemas/schemas/common/manuallyAddedResources.json',
      'gcp/bigquery.v2.discovery.json',
      'gcp/cloudkms.v1.discovery.json',
      'gcp/cloudresourcemanager.v3.discovery.json',
      'gcp/iam.v1.discovery.json',
      'gcp/secretmanager/google/cloud/secretmanager/v1/resources.proto',
      'gcp/secretmanager/google/cloud/secretmanager/v1/service.proto',
      'gcp/secretmanager/google/iam/v1/iam_policy.proto',
      'gcp/secretmanager/google/iam/v1/options.proto',
      'gcp/secretmanager/google/iam/v1/policy.proto',
      'gcp/secretmanager/google/iam/v1/resource_policy_member.proto',
      'gcp/storage.v1.discovery.json',
      'kfp/pipeline_spec.proto',
    ]);
  });

  it.each(specFiles)('%s equals the reference conformance copy byte for byte', (file) => {
    const shipped = fs.readFileSync(path.join(SPEC, file));
    const referencePath = referenceOf(file);
    const reference = fs.readFileSync(referencePath);
    expect(shipped.equals(reference), `spec-data/${file} differs from ${referencePath}; copy it again`).toBe(true);
  });

  it.each(specFiles)('%s has a row in SOURCES.md with its commit and licence text', (file) => {
    const sources = fs.readFileSync(path.join(SPEC, 'SOURCES.md'), 'utf8');
    const row = sources.split('\n').find((l) => l.startsWith(`| \`${file}\` |`));
    expect(row, `no row for ${file} in spec-data/SOURCES.md`).toBeDefined();
    expect(row).toMatch(/\| (`[0-9a-f]{40}`|npm `[@a-z0-9/-]+@\d+\.\d+\.\d+`) \|/);
    const licence = /\]\((licenses\/[^)]+)\)/.exec(row!)?.[1];
    expect(licence, `row of ${file} names no licence text`).toBeDefined();
    expect(fs.existsSync(path.join(SPEC, licence!))).toBe(true);
  });

  it('is where the simulators look by default', () => {
    expect(packageRoot()).toBe(path.resolve(__dirname, '../..'));
    expect(conformanceDir()).toBe(specDataPath());
    expect(findConformanceDir()).toBe(path.join(SPEC, 'azure'));
    expect(Object.keys(loadBigQueryDiscovery().schemas)).toContain('Dataset');
    // The platform APIs' documents load from spec-data/ too (no folder given).
    expect(new PlatformDiscovery().match('POST', '/v1/projects/p/serviceAccounts')?.rpc).toBe('iam.projects.serviceAccounts.create');
  });

  it('fails if an explicit folder has no discovery document, naming the file', () => {
    expect(() => conformanceDir('/nonexistent')).toThrow('BigQuery discovery document not found: /nonexistent/gcp/bigquery.v2.discovery.json does not exist');
    expect(findConformanceDir('/nonexistent')).toBeUndefined();
  });
});
