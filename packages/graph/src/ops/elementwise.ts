// Shared shape/dtype logic for elementwise ops; each op keeps its own file.
import type { Tensor } from '../builder.js';
import type { DType } from '../dtype.js';
import { broadcastShapes } from '../shape.js';
import { requireFloat, sameDType, toTensors, type TensorLike } from './checks.js';

/** A broadcasting binary op whose output has the inputs' dtype. */
export function binary(opType: string, a: TensorLike, b: TensorLike, opts: { float?: boolean } = {}): Tensor {
  const [ta, tb] = toTensors(opType, a, b);
  const dtype = sameDType(opType, ta, tb);
  if (opts.float) requireFloat(opType, ta);
  const shape = broadcastShapes(ta.shape, tb.shape, `${opType}(${ta.name}, ${tb.name})`);
  return ta.graph.node(opType, [ta, tb], {}, [{ dtype, shape }])[0]!;
}

/** A broadcasting comparison with bool output. */
export function compare(opType: string, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = toTensors(opType, a, b);
  sameDType(opType, ta, tb);
  const shape = broadcastShapes(ta.shape, tb.shape, `${opType}(${ta.name}, ${tb.name})`);
  return ta.graph.node(opType, [ta, tb], {}, [{ dtype: 'bool' as DType, shape }])[0]!;
}

/** A shape-preserving unary op. */
export function unary(opType: string, x: Tensor, opts: { float?: boolean } = {}): Tensor {
  if (opts.float) requireFloat(opType, x);
  return x.graph.node(opType, [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0]!;
}

/** A logical op on bool tensors. */
export function logical(opType: string, ...xs: Tensor[]): Tensor {
  for (const x of xs) if (x.dtype !== 'bool') throw new Error(`${opType}: '${x.name}' must be bool, got ${x.dtype}`);
  let shape = xs[0]!.shape;
  for (const x of xs.slice(1)) shape = broadcastShapes(shape, x.shape, `${opType}(${xs.map((t) => t.name).join(', ')})`);
  return xs[0]!.graph.node(opType, xs, {}, [{ dtype: 'bool', shape }])[0]!;
}
