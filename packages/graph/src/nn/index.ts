// Composites built from primitive ops (no gradient rules of their own).
export { gelu, geluTanh, silu } from './activations.js';
export { FINFO_MIN, attention, causalPaddingMask } from './attention.js';
export type { AttentionArgs } from './attention.js';
export { dropout, dropoutKeepMask } from './dropout.js';
export type { DropoutOptions } from './dropout.js';
export { linear } from './linear.js';
export { crossEntropy } from './loss.js';
export type { CrossEntropyOptions } from './loss.js';
export { layerNorm, rmsNorm } from './norm.js';
export { applyRotary, rotateHalf } from './rotary.js';
