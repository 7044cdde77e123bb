// Gradient accumulation as graph ops: the gradient graph adds each
// micro-batch's gradients into running sums it takes as inputs, and the
// optimizer graph scales the sums by 1/numMicroBatches, which equals torch's
// `(loss / n).backward()` over n micro-batches.
import type { Tensor } from '../builder.js';
import { formatShape, shapesEqual } from '../shape.js';
import { add, cast, mul, scalar } from '../ops/index.js';

/** acc_i + grad_i (grad cast to the accumulator's dtype: fp16 grads into fp32 sums). */
export function accumulateGrads(acc: readonly Tensor[], grads: readonly Tensor[]): Tensor[] {
  if (acc.length !== grads.length) throw new Error(`accumulateGrads: ${acc.length} accumulators for ${grads.length} gradients`);
  return acc.map((a, i) => {
    const gr = grads[i]!;
    if (!shapesEqual(a.shape, gr.shape)) {
      throw new Error(`accumulateGrads: accumulator '${a.name}' ${formatShape(a.shape)} vs gradient '${gr.name}' ${formatShape(gr.shape)}`);
    }
    return add(a, gr.dtype === a.dtype ? gr : cast(gr, a.dtype));
  });
}

/** grad_i * scale, with `scale` a number or a scalar tensor (cast per dtype). */
export function scaleGrads(grads: readonly Tensor[], scale: number | Tensor): Tensor[] {
  const g = grads[0]?.graph;
  if (!g) return [];
  const byDType = new Map<string, Tensor>();
  return grads.map((t) => {
    let s = byDType.get(t.dtype);
    if (!s) {
      s = typeof scale === 'number' ? scalar(g, scale, t.dtype) : scale.dtype === t.dtype ? scale : cast(scale, t.dtype);
      byDType.set(t.dtype, s);
    }
    return mul(t, s);
  });
}
