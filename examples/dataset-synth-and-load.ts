// Write a small synthetic LeRobot dataset (genuine layout: parquet, AV1 mp4 per camera,
// meta), open it as the seed's AlohaRewardDataset, split by episode, and stream shuffled
// batches through the prefetching loader. Writes one sample's images as PNG.
//
//   node --conditions=@vlreward/source --import tsx examples/dataset-synth-and-load.ts [outDir] [v2.1|v3.0] [av1|h264]
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlohaRewardDataset, RewardDataLoader, writePng, writeSyntheticDataset } from '@vlreward/dataset';

const out = process.argv[2] ?? join(tmpdir(), `vlreward-example-${Date.now()}`);
const version = (process.argv[3] ?? 'v2.1') as 'v2.1' | 'v3.0';
const codec = (process.argv[4] ?? 'av1') as 'av1' | 'h264';

const t0 = performance.now();
const summary = await writeSyntheticDataset({ root: join(out, 'dataset'), version, codec, episodes: 8, frames: 24, size: 64, numClasses: 3 });
console.log(`wrote ${summary.root} (${version}, ${codec}) in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${summary.totalFrames} frames × ${summary.cameras.length} cameras`);

const all = await AlohaRewardDataset.open(summary.root, { shuffle: true, seed: 0 });
const { train, val } = all.split({ valFraction: 0.25, seed: 0 });
console.log(`numClasses ${all.numClasses}; train episodes ${train.episodeIndices().join(',')} (${train.length} samples), val episodes ${val.episodeIndices().join(',')} (${val.length})`);
console.log(`train label histogram ${train.labelHistogram().join(' / ')}`);

const loader = new RewardDataLoader(train, { batchSize: 4, shuffle: true, seed: 1, prefetch: 4 });
const t1 = performance.now();
let n = 0;
for await (const batch of loader) {
  if (n === 0) console.log('first batch:', batch.map((s) => `${s.text} → class ${s.label} (episode ${s.episodeIndex}, frame ${s.frameIndex})`));
  n += batch.length;
}
console.log(`one epoch: ${n} samples in ${((performance.now() - t1) / 1000).toFixed(2)} s (${loader.length} batches)`);

const sample = await val.get(0);
mkdirSync(join(out, 'sample'), { recursive: true });
for (const [k, img] of sample.images.entries()) await writePng(img, join(out, 'sample', `${val.cameras[k]}.png`));
console.log(`val sample 0: ${sample.text}, label ${sample.label}; images in ${join(out, 'sample')}`);
