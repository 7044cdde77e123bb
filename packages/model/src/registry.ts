// model_type → architecture (transformers.js models/registry.js style): the
// config parser, the weight table and the forward builder of each supported
// model family. Only Qwen3-VL today; an unknown model_type is a clear error.
import { parseQwen3VLConfig, type Qwen3VLConfig } from './qwen3_vl/config.js';
import { buildQwen3VLForward } from './qwen3_vl/build.js';
import { qwen3VLWeightSpecs } from './qwen3_vl/weights.js';

export interface ModelArchitecture {
  readonly modelType: string;
  readonly architectures: readonly string[];
  readonly parseConfig: typeof parseQwen3VLConfig;
  readonly weightSpecs: typeof qwen3VLWeightSpecs;
  readonly buildForward: typeof buildQwen3VLForward;
}

export const MODEL_REGISTRY: ReadonlyMap<string, ModelArchitecture> = new Map([
  [
    'qwen3_vl',
    {
      modelType: 'qwen3_vl',
      architectures: ['Qwen3VLForConditionalGeneration', 'Qwen3VLModel'],
      parseConfig: parseQwen3VLConfig,
      weightSpecs: qwen3VLWeightSpecs,
      buildForward: buildQwen3VLForward,
    },
  ],
]);

/** The architecture for a config.json's model_type, or an error listing the supported ones. */
export function getArchitecture(configJson: unknown, source = 'config.json'): ModelArchitecture {
  const mt = typeof configJson === 'object' && configJson !== null ? (configJson as { model_type?: unknown }).model_type : undefined;
  const arch = typeof mt === 'string' ? MODEL_REGISTRY.get(mt) : undefined;
  if (!arch) {
    throw new Error(`${source}: model_type ${JSON.stringify(mt ?? null)} is not supported (supported: ${[...MODEL_REGISTRY.keys()].join(', ')})`);
  }
  return arch;
}

export type { Qwen3VLConfig };
