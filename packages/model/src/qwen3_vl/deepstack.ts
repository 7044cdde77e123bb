// DeepStack injection (modeling_qwen3_vl.py Qwen3VLTextModel._deepstack_process):
// h[image positions] += visual feature, written as one gather so it stays a
// plain differentiable add: feature rows are prefixed with a zero row, and
// each token picks row 0 (text) or 1 + k (its image token k).
import { add, concat, constant, gather, reshape, type Tensor } from '@vlreward/graph';

/** h [B, S, H] + [0; feat][index] with feat [T, H] and index int64 [B, S]. */
export function addDeepstack(h: Tensor, feat: Tensor, index: Tensor): Tensor {
  const H = feat.shape[feat.rank - 1];
  if (typeof H !== 'number') throw new Error(`addDeepstack: feature width of '${feat.name}' must be static`);
  const zero = constant(h.graph, { dtype: 'float32', dims: [1, H], data: new Float32Array(H) }, 'deepstack_zero_row');
  return add(h, gather(concat([zero, feat], 0), index, 0));
}

/** Token embeddings with image features at <|image_pad|> rows (masked_scatter as a gather). */
export function mergeImageEmbeds(tokenEmbeds: Tensor, imageEmbeds: Tensor, embedIndex: Tensor): Tensor {
  const H = tokenEmbeds.shape[tokenEmbeds.rank - 1];
  if (typeof H !== 'number') throw new Error(`mergeImageEmbeds: hidden width of '${tokenEmbeds.name}' must be static`);
  return gather(concat([reshape(tokenEmbeds, [-1, H]), imageEmbeds], 0), embedIndex, 0);
}
