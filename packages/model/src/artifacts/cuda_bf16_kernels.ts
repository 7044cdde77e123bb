// Which ONNX ops ORT's CUDA execution provider can run in bfloat16. A bf16
// node without a CUDA kernel is placed on the CPU by ORT's default placement
// (slow: two copies per node) and fails session creation under
// disableCpuFallback, so the bf16 graphs must keep such ops in float32 or
// integers (autocast.ts does: only MatMul/Gemm go to bf16).
//
// Source: onnxruntime docs/OperatorKernels.md, "Operators implemented by
// CUDAExecutionProvider", domain ai.onnx, read from microsoft/onnxruntime at
// commit 001d12d2623f (main branch; the doc is generated from the registered
// kernels). It shows the gaps issue 19 names for ORT 1.29/1.30 (ReduceMean,
// Equal, Less, CumSum, Sin, Cos, Log: no bf16; Where: bf16 from opset 16); it
// was not re-read at the rel-1.29 / rel-1.30 tags.

/**
 * Op type (ai.onnx) → the first opset whose CUDA kernel takes bf16 for the
 * op's float type T; null: no bf16 CUDA kernel at any opset. Covers every op
 * @vlreward/graph can emit (graph/src/ops); an op missing here is unknown, and
 * the bf16 coverage test asks for it to be added from the doc.
 */
export const CUDA_BF16_SINCE: Readonly<Record<string, number | null>> = {
  Abs: 13,
  Add: 13,
  And: null, // bool only
  ArgMax: null,
  Cast: 13, // T1 (input) bf16 from 13; T2 (output) from 6
  Concat: 4,
  // ORT turns Constant nodes into initializers when it loads a model: no kernel runs.
  Constant: 1,
  Cos: null,
  CumSum: null,
  Div: 13,
  Equal: null,
  Erf: 13,
  Exp: 13,
  Expand: 8,
  Flatten: 1,
  Floor: null,
  Gather: 1,
  GatherElements: 11,
  GatherND: 13,
  Gemm: 13,
  Greater: null,
  GreaterOrEqual: null,
  Identity: 1,
  Less: null,
  LessOrEqual: null,
  Log: null,
  LogSoftmax: null,
  MatMul: 13,
  Max: 6,
  Min: 6,
  Mul: 13,
  Neg: 13,
  Not: null, // bool only
  OneHot: null,
  Or: null, // bool only
  Pad: null,
  Pow: 15, // base bf16 from 13, exponent (T1) from 15
  RandomUniformLike: null, // bf16 input only, never a bf16 output
  Range: null,
  Reciprocal: null,
  ReduceL2: null,
  ReduceMax: null,
  ReduceMean: null,
  ReduceSum: 13,
  ReduceSumSquare: null,
  Relu: 13,
  Reshape: 1,
  ScatterElements: 11,
  ScatterND: 11,
  Shape: 1,
  Sigmoid: 13,
  Sign: 13,
  Sin: null,
  Size: 1,
  Slice: 1,
  Softmax: 13,
  Split: 2,
  Sqrt: 13,
  Squeeze: 1,
  Sub: 13,
  Tanh: 13,
  Transpose: 1,
  Trilu: 14,
  Unsqueeze: 1,
  Where: 16,
};

/** The graph surface this check needs (a @vlreward/graph Graph satisfies it). */
interface GraphLike {
  readonly opset: number;
  readonly nodes: readonly {
    readonly name: string;
    readonly opType: string;
    readonly domain: string;
    readonly inputs: readonly ({ readonly dtype: string } | null)[];
    readonly outputs: readonly { readonly dtype: string }[];
  }[];
}

export interface Bf16KernelGap {
  readonly node: string;
  readonly opType: string;
  readonly why: string;
}

/** Every node that reads or writes bfloat16 and that ORT's CUDA provider has no bf16 kernel for at `g.opset`. */
export function bf16NodesWithoutCudaKernel(g: GraphLike): Bf16KernelGap[] {
  const gaps: Bf16KernelGap[] = [];
  for (const n of g.nodes) {
    const bf16 = n.inputs.some((t) => t?.dtype === 'bfloat16') || n.outputs.some((t) => t.dtype === 'bfloat16');
    if (!bf16) continue;
    if (n.domain !== '' && n.domain !== 'ai.onnx') {
      gaps.push({ node: n.name, opType: n.opType, why: `domain '${n.domain}' is not in the table (ai.onnx only)` });
      continue;
    }
    const since = CUDA_BF16_SINCE[n.opType];
    if (since === undefined) gaps.push({ node: n.name, opType: n.opType, why: 'op not in CUDA_BF16_SINCE: look it up in OperatorKernels.md and add it' });
    else if (since === null) gaps.push({ node: n.name, opType: n.opType, why: 'no bf16 CUDA kernel' });
    else if (g.opset < since) gaps.push({ node: n.name, opType: n.opType, why: `bf16 CUDA kernel from opset ${since}, graph is opset ${g.opset}` });
  }
  return gaps;
}
