// @vlreward/viewer public API: the reward viewer server and the standalone inference export.
export { startViewer } from './server.js';
export type { CurvePointJson, Viewer, ViewerOptions } from './server.js';
export { exportRewardOnnx } from './export.js';
export type { ExportResult } from './export.js';
