import type { Stack } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { ComputePoolModel } from '../../lib/model/types';
import { acknowledge } from './nag';
import { constructId } from './names';
import type { Platform } from './platform';
import { gpuInstance } from './sizing';

/** A compute pool rendered as an AWS Batch compute environment and job queue. */
export interface ComputePoolBinding {
  readonly model: ComputePoolModel;
  readonly queue: batch.JobQueue;
  /** Whether jobs run on EC2 GPU instances (else Fargate). */
  readonly gpu: boolean;
}

/**
 * Define a compute pool as a Batch compute environment + job queue: Fargate (optionally Spot) for
 * CPU pools, EC2 with the ECS GPU AMI for pools with an accelerator.
 */
export function buildComputePool(stack: Stack, envPath: string, r: ComputePoolModel, platform: Platform): ComputePoolBinding | undefined {
  const subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  const id = constructId(envPath, r.path);
  let environment: batch.IComputeEnvironment;
  const accelerator = r.node.accelerator;
  if (accelerator) {
    const instance = gpuInstance(accelerator, r.node);
    if (!instance.ok) return undefined; // reported by validateForAws
    const vcpusPerNode = instance.value.vcpus > 0 ? instance.value.vcpus : Math.ceil(r.node.cpu);
    const ce = new batch.ManagedEc2EcsComputeEnvironment(stack, `${id}-Environment`, {
      vpc: platform.vpc,
      vpcSubnets: subnets,
      securityGroups: [platform.workloadSecurityGroup],
      instanceTypes: [new ec2.InstanceType(instance.value.instanceType)],
      useOptimalInstanceClasses: false,
      images: [{ imageType: batch.EcsMachineImageType.ECS_AL2_NVIDIA }],
      spot: r.spot,
      allocationStrategy: r.spot ? batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED : batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
      minvCpus: r.minNodes * vcpusPerNode,
      maxvCpus: Math.max(1, r.maxNodes) * vcpusPerNode,
    });
    const role = ce.instanceRole;
    if (role) {
      acknowledge(
        role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]',
        'the ECS container-instance policy is what Batch EC2 hosts need to join ECS and pull images; jobs get their own task roles',
      );
    }
    environment = ce;
  } else {
    environment = new batch.FargateComputeEnvironment(stack, `${id}-Environment`, {
      vpc: platform.vpc,
      vpcSubnets: subnets,
      securityGroups: [platform.workloadSecurityGroup],
      spot: r.spot,
      maxvCpus: Math.max(1, Math.ceil(r.maxNodes * r.node.cpu)),
    });
  }
  const queue = new batch.JobQueue(stack, `${id}-Queue`, {
    computeEnvironments: [{ computeEnvironment: environment, order: 1 }],
    priority: 1,
  });
  return { model: r, queue, gpu: accelerator !== undefined };
}
