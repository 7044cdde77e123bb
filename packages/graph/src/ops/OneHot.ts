import type { Tensor } from '../builder.js';
import type { DType } from '../dtype.js';
import { normAxis } from '../shape.js';
import { requireDType } from './checks.js';
import { constant, scalar } from './Constant.js';
import { noGrad } from './op.js';
import type { OpDef } from './op.js';
import { allocTyped } from '../tensor_data.js';

export interface OneHotOptions {
  readonly axis?: number;
  readonly dtype?: DType;
  readonly onValue?: number;
  readonly offValue?: number;
}

/** One-hot encode integer indices into a new axis of size `depth` (negative indices wrap). */
export function oneHot(indices: Tensor, depth: number, opts: OneHotOptions = {}): Tensor {
  requireDType('OneHot', indices, ['int64', 'int32']);
  const dtype = opts.dtype ?? 'float32';
  const axis = normAxis(opts.axis ?? -1, indices.rank + 1, `OneHot(${indices.name})`);
  const g = indices.graph;
  const values = allocTyped(dtype, 2);
  if (dtype === 'int64') (values as BigInt64Array).set([BigInt(opts.offValue ?? 0), BigInt(opts.onValue ?? 1)]);
  else if (dtype === 'float16' || dtype === 'bfloat16') throw new Error(`OneHot: dtype ${dtype} unsupported; cast a float32 result`);
  else (values as Float32Array).set([opts.offValue ?? 0, opts.onValue ?? 1]);
  const valuesT = constant(g, { dtype, dims: [2], data: values }, 'OneHotValues');
  const shape = [...indices.shape];
  shape.splice(axis, 0, depth);
  return g.node('OneHot', [indices, scalar(g, depth, 'int64'), valuesT], { axis }, [{ dtype, shape }])[0]!;
}

export const OneHotOp: OpDef = { opType: 'OneHot', nonDifferentiable: [0, 1, 2], grad: noGrad };
