export { ADAMW_DEFAULTS, adamw } from './adamw.js';
export type { AdamWOptions, AdamWResult } from './adamw.js';
export { clipByGlobalNorm, globalNorm, globalSumSquares, sumTree } from './clip.js';
export type { ClipResult } from './clip.js';
export { accumulateGrads, scaleGrads } from './accumulate.js';
export { LOSS_SCALE_DEFAULTS, anyNonFinite, unscaleGrads, updateLossScale } from './loss_scale.js';
export type { LossScaleOptions, LossScaleUpdate, UnscaleResult } from './loss_scale.js';
