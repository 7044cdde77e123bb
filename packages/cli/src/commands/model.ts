// `vlreward model synth`: a random-weight Qwen3-VL (the real 2B architecture by default)
// written into the Hugging Face hub cache as a real download would be, so
// `--model Qwen/Qwen3-VL-2B-Instruct` resolves offline for tests, benches and GPU checks.

import { readFileSync } from 'node:fs';
import { hfHubCacheDir } from '@vlreward/graph';
import { QWEN3_VL_2B_CONFIG, QWEN3_VL_2B_REPO, tinyQwen3VLConfig, writeHubTestModel, type Qwen3VLConfigJson } from '@vlreward/model';
import { parseFlags, UsageError, type Command } from '../command.js';
import { defaultProcessorDir } from '../env.js';

const FLAGS = {
    config: { type: 'string' },
    tiny: { type: 'boolean' },
    cache: { type: 'string' },
    repo: { type: 'string' },
    processor: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean' },
  } as const;

function flags(argv: string[]) {
  return parseFlags(argv, FLAGS).values;
}

function readConfig(path: string): Qwen3VLConfigJson {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--config ${path}: cannot read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text) as Qwen3VLConfigJson;
  } catch (e) {
    throw new UsageError(`--config ${path}: not valid JSON (${(e as Error).message})`);
  }
}

export const modelSynthCommand: Command = {
  name: 'model synth',
  summary: 'write a random-weight Qwen3-VL into the HF hub cache (resolves offline as Qwen/Qwen3-VL-2B-Instruct)',
  help: `usage: vlreward model synth [--config FILE | --tiny] [--cache DIR] [--repo ID] [--processor DIR] [--seed N] [--json]

Writes <cache>/models--Qwen--Qwen3-VL-2B-Instruct/{refs/main, snapshots/<commit>/, blobs/}
as huggingface_hub lays out a download: config.json, one bf16 model.safetensors (random
weights, streamed tensor by tensor: ~4.3 GB for the 2B architecture) and the processor files,
the snapshot files symlinked to blobs named by the hub's ETags. Then, offline:
  HF_HUB_CACHE=DIR HF_HUB_OFFLINE=1 vlreward train --root DATASET --model Qwen/Qwen3-VL-2B-Instruct

  --config FILE     config.json to write (default: the Qwen3-VL-2B-Instruct architecture, as in
                    ../shared/models/qwen3-vl-2b-instruct.config.json)
  --tiny            the tiny test architecture instead (2+2 layers, a few MB, seconds)
  --cache DIR       hub cache root (default $HF_HUB_CACHE, else $HF_HOME/hub,
                    else ~/.cache/huggingface/hub)
  --repo ID         hub id the entry is for (default ${QWEN3_VL_2B_REPO})
  --processor DIR   processor files to include (default $VLREWARD_PROCESSOR, else
                    ../shared/models/qwen3vl-processor beside the repo)
  --seed N          random init seed (default 0)
  --json            print one JSON object (snapshot, commit, files) instead of the report`,
  async run(argv) {
    const v = flags(argv);
    if (v.config && v.tiny) throw new UsageError('--config and --tiny are exclusive');
    const config = v.tiny ? tinyQwen3VLConfig() : v.config ? readConfig(v.config) : QWEN3_VL_2B_CONFIG;
    const seed = v.seed === undefined ? 0 : Number(v.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed '${v.seed}': expected an integer ≥ 0`);
    const cacheDir = v.cache ?? hfHubCacheDir();
    const repoId = v.repo ?? QWEN3_VL_2B_REPO;
    let shown = -1;
    const t0 = performance.now();
    const w = await writeHubTestModel({
      config,
      processorDir: defaultProcessorDir(v.processor),
      cacheDir,
      repoId,
      seed,
      onProgress: (done, total) => {
        const pct = Math.floor((100 * done) / total / 10) * 10;
        if (!v.json && total > 100e6 && pct > shown) {
          shown = pct;
          process.stderr.write(`model.safetensors ${pct}% of ${(total / 1e9).toFixed(2)} GB\n`);
        }
      },
    });
    if (v.json) {
      console.log(JSON.stringify({ ...w, cacheDir }));
      return 0;
    }
    const bytes = w.files.reduce((a, f) => a + f.bytes, 0);
    console.log(`${repoId} (random weights, ${(w.params / 1e6).toFixed(1)} M params, ${w.tensors} tensors, bf16) → ${w.snapshotDir}`);
    for (const f of w.files) console.log(`  ${f.file.padEnd(26)} ${String(f.bytes).padStart(12)} B  blobs/${f.blob}`);
    console.log(`  refs/main = ${w.commit}   (${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    console.log(`next: HF_HUB_CACHE=${cacheDir} HF_HUB_OFFLINE=1 vlreward train --root DATASET --model ${repoId}`);
    return 0;
  },
};
