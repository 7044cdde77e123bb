// `vlreward doctor`: what this machine offers vlreward — versions, CPU, memory,
// ffmpeg, and for each ONNX Runtime execution provider whether a session actually
// loads and runs on it (listing alone does not prove a provider works).

import { execFileSync } from 'node:child_process';
import { cpus, freemem, totalmem } from 'node:os';
import { createSession, listProviders, missingCudaLibraries, ort, type Provider } from '@vlreward/graph/runtime';
import { Graph, add } from '@vlreward/graph';
import { parseFlags, type Command } from '../command.js';

export interface ProviderCheck {
  readonly name: Provider;
  readonly listed: boolean;
  readonly loads: boolean;
  readonly note: string;
  readonly ms?: number;
}

/** Creates a one-node session on `provider` and runs it once. */
async function tryProvider(provider: Provider): Promise<{ ok: boolean; note: string; ms: number }> {
  const t0 = performance.now();
  try {
    const g = new Graph('doctor', { opset: 21 });
    const x = g.input('x', 'float32', [2]);
    g.output(add(x, x), 'y');
    const s = await createSession(g, { provider, disableCpuFallback: provider !== 'cpu' });
    const out = await s.run({ x: { dtype: 'float32', dims: [2], data: new Float32Array([1, 2]) } });
    await s.dispose();
    const y = out.y!.data as Float32Array;
    if (y[0] !== 2 || y[1] !== 4) return { ok: false, note: `ran but computed [${[...y].join(', ')}] for 2·[1, 2]`, ms: performance.now() - t0 };
    return { ok: true, note: 'session created and ran', ms: performance.now() - t0 };
  } catch (e) {
    return { ok: false, note: (e as Error).message.split('\n')[0]!, ms: performance.now() - t0 };
  }
}

export async function checkProviders(): Promise<ProviderCheck[]> {
  const out: ProviderCheck[] = [];
  for (const p of listProviders()) {
    if (!p.available) {
      out.push({ name: p.name, listed: false, loads: false, note: p.note });
      continue;
    }
    const r = await tryProvider(p.name);
    out.push({ name: p.name, listed: true, loads: r.ok, note: r.ok ? `${r.note}; ${p.note}` : r.note, ms: Math.round(r.ms) });
  }
  return out;
}

function ffmpegVersion(): string {
  try {
    return execFileSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8' }).split('\n')[0]!.replace(/^ffmpeg version /, '');
  } catch {
    return 'not found (install the Debian package ffmpeg: video datasets need it)';
  }
}

export interface GpuDevice {
  readonly index: number;
  readonly name: string;
  readonly memoryTotalMiB: number;
  readonly memoryUsedMiB: number;
  readonly driver: string;
  readonly computeCapability: string;
}

/** NVIDIA GPUs as nvidia-smi lists them (ORT's Node binding reports no devices), or why none are listed. */
export function nvidiaGpus(): { devices: GpuDevice[]; note: string } {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total,memory.used,driver_version,compute_cap', '--format=csv,noheader,nounits'], {
      encoding: 'utf8',
      timeout: 15_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const devices = out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [index, name, total, used, driver, cc] = l.split(',').map((x) => x.trim());
        return { index: Number(index), name: name ?? '?', memoryTotalMiB: Number(total), memoryUsedMiB: Number(used), driver: driver ?? '?', computeCapability: cc ?? '?' };
      });
    return { devices, note: devices.length ? 'nvidia-smi' : 'nvidia-smi lists no GPU' };
  } catch (e) {
    return { devices: [], note: `no NVIDIA GPU seen (nvidia-smi: ${(e as Error).message.split('\n')[0]})` };
  }
}

export async function doctorReport() {
  const c = cpus();
  return {
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    onnxruntime: ort.env.versions,
    cpu: { model: c[0]?.model ?? 'unknown', cores: c.length },
    memory: { totalGiB: +(totalmem() / 2 ** 30).toFixed(1), freeGiB: +(freemem() / 2 ** 30).toFixed(1) },
    ffmpeg: ffmpegVersion(),
    gpus: nvidiaGpus(),
    /** Libraries the CUDA provider needs that the dynamic linker cannot find (empty when none, or no provider library). */
    cudaMissingLibraries: listProviders().find((p) => p.name === 'cuda')?.available ? missingCudaLibraries() : [],
    providers: await checkProviders(),
  };
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'check versions, CPU/memory, ffmpeg and which ONNX Runtime providers load',
  help: `usage: vlreward doctor [--json]

Prints Node and ONNX Runtime versions, CPU and memory, ffmpeg, NVIDIA GPUs with their memory
(nvidia-smi), CUDA libraries the provider cannot find, and for each execution provider
(cpu, cuda, webgpu) whether it is built in and whether a session loads and runs.
  --json   one JSON object instead of text`,
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: 'boolean' } });
    const r = await doctorReport();
    if (values.json) {
      console.log(JSON.stringify(r, null, 2));
    } else {
      console.log(`node         ${r.node} (${r.platform})`);
      console.log(`onnxruntime  ${Object.entries(r.onnxruntime).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      console.log(`cpu          ${r.cpu.cores} × ${r.cpu.model}`);
      console.log(`memory       ${r.memory.totalGiB} GiB total, ${r.memory.freeGiB} GiB free`);
      console.log(`ffmpeg       ${r.ffmpeg}`);
      if (r.gpus.devices.length === 0) console.log(`gpus         ${r.gpus.note}`);
      for (const g of r.gpus.devices) {
        console.log(`gpu ${String(g.index).padEnd(8)} ${g.name}, ${(g.memoryTotalMiB / 1024).toFixed(1)} GiB (${(g.memoryUsedMiB / 1024).toFixed(1)} used), sm_${g.computeCapability.replace('.', '')}, driver ${g.driver}`);
      }
      if (r.cudaMissingLibraries.length) console.log(`cuda libs    not found on the library path: ${r.cudaMissingLibraries.join(', ')}`);
      console.log('providers');
      for (const p of r.providers) console.log(`  ${p.name.padEnd(7)} ${p.loads ? 'ok  ' : 'NO  '} ${p.note}${p.ms !== undefined ? ` (${p.ms} ms)` : ''}`);
    }
    return r.providers.find((p) => p.name === 'cpu')?.loads ? 0 : 1;
  },
};
