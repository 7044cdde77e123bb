import type { Node, Tensor } from '../builder.js';
import type { OpDef } from './op.js';

export function identity(x: Tensor): Tensor {
  return x.graph.node('Identity', [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0]!;
}

// Identity nodes made by stopGradient; ONNX has no such op, so the mark
// lives here rather than in an attribute ORT would reject.
const STOPS = new WeakSet<Node>();

/** An Identity that autodiff treats as a constant: no gradient flows through it. */
export function stopGradient(x: Tensor): Tensor {
  const y = x.graph.node('Identity', [x], {}, [{ dtype: x.dtype, shape: x.shape }], { name: 'StopGradient' })[0]!;
  STOPS.add(y.producer!);
  return y;
}

export function isStopGradient(node: Node): boolean {
  return STOPS.has(node);
}

export const IdentityOp: OpDef = {
  opType: 'Identity',
  grad: ({ node, dys }) => [isStopGradient(node) ? null : (dys[0] ?? null)],
};
