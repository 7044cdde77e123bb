// Private test helpers shared by the packages' tests.
export { checkGrad } from './checkGrad.js';
export type { GradCase, GradInputSpec, GradReport } from './checkGrad.js';
export { expectClose } from './expectClose.js';
export type { CloseOptions } from './expectClose.js';
export { rng, seedOf, uniform } from './rng.js';
export { TOLERANCES } from './tolerances.js';
export type { Tolerance } from './tolerances.js';
export { FIXTURE_DIR, hasShared, PROCESSOR_DIR, SHARED_DIR, sharedPath } from './shared.js';
