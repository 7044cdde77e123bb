// Host<->device bytes of one fused training step as TrainingSession counts
// them at its IoBinding (packages/model/src/artifacts/session.ts,
// lastStepTransfer): the batch, masks and scalars in, metrics and logits out.
// The trainable state (params, AdamW m and v) stays in the provider's memory,
// so a steady step moves none of it; its size is given beside for scale.
import type { ArtifactManifest, Transfer } from './deps.js';

export interface StepTransfer {
  readonly hostToDeviceBytes: number;
  readonly deviceToHostBytes: number;
  /** Host->device bytes of the first step, which also uploads the initial state. */
  readonly firstHostToDeviceBytes: number;
  /** Bytes of trainable state (params + m + v, and the fp16 loss-scale scalars): what a step would move each way if it round-tripped. */
  readonly stateBytes: number;
  readonly note: string;
}

export function stepTransfer(manifest: ArtifactManifest, first: Transfer, counted: Transfer): StepTransfer {
  let stateBytes = manifest.lossScaling ? 8 : 0;
  for (const p of manifest.params) if (p.trainable) stateBytes += 3 * 4 * p.shape.reduce((a, b) => a * b, 1);
  const frozen = manifest.frozenAs === 'input' ? ' (frozen weights fed as inputs count as host->device; ORT reads them in place on the CPU)' : '';
  return {
    hostToDeviceBytes: counted.hostToDevice,
    deviceToHostBytes: counted.deviceToHost,
    firstHostToDeviceBytes: first.hostToDevice,
    stateBytes,
    note: `counted at the IoBinding on a steady step; state stays on the device${frozen}`,
  };
}
