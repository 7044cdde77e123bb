// Copy a golden fixture folder (../shared/fixtures format) with the rows of
// model.language_model.embed_tokens.weight that the batch never uses set to
// zero, so it compresses from ~40 MB to ~1 MB and fits beside the GPU kit in
// one device run. Loss, logits and every compared gradient are unchanged: the
// classifier path reads only the embedding rows of input_ids, and the sparse
// embedding gradient is compared on those rows alone.
// Usage: node scripts/gpu/prune-fixture.mjs SRC_DIR DEST_DIR
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [src, dest] = process.argv.slice(2);
if (!src || !dest) {
  console.error('usage: prune-fixture.mjs SRC_DIR DEST_DIR');
  process.exit(2);
}
const EMBED = 'model.language_model.embed_tokens.weight';

function header(buf, file) {
  const n = Number(buf.readBigUInt64LE(0));
  const h = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  return { h, base: 8 + n, file };
}

mkdirSync(dest, { recursive: true });
for (const f of readdirSync(src)) if (f !== 'model.safetensors') copyFileSync(join(src, f), join(dest, f));

const inputs = readFileSync(join(src, 'inputs.safetensors'));
const ih = header(inputs, 'inputs.safetensors');
const ids = ih.h.input_ids;
if (!ids || ids.dtype !== 'I64') throw new Error(`${src}/inputs.safetensors: input_ids (I64) expected`);
const used = new Set();
for (let o = ih.base + ids.data_offsets[0]; o < ih.base + ids.data_offsets[1]; o += 8) used.add(Number(inputs.readBigInt64LE(o)));

const model = readFileSync(join(src, 'model.safetensors'));
const mh = header(model, 'model.safetensors');
const e = mh.h[EMBED];
if (!e || e.dtype !== 'F32' || e.shape.length !== 2) throw new Error(`${src}/model.safetensors: ${EMBED} (F32, 2-D) expected`);
const [rows, H] = e.shape;
const start = mh.base + e.data_offsets[0];
let zeroed = 0;
for (let r = 0; r < rows; r++) {
  if (used.has(r)) continue;
  model.fill(0, start + r * H * 4, start + (r + 1) * H * 4);
  zeroed++;
}
writeFileSync(join(dest, 'model.safetensors'), model);
console.log(`${dest}: kept ${rows - zeroed} of ${rows} embedding rows (the batch's token ids), zeroed ${zeroed}`);
