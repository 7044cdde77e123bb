// Shared by the Reduce* ops: axes become an int64 input (opset 18), and the
// gradient helpers broadcast a reduced gradient back over the reduced axes.
import type { Node, Tensor } from '../builder.js';
import type { Dim } from '../shape.js';
import { constInt64, constNumbers } from './Constant.js';
import { normAxes, requireFloat, shapeTensor } from './checks.js';
import { expand } from './Expand.js';
import { unsqueeze } from './Unsqueeze.js';

/** Build a Reduce* node; empty `axes` means all axes. */
export function reduce(opType: string, x: Tensor, axes: readonly number[], keepdims: boolean, float = true): Tensor {
  const where = `${opType}(${x.name})`;
  if (float) requireFloat(opType, x);
  const ax = axes.length === 0 ? x.shape.map((_, i) => i) : normAxes(where, axes, x.rank);
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!ax.includes(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  const sorted = [...ax].sort((a, b) => a - b);
  return x.graph.node(opType, [x, constInt64(x.graph, sorted)], { keepdims: keepdims ? 1 : 0 }, [{ dtype: x.dtype, shape }])[0]!;
}

/** The normalized axes a Reduce* node reduced over. */
export function reducedAxes(node: Node): number[] {
  const x = node.inputs[0]!;
  const axes = node.inputs[1] ? constNumbers(node.inputs[1]) : undefined;
  if (!axes) throw new Error(`${node.opType} '${node.name}': gradient needs constant axes`);
  if (axes.length === 0) return x.shape.map((_, i) => i);
  return axes.map((a) => (a < 0 ? a + x.rank : a)).sort((a, b) => a - b);
}

/** A reduced tensor (like the node's output) with reduced axes restored as size 1. */
export function keepDims(t: Tensor, node: Node): Tensor {
  return node.attrs.keepdims === 0 ? unsqueeze(t, reducedAxes(node)) : t;
}

/** dy of a reduction, broadcast back to the input's shape. */
export function broadcastBack(dy: Tensor, node: Node): Tensor {
  const x = node.inputs[0]!;
  return expand(keepDims(dy, node), shapeTensor(x), x.shape);
}
