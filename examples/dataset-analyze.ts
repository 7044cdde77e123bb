// Statistics of a LeRobot dataset (the seed's MODE=analyze), plus a look at one decoded frame:
// defaults to the real v2.1 sample in ../shared/data (Unitree G1, AV1, one camera).
//
//   node --conditions=@vlreward/source --import tsx examples/dataset-analyze.ts [root]
import { join } from 'node:path';
import { LeRobotDataset, analyze, channelMeans, formatAnalysis, toChwFloat } from '@vlreward/dataset';

const root = process.argv[2] ?? join(import.meta.dirname, '..', '..', 'shared', 'data', 'g1_pick_bottle_v21');
console.log(formatAnalysis(await analyze(root)));

const ds = await LeRobotDataset.open(root, { onWarning: (w) => console.warn(`warning: ${w}`) });
const cam = ds.cameraKeys[0];
if (cam) {
  const item = await ds.getItem(0, { cameras: [cam] });
  const img = item.images[cam]!;
  const chw = toChwFloat(img);
  console.log(`\nfirst frame of '${cam}': ${img.width}x${img.height}, mean RGB ${channelMeans(img).map((v) => v.toFixed(3)).join(', ')}; as float CHW [${chw.shape.join(',')}]`);
  console.log(`task: "${item.task}"   episode ${item.episodeIndex}   timestamp ${item.timestamp}`);
}
