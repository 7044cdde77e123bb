// Host<->device bytes of one fused training step, from what TrainingSession
// hands across the binding (packages/model/src/artifacts/session.ts): every
// feed that is a host tensor goes host→device, every output the runner keeps
// on the host comes back. With onnxruntime-node, CUDA has no device-resident
// ort.Tensor, so the trainable state (params, AdamW m and v) crosses both
// ways each step; WebGPU keeps `updated/*` outputs in GPU buffers.
import type { ArtifactManifest, Provider, TensorData } from './deps.js';

export interface StepTransfer {
  readonly hostToDeviceBytes: number;
  readonly deviceToHostBytes: number;
  /** Bytes of trainable state (params + m + v) among those. */
  readonly stateBytes: number;
  readonly batchBytes: number;
  readonly note: string;
}

const BYTES: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, bool: 1, uint8: 1, int8: 1, float64: 8 };

function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function stepTransfer(manifest: ArtifactManifest, feeds: Readonly<Record<string, TensorData>>, provider: Provider): StepTransfer {
  let batchBytes = 0;
  const bound = new Map<string, number>();
  for (const spec of manifest.batchInputs) {
    const t = feeds[spec.name];
    if (!t) continue;
    batchBytes += numel(t.dims) * (BYTES[t.dtype] ?? 4);
    spec.shape.forEach((d, i) => {
      if (typeof d === 'string') bound.set(d, t.dims[i]!);
    });
  }
  for (const m of manifest.dropout.train ?? []) batchBytes += numel(m.shape.map((d) => (typeof d === 'number' ? d : (bound.get(d) ?? 0))));
  batchBytes += 8; // step and lr scalars
  let stateBytes = 0;
  for (const p of manifest.params) if (p.trainable) stateBytes += 3 * 4 * numel(p.shape);
  let frozenInputs = 0;
  if (manifest.frozenAs === 'input') for (const p of manifest.params) if (!p.trainable) frozenInputs += numel(p.shape) * (BYTES[p.dtype] ?? 4);
  const B = feeds.input_ids?.dims[0] ?? 1;
  const scalarsOut = 8 + B * 4 * 16; // loss, grad norm, logits [B, C] (C ≤ 16)
  if (provider === 'cpu') {
    return { hostToDeviceBytes: 0, deviceToHostBytes: 0, stateBytes, batchBytes, note: 'cpu provider: host memory is the device (no transfers)' };
  }
  if (provider === 'webgpu') {
    return {
      hostToDeviceBytes: batchBytes + frozenInputs,
      deviceToHostBytes: scalarsOut,
      stateBytes,
      batchBytes,
      note: 'webgpu: params/moments stay in GPU buffers (preferredOutputLocation gpu-buffer); only the batch goes in',
    };
  }
  return {
    hostToDeviceBytes: batchBytes + stateBytes + frozenInputs,
    deviceToHostBytes: scalarsOut + stateBytes,
    stateBytes,
    batchBytes,
    note: 'cuda via onnxruntime-node: no CUDA device tensors in the Node binding, so params + AdamW m, v cross host<->device every step',
  };
}
