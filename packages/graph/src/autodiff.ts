// Reverse-mode autodiff over the graph builder: grad() appends the backward
// pass to the same graph as ordinary ONNX nodes. Gradient rules live beside
// their ops (ops/<OpType>.ts); this file only plans the walk, accumulates
// fan-out, undoes broadcasting (sumToShape, the one place that does it) and
// checks every gradient's dtype and shape against its forward input.
import { Tensor, type Graph, type Node } from './builder.js';
import { isFloat } from './dtype.js';
import { formatShape, shapesEqual } from './shape.js';
import { add } from './ops/Add.js';
import { cast } from './ops/Cast.js';
import { scalar } from './ops/Constant.js';
import { isStopGradient } from './ops/Identity.js';
import { getOpDef, zerosLike } from './ops/index.js';
import type { OpDef } from './ops/op.js';
import { equal } from './ops/Equal.js';
import { reduceMax } from './ops/ReduceMax.js';
import { reduceSum } from './ops/ReduceSum.js';
import { where } from './ops/Where.js';
import { reshape } from './ops/Reshape.js';
import { squeeze } from './ops/Squeeze.js';

export interface GradOptions {
  /** d loss, same dtype and shape as loss. Default: 1 for a single-element loss. */
  readonly seed?: Tensor;
  /** Return zeros for a `wrt` the loss does not depend on, instead of throwing. */
  readonly allowUnused?: boolean;
  /**
   * Activation checkpointing: blocks of forward nodes to re-emit inside the
   * backward pass, so only block inputs (checkpoints) stay stored and the
   * activations inside a block are recomputed when its backward runs.
   * Either node-name prefixes, one block each (the `g.scope` regions, e.g.
   * ['model.layers.0', 'model.layers.1']), or a function giving a node's
   * block id: a string, `true` for the node name's first path segment, or
   * false/null/undefined for "not recomputed". Random ops and Constants are
   * never recomputed.
   */
  readonly recompute?: ((node: Node) => string | boolean | null | undefined) | readonly string[];
}

/**
 * d loss / d wrt[i] for each i, appended to loss's graph. Each result is an
 * Identity output named `grad/<wrt name>`; backward nodes are named
 * `grad/<forward node name>/...`.
 */
export function grad(loss: Tensor, wrt: readonly Tensor[], options: GradOptions = {}): Tensor[] {
  const g = loss.graph;
  if (!isFloat(loss.dtype)) throw new Error(`grad: loss '${loss.name}' must be a float tensor, got ${loss.dtype}`);
  for (const w of wrt) {
    if (w.graph !== g) throw new Error(`grad: '${w.name}' belongs to graph '${w.graph.name}', not the loss's graph '${g.name}'`);
    if (!isFloat(w.dtype)) throw new Error(`grad: cannot differentiate w.r.t. '${w.name}': it is ${w.dtype}, not a float tensor`);
  }
  const seed = makeSeed(loss, options.seed);

  // 1. Plan: tensors reachable from wrt along differentiable edges, then the
  //    ones among them that reach the loss. Only those nodes get backward work.
  const fromWrt = new Set<Tensor>(wrt);
  for (const node of g.nodes) {
    if (node.inputs.some((t, i) => t !== null && fromWrt.has(t) && diffEdge(node, i))) {
      for (const o of node.outputs) if (isFloat(o.dtype)) fromWrt.add(o);
    }
  }
  const needed = new Set<Tensor>([loss]);
  const plan: Node[] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const node = g.nodes[k]!;
    if (!node.outputs.some((o) => needed.has(o) && fromWrt.has(o))) continue;
    plan.push(node);
    node.inputs.forEach((t, i) => {
      if (t !== null && fromWrt.has(t) && diffEdge(node, i)) needed.add(t);
    });
  }
  const unused = wrt.filter((w) => !needed.has(w));
  if (unused.length > 0 && !options.allowUnused) throw new Error(explainUnused(loss, unused[0]!));

  // 2. Walk in reverse topological order (plan is already reversed).
  const grads = new Map<Tensor, Tensor[]>([[loss, [seed]]]);
  const wanted = new Set(wrt); // intermediate wrt tensors keep their gradient past their producer
  const saved = recomputer(g, options.recompute);
  for (const node of plan) {
    // Fan-out contributions are summed here, named after the node whose output they flow into.
    const dys = g.scope(`grad/${node.name}`, () => node.outputs.map((o) => total(grads.get(o))));
    if (dys.every((d) => d === null)) continue;
    const def = getOpDef(node.opType, node.domain);
    if (!def) {
      throw new Error(
        `grad: no gradient rule for op '${node.opType}'${node.domain ? ` (domain ${node.domain})` : ''} at node '${node.name}', ` +
          `which lies on the path from [${wrt.map((w) => w.name).join(', ')}] to '${loss.name}' (add an OpDef to ops/index.ts, or stopGradient its input)`,
      );
    }
    const needs = node.inputs.map((t, i) => t !== null && needed.has(t) && fromWrt.has(t) && diffEdge(node, i, def));
    const dep = dys.find((d) => d !== null) ?? null;
    const block = saved.blockOf(node);
    const inputs = node.inputs.map((t) => (t ? saved.read(t, block, dep) : null));
    const outputs = node.outputs.map((t) => saved.read(t, block, dep));
    const result = g.scope(`grad/${node.name}`, () => def.grad({ graph: g, node, inputs, outputs, dys, needs }));
    node.inputs.forEach((x, i) => {
      const gi = result[i];
      if (!x || !needs[i] || !gi) return;
      const fixed = g.scope(`grad/${node.name}`, () => sumToShape(gi, x, node, i));
      if (fixed.dtype !== x.dtype) {
        throw new Error(`grad: ${node.opType} rule of node '${node.name}' gave ${fixed.dtype} for input ${i} '${x.name}' (${x.dtype})`);
      }
      let list = grads.get(x);
      if (!list) grads.set(x, (list = []));
      list.push(fixed);
    });
    for (const o of node.outputs) if (o !== loss && !wanted.has(o)) grads.delete(o);
  }

  // 3. Results, named grad/<wrt>.
  return wrt.map((w) => nameGrad(w, g.scope(`grad/${w.name}`, () => total(grads.get(w)) ?? zerosLike(w))));
}

