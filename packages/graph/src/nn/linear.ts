import type { Tensor } from '../builder.js';
import { formatShape } from '../shape.js';
import { add } from '../ops/Add.js';
import { gemm } from '../ops/Gemm.js';
import { matmul } from '../ops/MatMul.js';
import { transpose } from '../ops/Transpose.js';

/** torch.nn.functional.linear: x·wᵀ + b with the Hugging Face weight layout w [out, in]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  const where = `linear(${x.name} ${formatShape(x.shape)}, ${w.name} ${formatShape(w.shape)})`;
  if (w.rank !== 2) throw new Error(`${where}: weight must be [out, in]`);
  if (x.shape[x.rank - 1] !== w.shape[1]) throw new Error(`${where}: last input dim ${x.shape[x.rank - 1]} != weight in-features ${w.shape[1]}`);
  if (b && (b.rank !== 1 || b.shape[0] !== w.shape[0])) throw new Error(`${where}: bias ${b.name} ${formatShape(b.shape)} must be [${w.shape[0]}]`);
  // 2-D inputs map onto one Gemm (transB folds the transpose).
  if (x.rank === 2) return gemm(x, w, b ?? null, { transB: true });
  const y = matmul(x, transpose(w, [1, 0]));
  return b ? add(y, b) : y;
}
