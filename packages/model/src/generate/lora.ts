// LoRA adapters for generation: applied in the graph (factors as
// initializers, y = Wx + s·B(Ax)) or merged into the base weights
// (W' = W + s·B·A, peft/tuners/lora/layer.py Linear.merge / get_delta_weight).
import { add, Graph, matmul, mul, tensorData, type TensorData } from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import { loraScale, type LoraConfig } from '../lora/config.js';
import { parsePeftName, PEFT_PREFIX } from '../lora/targets.js';

/** One adapted Linear: A [r, in], B [out, r], scale = alpha / r (or alpha / sqrt(r) with rsLoRA). */
export interface LoraAdapterModule {
  readonly A: TensorData;
  readonly B: TensorData;
  readonly scale: number;
}

/** A LoRA adapter by base-model module path (e.g. `model.language_model.layers.0.self_attn.q_proj`). */
export interface LoraAdapter {
  readonly modules: ReadonlyMap<string, LoraAdapterModule>;
  /** Where it came from, for error messages (a folder or file). */
  readonly source: string;
}

/** From PEFT saved tensors (`base_model.model.<module>.lora_A.weight`, …) and one LoraConfig (uniform r / alpha). */
export function loraAdapterFromPeft(config: LoraConfig, tensors: ReadonlyMap<string, TensorData>, source: string): LoraAdapter {
  const parts = new Map<string, { A?: TensorData; B?: TensorData }>();
  for (const [name, t] of tensors) {
    const n = parsePeftName(name);
    if (!n) continue;
    const slot = parts.get(n.modulePath) ?? {};
    slot[n.which] = t;
    parts.set(n.modulePath, slot);
  }
  const modules = new Map<string, LoraAdapterModule>();
  for (const [path, { A, B }] of parts) {
    if (!A || !B) throw new Error(`${source}: module '${path}' has lora_${A ? 'A' : 'B'} but no lora_${A ? 'B' : 'A'}`);
    modules.set(path, { A, B, scale: loraScale(config) });
  }
  if (modules.size === 0) throw new Error(`${source}: no LoRA tensors (expected names like ${PEFT_PREFIX}<module>.lora_A.weight)`);
  return checkLoraAdapter({ modules, source });
}

/** Shapes agree (A [r, in], B [out, r]), float32, finite scale. Returns the adapter. */
export function checkLoraAdapter(adapter: LoraAdapter, base?: ReadonlyMap<string, TensorData>): LoraAdapter {
  for (const [path, { A, B, scale }] of adapter.modules) {
    const where = `${adapter.source}: module '${path}'`;
    if (A.dtype !== 'float32' || B.dtype !== 'float32') throw new Error(`${where}: lora_A/lora_B must be float32 (got ${A.dtype}/${B.dtype})`);
    if (A.dims.length !== 2 || B.dims.length !== 2 || A.dims[0] !== B.dims[1]) {
      throw new Error(`${where}: lora_A [${A.dims.join(', ')}] and lora_B [${B.dims.join(', ')}] do not form B·A (expected [r, in] and [out, r])`);
    }
    if (!Number.isFinite(scale)) throw new Error(`${where}: scale ${scale} is not finite`);
    if (base) {
      const w = base.get(`${path}.weight`);
      if (!w) throw new Error(`${where}: the base model has no '${path}.weight' (adapter for another model?)`);
      if (w.dims[0] !== B.dims[0] || w.dims[1] !== A.dims[1]) {
        throw new Error(`${where}: base weight is [${w.dims.join(', ')}] but the adapter gives [${B.dims[0]}, ${A.dims[1]}] (adapter for another model?)`);
      }
    }
  }
  return adapter;
}

/** The adapter tensors under PEFT saved names, for a ParamSource next to the base weights. */
export function loraAdapterTensors(adapter: LoraAdapter): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  for (const [path, m] of adapter.modules) {
    out.set(`${PEFT_PREFIX}${path}.lora_A.weight`, m.A);
    out.set(`${PEFT_PREFIX}${path}.lora_B.weight`, m.B);
  }
  return out;
}

/**
 * Base weights with the adapter merged: W + scale · B·A for every adapted
 * module (any module with a `<path>.weight`, vision included). The matmuls run
 * in one small ORT graph (a 2B adapter is ~55 GFLOP, minutes in plain JS).
 * Returns a new map; tensors not adapted are shared with `base`.
 */
export async function mergeLoraAdapter(
  base: ReadonlyMap<string, TensorData>,
  adapter: LoraAdapter,
  opts: { threads?: number } = {},
): Promise<Map<string, TensorData>> {
  checkLoraAdapter(adapter, base);
  const g = new Graph('lora_merge', { opset: 21 });
  const w = g.input('w', 'float32', ['out', 'in']);
  const a = g.input('a', 'float32', ['r', 'in']);
  const b = g.input('b', 'float32', ['out', 'r']);
  const s = g.input('scale', 'float32', []);
  g.output(add(w, mul(matmul(b, a), s)), 'merged');
  const session = await createSession(g, { ...(opts.threads !== undefined ? { intraOpThreads: opts.threads } : {}) });
  const out = new Map(base);
  try {
    for (const [path, m] of adapter.modules) {
      const name = `${path}.weight`;
      const res = await session.run({ w: base.get(name)!, a: m.A, b: m.B, scale: tensorData('float32', [], new Float32Array([m.scale])) });
      out.set(name, res['merged']!);
    }
  } finally {
    await session.dispose();
  }
  return out;
}
