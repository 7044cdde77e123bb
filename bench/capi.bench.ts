// TrainingSession on ORT's C API (`pnpm bench --only capi`): the fused
// training step of the toy transformer (packages/model/test/toy_model.ts) in
// LoRA and full mode at two sizes, against onnxruntime-node running the same
// graph with the state fed back through host memory by hand
// (packages/model/test/node_reference.ts), alternating steps so load on the
// machine hits both alike. Per case: median step time of each, whether losses
// and final state are bit-identical, and the host<->device bytes per steady
// step as TrainingSession counts them at its IoBinding (batch, lr, step in;
// metrics and logits out), beside what the reference hands across (the state
// too: what would cross PCIe per step without device residency). Then the
// same TrainingSession on WebGPU when an adapter loads (a GPU, or the software
// Vulkan GPUs of docs/GPU.md via VK_ICD_FILENAMES): its counted bytes per step.
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { TensorData } from '../packages/graph/src/index.js';
import { buildArtifacts, TrainingSession } from '../packages/model/src/artifacts/index.js';
import { NodeReference } from '../packages/model/test/node_reference.js';
import { TOY_SMALL, toyBatch, toyForward, toyParams, type ToyConfig } from '../packages/model/test/toy_model.js';
import { tryDevice } from '../scripts/gpu/lib/probe.js';
import type { BenchResult } from './types.js';

const threads = Number(process.env.VLREWARD_BENCH_THREADS ?? availableParallelism());
const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const TOY_MID: ToyConfig = { ...TOY_SMALL, vocab: 512, hidden: 128, heads: 4, layers: 4, ffn: 512 };

interface Case {
  readonly label: string;
  readonly cfg: ToyConfig;
  readonly mode: 'lora' | 'full';
  readonly steps: number;
}

const CASES: Case[] = [
  { label: 'toy small', cfg: TOY_SMALL, mode: 'lora', steps: 60 },
  { label: 'toy small', cfg: TOY_SMALL, mode: 'full', steps: 60 },
  { label: 'toy mid', cfg: TOY_MID, mode: 'lora', steps: 30 },
  { label: 'toy mid', cfg: TOY_MID, mode: 'full', steps: 30 },
];

const kib = (b: number) => round(b / 1024, 1);
const bytesOf = (r: Record<string, TensorData>) => Object.values(r).reduce((n, t) => n + t.data.byteLength, 0);

async function runCase(c: Case): Promise<BenchResult[]> {
  const art = buildArtifacts(toyForward(c.cfg), toyParams(c.cfg, c.mode, 1), { name: `bench-capi-${c.mode}`, graphs: ['train'] });
  const opts = { intraOpThreads: threads } as const;
  const capi = await TrainingSession.create(art, { ...opts, seed: 1 });
  const node = new NodeReference(art, await capi.getTrainableState(), opts);
  const batches: Record<string, TensorData>[] = [0, 1, 2, 3].map((i) => toyBatch(c.cfg, 4, 16, i));
  const times = { node: [] as number[], capi: [] as number[] };
  let identical = true;
  for (let i = 0; i < c.steps + 3; i++) {
    const b = batches[i % 4]!;
    let t0 = performance.now();
    const a = await node.step(b, 1e-3);
    const tn = performance.now() - t0;
    t0 = performance.now();
    const r = await capi.step(b, 1e-3);
    const tc = performance.now() - t0;
    if (a.loss !== r.loss || a.gradNorm !== r.gradNorm) identical = false;
    if (i >= 3) {
      times.node.push(tn);
      times.capi.push(tc);
    }
  }
  const [sn, sc] = [node.trainableState(), await capi.getTrainableState()];
  for (const k of Object.keys(sn.params)) {
    for (const rec of ['params', 'm', 'v'] as const) {
      const x = sn[rec][k]!.data;
      const y = sc[rec][k]!.data;
      for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) identical = false;
    }
  }
  const tag = `capi: ${c.label} ${c.mode}`;
  const mn = median(times.node);
  const mc = median(times.capi);
  const tr = capi.lastStepTransfer;
  // What the reference hands across per step: the batch, lr, step and the whole state in; every output out.
  const state = bytesOf(sn.params) + bytesOf(sn.m) + bytesOf(sn.v);
  const refIn = bytesOf(batches[0]!) + 8 + state;
  const refOut = state + tr.deviceToHost;
  await node.dispose();
  await capi.dispose();
  return [
    { name: `${tag} step (node, state via host)`, value: round(mn), unit: 'ms', note: `median of ${c.steps}, CPU, ${threads} threads` },
    { name: `${tag} step (TrainingSession, C API)`, value: round(mc), unit: 'ms', note: `C API/node ${round(mc / mn, 3)}; losses and state ${identical ? 'bit-identical' : 'DIFFER'}` },
    { name: `${tag} host->device per step (node, state via host)`, value: kib(refIn), unit: 'KiB', note: 'batch + scalars + params and AdamW m/v' },
    { name: `${tag} host->device per step (TrainingSession)`, value: kib(tr.hostToDevice), unit: 'KiB', note: 'counted at the binding: batch + scalars; state stays bound' },
    { name: `${tag} device->host per step (node, state via host)`, value: kib(refOut), unit: 'KiB', note: 'metrics + logits + updated state' },
    { name: `${tag} device->host per step (TrainingSession)`, value: kib(tr.deviceToHost), unit: 'KiB', note: 'counted at the binding: metrics + logits' },
  ];
}

