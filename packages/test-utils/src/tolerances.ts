export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/**
 * Separate tolerances for forward values and for analytic-vs-finite-
 * difference gradients (tinygrad helper_test_op keeps them apart too), and
 * the central-difference step per dtype: float64 FD is good to ~1e-9, so
 * grad rules are held to 1e-6; float32 FD only to ~1e-3.
 */
export const TOLERANCES = {
  float64: { value: { rtol: 1e-12, atol: 1e-12 }, grad: { rtol: 1e-6, atol: 1e-8 }, eps: 1e-6 },
  float32: { value: { rtol: 1e-5, atol: 1e-6 }, grad: { rtol: 2e-2, atol: 2e-3 }, eps: 1e-3 },
} as const satisfies Record<string, { value: Tolerance; grad: Tolerance; eps: number }>;
