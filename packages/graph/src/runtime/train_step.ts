// The fused train step: forward + backward + (clip) + AdamW in one graph,
// with the parameter/moment/step outputs named so a StatefulRunner feeds
// them back as next step's inputs. One ORT run per optimizer step; only the
// batch, the learning rate and the scalars the caller fetches cross the host.
import type { Graph, Tensor } from '../builder.js';
import { grad } from '../autodiff.js';
import { add } from '../ops/Add.js';
import { scalar } from '../ops/Constant.js';
import { adamw } from '../optim/adamw.js';
import { clipByGlobalNorm } from '../optim/clip.js';
import { zeros, type TensorData } from '../tensor_data.js';

export interface TrainStepOptions {
  /** Scalar float loss. */
  readonly loss: Tensor;
  /** Trainable parameters: graph inputs of float dtype (fp32 master weights). */
  readonly params: readonly Tensor[];
  /** Clip gradients to this global L2 norm first (torch clip_grad_norm_); omitted → no clipping. */
  readonly maxGradNorm?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** One value for all, or per parameter (e.g. 0 for norms and biases). */
  readonly weightDecay?: number | readonly number[];
}

export interface TrainStep {
  /** Output → input map for StatefulRunner: `new/<p>` → `<p>`, `new/m/<p>` → `m/<p>`, `new/v/<p>` → `v/<p>`, `new/optim/step` → `optim/step`. */
  readonly state: Readonly<Record<string, string>>;
  /** Name of the float32 scalar learning-rate input (fed each step, so schedules need no rebuild). */
  readonly lrInput: string;
  /** Outputs worth fetching each step: 'loss' and, with clipping, 'grad_norm' (pre-clip). */
  readonly metrics: readonly string[];
  /** Initial state: the given parameter values, zero moments, step 0. */
  init(params: Readonly<Record<string, TensorData>>): Record<string, TensorData>;
}

/**
 * Append gradients, optional clipping and AdamW to `g` and declare the
 * outputs. `optim/step` (int64 scalar) counts completed steps; the update
 * uses step + 1 for bias correction, as torch increments before updating.
 */
export function addTrainStep(g: Graph, o: TrainStepOptions): TrainStep {
  const { loss, params } = o;
  if (loss.graph !== g) throw new Error(`addTrainStep: loss '${loss.name}' belongs to graph '${loss.graph.name}'`);
  for (const p of params) {
    if (p.producer !== null || !g.inputs.includes(p)) {
      throw new Error(`addTrainStep: parameter '${p.name}' must be a graph input (parameters are fed from the runner's state)`);
    }
  }
  const lr = g.input('optim/lr', 'float32', []);
  const stepIn = g.input('optim/step', 'int64', []);
  const m = params.map((p) => g.input(`m/${p.name}`, p.dtype, p.shape));
  const v = params.map((p) => g.input(`v/${p.name}`, p.dtype, p.shape));
  g.output(loss, 'loss');
  const metrics = ['loss'];
  let grads = grad(loss, params);
  g.scope('optim', () => {
    if (o.maxGradNorm !== undefined) {
      const c = clipByGlobalNorm(grads, o.maxGradNorm);
      grads = c.clipped;
      g.output(c.norm, 'grad_norm');
      metrics.push('grad_norm');
    }
    const step = add(stepIn, scalar(g, 1, 'int64'));
    const upd = adamw({
      params,
      grads,
      m,
      v,
      step,
      lr,
      ...(o.beta1 !== undefined ? { beta1: o.beta1 } : {}),
      ...(o.beta2 !== undefined ? { beta2: o.beta2 } : {}),
      ...(o.eps !== undefined ? { eps: o.eps } : {}),
      ...(o.weightDecay !== undefined ? { weightDecay: o.weightDecay } : {}),
    });
    params.forEach((p, i) => {
      g.output(upd.params[i]!, `new/${p.name}`);
      g.output(upd.m[i]!, `new/m/${p.name}`);
      g.output(upd.v[i]!, `new/v/${p.name}`);
    });
    g.output(step, 'new/optim/step');
  });
  const state: Record<string, string> = { 'new/optim/step': 'optim/step' };
  for (const p of params) {
    state[`new/${p.name}`] = p.name;
    state[`new/m/${p.name}`] = `m/${p.name}`;
    state[`new/v/${p.name}`] = `v/${p.name}`;
  }
  return {
    state,
    lrInput: 'optim/lr',
    metrics,
    init(values) {
      const out: Record<string, TensorData> = { 'optim/step': zeros('int64', []) };
      for (const p of params) {
        const val = values[p.name];
        if (!val) throw new Error(`TrainStep.init: no value for parameter '${p.name}'`);
        const dims = p.shape.map((d) => (typeof d === 'number' ? d : NaN));
        if (val.dtype !== p.dtype || val.dims.length !== dims.length || val.dims.some((d, i) => d !== dims[i])) {
          throw new Error(`TrainStep.init: '${p.name}' is ${val.dtype}[${val.dims.join(', ')}], parameter is ${p.dtype}[${p.shape.join(', ')}]`);
        }
        out[p.name] = val;
        out[`m/${p.name}`] = zeros(p.dtype, val.dims);
        out[`v/${p.name}`] = zeros(p.dtype, val.dims);
      }
      return out;
    },
  };
}
