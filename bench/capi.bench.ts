// ORT C API backend vs onnxruntime-node for TrainingSession (`pnpm bench
// --only capi`), on the CPU provider: the fused training step of the toy
// transformer (packages/model/src/artifacts/toy_model.ts) in LoRA and full
// mode at two sizes, both backends on the same artifacts and batches,
// alternating steps so load on the machine hits both alike. Per case: median
// step time of each backend, whether losses and final state are
// bit-identical, and the host<->device bytes per step as counted at the
// binding (node: what it hands across, state included, i.e. what crosses
// PCIe per step under CUDA; capi: batch, masks, lr, step in and metrics out).
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { TensorData } from '../packages/graph/src/index.js';
import { buildArtifacts, TrainingSession } from '../packages/model/src/artifacts/index.js';
import { TOY_SMALL, toyBatch, toyForward, toyParams, type ToyConfig } from '../packages/model/test/toy_model.js';
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

async function runCase(c: Case): Promise<BenchResult[]> {
  const art = buildArtifacts(toyForward(c.cfg), toyParams(c.cfg, c.mode, 1), { name: `bench-capi-${c.mode}`, graphs: ['train'] });
  const opts = { intraOpThreads: threads, seed: 1 } as const;
  const node = await TrainingSession.create(art, { ...opts, backend: 'node' });
  const capi = await TrainingSession.create(art, { ...opts, backend: 'capi' });
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
  const [sn, sc] = [await node.getTrainableState(), await capi.getTrainableState()];
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
  const tr = { node: node.lastStepTransfer, capi: capi.lastStepTransfer };
  await node.dispose();
  await capi.dispose();
  const kib = (b: number) => round(b / 1024, 1);
  return [
    { name: `${tag} step (node)`, value: round(mn), unit: 'ms', note: `median of ${c.steps}, CPU, ${threads} threads` },
    { name: `${tag} step (capi)`, value: round(mc), unit: 'ms', note: `capi/node ${round(mc / mn, 3)}; losses and state ${identical ? 'bit-identical' : 'DIFFER'}` },
    { name: `${tag} host->device per step (node)`, value: kib(tr.node.hostToDevice), unit: 'KiB', note: 'batch + masks + scalars + params and AdamW m/v' },
    { name: `${tag} host->device per step (capi)`, value: kib(tr.capi.hostToDevice), unit: 'KiB', note: 'batch + masks + scalars; state stays bound' },
    { name: `${tag} device->host per step (node)`, value: kib(tr.node.deviceToHost), unit: 'KiB', note: 'metrics + logits + updated state' },
    { name: `${tag} device->host per step (capi)`, value: kib(tr.capi.deviceToHost), unit: 'KiB', note: 'metrics + logits' },
  ];
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const c of CASES) out.push(...(await runCase(c)));
  return out;
}

// Run directly: node --conditions=@vlreward/source --import tsx bench/capi.bench.ts
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(`${r.name}\t${r.value} ${r.unit}\t${r.note ?? ''}`);
}
