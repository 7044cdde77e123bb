// Graph input/output names shared by the artifact builder and the session
// runner. Parameters keep their Hugging Face names as input names, so feeds
// read like a state dict; everything else is namespaced to stay clear of them.
export const IO = {
  step: 'optim.step',
  lr: 'optim.lr',
  /** 1 / number of accumulated micro-batches (optimizer graph). */
  gradScale: 'optim.grad_scale',
  loss: 'loss',
  logits: 'logits',
  gradNorm: 'grad_norm',
  /** Global L2 norm of the updated trainable parameters: the runner's finiteness check (and a cheap checksum). */
  paramNorm: 'param_norm',
  lossScale: 'amp.loss_scale',
  growthTracker: 'amp.growth_tracker',
  foundInf: 'amp.found_inf',
  m: (p: string) => `adam.m/${p}`,
  v: (p: string) => `adam.v/${p}`,
  acc: (p: string) => `grad_acc/${p}`,
  dropout: (name: string) => `dropout/${name}`,
  /** An updated state tensor as a graph output. */
  updated: (x: string) => `updated/${x}`,
} as const;
