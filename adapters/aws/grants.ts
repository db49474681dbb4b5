import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { GrantModel, PrincipalModel } from '../../lib/model/types';
import type { DatasetBinding, FeatureTableBinding } from './data';
import { glueTableName } from './names';
import type { Platform } from './platform';

/** A stable key of a principal, to match grants with the role that represents it. */
export function principalKey(p: PrincipalModel): string {
  switch (p.kind) {
    case 'step':
      return `step:${p.pipeline}:${p.step}`;
    case 'deployment':
      return `deployment:${p.endpoint}:${p.deployment}`;
    case 'batchInference':
      return `batch:${p.batch}`;
    case 'driftMonitor':
      return `monitor:${p.monitor}`;
    default: {
      const never: never = p;
      throw new Error(`unhandled principal ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Translates the model's abstract grants into IAM policies on the roles the target defines.
 *
 * Roles register themselves while the stacks are built; `applyAll` runs last, when every granted
 * resource exists.
 */
export class Grants {
  private readonly roles = new Map<string, iam.IRole>();
  /** State machines by pipeline or batch-inference path, for grants on them. */
  public readonly stateMachines = new Map<string, sfn.IStateMachine>();

  constructor(
    private readonly envPath: string,
    private readonly platform: Platform,
    private readonly datasets: ReadonlyMap<string, DatasetBinding>,
    private readonly featureTables: ReadonlyMap<string, FeatureTableBinding>,
  ) {}

  /** Record the role that acts as `principal`. */
  public register(principal: PrincipalModel, role: iam.IRole): void {
    this.roles.set(principalKey(principal), role);
  }

  /** Apply every grant of the model to the registered roles. Grants to principals without a role are skipped. */
  public applyAll(grants: readonly GrantModel[]): void {
    for (const g of grants) {
      const role = this.roles.get(principalKey(g.principal));
      if (role) this.grant(role, g.resource, g.access);
    }
  }

  /** Grant `access` on the resource at `path` to `role`. */
  public grant(role: iam.IRole, path: string, access: GrantModel['access']): void {
    const read = access === 'read' || access === 'readWrite';
    const write = access === 'write' || access === 'readWrite';
    const dataset = this.datasets.get(path);
    if (dataset) {
      this.grantDataset(role, dataset, read, write);
      return;
    }
    const feature = this.featureTables.get(path);
    if (feature) {
      this.grantDataset(role, feature.source, read, write);
      this.grantGlueTable(role, glueTableName(this.envPath, path), read);
      if (feature.online) {
        if (read) feature.online.grantReadData(role);
        if (write) feature.online.grantWriteData(role);
      }
      return;
    }
    const machine = this.stateMachines.get(path);
    if (machine) {
      if (write) machine.grantStartExecution(role);
      if (read) machine.grantRead(role);
    }
    // Model registries, endpoints, compute pools and monitors are reached over the network
    // (workload security group); they have no IAM surface on this target.
  }

  /** Read and/or write objects under a prefix of the artifact bucket (e.g. a pipeline's run prefix). */
  public grantPrefix(role: iam.IRole, prefix: string, read: boolean, write: boolean): void {
    if (read) this.platform.bucket.grantRead(role, `${prefix}*`);
    if (write) this.platform.bucket.grantWrite(role, `${prefix}*`);
  }

  private grantDataset(role: iam.IRole, d: DatasetBinding, read: boolean, write: boolean): void {
    if (read) d.bucket.grantRead(role, `${d.prefix}*`);
    if (write) d.bucket.grantWrite(role, `${d.prefix}*`);
    this.grantGlueTable(role, glueTableName(this.envPath, d.model.path), read);
    if (write) this.grantGlueTable(role, glueTableName(this.envPath, d.model.path), false, true);
  }

  private grantGlueTable(role: iam.IRole, table: string, read: boolean, write = false): void {
    const stack = Stack.of(this.platform.stack);
    const db = this.platform.glueDatabaseName;
    const resources = [
      stack.formatArn({ service: 'glue', resource: 'catalog', arnFormat: ArnFormat.NO_RESOURCE_NAME }),
      stack.formatArn({ service: 'glue', resource: 'database', resourceName: db }),
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${db}/${table}` }),
    ];
    if (read) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'], resources }),
      );
    }
    if (write) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['glue:BatchCreatePartition', 'glue:CreatePartition', 'glue:UpdatePartition'], resources }),
      );
    }
  }
}
