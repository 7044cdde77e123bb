import type { TensorData } from '@vlreward/graph';
import { mulberry32 } from '@vlreward/graph';

/** classifier.weight / classifier.bias as torch nn.Linear.reset_parameters draws them (U(±1/sqrt(in))). */
export function initClassifierHead(hidden: number, numClasses: number, seed = 0): Map<string, TensorData> {
  const rnd = mulberry32(seed ^ 0xc1a55);
  const bound = 1 / Math.sqrt(hidden);
  const w = new Float32Array(numClasses * hidden);
  for (let i = 0; i < w.length; i++) w[i] = (2 * rnd() - 1) * bound;
  const b = new Float32Array(numClasses);
  for (let i = 0; i < b.length; i++) b[i] = (2 * rnd() - 1) * bound;
  return new Map([
    ['classifier.weight', { dtype: 'float32', dims: [numClasses, hidden], data: w }],
    ['classifier.bias', { dtype: 'float32', dims: [numClasses], data: b }],
  ]);
}
