import type { DType, Tensor } from '@vlreward/graph';

/**
 * Where every weight comes from. The forward builder asks for each parameter
 * by its Hugging Face (or PEFT) name; the caller decides whether it is an
 * initializer (frozen, stored with the model) or a graph input (trainable,
 * fed each step), and may check the dtype/shape it is asked for.
 */
export type ParamSource = (name: string, dtype: DType, shape: readonly number[]) => Tensor;
