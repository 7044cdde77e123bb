// Host copies of WebGPU-resident tensors. onnxruntime-node 1.30 hands out
// 'gpu-buffer' outputs (preferredOutputLocation) whose download is not
// implemented: tensor.getData() aborts the whole process ("terminate called
// after throwing an instance of 'char const*'", the `download` callback in
// js/node/src/tensor_helper.cc is NAPI_THROW("not implemented")). Feeding
// such a tensor to a WebGPU session does work, and a session's outputs come
// back on the CPU by default, so a download is one run of an Identity graph.
import { Graph } from '../builder.js';
import type { DType } from '../dtype.js';
import { identity } from '../ops/Identity.js';
import type { OrtTensor } from './ort.js';
import { createSession, type InferenceSession } from './session.js';

/** One Identity session per dtype and rank (symbolic dims), created on first use and kept. */
const identities = new Map<string, Promise<InferenceSession>>();

function identitySession(type: DType, rank: number): Promise<InferenceSession> {
  const key = `${type}/${rank}`;
  let s = identities.get(key);
  if (!s) {
    const g = new Graph(`download.${type}.${rank}`, { opset: 21 });
    const x = g.input('x', type, Array.from({ length: rank }, (_, i) => `d${i}`));
    g.output(identity(x), 'y');
    s = createSession(g, { provider: 'webgpu' });
    identities.set(key, s);
  }
  return s;
}

/** `t` itself when it is on the host; a CPU copy of a WebGPU 'gpu-buffer' tensor otherwise. */
export async function downloadTensor(t: OrtTensor): Promise<OrtTensor> {
  if (t.location === 'cpu' || t.location === 'cpu-pinned') return t;
  if (t.location !== 'gpu-buffer') throw new Error(`downloadTensor: tensors on '${t.location}' are not supported (only WebGPU 'gpu-buffer')`);
  const s = await identitySession(t.type as DType, t.dims.length);
  return (await s.runOrt({ x: t })).y!;
}
