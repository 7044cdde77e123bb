// Child process for the kill-mid-write test: writes a large full-mode
// checkpoint (many shards) into argv[2] through CheckpointManager, and
// announces itself on stdout before starting. The parent SIGKILLs it mid-write.
import { tensorData } from '@vlreward/graph/io';
import { CheckpointManager } from '@vlreward/checkpoint';

const root = process.argv[2]!;
const step = Number(process.argv[3]);
const tensors = new Map();
for (let i = 0; i < 40; i++) tensors.set(`model.layers.${i}.weight`, tensorData('float32', [1024, 1024], new Float32Array(1024 * 1024).fill(i)));
const mgr = new CheckpointManager({ root, keepLast: 2 });
process.stdout.write('start\n');
await mgr.save(step, {
  head: { weight: tensorData('float32', [3, 4], new Float32Array(12)), bias: tensorData('float32', [3], new Float32Array(3)) },
  fullWeights: { tensors, maxShardBytes: 8 * 1024 * 1024 },
});
process.stdout.write('done\n');
