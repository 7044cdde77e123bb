// Finite-difference gradient checks against the autodiff, on real ORT.
// Many cases share one graph and one session: each case has its own inputs
// and scalar loss, and one ORT run perturbs one element of every case at
// once (the cases are independent), so N cases cost max(size) runs, not sum.
import { allocTyped, grad, Graph, isStatic, mul, reduceSum, tensorData, type Dim, type DType, type Tensor, type TensorData } from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import { rng, seedOf, uniform } from './rng.js';
import { TOLERANCES, type Tolerance } from './tolerances.js';

export interface GradInputSpec {
  readonly shape: readonly number[];
  /** Default float64 (ORT CPU has double kernels for almost every op we use). */
  readonly dtype?: DType;
  /** Explicit values; default uniform in `range` from the case's seeded rng. */
  readonly data?: readonly number[];
  /** Default [-1, 1]. */
  readonly range?: readonly [number, number];
  /** Differentiate w.r.t. this input (default: true for float inputs). */
  readonly grad?: boolean;
  /** Declared graph-input shape when it should be symbolic (e.g. ['B', 3]; names get the case prefix); data uses `shape`. */
  readonly dims?: readonly Dim[];
}

export interface GradCase {
  readonly name: string;
  readonly inputs: Readonly<Record<string, GradInputSpec>>;
  /** Build the function under test; its output (any static shape) is projected to a scalar loss. */
  build(inputs: Readonly<Record<string, Tensor>>, g: Graph): Tensor;
  /** Overrides of the dtype defaults in TOLERANCES. */
  readonly tol?: Partial<Tolerance>;
  readonly eps?: number;
}

export interface GradReport {
  readonly name: string;
  /** Per differentiated input: analytic and numeric gradients, worst error. */
  readonly inputs: Readonly<Record<string, { analytic: number[]; numeric: number[]; maxAbsErr: number }>>;
}

interface Prepared {
  c: GradCase;
  prefix: string;
  feeds: Record<string, TensorData>;
  wrt: string[];
  /** (feed name, element) pairs perturbed by finite differences, in order. */
  coords: [string, number][];
  dtype: DType;
}

