// bf16 on CUDA without surprises: every node of the autocast (bf16) Qwen3-VL
// graphs that reads or writes bfloat16 must have a bf16 kernel in ORT's CUDA
// provider (table and source in src/artifacts/cuda_bf16_kernels.ts). Runs on
// any machine: it checks the graphs we build, not a GPU.
import { describe, expect, it } from 'vitest';
import { cast, cos, cumsum, equal, Graph, less, log, matmul, reduceMean, sin, where } from '@vlreward/graph';
import { autocastGraph, buildTrainingArtifacts, GRAPH_KINDS, makeLoraConfig, parseQwen3VLConfig, randomQwen3VLWeights, tinyQwen3VLConfig } from '../src/index.js';
import { bf16NodesWithoutCudaKernel, CUDA_BF16_SINCE } from '../src/artifacts/cuda_bf16_kernels.js';

const config = parseQwen3VLConfig(tinyQwen3VLConfig());
const weights = randomQwen3VLWeights(config, 3);

describe('bf16 (autocast) Qwen3-VL graphs have a CUDA kernel for every bf16 node', () => {
  for (const mode of ['lora', 'full'] as const) {
    for (const checkpointing of [false, true]) {
      it(`tiny ${mode}${checkpointing ? ', activation checkpointing' : ''}: every graph kind`, () => {
        const art = buildTrainingArtifacts(config, { mode, lora: makeLoraConfig({}), numClasses: 3, weights, precision: 'bf16', checkpointing, graphs: GRAPH_KINDS });
        expect(art.manifest.autocast).toBe(true);
        const seen = new Set<string>();
        for (const kind of GRAPH_KINDS) {
          const g = art.graphs[kind];
          expect(g, kind).toBeDefined();
          for (const n of g!.nodes) if ([...n.inputs, ...n.outputs].some((t) => t?.dtype === 'bfloat16')) seen.add(n.opType);
          const gaps = bf16NodesWithoutCudaKernel(g!);
          expect(gaps, `${kind}: ${gaps.slice(0, 10).map((x) => `${x.node} (${x.opType}): ${x.why}`).join('; ')}`).toEqual([]);
        }
        // The walk saw the bf16 compute (not a vacuous pass over fp32 graphs).
        expect([...seen]).toEqual(expect.arrayContaining(['MatMul', 'Gemm', 'Cast']));
      }, 120_000);
    }
  }
});

describe('the check and autocast on the ops without bf16 CUDA kernels', () => {
  const NO_BF16 = ['ReduceMean', 'Equal', 'Less', 'CumSum', 'Sin', 'Cos', 'Log'];

  it('the table has no bf16 for ReduceMean, Equal, Less, CumSum, Sin, Cos, Log, and Where only from opset 16', () => {
    for (const op of NO_BF16) expect(CUDA_BF16_SINCE[op], op).toBeNull();
    expect(CUDA_BF16_SINCE.Where).toBe(16);
  });

  it('flags a bf16 ReduceMean, an unknown op and Where below opset 16', () => {
    const g = new Graph('bad', { opset: 21 });
    const x = cast(g.input('x', 'float32', [2, 3]), 'bfloat16');
    g.output(reduceMean(x, [1]), 'm');
    g.output(g.node('Celu', [x], {}, [{ dtype: 'bfloat16', shape: [2, 3] }])[0]!, 'c');
    expect(bf16NodesWithoutCudaKernel(g).map((n) => [n.opType, n.why])).toEqual([
      ['ReduceMean', 'no bf16 CUDA kernel'],
      ['Celu', expect.stringMatching(/not in CUDA_BF16_SINCE/)],
    ]);
    const old = new Graph('old', { opset: 15 });
    const c = old.input('c', 'bool', [2]);
    const y = cast(old.input('y', 'float32', [2]), 'bfloat16');
    old.output(where(c, y, y), 'w');
    expect(bf16NodesWithoutCudaKernel(old).map((n) => n.why)).toEqual(['bf16 CUDA kernel from opset 16, graph is opset 15']);
  });

  it('autocast to bf16 keeps them in float32 (only MatMul/Gemm go to bf16)', () => {
    const g = new Graph('mixed', { opset: 21 });
    const a = g.input('a', 'float32', [4, 4]);
    const b = g.input('b', 'float32', [4, 4]);
    const h = matmul(a, b);
    const m = reduceMean(h, [1]);
    const s = cumsum(sin(h), 1);
    const k = cos(log(h));
    const mask = equal(h, b);
    g.output(m, 'm');
    g.output(s, 's');
    g.output(where(mask, k, h), 'w');
    g.output(less(h, b), 'l');
    const ac = autocastGraph(g, 'bfloat16');
    expect(ac.castOps).toBe(1);
    for (const n of ac.graph.nodes) {
      if (NO_BF16.includes(n.opType) || n.opType === 'Where') {
        for (const t of [...n.inputs, ...n.outputs]) expect(t?.dtype, `${n.opType} ${t?.name}`).not.toBe('bfloat16');
      }
    }
    expect(ac.graph.nodes.find((n) => n.opType === 'MatMul')!.outputs[0]!.dtype).toBe('bfloat16');
    expect(bf16NodesWithoutCudaKernel(ac.graph)).toEqual([]);
  });
});
