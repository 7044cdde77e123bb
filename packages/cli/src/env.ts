// The seed's environment variables (main.py), read as defaults that command-line flags
// override. A bad value is an error naming the variable, never a silent default.

import { existsSync as exists } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './command.js';

export type SeedMode = 'train' | 'eval' | 'predict' | 'chat' | 'analyze' | 'demo' | 'doctor';

export interface SeedEnv {
  mode?: SeedMode;
  /** QWEN3VL_MODEL: hub id or local directory. */
  model?: string;
  /** FINETUNE_MODE: 'full' is full fine-tuning; the seed treats every other value as LoRA. */
  finetuneMode?: 'lora' | 'full';
  numClasses?: number;
  maxTrainSamples?: number;
  batchSize?: number;
  lr?: number;
  epochs?: number;
  maxSteps?: number;
  /** CKPT_DIR, absolute (a relative value resolves against the working directory). */
  ckptDir?: string;
}

/** The seed's default model id (QWEN3VL_MODEL unset). */
export const DEFAULT_MODEL = 'Qwen/Qwen3-VL-2B-Instruct';

export const ENV_HELP = `environment (the seed's variables; flags win over them):
  MODE               train | eval | predict | chat | analyze | demo | doctor (when no command is given)
  QWEN3VL_MODEL      model hub id or directory            (default ${DEFAULT_MODEL})
  FINETUNE_MODE      lora | full                          (default lora)
  NUM_CLASSES        reward bins                          (default: length of the first reward_bins)
  MAX_TRAIN_SAMPLES  cap on training samples              (default: all)
  BATCH_SIZE         per-step batch                       (default 2)
  LR                 AdamW learning rate                  (default 1e-4)
  EPOCHS             epochs                               (default 10)
  MAX_STEPS          optimizer steps, wins over EPOCHS    (default 50)
  CKPT_DIR           checkpoint directory; a relative path resolves against the
                     current working directory            (default checkpoints/qwen3_reward)`;

const MODES: readonly SeedMode[] = ['train', 'eval', 'predict', 'chat', 'analyze', 'demo', 'doctor'];

function positiveInt(name: string, raw: string): number {
  const t = raw.trim();
  if (!/^\d+$/.test(t) || Number(t) < 1) throw new UsageError(`${name}='${raw}': expected a positive integer`);
  return Number(t);
}

/**
 * Reads the seed's variables from `env`. Empty strings count as unset (a shell's
 * `LR= vlreward` should not fail). `cwd` resolves a relative CKPT_DIR; `mode: true`
 * also reads and checks MODE.
 */
export function readSeedEnv(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd(), opts: { mode?: boolean } = {}): SeedEnv {
  const get = (k: string) => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const out: SeedEnv = {};
  // MODE only matters where it routes (main); commands read the other variables
  // (test runners such as vitest set MODE for their own purposes).
  const mode = opts.mode === true ? get('MODE') : undefined;
  if (mode !== undefined) {
    const m = mode.trim().toLowerCase();
    if (!MODES.includes(m as SeedMode)) throw new UsageError(`MODE='${mode}': expected one of ${MODES.join(' | ')}`);
    out.mode = m as SeedMode;
  }
  const model = get('QWEN3VL_MODEL');
  if (model !== undefined) out.model = model.trim();
  const ft = get('FINETUNE_MODE');
  if (ft !== undefined) {
    const f = ft.trim().toLowerCase();
    // The seed: "full" → full fine-tuning, any other value → LoRA. We accept only the
    // two documented words: a typo such as "ful" should not silently train LoRA.
    if (f !== 'lora' && f !== 'full') throw new UsageError(`FINETUNE_MODE='${ft}': expected lora or full`);
    out.finetuneMode = f;
  }
  const nc = get('NUM_CLASSES');
  if (nc !== undefined) {
    out.numClasses = positiveInt('NUM_CLASSES', nc);
    if (out.numClasses < 2) throw new UsageError(`NUM_CLASSES='${nc}': expected at least 2 classes`);
  }
  const mts = get('MAX_TRAIN_SAMPLES');
  // The seed's None means "all"; accept the spellings a user may carry over.
  if (mts !== undefined && !['none', 'all'].includes(mts.trim().toLowerCase())) out.maxTrainSamples = positiveInt('MAX_TRAIN_SAMPLES', mts);
  const bs = get('BATCH_SIZE');
  if (bs !== undefined) out.batchSize = positiveInt('BATCH_SIZE', bs);
  const lr = get('LR');
  if (lr !== undefined) {
    const v = Number(lr.trim());
    if (!Number.isFinite(v) || v <= 0) throw new UsageError(`LR='${lr}': expected a positive number such as 1e-4`);
    out.lr = v;
  }
  const ep = get('EPOCHS');
  if (ep !== undefined) out.epochs = positiveInt('EPOCHS', ep);
  const ms = get('MAX_STEPS');
  if (ms !== undefined) out.maxSteps = positiveInt('MAX_STEPS', ms);
  const ck = get('CKPT_DIR');
  if (ck !== undefined) out.ckptDir = isAbsolute(ck) ? ck : resolve(cwd, ck);
  return out;
}

// --- locating the shipped processor files and the embedded default -----------------

/** The monorepo root (the folder with pnpm-workspace.yaml) above this file, if any. */
export function repoRoot(from: string = fileURLToPath(import.meta.url)): string | null {
  let d = dirname(from);
  for (;;) {
    if (exists(join(d, 'pnpm-workspace.yaml'))) return d;
    const up = dirname(d);
    if (up === d) return null;
    d = up;
  }
}

/**
 * The Qwen3-VL processor files for the embedded tiny model: --processor, else
 * $VLREWARD_PROCESSOR, else ../shared/models/qwen3vl-processor beside the repo root
 * (where CI and the developers have it).
 */
export function defaultProcessorDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [flag, env.VLREWARD_PROCESSOR, (() => {
    const r = repoRoot();
    return r ? resolve(r, '..', 'shared', 'models', 'qwen3vl-processor') : undefined;
  })()].filter((x): x is string => Boolean(x));
  const found = candidates.find((c) => exists(join(c, 'tokenizer.json')));
  if (!found)
    throw new UsageError(
      `no Qwen3-VL processor files found (looked in ${candidates.join(', ') || 'nowhere'}); pass --processor DIR with tokenizer.json, chat_template.json and preprocessor_config.json (e.g. a Qwen/Qwen3-VL-2B-Instruct folder)`,
    );
  return resolve(found);
}