function isFloatDType(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

function makeData(spec: GradInputSpec, next: () => number): TensorData {
  const dtype = spec.dtype ?? 'float64';
  const n = spec.shape.reduce((p, d) => p * d, 1);
  const values = spec.data ? [...spec.data] : uniform(next, n, spec.range?.[0] ?? -1, spec.range?.[1] ?? 1);
  if (values.length !== n) throw new Error(`checkGrad: ${values.length} values for shape [${spec.shape.join(', ')}]`);
  const arr = allocTyped(dtype, n);
  values.forEach((v, i) => {
    if (dtype === 'int64') (arr as BigInt64Array)[i] = BigInt(Math.round(v));
    else (arr as Float64Array)[i] = v;
  });
  return tensorData(dtype, spec.shape, arr);
}

/** Build every case into `g`; returns the per-case loss tensors and input tensors. */
function buildAll(g: Graph, cases: Prepared[]): { loss: Tensor; inputs: Record<string, Tensor> }[] {
  return cases.map((p, i) => {
    const inputs: Record<string, Tensor> = {};
    for (const [k, spec] of Object.entries(p.c.inputs)) {
      // Symbolic dims are per case (cases share a session, and sizes may differ).
      const dims = (spec.dims ?? spec.shape).map((d) => (typeof d === 'string' ? `${p.prefix}${d}` : d));
      inputs[k] = g.input(`${p.prefix}${k}`, spec.dtype ?? 'float64', dims);
    }
    const y = g.scope(p.prefix.slice(0, -1), () => p.c.build(inputs, g));
    // Symbolic output: project with sum(y²)/2, whose dL/dy = y still weights every element.
    if (!isStatic(y.shape)) return { loss: reduceSum(mul(mul(y, y), 0.5), [], false), inputs };
    // Random projection weights make every output element matter to the loss.
    const next = rng(seedOf(`${p.c.name}/proj`));
    const n = y.shape.reduce((a, d) => a * (d as number), 1);
    const r = g.initializer(`proj${i}`, tensorData(y.dtype, y.shape as number[], fillFloat(y.dtype, uniform(next, n, 0.5, 1.5))));
    const loss = reduceSum(mul(y, r), [], false);
    return { loss, inputs };
  });
}

function fillFloat(dtype: DType, v: number[]): TensorData['data'] {
  if (dtype === 'float64') return Float64Array.from(v);
  if (dtype === 'float32') return Float32Array.from(v);
  throw new Error(`checkGrad: output dtype ${dtype} unsupported (use float32/float64)`);
}

/**
 * Check autodiff against central finite differences for each case; throws a
 * message naming the case, input, element, both values and the tolerance
 * when any gradient element is off. Returns the compared values.
 */
export async function checkGrad(casesIn: GradCase | readonly GradCase[]): Promise<GradReport[]> {
  const cases = Array.isArray(casesIn) ? (casesIn as readonly GradCase[]) : [casesIn as GradCase];
  const prepared: Prepared[] = cases.map((c, i) => {
    const next = rng(seedOf(c.name));
    const prefix = `c${i}/`;
    const feeds: Record<string, TensorData> = {};
    const wrt: string[] = [];
    const coords: [string, number][] = [];
    let dtype: DType = 'float64';
    for (const [k, spec] of Object.entries(c.inputs)) {
      const name = `${prefix}${k}`;
      feeds[name] = makeData(spec, next);
      const d = spec.dtype ?? 'float64';
      if ((spec.grad ?? isFloatDType(d)) && isFloatDType(d)) {
        wrt.push(k);
        if (d === 'float32') dtype = 'float32';
        const n = spec.shape.reduce((p, x) => p * x, 1);
        for (let e = 0; e < n; e++) coords.push([name, e]);
      }
    }
    if (wrt.length === 0) throw new Error(`checkGrad '${c.name}': no float input to differentiate`);
    return { c, prefix, feeds, wrt, coords, dtype };
  });

  // Forward + backward graph for the analytic gradients.
  const gB = new Graph('checkgrad_backward');
  const built = buildAll(gB, prepared);
  built.forEach(({ loss, inputs }, i) => {
    const p = prepared[i]!;
    const gs = grad(loss, p.wrt.map((k) => inputs[k]!));
    p.wrt.forEach((k, j) => gB.output(gs[j]!, `${p.prefix}grad/${k}`));
  });
  // Forward-only graph for the finite differences.
  const gF = new Graph('checkgrad_forward');
  buildAll(gF, prepared).forEach(({ loss }, i) => gF.output(loss, `${prepared[i]!.prefix}loss`));

  const allFeeds: Record<string, TensorData> = Object.assign({}, ...prepared.map((p) => p.feeds));
  const sB = await createSession(gB, { intraOpThreads: 1 });
  const analytic = await sB.run(allFeeds);
  await sB.dispose();

  const sF = await createSession(gF, { intraOpThreads: 1 });
  const numeric = prepared.map((p) => p.coords.map(() => 0));
  const rounds = Math.max(...prepared.map((p) => p.coords.length));
  const epsOf = (p: Prepared) => p.c.eps ?? TOLERANCES[p.dtype === 'float32' ? 'float32' : 'float64'].eps;
  for (let r = 0; r < rounds; r++) {
    const losses: number[][] = [];
    for (const sign of [1, -1]) {
      const saved: [Float64Array | Float32Array, number, number][] = [];
      for (const p of prepared) {
        const co = p.coords[r];
        if (!co) continue;
        const arr = allFeeds[co[0]]!.data as Float64Array | Float32Array;
        saved.push([arr, co[1], arr[co[1]]!]);
        arr[co[1]] = arr[co[1]]! + sign * epsOf(p);
      }
      const out = await sF.run(allFeeds);
      for (const [arr, e, v] of saved) arr[e] = v;
      losses.push(prepared.map((p) => Number((out[`${p.prefix}loss`]!.data as Float64Array)[0])));
    }
    prepared.forEach((p, i) => {
      const co = p.coords[r];
      if (!co) return;
      // Divide by the step actually taken (float32 rounds x ± eps).
      const arr = allFeeds[co[0]]!.data;
      const x = Number(arr[co[1]]);
      const h = arr instanceof Float32Array ? Math.fround(x + epsOf(p)) - Math.fround(x - epsOf(p)) : 2 * epsOf(p);
      numeric[i]![r] = (losses[0]![i]! - losses[1]![i]!) / h;
    });
  }
  await sF.dispose();

  const reports: GradReport[] = [];
  const failures: string[] = [];
  prepared.forEach((p, i) => {
    const base = TOLERANCES[p.dtype === 'float32' ? 'float32' : 'float64'].grad;
    const rtol = p.c.tol?.rtol ?? base.rtol;
    const atol = p.c.tol?.atol ?? base.atol;
    const perInput: Record<string, { analytic: number[]; numeric: number[]; maxAbsErr: number }> = {};
    for (const k of p.wrt) {
      const name = `${p.prefix}${k}`;
      const a = Array.from(analytic[`${p.prefix}grad/${k}`]!.data as Float64Array, Number);
      const num = p.coords.flatMap(([f], j) => (f === name ? [numeric[i]![j]!] : []));
      let maxAbsErr = 0;
      a.forEach((av, e) => {
        const nv = num[e]!;
        const err = Math.abs(av - nv);
        maxAbsErr = Math.max(maxAbsErr, Number.isNaN(err) ? Infinity : err);
        if (!(err <= atol + rtol * Math.abs(nv)) && failures.length < 20) {
          failures.push(`'${p.c.name}' d/d${k}[${e}]: analytic ${av}, numeric ${nv} (rtol ${rtol}, atol ${atol})`);
        }
      });
      perInput[k] = { analytic: a, numeric: num, maxAbsErr };
    }
    reports.push({ name: p.c.name, inputs: perInput });
  });
  if (failures.length > 0) throw new Error(`checkGrad: gradient mismatch\n  ${failures.join('\n  ')}`);
  return reports;
}
