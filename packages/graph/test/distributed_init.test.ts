// Which backend initCollective() picks from the environment, the single-process
// collective, and the errors of a machine without NCCL (this one: no GPU).
import koffi from 'koffi';
import { describe, expect, it } from 'vitest';
import {
  checkReplicas,
  chooseBackend,
  chunkRanges,
  cudaDeviceIndex,
  CUDART_FUNCTIONS,
  initCollective,
  loadNccl,
  NCCL_FUNCTIONS,
  NcclUnavailableError,
  parameterChecksum,
  readLaunch,
  registerNcclTypes,
  SingleProcessCollective,
} from '@vlreward/graph/distributed';
import { freePort } from './distributed_workers/launch.js';

const mpirunEnv = { OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '1' };
const torchrunEnv = { RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1', MASTER_ADDR: 'node0', MASTER_PORT: '29500' };

describe('the launch environment', () => {
  it('reads mpirun, srun (PMIx), torchrun-style and plain launches', () => {
    expect(readLaunch(mpirunEnv)).toEqual({ launcher: 'mpi', rank: 1, size: 4, localRank: 1 });
    expect(readLaunch({ PMIX_RANK: '5', SLURM_NTASKS: '8', SLURM_LOCALID: '1' })).toEqual({ launcher: 'mpi', rank: 5, size: 8, localRank: 1 });
    expect(readLaunch(torchrunEnv)).toEqual({ launcher: 'env', rank: 3, size: 4, localRank: 1, masterAddr: 'node0', masterPort: 29500 });
    expect(readLaunch({ WORLD_SIZE: '1' })).toEqual({ launcher: 'env', rank: 0, size: 1, localRank: 0 });
    expect(readLaunch({})).toEqual({ launcher: 'none', rank: 0, size: 1, localRank: 0 });
  });

  it("moves the rendezvous off torchrun's own store port", () => {
    const torchrun = { ...torchrunEnv, TORCHELASTIC_USE_AGENT_STORE: 'True' };
    expect(() => readLaunch(torchrun)).toThrow("under torchrun, MASTER_PORT is taken by torchrun's own store; set VLREWARD_RENDEZVOUS_PORT");
    expect(readLaunch({ ...torchrun, VLREWARD_RENDEZVOUS_PORT: '29600' }).masterPort).toBe(29600);
    expect(readLaunch({ ...torchrunEnv, TORCHELASTIC_USE_AGENT_STORE: 'False' }).masterPort).toBe(29500);
  });

  it('names the variable that is missing or malformed', () => {
    expect(() => readLaunch({ WORLD_SIZE: '2', RANK: '0' })).toThrow('WORLD_SIZE=2 needs MASTER_ADDR');
    expect(() => readLaunch({ WORLD_SIZE: '2', MASTER_ADDR: 'h', MASTER_PORT: '1' })).toThrow('RANK is not set');
    expect(() => readLaunch({ ...torchrunEnv, RANK: '4' })).toThrow('RANK=4 is not below WORLD_SIZE=4');
    expect(() => readLaunch({ ...torchrunEnv, MASTER_PORT: '29500x' })).toThrow('MASTER_PORT="29500x" is not a non-negative integer');
  });

  it('picks single for one process, NCCL for cuda, MPI for CPU ranks under mpirun, and refuses CPU ranks without MPI', () => {
    expect(chooseBackend(readLaunch({}), 'cuda')).toBe('single');
    expect(chooseBackend(readLaunch({ WORLD_SIZE: '1' }), 'cpu')).toBe('single');
    expect(chooseBackend(readLaunch(mpirunEnv), 'cpu')).toBe('mpi');
    expect(chooseBackend(readLaunch(mpirunEnv), 'webgpu')).toBe('mpi');
    expect(chooseBackend(readLaunch(mpirunEnv), 'cuda')).toBe('nccl');
    expect(chooseBackend(readLaunch(torchrunEnv), 'cuda:0')).toBe('nccl');
    expect(() => chooseBackend(readLaunch(torchrunEnv), 'cpu')).toThrow(/CPU ranks communicate through MPI, so launch them with mpirun -np 4/);
  });

  it("maps cuda to the local rank's GPU and cuda:N to N", () => {
    expect(cudaDeviceIndex('cuda', 3)).toBe(3);
    expect(cudaDeviceIndex('cuda:0', 3)).toBe(0);
    expect(cudaDeviceIndex('cpu', 3)).toBeNull();
    expect(cudaDeviceIndex('cuda:x', 3)).toBeNull();
  });
});

describe('the single-process collective', () => {
  it('is what a plain launch gets: size 1, every operation leaves the buffers as they are', async () => {
    const c = await initCollective({ env: {}, device: 'cuda' });
    expect(c).toBeInstanceOf(SingleProcessCollective);
    expect([c.backend, c.rank, c.size, c.localRank]).toEqual(['single', 0, 1, 0]);
    const a = new Float32Array([1.5, -2, 3]);
    await c.allReduce(a, 'sum');
    await c.allReduce(a, 'mean');
    await c.broadcast(a, 0);
    await c.barrier();
    expect(Array.from(a)).toEqual([1.5, -2, 3]);
    expect(await c.allGather(0.1)).toEqual([0.1]);
    await expect(c.broadcast(a, 1)).rejects.toThrow('root 1 is not a rank of a single-process group');
    await c.close();
    await expect(c.barrier()).rejects.toThrow('barrier: the collective was closed');
  });
});

describe('MPI call chunks', () => {
  it('cover the buffer in pieces of at most the C int limit', () => {
    expect(chunkRanges(0, 4)).toEqual([]);
    expect(chunkRanges(10, 4)).toEqual([[0, 4], [4, 8], [8, 10]]);
    expect(chunkRanges(2 ** 31 + 5, 2 ** 30)).toEqual([[0, 2 ** 30], [2 ** 30, 2 ** 31], [2 ** 31, 2 ** 31 + 5]]);
    expect(() => chunkRanges(10, 0)).toThrow(RangeError);
  });
});

// Where NCCL is installed (a GPU machine) loading must work; elsewhere the error must
// name libnccl.so.2 and the install step.
let ncclHere = true;
try {
  loadNccl();
} catch {
  ncclHere = false;
}

describe('NCCL on a machine without it', () => {
  it.skipIf(ncclHere)('loading names libnccl.so.2 and what to install', () => {
    let err: unknown;
    try {
      loadNccl();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NcclUnavailableError);
    const m = (err as Error).message;
    expect(m).toMatch(/^NCCL backend: cannot load libnccl\.so\.2: .*cannot open shared object file/);
    expect(m).toContain('To fix: install NCCL 2');
    expect(m).toContain('nvidia-nccl-cu12');
    expect(m).toContain('CPU ranks use the MPI backend (mpirun)');
  });

  it.skipIf(ncclHere)('initCollective with cuda ranks fails at once, before waiting for a rendezvous', async () => {
    const env = { RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(await freePort()) };
    const t0 = Date.now();
    await expect(initCollective({ env, device: 'cuda' })).rejects.toThrow(NcclUnavailableError);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it.runIf(ncclHere)('loads where it is installed', () => {
    expect(loadNccl().path).toMatch(/nccl/);
  });
});

describe('NCCL and CUDA runtime declarations', () => {
  it('every C prototype parses as koffi reads it (checked here, bound only where the libraries exist)', () => {
    registerNcclTypes();
    const all = [...Object.entries(NCCL_FUNCTIONS).map(([k, d]) => [`nccl_${k}`, d]), ...Object.entries(CUDART_FUNCTIONS).map(([k, d]) => [`cuda_${k}`, d])];
    expect(all).toHaveLength(21);
    for (const [key, decl] of all as [string, string][]) {
      // A unique type name per entry: cudaMemcpyAsync is declared twice.
      const proto = koffi.proto(decl.replace(/(\w+)\(/, `check_${key}(`));
      expect(koffi.introspect(proto).name, decl).toBe(`check_${key}`);
    }
    expect(koffi.sizeof('ncclUniqueId')).toBe(128);
  });
});

describe('replica checksums', () => {
  it('change with any bit and with the order of the buffers', () => {
    const a = new Float32Array([1, 2, 3]);
    const b = new Float32Array([4, 5]);
    const base = parameterChecksum([a, b]);
    expect(parameterChecksum([new Float32Array([1, 2, 3]), new Float32Array([4, 5])])).toBe(base);
    expect(parameterChecksum([b, a])).not.toBe(base);
    const flipped = new Float32Array(a);
    new Uint32Array(flipped.buffer)[1]! ^= 1; // the lowest mantissa bit of 2
    expect(parameterChecksum([flipped, b])).not.toBe(base);
    expect(parameterChecksum([a.subarray(1)])).toBe(parameterChecksum([new Float32Array([2, 3])]));
  });

  it('pass on a single process (rank 0 agrees with itself)', async () => {
    await expect(checkReplicas(new SingleProcessCollective(), [new Float32Array([1])])).resolves.toBeUndefined();
  });
});
