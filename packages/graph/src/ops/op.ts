import type { Graph, Node, Tensor } from '../builder.js';

/** What a gradient rule sees: the forward node and the incoming gradients. */
export interface GradContext {
  readonly graph: Graph;
  readonly node: Node;
  /**
   * Forward inputs (null where the optional input was omitted). Under
   * activation checkpointing these may be recomputed copies.
   */
  readonly inputs: readonly (Tensor | null)[];
  /** Forward outputs, reusable in the gradient (e.g. Exp, Sigmoid, Softmax). */
  readonly outputs: readonly Tensor[];
  /** d loss / d output[i]; null when no path from that output reaches the loss. */
  readonly dys: readonly (Tensor | null)[];
  /**
   * needs[i] is true when autodiff wants d loss / d input[i]; rules skip the
   * others so dead branches cost no nodes.
   */
  readonly needs: readonly boolean[];
}

/**
 * One ONNX primitive's gradient rule. It returns d loss / d input[i] for each
 * forward input, or null for inputs that are not differentiable (indices,
 * shapes) or not needed. It may return a gradient whose shape is the
 * *broadcast* output shape: autodiff sums it back to the input's shape.
 */
export interface OpDef {
  readonly opType: string;
  readonly domain?: string;
  /** Indices of inputs that never get gradients (integers, shapes, axes). */
  readonly nonDifferentiable?: readonly number[];
  /** Random ops: never re-emitted by activation checkpointing. */
  readonly nondeterministic?: boolean;
  grad(ctx: GradContext): readonly (Tensor | null)[];
}

/** Gradient rule of ops whose outputs carry no gradient (comparisons, shapes, indices). */
export const noGrad = (): readonly (Tensor | null)[] => [];
