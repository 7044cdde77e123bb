// Mixed precision for forward builders that compute in float32 only: a
// replay of the forward graph in the spirit of torch.autocast, where
// MatMul / Gemm run in the 16-bit compute dtype (inputs cast down, the result
// cast back to float32) and everything else — norms, softmax, losses,
// reductions, elementwise — stays float32. Master weights remain float32
// graph inputs; autodiff then differentiates through the Casts, so weight
// gradients come back in float32 while the matmul backward runs in 16 bits.
// Builders that honour ctx.computeDType (all-16-bit activations) need none of this.
import { cast, Graph, type DType, type Node, type Tensor } from '@vlreward/graph';

/**
 * Ops autocast runs in the low-precision dtype (torch's autocast fp16 list, as far as our graphs use it).
 * Both have bf16 CUDA kernels; many ops do not (ReduceMean, Equal, Less, CumSum, Sin, Cos, Log, …), so
 * adding one here needs cuda_bf16_kernels.ts to list it (test/cuda_bf16_coverage.test.ts checks the graphs).
 */
export const AUTOCAST_OPS: ReadonlySet<string> = new Set(['MatMul', 'Gemm']);

export interface AutocastResult {
  readonly graph: Graph;
  /** Old tensor → its counterpart in the new graph. */
  map(t: Tensor): Tensor;
  /** Old node → the node that replaces it (same name). */
  readonly nodes: ReadonlyMap<Node, Node>;
  /** How many ops now run in the compute dtype. */
  readonly castOps: number;
}

/** Replay `g` into a fresh graph with AUTOCAST_OPS in `dt`. Node, input and initializer names are kept. */
export function autocastGraph(g: Graph, dt: DType): AutocastResult {
  const out = new Graph(g.name, { opset: g.opset });
  const m = new Map<Tensor, Tensor>();
  const nodes = new Map<Node, Node>();
  for (const t of g.inputs) m.set(t, out.input(t.name, t.dtype, t.shape));
  for (const [name, { tensor, value }] of g.initializers) m.set(tensor, out.initializer(name, value));
  const get = (t: Tensor): Tensor => {
    const x = m.get(t);
    if (!x) throw new Error(`autocast: tensor '${t.name}' used before it is defined`);
    return x;
  };
  let castOps = 0;
  for (const n of g.nodes) {
    const ins = n.inputs.map((t) => (t ? get(t) : null));
    const low = AUTOCAST_OPS.has(n.opType) && n.domain === '' && n.outputs.every((o) => o.dtype === 'float32');
    if (low) {
      castOps++;
      const lowIns = ins.map((t) => (t && t.dtype === 'float32' ? cast(t, dt) : t));
      const outs = out.node(n.opType, lowIns, n.attrs, n.outputs.map((o) => ({ dtype: dt, shape: o.shape })), { name: n.name });
      nodes.set(n, outs[0]!.producer!);
      n.outputs.forEach((o, i) => m.set(o, cast(outs[i]!, 'float32')));
    } else {
      const outs = out.node(n.opType, ins, n.attrs, n.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape })), {
        name: n.name,
        ...(n.domain ? { domain: n.domain } : {}),
      });
      if (outs[0]) nodes.set(n, outs[0].producer!);
      n.outputs.forEach((o, i) => m.set(o, outs[i]!));
    }
  }
  return { graph: out, map: get, nodes, castOps };
}
