// The explicit registry of gradient rules (tfjs register_all_gradients.ts).
// Add each new op here; autodiff throws, naming the op and node, for any
// opType missing from this table.
import { AbsOp } from './Abs.js';
import { AddOp } from './Add.js';
import { AndOp } from './And.js';
import { ArgMaxOp } from './ArgMax.js';
import { CastOp } from './Cast.js';
import { ConcatOp } from './Concat.js';
import { ConstantOp } from './Constant.js';
import { CosOp } from './Cos.js';
import { CumSumOp } from './CumSum.js';
import { DivOp } from './Div.js';
import { EqualOp } from './Equal.js';
import { ErfOp } from './Erf.js';
import { ExpOp } from './Exp.js';
import { ExpandOp } from './Expand.js';
import { FlattenOp } from './Flatten.js';
import { FloorOp } from './Floor.js';
import { GatherOp } from './Gather.js';
import { GatherElementsOp } from './GatherElements.js';
import { GatherNDOp } from './GatherND.js';
import { GemmOp } from './Gemm.js';
import { GreaterOp } from './Greater.js';
import { GreaterOrEqualOp } from './GreaterOrEqual.js';
import { IdentityOp } from './Identity.js';
import { LessOp } from './Less.js';
import { LessOrEqualOp } from './LessOrEqual.js';
import { LogOp } from './Log.js';
import { LogSoftmaxOp } from './LogSoftmax.js';
import { MatMulOp } from './MatMul.js';
import { MaxOp } from './Max.js';
import { MinOp } from './Min.js';
import { MulOp } from './Mul.js';
import { NegOp } from './Neg.js';
import { NotOp } from './Not.js';
import { OneHotOp } from './OneHot.js';
import { OrOp } from './Or.js';
import { PadOp } from './Pad.js';
import { PowOp } from './Pow.js';
import { RandomUniformLikeOp } from './RandomUniformLike.js';
import { RangeOp } from './Range.js';
import { ReciprocalOp } from './Reciprocal.js';
import { ReduceL2Op } from './ReduceL2.js';
import { ReduceMaxOp } from './ReduceMax.js';
import { ReduceMeanOp } from './ReduceMean.js';
import { ReduceSumOp } from './ReduceSum.js';
import { ReduceSumSquareOp } from './ReduceSumSquare.js';
import { ReluOp } from './Relu.js';
import { ReshapeOp } from './Reshape.js';
import { ScatterElementsOp } from './ScatterElements.js';
import { ScatterNDOp } from './ScatterND.js';
import { ShapeOp } from './Shape.js';
import { SigmoidOp } from './Sigmoid.js';
import { SignOp } from './Sign.js';
import { SinOp } from './Sin.js';
import { SizeOp } from './Size.js';
import { SliceOp } from './Slice.js';
import { SoftmaxOp } from './Softmax.js';
import { SplitOp } from './Split.js';
import { SqrtOp } from './Sqrt.js';
import { SqueezeOp } from './Squeeze.js';
import { SubOp } from './Sub.js';
import { TanhOp } from './Tanh.js';
import { TransposeOp } from './Transpose.js';
import { TriluOp } from './Trilu.js';
import { UnsqueezeOp } from './Unsqueeze.js';
import { WhereOp } from './Where.js';
import type { OpDef } from './op.js';

const ALL: readonly OpDef[] = [
  AbsOp,
  AddOp,
  AndOp,
  ArgMaxOp,
  CastOp,
  ConcatOp,
  ConstantOp,
  CosOp,
  CumSumOp,
  DivOp,
  EqualOp,
  ErfOp,
  ExpOp,
  ExpandOp,
  FlattenOp,
  FloorOp,
  GatherOp,
  GatherElementsOp,
  GatherNDOp,
  GemmOp,
  GreaterOp,
  GreaterOrEqualOp,
  IdentityOp,
  LessOp,
  LessOrEqualOp,
  LogOp,
  LogSoftmaxOp,
  MatMulOp,
  MaxOp,
  MinOp,
  MulOp,
  NegOp,
  NotOp,
  OneHotOp,
  OrOp,
  PadOp,
  PowOp,
  RandomUniformLikeOp,
  RangeOp,
  ReciprocalOp,
  ReduceL2Op,
  ReduceMaxOp,
  ReduceMeanOp,
  ReduceSumOp,
  ReduceSumSquareOp,
  ReluOp,
  ReshapeOp,
  ScatterElementsOp,
  ScatterNDOp,
  ShapeOp,
  SigmoidOp,
  SignOp,
  SinOp,
  SizeOp,
  SliceOp,
  SoftmaxOp,
  SplitOp,
  SqrtOp,
  SqueezeOp,
  SubOp,
  TanhOp,
  TransposeOp,
  TriluOp,
  UnsqueezeOp,
  WhereOp,
];

