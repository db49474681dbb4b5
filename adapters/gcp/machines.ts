/**
 * Compute on GCP: accelerators and machine types for Vertex AI.
 */
import type { AcceleratorModel, KnownAcceleratorName, ResourcesModel } from '../../lib/model/types';
import type { MachineSpecBody } from './documents';

/** Vertex `AcceleratorType` enum names (google.cloud.aiplatform.v1.AcceleratorType). */
export const VERTEX_ACCELERATORS = [
  'NVIDIA_TESLA_P100',
  'NVIDIA_TESLA_V100',
  'NVIDIA_TESLA_P4',
  'NVIDIA_TESLA_T4',
  'NVIDIA_TESLA_A100',
  'NVIDIA_A100_80GB',
  'NVIDIA_L4',
  'NVIDIA_H100_80GB',
  'NVIDIA_H100_MEGA_80GB',
  'NVIDIA_H200_141GB',
  'NVIDIA_B200',
  'NVIDIA_GB200',
  'NVIDIA_RTX_PRO_6000',
  'TPU_V2',
  'TPU_V3',
  'TPU_V4_POD',
  'TPU_V5_LITEPOD',
] as const;

/** Known accelerators → Vertex accelerator type; `undefined` = not offered on GCP. */
const KNOWN: Readonly<Record<KnownAcceleratorName, string | undefined>> = {
  'nvidia-t4': 'NVIDIA_TESLA_T4',
  'nvidia-l4': 'NVIDIA_L4',
  'nvidia-v100': 'NVIDIA_TESLA_V100',
  'nvidia-a10g': undefined,
  'nvidia-a100': 'NVIDIA_TESLA_A100',
  'nvidia-h100': 'NVIDIA_H100_80GB',
};

/** The Vertex accelerator type of `acc`, or a problem message. */
export function vertexAccelerator(acc: AcceleratorModel): { type: string } | { problem: string } {
  if (acc.kind === 'known') {
    const type = KNOWN[acc.name];
    if (type) return { type };
    return { problem: `accelerator '${acc.name}' is not offered by Vertex AI; use one of ${Object.keys(KNOWN).filter((k) => KNOWN[k as KnownAcceleratorName]).join(', ')}` };
  }
  if (acc.provider !== 'gcp') {
    return { problem: `custom accelerator '${acc.name}' is for provider '${acc.provider}', not gcp; use a known accelerator or Accelerator.custom('gcp', '<Vertex AcceleratorType>')` };
  }
  if (!(VERTEX_ACCELERATORS as readonly string[]).includes(acc.name)) {
    return { problem: `custom gcp accelerator '${acc.name}' is not a Vertex AcceleratorType; use one of ${VERTEX_ACCELERATORS.join(', ')}` };
  }
  return { type: acc.name };
}

interface Family {
  readonly prefix: string;
  readonly sizes: readonly number[];
  readonly gibPerCpu: number;
}

const N1: readonly Family[] = [
  { prefix: 'n1-standard', sizes: [2, 4, 8, 16, 32, 64, 96], gibPerCpu: 3.75 },
  { prefix: 'n1-highmem', sizes: [2, 4, 8, 16, 32, 64, 96], gibPerCpu: 6.5 },
];

/** GPU machine series whose machine type fixes the GPU count: [count, machine type, vCPUs, GiB]. */
const FIXED_GPU: Readonly<Record<string, readonly (readonly [number, string, number, number])[]>> = {
  NVIDIA_L4: [
    [1, 'g2-standard-4', 4, 16],
    [1, 'g2-standard-8', 8, 32],
    [1, 'g2-standard-12', 12, 48],
    [1, 'g2-standard-16', 16, 64],
    [1, 'g2-standard-32', 32, 128],
    [2, 'g2-standard-24', 24, 96],
    [4, 'g2-standard-48', 48, 192],
    [8, 'g2-standard-96', 96, 384],
  ],
  NVIDIA_TESLA_A100: [
    [1, 'a2-highgpu-1g', 12, 85],
    [2, 'a2-highgpu-2g', 24, 170],
    [4, 'a2-highgpu-4g', 48, 340],
    [8, 'a2-highgpu-8g', 96, 680],
  ],
  NVIDIA_A100_80GB: [
    [1, 'a2-ultragpu-1g', 12, 170],
    [2, 'a2-ultragpu-2g', 24, 340],
    [4, 'a2-ultragpu-4g', 48, 680],
    [8, 'a2-ultragpu-8g', 96, 1360],
  ],
  NVIDIA_H100_80GB: [[8, 'a3-highgpu-8g', 208, 1872]],
};

/**
 * The smallest Vertex machine spec that fits `resources`, or a problem message.
 *
 * CPU-only and T4/V100/P4/P100 use N1 machines (GPUs attach to any N1 size); L4, A100 and H100
 * come with their own machine series, whose size fixes the GPU count.
 */
export function machineSpec(resources: ResourcesModel): MachineSpecBody | { problem: string } {
  const acc = resources.accelerator;
  let accType: string | undefined;
  if (acc) {
    const r = vertexAccelerator(acc);
    if ('problem' in r) return r;
    accType = r.type;
    const fixed = FIXED_GPU[accType];
    if (fixed) {
      const hit = fixed.find(([count, , cpu, gib]) => count === acc.count && cpu >= resources.cpu && gib >= resources.memoryGiB);
      if (!hit) {
        return {
          problem: `no Vertex machine has ${acc.count} × ${accType} with at least ${resources.cpu} vCPU and ${resources.memoryGiB} GiB; valid counts are ${[...new Set(fixed.map(([c]) => c))].join(', ')}`,
        };
      }
      return { machineType: hit[1], acceleratorType: accType, acceleratorCount: acc.count };
    }
  }
  // The fewest vCPUs that fit, standard before high-memory at the same size.
  const fits = N1.flatMap((family, rank) =>
    family.sizes.filter((size) => size >= resources.cpu && size * family.gibPerCpu >= resources.memoryGiB).map((size) => ({ family, rank, size })),
  ).sort((a, b) => a.size - b.size || a.rank - b.rank);
  const best = fits[0];
  if (best) {
    const base = { machineType: `${best.family.prefix}-${best.size}` };
    return acc && accType ? { ...base, acceleratorType: accType, acceleratorCount: acc.count } : base;
  }
  return { problem: `no N1 machine has ${resources.cpu} vCPU and ${resources.memoryGiB} GiB (largest: 96 vCPU, 624 GiB); lower the request` };
}

/**
 * vCPUs and GiB of a machine type `machineSpec` picks (N1 sizes and the GPU series above), for
 * pricing it from per-vCPU and per-GiB rates; undefined for any other machine type.
 */
export function machineShape(machineType: string): { readonly vcpus: number; readonly gib: number } | undefined {
  for (const family of N1) {
    const size = Number(machineType.slice(family.prefix.length + 1));
    if (machineType.startsWith(`${family.prefix}-`) && family.sizes.includes(size)) return { vcpus: size, gib: size * family.gibPerCpu };
  }
  for (const rows of Object.values(FIXED_GPU)) {
    const hit = rows.find(([, type]) => type === machineType);
    if (hit) return { vcpus: hit[2], gib: hit[3] };
  }
  return undefined;
}
