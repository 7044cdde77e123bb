// The one place this package imports graph ops and nn composites from, so a
// local workaround for a missing or buggy op would live here and nowhere else.
export {
  add,
  applyRotary,
  attention,
  concat,
  constant,
  crossEntropy,
  gather,
  gelu,
  geluTanh,
  layerNorm,
  linear,
  mul,
  reduceSum,
  reshape,
  rmsNorm,
  scalar,
  silu,
  split,
  transpose,
  unsqueeze,
} from '@vlreward/graph';
