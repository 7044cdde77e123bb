import type { Tensor } from '../builder.js';
import { formatShape, type Dim, type Shape } from '../shape.js';
import { add } from './Add.js';
import { normAxes, shapeTensor } from './checks.js';
import { constInt64, constNumbers, scalar } from './Constant.js';
import { gather } from './Gather.js';
import type { OpDef } from './op.js';
import { slice, SLICE_END } from './Slice.js';

/**
 * Constant-mode Pad. `pads` is [begin per axis..., end per axis...] over
 * `axes` (default all), as numbers or a 1-D int64 tensor (then pass outShape).
 */
export function pad(x: Tensor, pads: readonly number[] | Tensor, value = 0, axes?: readonly number[], outShape?: Shape): Tensor {
  const where = `Pad(${x.name} ${formatShape(x.shape)})`;
  const g = x.graph;
  const ax = axes ? normAxes(where, axes, x.rank) : x.shape.map((_, i) => i);
  let shape: Dim[];
  if (Array.isArray(pads)) {
    if (pads.length !== 2 * ax.length) throw new Error(`${where}: pads has ${pads.length} entries, expected ${2 * ax.length}`);
    shape = [...x.shape];
    ax.forEach((a, k) => {
      const d = x.shape[a]!;
      const extra = pads[k]! + pads[k + ax.length]!;
      shape[a] = typeof d === 'number' ? d + extra : extra === 0 ? d : g.freshDim('pad');
      if (typeof shape[a] === 'number' && (shape[a] as number) < 0) throw new Error(`${where}: pads [${pads.join(', ')}] crop axis ${a} below zero`);
    });
  } else {
    const t = pads as Tensor;
    if (t.dtype !== 'int64' || t.rank !== 1) throw new Error(`${where}: pads must be 1-D int64, got ${t.toString()}`);
    shape = outShape ? [...outShape] : x.shape.map((d, i) => (ax.includes(i) ? g.freshDim('pad') : d));
  }
  if (outShape) shape = [...outShape];
  const padsT = Array.isArray(pads) ? constInt64(g, pads) : (pads as Tensor);
  const inputs = [x, padsT, scalar(g, value, x.dtype), axes ? constInt64(g, ax) : null];
  return g.node('Pad', inputs, { mode: 'constant' }, [{ dtype: x.dtype, shape }])[0]!;
}

export const PadOp: OpDef = {
  opType: 'Pad',
  nonDifferentiable: [1, 2, 3],
  // Slice the padded border off again.
  grad: ({ node, inputs, dys }) => {
    const dy = dys[0];
    if (!dy) return [];
    if (node.attrs.mode !== undefined && node.attrs.mode !== 'constant') throw new Error(`Pad gradient: only constant mode (node '${node.name}')`);
    const x = inputs[0]!;
    const g = x.graph;
    const ax = inputs[3] ? constNumbers(inputs[3])! : x.shape.map((_, i) => i);
    const p = constNumbers(inputs[1]!);
    if (p) {
      if (p.some((v) => v < 0)) throw new Error(`Pad gradient: negative pads [${p.join(', ')}] (node '${node.name}')`);
      const starts = ax.map((_, k) => p[k]!);
      const ends = ax.map((a, k) => {
        const d = x.shape[a]!;
        const e = p[k + ax.length]!;
        return typeof d === 'number' ? p[k]! + d : e > 0 ? -e : SLICE_END;
      });
      return [slice(dy, starts, ends, ax, undefined, x.shape), null, null, null];
    }
    const starts = slice(inputs[1]!, [0], [ax.length], [0]);
    const ends = add(starts, gather(shapeTensor(x), constInt64(g, ax), 0));
    return [slice(dy, starts, ends, ax, undefined, x.shape), null, null, null];
  },
};