export const OP_REGISTRY: ReadonlyMap<string, OpDef> = new Map(ALL.map((d) => [`${d.domain ?? ''}::${d.opType}`, d]));

export function getOpDef(opType: string, domain = ''): OpDef | undefined {
  return OP_REGISTRY.get(`${domain}::${opType}`);
}

export { abs } from './Abs.js';
export { add } from './Add.js';
export { and } from './And.js';
export { argMax } from './ArgMax.js';
export { cast } from './Cast.js';
export { concat } from './Concat.js';
export { constant, scalar, constInt64, scalarInt64, constValue, constNumbers } from './Constant.js';
export { cos } from './Cos.js';
export { cumsum } from './CumSum.js';
export type { CumSumOptions } from './CumSum.js';
export { div } from './Div.js';
export { equal } from './Equal.js';
export { erf } from './Erf.js';
export { exp } from './Exp.js';
export { expand } from './Expand.js';
export { flatten } from './Flatten.js';
export { floor } from './Floor.js';
export { gather } from './Gather.js';
export { gatherElements } from './GatherElements.js';
export { gatherND } from './GatherND.js';
export { gemm } from './Gemm.js';
export type { GemmOptions } from './Gemm.js';
export { greater } from './Greater.js';
export { greaterOrEqual } from './GreaterOrEqual.js';
export { identity, stopGradient, isStopGradient } from './Identity.js';
export { less } from './Less.js';
export { lessOrEqual } from './LessOrEqual.js';
export { log } from './Log.js';
export { logSoftmax } from './LogSoftmax.js';
export { matmul } from './MatMul.js';
export { max } from './Max.js';
export { min } from './Min.js';
export { mul } from './Mul.js';
export { neg } from './Neg.js';
export { not } from './Not.js';
export { oneHot } from './OneHot.js';
export type { OneHotOptions } from './OneHot.js';
export { or } from './Or.js';
export { pad } from './Pad.js';
export { pow } from './Pow.js';
export { randomUniformLike } from './RandomUniformLike.js';
export type { RandomUniformOptions } from './RandomUniformLike.js';
export { range } from './Range.js';
export { reciprocal } from './Reciprocal.js';
export { reduceL2 } from './ReduceL2.js';
export { reduceMax } from './ReduceMax.js';
export { reduceMean } from './ReduceMean.js';
export { reduceSum } from './ReduceSum.js';
export { reduceSumSquare } from './ReduceSumSquare.js';
export { relu } from './Relu.js';
export { reshape, reshapeTo } from './Reshape.js';
export { scatterElements } from './ScatterElements.js';
export { scatterND } from './ScatterND.js';
export type { ScatterReduction } from './ScatterND.js';
export { shapeOf } from './Shape.js';
export { sigmoid } from './Sigmoid.js';
export { sign } from './Sign.js';
export { sin } from './Sin.js';
export { size } from './Size.js';
export { slice, sliceBounds, SLICE_END } from './Slice.js';
export { softmax } from './Softmax.js';
export { split } from './Split.js';
export { sqrt } from './Sqrt.js';
export { squeeze } from './Squeeze.js';
export { sub } from './Sub.js';
export { tanh } from './Tanh.js';
export { transpose, transposeLast2 } from './Transpose.js';
export { trilu } from './Trilu.js';
export { unsqueeze } from './Unsqueeze.js';
export { where } from './Where.js';
export { shapeTensor, zerosLike } from './checks.js';
export type { TensorLike } from './checks.js';
export type { GradContext, OpDef } from './op.js';