/** Is input i of node a gradient-carrying edge? Float data inputs only, never through stopGradient. */
function diffEdge(node: Node, i: number, def: OpDef | undefined = getOpDef(node.opType, node.domain)): boolean {
  const t = node.inputs[i];
  if (!t || !isFloat(t.dtype) || isStopGradient(node)) return false;
  return !def?.nonDifferentiable?.includes(i);
}

function makeSeed(loss: Tensor, seed: Tensor | undefined): Tensor {
  if (seed) {
    if (seed.dtype !== loss.dtype || !shapesEqual(seed.shape, loss.shape)) {
      throw new Error(`grad: seed '${seed.name}' ${seed.dtype}${formatShape(seed.shape)} must match loss '${loss.name}' ${loss.dtype}${formatShape(loss.shape)}`);
    }
    return seed;
  }
  if (!loss.shape.every((d) => d === 1)) {
    throw new Error(`grad: loss '${loss.name}' has shape ${formatShape(loss.shape)}; reduce it to a scalar or pass options.seed`);
  }
  const one = scalar(loss.graph, 1, loss.dtype);
  return loss.rank === 0 ? one : reshape(one, loss.shape as number[]);
}

function total(list: Tensor[] | undefined): Tensor | null {
  if (!list || list.length === 0) return null;
  let acc = list[0]!;
  for (const t of list.slice(1)) acc = add(acc, t);
  return acc;
}

/**
 * Undo broadcasting: sum a gradient of the broadcast shape back to the
 * input's shape (leading axes, and axes where the input has size 1). Throws
 * when the shapes cannot be proven compatible at build time.
 */
export function sumToShape(gi: Tensor, x: Tensor, node: Node, i: number): Tensor {
  if (shapesEqual(gi.shape, x.shape)) return gi;
  const fail = (why: string) =>
    new Error(`grad: ${node.opType} node '${node.name}': gradient ${formatShape(gi.shape)} for input ${i} '${x.name}' ${formatShape(x.shape)}: ${why}`);
  const lead = gi.rank - x.rank;
  if (lead < 0) throw fail('gradient has lower rank than its input');
  const axes = Array.from({ length: lead }, (_, k) => k);
  x.shape.forEach((d, k) => {
    const gd = gi.shape[lead + k]!;
    if (gd === d) return;
    if (d === 1) axes.push(lead + k);
    else throw fail(`cannot prove dim ${k} (${gd} vs ${d}) is a broadcast`);
  });
  let r = reduceSum(gi, axes, true);
  if (lead > 0) r = squeeze(r, axes.slice(0, lead));
  if (!shapesEqual(r.shape, x.shape)) throw fail(`summed to ${formatShape(r.shape)}`);
  return r;
}

/** An Identity whose output tensor is literally named grad/<wrt name>. */
function nameGrad(w: Tensor, t: Tensor): Tensor {
  const g = w.graph;
  const name = g.uniqueName(`grad/${w.name}`);
  const node: Node = { opType: 'Identity', domain: '', name: g.uniqueName(`${name}/Identity`), inputs: [t], outputs: [], attrs: {} };
  const out = new Tensor(g, name, t.dtype, t.shape, node);
  (node.outputs as Tensor[]).push(out);
  g.nodes.push(node);
  return out;
}

/**
 * Maps a forward tensor to what a gradient rule of a node in `block` should
 * read: the stored tensor, or a recomputed copy when the producer is in the
 * same recompute block. Tensors crossing from another block (e.g. the
 * previous layer's output) or from outside any block are read as stored:
 * they are the checkpoints, as in torch.utils.checkpoint, so recomputing
 * layer i never re-runs layer i-1. Copies are made lazily and once.
 *
 * Two ORT behaviours shape this. Its common-subexpression elimination would
 * merge a copy with its original (undoing the recompute), and nothing would
 * stop it from running the copy right after the forward pass (keeping the
 * activation alive anyway). So each activation entering a recomputed block
 * is passed through Where(c, t, t) with c computed from the incoming
 * gradient `dep`: the value is t whatever c is (NaN gradients included), but
 * the copy now differs from the original and cannot start before the
 * backward pass reaches the block. Gated are float tensors made by
 * non-Constant nodes and float graph inputs with a symbolic dim
 * (activations); static graph inputs (weights) are read directly.
 */
