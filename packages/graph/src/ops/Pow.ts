import type { Tensor } from '../builder.js';
import { constNumbers } from './Constant.js';
import type { TensorLike } from './checks.js';
import { binary } from './elementwise.js';
import { log } from './Log.js';
import { mul } from './Mul.js';
import type { OpDef } from './op.js';
import { sub } from './Sub.js';

/** a ** b (both float, same dtype; ONNX allows mixed types but our grads do not). */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return binary('Pow', a, b, { float: true });
}

export const PowOp: OpDef = {
  opType: 'Pow',
  // y = a^b: da = dy * b * a^(b-1), db = dy * y * log(a).
  grad: ({ inputs, outputs, dys, needs }) => {
    const dy = dys[0];
    if (!dy) return [];
    const a = inputs[0]!;
    const b = inputs[1]!;
    let da: Tensor | null = null;
    if (needs[0]) {
      const k = constNumbers(b);
      // A constant scalar exponent (x², x^0.5) avoids a second Pow's subtraction.
      if (k && k.length === 1) {
        const e = k[0]!;
        da = e === 2 ? mul(dy, mul(a, 2)) : mul(dy, mul(pow(a, e - 1), e));
      } else {
        da = mul(dy, mul(b, pow(a, sub(b, 1))));
      }
    }
    const db = needs[1] ? mul(dy, mul(outputs[0]!, log(a))) : null;
    return [da, db];
  },
};
