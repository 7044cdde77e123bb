// Binds a parameter inventory to one graph: trainable parameters become
// float32 graph inputs (the master weights the runner feeds), frozen ones
// become initializers (stored once in the model file, external data when
// large, never fed per step). With mixed precision the builder sees casts of
// the masters to the compute dtype; gradients flow back through the Cast to
// float32.
import { cast, type DType, type Graph, type Tensor, type TensorData } from '@vlreward/graph';
import type { ParamSource } from '../qwen3_vl/params.js';
import type { ParamSpec } from './types.js';

export class BoundParams {
  private readonly specs = new Map<string, ParamSpec>();
  private readonly raw = new Map<string, Tensor>();
  private readonly seen = new Map<string, Tensor>();

  constructor(
    private readonly g: Graph,
    specs: readonly ParamSpec[],
    private readonly loadFrozen: (spec: ParamSpec) => TensorData,
    /** 'input': frozen weights become graph inputs too (fed once by the runner, shared by all its sessions). */
    private readonly frozenAs: 'initializer' | 'input' = 'initializer',
  ) {
    for (const s of specs) this.specs.set(s.name, s);
  }

  has(name: string): boolean {
    return this.specs.has(name);
  }

  /** The ParamSource handed to forward builders. */
  readonly source: ParamSource = (name, dtype, shape) => this.get(name, dtype, shape);

  /** Parameter `name` as `dtype` (a Cast of the stored tensor when the dtypes differ); `shape` must match the inventory. */
  get(name: string, dtype: DType = 'float32', shape?: readonly number[]): Tensor {
    const spec = this.specs.get(name);
    if (!spec) {
      throw new Error(`ParamSource: unknown parameter '${name}' (the inventory has ${this.specs.size} parameters, e.g. ${[...this.specs.keys()].slice(0, 3).join(', ')})`);
    }
    if (shape && (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i]))) {
      throw new Error(`ParamSource: parameter '${name}' requested as [${shape.join(', ')}] but the inventory has [${spec.shape.join(', ')}]`);
    }
    const key = `${name}|${dtype}`;
    const hit = this.seen.get(key);
    if (hit) return hit;
    let t = this.raw.get(name);
    if (!t) {
      if (spec.trainable) {
        t = this.g.input(name, 'float32', spec.shape);
      } else if (this.frozenAs === 'input') {
        t = this.g.input(name, spec.dtype ?? 'float32', spec.shape);
      } else {
        const value = this.loadFrozen(spec);
        checkValue(spec, value);
        t = this.g.initializer(name, value);
      }
      this.raw.set(name, t);
    }
    const out = t.dtype === dtype ? t : cast(t, dtype);
    this.seen.set(key, out);
    return out;
  }

  /** The float32 input of a trainable parameter, or undefined when the forward never used it. */
  trainableInput(name: string): Tensor | undefined {
    const spec = this.specs.get(name);
    return spec?.trainable ? this.raw.get(name) : undefined;
  }

  /** Names the forward asked for, in first-use order. */
  used(): string[] {
    return [...this.raw.keys()];
  }
}

export function checkValue(spec: ParamSpec, value: TensorData): void {
  const want = spec.dtype ?? value.dtype;
  if (value.dtype !== want) throw new Error(`parameter '${spec.name}': value is ${value.dtype}, inventory says ${want}`);
  if (value.dims.length !== spec.shape.length || value.dims.some((d, i) => d !== spec.shape[i])) {
    throw new Error(`parameter '${spec.name}': value has dims [${value.dims.join(', ')}], inventory says [${spec.shape.join(', ')}]`);
  }
}
