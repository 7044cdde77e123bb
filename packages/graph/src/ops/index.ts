// The explicit registry of gradient rules (tfjs register_all_gradients.ts).
// Add each new op here; autodiff throws, naming the op and node, for any
// opType missing from this table.
import { AddOp } from './Add.js';
import { MatMulOp } from './MatMul.js';
import type { OpDef } from './op.js';
import { TransposeOp } from './Transpose.js';

const ALL: readonly OpDef[] = [AddOp, MatMulOp, TransposeOp];

export const OP_REGISTRY: ReadonlyMap<string, OpDef> = new Map(ALL.map((d) => [`${d.domain ?? ''}::${d.opType}`, d]));

export function getOpDef(opType: string, domain = ''): OpDef | undefined {
  return OP_REGISTRY.get(`${domain}::${opType}`);
}

export { add } from './Add.js';
export { matmul } from './MatMul.js';
export { transpose, transposeLast2 } from './Transpose.js';
export type { GradContext, OpDef } from './op.js';
