import { readSafetensors, writeSafetensors, type TensorData } from '@vlreward/graph/io';

// The reward head `Linear(hidden, num_classes)` as its own safetensors file,
// with torch nn.Linear names (`classifier.weight` [C, H], `classifier.bias` [C])
// and the class count / label names in __metadata__, so a reloaded model never
// runs with a fresh random head.

export const HEAD_FILE_NAME = 'classifier.safetensors';

export interface ClassifierHead {
  /** [numClasses, hiddenSize] */
  readonly weight: TensorData;
  /** [numClasses] */
  readonly bias: TensorData;
  /** Optional class names, index = class id. */
  readonly labels?: readonly string[];
}

export interface LoadedClassifierHead extends ClassifierHead {
  readonly numClasses: number;
  readonly hiddenSize: number;
  readonly metadata: Readonly<Record<string, string>>;
}

function check(head: ClassifierHead, where: string): { numClasses: number; hiddenSize: number } {
  const w = head.weight.dims;
  const b = head.bias.dims;
  if (w.length !== 2) throw new Error(`${where}: classifier.weight has shape [${w.join(', ')}], expected [num_classes, hidden_size]`);
  const [numClasses, hiddenSize] = w as [number, number];
  if (b.length !== 1 || b[0] !== numClasses) {
    throw new Error(`${where}: classifier.bias has shape [${b.join(', ')}], expected [${numClasses}] (num_classes from classifier.weight)`);
  }
  if (numClasses < 1) throw new Error(`${where}: num_classes must be ≥ 1 (classifier.weight is [${w.join(', ')}])`);
  if (head.labels && head.labels.length !== numClasses) {
    throw new Error(`${where}: ${head.labels.length} label names for ${numClasses} classes`);
  }
  return { numClasses, hiddenSize };
}

/** Write `classifier.safetensors` (fsynced, atomic rename). */
export async function writeClassifierHead(path: string, head: ClassifierHead): Promise<void> {
  const { numClasses, hiddenSize } = check(head, path);
  const metadata: Record<string, string> = {
    format: 'pt',
    num_classes: String(numClasses),
    hidden_size: String(hiddenSize),
  };
  if (head.labels) metadata['labels'] = JSON.stringify(head.labels);
  await writeSafetensors(path, { 'classifier.weight': head.weight, 'classifier.bias': head.bias }, metadata);
}

/** Read a head file; metadata is optional (a plain torch-saved head works) but must agree with the shapes when present. */
export async function readClassifierHead(path: string): Promise<LoadedClassifierHead> {
  const { tensors, metadata } = await readSafetensors(path);
  // `weight`/`bias` is how the seed's `classifier.state_dict()` names them (its classifier.pt, converted).
  const weight = tensors.get('classifier.weight') ?? tensors.get('weight');
  const bias = tensors.get('classifier.bias') ?? tensors.get('bias');
  if (!weight || !bias) {
    throw new Error(
      `${path}: expected tensors 'classifier.weight' and 'classifier.bias' (or 'weight' and 'bias'), found ${[...tensors.keys()].map((k) => `'${k}'`).join(', ') || 'none'}`,
    );
  }
  let labels: string[] | undefined;
  if (metadata['labels'] !== undefined) {
    try {
      const parsed: unknown = JSON.parse(metadata['labels']);
      if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) throw new Error('not a list of strings');
      labels = parsed as string[];
    } catch (e) {
      throw new Error(`${path}: __metadata__.labels must be a JSON list of strings (${(e as Error).message})`);
    }
  }
  const head: ClassifierHead = labels ? { weight, bias, labels } : { weight, bias };
  const { numClasses, hiddenSize } = check(head, path);
  for (const [key, value] of [
    ['num_classes', numClasses],
    ['hidden_size', hiddenSize],
  ] as const) {
    const m = metadata[key];
    if (m !== undefined && Number(m) !== value) {
      throw new Error(`${path}: __metadata__.${key} is ${m} but classifier.weight is [${weight.dims.join(', ')}]`);
    }
  }
  return { ...head, numClasses, hiddenSize, metadata };
}
