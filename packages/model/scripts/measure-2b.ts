// Build the real Qwen3-VL-2B-shaped reward graph (random weights, LoRA r=16 on
// all seven projections, 2-class head), save it with external data, create an
// ORT CPU session from the file and optionally run one forward. Prints one
// JSON line with timings, peak RSS and parameter counts by part.
// Run (from packages/model): node --conditions=@vlreward/source --expose-gc --import tsx scripts/measure-2b.ts [--forward]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { saveModel } from '@vlreward/graph';
import { createSession } from '@vlreward/graph/runtime';
import {
  buildQwen3VLGraph,
  DEFAULT_LORA,
  loraParamCount,
  parseQwen3VLConfig,
  prepareQwen3VLInputs,
  QWEN3_VL_2B_CONFIG,
  qwen3VLForwardFlops,
  qwen3VLParamCounts,
  randomWeight,
  syntheticQwen3VLBatch,
} from '../src/index.js';

const rssMB = (): number => Math.round(process.memoryUsage().rss / 2 ** 20);
const peakMB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

/** ORT profile: share of node time per op type, top 6. */
function summarizeProfile(path: string): string {
  const events = JSON.parse(readFileSync(path, 'utf8')) as { cat?: string; dur?: number; args?: { op_name?: string } }[];
  const byOp = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.args?.op_name || !e.dur) continue;
    byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + e.dur);
    total += e.dur;
  }
  return [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([op, us]) => `${op} ${Math.round((100 * us) / total)}%`).join(', ');
}

async function main(): Promise<void> {
  const forward = process.argv.includes('--forward');
  const config = parseQwen3VLConfig(QWEN3_VL_2B_CONFIG);
  const numClasses = 2;
  const lora = DEFAULT_LORA;
  let initMs = 0;
  let graphParams = 0;
  const t0 = performance.now();
  const { graph } = buildQwen3VLGraph(
    config,
    (g) => {
      const cache = new Map<string, ReturnType<typeof g.initializer>>();
      return (name, _dtype, shape) => {
        const hit = cache.get(name);
        if (hit) return hit;
        const ti = performance.now();
        const w = randomWeight({ name, shape }, 0, name.includes('lora_B') ? 0 : 0.02);
        initMs += performance.now() - ti;
        graphParams += w.data.length;
        const t = g.initializer(name, w);
        cache.set(name, t);
        return t;
      };
    },
    { numClasses, lora, loss: false },
  );
  const buildMs = performance.now() - t0 - initMs;
  const nodes = graph.nodes.length;
  const dir = mkdtempSync(join(tmpdir(), 'vlr-2b-'));
  try {
    const t1 = performance.now();
    const saved = saveModel(graph, dir, 'model.onnx');
    const saveMs = performance.now() - t1;
    const rssAfterBuild = rssMB();
    // Drop the JS copy of the weights before ORT loads its own.
    graph.initializers.clear();
    (globalThis as { gc?: () => void }).gc?.();
    const t2 = performance.now();
    const profPrefix = join(dir, 'profile');
    const session = await createSession(saved.modelPath, {
      intraOpThreads: 2,
      ...(forward ? { enableProfiling: true, profileFilePrefix: profPrefix } : {}),
    });
    const sessionMs = performance.now() - t2;
    const rssAfterSession = rssMB();
    let forwardMs: number | null = null;
    let flops: number | null = null;
    let topOps = '';
    if (forward) {
      const batch = syntheticQwen3VLBatch(config, { batch: 1, images: 3, height: 224, width: 224, textTokens: 24 });
      const prep = prepareQwen3VLInputs(config, batch);
      const feeds = Object.fromEntries(session.inputs.map((i) => [i.name, prep.feeds[i.name]!]));
      const t3 = performance.now();
      await session.run(feeds);
      forwardMs = performance.now() - t3;
      const [B, S] = batch.inputIds.dims as [number, number];
      flops = qwen3VLForwardFlops(config, { P: prep.numPatches, segLen: prep.feeds['vision.pack_index']!.dims[1]!, B, S });
      session.endProfiling();
      const file = readdirSync(dir).find((f) => f.startsWith('profile') && f.endsWith('.json'));
      if (file) topOps = summarizeProfile(join(dir, file));
    }
    await session.dispose();
    const counts = qwen3VLParamCounts(config);
    console.log(
      JSON.stringify({
        buildMs: Math.round(buildMs),
        randomInitMs: Math.round(initMs),
        saveMs: Math.round(saveMs),
        sessionMs: Math.round(sessionMs),
        forwardMs: forwardMs === null ? null : Math.round(forwardMs),
        forwardFlops: flops,
        nodes,
        topOps,
        modelBytes: saved.modelBytes,
        dataBytes: saved.dataBytes,
        rssAfterBuildMB: rssAfterBuild,
        rssAfterSessionMB: rssAfterSession,
        peakRssMB: peakMB(),
        params: {
          vision: counts.vision,
          text: counts.text,
          lora: loraParamCount(config, lora),
          head: numClasses * (config.headHiddenSize + 1),
          inGraph: graphParams,
        },
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
