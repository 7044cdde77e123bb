import { assertDType, type DType } from './dtype.js';
import { formatShape, type Dim, type Shape } from './shape.js';
import type { TensorData } from './tensor_data.js';

/** Attribute values as ONNX knows them (ints are JS numbers; tensors for Constant). */
export type AttrValue = number | string | number[] | string[] | TensorData | { float: number } | { floats: number[] };
export type Attrs = Readonly<Record<string, AttrValue | undefined>>;

/** A symbolic value in a graph: a graph input, an initializer, or a node output. */
export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    /** The node that computes this tensor; null for inputs and initializers. */
    readonly producer: Node | null,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

export interface Node {
  readonly opType: string;
  /** '' is the default ONNX domain; 'com.microsoft' for ORT contrib ops. */
  readonly domain: string;
  readonly name: string;
  /** null marks an omitted optional input. */
  readonly inputs: readonly (Tensor | null)[];
  readonly outputs: readonly Tensor[];
  readonly attrs: Attrs;
}

export interface OutputSpec {
  readonly dtype: DType;
  readonly shape: Shape;
}

export interface NodeOptions {
  /** Base name; made unique and prefixed with the current scope. */
  readonly name?: string;
  readonly domain?: string;
}

export interface GraphOptions {
  /** ONNX default-domain opset. */
  readonly opset?: number;
}

/**
 * The graph builder. It is pure bookkeeping: ops (in ops/) validate dtypes
 * and shapes, then call `node()`. Nothing here touches onnxruntime.
 */
export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly outputs: { readonly tensor: Tensor; readonly name: string }[] = [];
  /** Constant tensors stored in the model (weights, frozen params). */
  readonly initializers = new Map<string, { tensor: Tensor; value: TensorData }>();
  readonly opset: number;
  private readonly names = new Set<string>();
  private readonly scopes: string[] = [];
  private counter = 0;

  constructor(
    readonly name = 'vlreward',
    options: GraphOptions = {},
  ) {
    this.opset = options.opset ?? 21;
  }

  /** A graph input fed at run time. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    assertDType(dtype, `input '${name}'`);
    this.claim(name, 'input');
    const t = new Tensor(this, name, dtype, [...shape], null);
    this.inputs.push(t);
    return t;
  }

  /** A named constant stored with the model (weights). */
  initializer(name: string, value: TensorData): Tensor {
    assertDType(value.dtype, `initializer '${name}'`);
    this.claim(name, 'initializer');
    const t = new Tensor(this, name, value.dtype, [...value.dims], null);
    this.initializers.set(name, { tensor: t, value });
    return t;
  }

  /** Mark a tensor as a graph output under `name` (an Identity is added when the name differs). */
  output(t: Tensor, name: string = t.name): Tensor {
    this.own(t, 'output');
    let out = t;
    if (name !== t.name) {
      this.claim(name, 'output');
      const node: Node = {
        opType: 'Identity',
        domain: '',
        name: this.uniqueName(`${name}/Identity`),
        inputs: [t],
        outputs: [],
        attrs: {},
      };
      out = new Tensor(this, name, t.dtype, t.shape, node);
      (node.outputs as Tensor[]).push(out);
      this.nodes.push(node);
    }
    this.outputs.push({ tensor: out, name });
    return out;
  }

  /**
   * Append one node. Ops call this after checking their inputs; `outputs`
   * gives each output's dtype and shape as inferred by the op.
   */
  node(opType: string, inputs: readonly (Tensor | null)[], attrs: Attrs, outputs: readonly OutputSpec[], options: NodeOptions = {}): Tensor[] {
    for (const t of inputs) if (t) this.own(t, opType);
    const name = this.uniqueName(options.name ?? opType);
    const node: Node = { opType, domain: options.domain ?? '', name, inputs: [...inputs], outputs: [], attrs };
    const outs = outputs.map((o, i) => new Tensor(this, outputs.length === 1 ? `${name}:0` : `${name}:${i}`, o.dtype, [...o.shape], node));
    (node.outputs as Tensor[]).push(...outs);
    this.nodes.push(node);
    return outs;
  }

  /** Run `fn` with node names prefixed by `prefix/` (e.g. 'layers.3/self_attn'). */
  scope<T>(prefix: string, fn: () => T): T {
    this.scopes.push(prefix);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** A fresh symbolic dimension name, for outputs whose size depends on data. */
  freshDim(hint: string): Dim {
    return `${hint}_${this.counter++}`;
  }

  uniqueName(base: string): string {
    const full = this.scopes.length ? `${this.scopes.join('/')}/${base}` : base;
    let name = full;
    for (let i = 1; this.names.has(name); i++) name = `${full}_${i}`;
    this.names.add(name);
    return name;
  }

  private claim(name: string, what: string): void {
    if (this.names.has(name)) throw new Error(`graph '${this.name}': ${what} name '${name}' is already used`);
    this.names.add(name);
  }

  private own(t: Tensor, where: string): void {
    if (t.graph !== this) throw new Error(`${where}: tensor '${t.name}' belongs to graph '${t.graph.name}', not '${this.name}'`);
  }
}