function recomputer(g: Graph, spec: GradOptions['recompute']): { blockOf: (node: Node) => string | null; read: (t: Tensor, block: string | null, dep: Tensor | null) => Tensor } {
  const blocks = new Map<Node, string | null>();
  const blockOf = (node: Node): string | null => {
    if (!spec) return null;
    let b = blocks.get(node);
    if (b !== undefined) return b;
    b = null;
    if (node.opType !== 'Constant' && !getOpDef(node.opType, node.domain)?.nondeterministic) {
      if (typeof spec === 'function') {
        const r = spec(node);
        b = typeof r === 'string' ? r : r === true ? node.name.split('/')[0]! : null;
      } else {
        for (const p of spec) if ((node.name === p || node.name.startsWith(`${p}/`)) && (b === null || p.length > b.length)) b = p;
      }
    }
    blocks.set(node, b);
    return b;
  };
  const copies = new Map<Tensor, Tensor>();
  const conds = new Map<Tensor, Tensor>();
  const gates = new Map<Tensor, Map<Tensor, Tensor>>();
  const gate = (t: Tensor, dep: Tensor | null): Tensor => {
    const activation = t.producer ? t.producer.opType !== 'Constant' : t.shape.some((d) => typeof d === 'string');
    // Float only: ORT has no bool Where kernel, and masks/ids are small.
    if (!dep || !activation || !isFloat(t.dtype)) return t;
    let byDep = gates.get(dep);
    if (!byDep) gates.set(dep, (byDep = new Map()));
    let gt = byDep.get(t);
    if (!gt) {
      let c = conds.get(dep);
      if (!c) {
        // ORT's CUDA provider has no bf16 ReduceMax or Equal: gate on a float32 copy
        // (model/src/artifacts/cuda_bf16_kernels.ts).
        const r = reduceMax(dep.dtype === 'bfloat16' ? cast(dep, 'float32') : dep, [], false);
        conds.set(dep, (c = equal(r, r)));
      }
      byDep.set(t, (gt = where(c, t, t)));
    }
    return gt;
  };
  const read = (t: Tensor, block: string | null, dep: Tensor | null): Tensor => {
    const node = t.producer;
    if (block === null || !node || blockOf(node) !== block) return t;
    const hit = copies.get(t);
    if (hit) return hit;
    const inputs = node.inputs.map((x) => (!x ? null : x.producer && blockOf(x.producer) === block ? read(x, block, dep) : gate(x, dep)));
    const outs = g.node(node.opType, inputs, node.attrs, node.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape })), {
      name: `recompute/${node.name}`,
      domain: node.domain,
    });
    node.outputs.forEach((o, k) => copies.set(o, outs[k]!));
    return copies.get(t)!;
  };
  return { blockOf, read };
}

/** Why a wrt gets no gradient: unrelated, or every path crosses a non-differentiable edge. */
function explainUnused(loss: Tensor, w: Tensor): string {
  const g = loss.graph;
  const head = `grad: no differentiable path from '${w.name}' to loss '${loss.name}'`;
  const reach = new Set<Tensor>([w]);
  for (const node of g.nodes) if (node.inputs.some((t) => t && reach.has(t))) for (const o of node.outputs) reach.add(o);
  if (!reach.has(loss)) return `${head}: the loss does not depend on it (pass allowUnused: true for a zero gradient)`;
  const ancestors = new Set<Tensor>([loss]);
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const node = g.nodes[k]!;
    if (node.outputs.some((o) => ancestors.has(o))) for (const t of node.inputs) if (t) ancestors.add(t);
  }
  // The first node on a w -> loss path whose edge carries no gradient.
  const diff = new Set<Tensor>([w]);
  for (const node of g.nodes) {
    const onPath = node.outputs.some((o) => reach.has(o) && ancestors.has(o));
    const i = node.inputs.findIndex((t) => t !== null && diff.has(t));
    if (i < 0) continue;
    const ok = node.inputs.some((t, j) => t !== null && diff.has(t) && diffEdge(node, j));
    if (ok) {
      for (const o of node.outputs) if (isFloat(o.dtype)) diff.add(o);
      const intOut = node.outputs.find((o) => !isFloat(o.dtype) && reach.has(o) && ancestors.has(o));
      if (intOut && !node.outputs.some((o) => diff.has(o) && ancestors.has(o))) {
        return `${head}: it passes through ${node.opType} node '${node.name}', whose output '${intOut.name}' is ${intOut.dtype} (integer/bool values carry no gradient)`;
      }
    } else if (onPath) {
      const why = isStopGradient(node) ? 'a stopGradient' : `input ${i} ('${node.inputs[i]!.name}') is not differentiable`;
      return `${head}: it passes through ${node.opType} node '${node.name}' (${why})`;
    }
  }
  return `${head}: every path crosses a non-differentiable input`;
}
