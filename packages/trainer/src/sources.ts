// SampleSource over @vlreward/dataset's AlohaRewardDataset (episode of each sample
// without decoding, batched frame decoding through getMany).

import type { AlohaRewardDataset } from '@vlreward/dataset';
import type { SampleSource } from './types.js';

export function alohaSource(ds: AlohaRewardDataset): SampleSource & { dataset: AlohaRewardDataset } {
  return {
    dataset: ds,
    length: ds.length,
    get: (i) => ds.get(i),
    getMany: (idx) => ds.getMany(idx),
    episodeOf: (i) => ds.base.episodeAt(ds.indices[i]!).meta.episodeIndex,
    labelOf: (i) => ds.labelAt(i),
  };
}