/** TrainingSession on WebGPU (toy small, both modes): step time and counted bytes per steady step. */
async function runWebGpu(): Promise<BenchResult[]> {
  const why = await tryDevice({ provider: 'webgpu' });
  if (why !== null) {
    console.error(`bench capi: WebGPU rows skipped: ${why}`);
    return [];
  }
  const adapter = process.env.VK_ICD_FILENAMES ? ` (Vulkan ICD ${process.env.VK_ICD_FILENAMES.split('/').pop()})` : '';
  const out: BenchResult[] = [];
  for (const mode of ['lora', 'full'] as const) {
    const art = buildArtifacts(toyForward(TOY_SMALL), toyParams(TOY_SMALL, mode, 1), { name: `bench-capi-webgpu-${mode}`, graphs: ['train'] });
    const s = await TrainingSession.create(art, { provider: 'webgpu', seed: 1 });
    const batches = [0, 1, 2, 3].map((i) => toyBatch(TOY_SMALL, 4, 16, i));
    const times: number[] = [];
    let state = 0;
    for (const p of art.manifest.params) if (p.trainable) state += 12 * p.shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < 23; i++) {
      const t0 = performance.now();
      const r = await s.step(batches[i % 4]!, 1e-3);
      if (!Number.isFinite(r.loss)) throw new Error(`bench capi: WebGPU ${mode} step ${i}: loss ${r.loss}`);
      if (i >= 3) times.push(performance.now() - t0);
    }
    const tr = s.lastStepTransfer;
    await s.dispose();
    const tag = `capi: toy small ${mode} webgpu`;
    out.push(
      { name: `${tag} step`, value: round(median(times)), unit: 'ms', note: `median of 20${adapter}` },
      { name: `${tag} host->device per step`, value: kib(tr.hostToDevice), unit: 'KiB', note: `counted at the binding: batch + scalars (state ${kib(state)} KiB stays in GPU buffers)` },
      { name: `${tag} device->host per step`, value: kib(tr.deviceToHost), unit: 'KiB', note: 'counted at the binding: metrics + logits' },
    );
  }
  return out;
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const c of CASES) out.push(...(await runCase(c)));
  out.push(...(await runWebGpu()));
  return out;
}

// Run directly: node --conditions=@vlreward/source --import tsx bench/capi.bench.ts
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(`${r.name}\t${r.value} ${r.unit}\t${r.note ?? ''}`);
}
