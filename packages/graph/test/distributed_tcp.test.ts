// The TCP rendezvous that bootstraps NCCL (torchrun-style env): real processes over
// loopback exchange a 128-byte id and meet at barriers; a rank that dies is named by
// the others within a bounded time; every wait that cannot complete times out with a
// message saying what it waited for.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TcpRendezvous } from '@vlreward/graph/distributed';
import { freePort, results, runTcpRanks } from './distributed_workers/launch.js';

type R = { rank: number; check: string; [k: string]: unknown };

describe('TCP rendezvous between processes', () => {
  it("2 ranks: rank 0's 128-byte id reaches rank 1 unchanged; barriers wait for the late rank", async () => {
    const runs = await runTcpRanks(2, ['exchange'], 60_000);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const rows = runs.flatMap((r) => results<R>(r.stdout));
    const ids = rows.filter((r) => r.check === 'id');
    expect(ids).toHaveLength(2);
    expect(ids[0]!.bytes).toBe(128);
    expect(ids[1]!.sha).toBe(ids[0]!.sha);
    expect(rows.find((r) => r.rank === 0 && r.check === 'barrier')!.waitedMs).toBeGreaterThanOrEqual(900);
  });

  it('3 ranks: when rank 1 dies, ranks 0 and 2 fail their barrier within seconds, naming rank 1', async () => {
    const runs = await runTcpRanks(3, ['die'], 60_000);
    expect(runs.map((r) => r.code)).toEqual([1, 3, 1]);
    const lost = runs.flatMap((r) => results<R>(r.stdout)).filter((r) => r.check === 'lost');
    expect(lost.map((r) => r.rank)).toEqual([0, 2]);
    expect(lost[0]!.message).toMatch(/^rank 1 is gone: connection closed without a goodbye/);
    expect(lost[1]!.message).toMatch(/^rank 1 is gone \(reported by rank 0\)/);
    for (const r of lost) expect(r.detectedMs).toBeLessThan(5000);
  });

  it('when rank 0 dies, rank 1 fails naming rank 0 and the rendezvous address', async () => {
    const runs = await runTcpRanks(2, ['die0'], 60_000);
    const lost = results<R>(runs[1]!.stdout).find((r) => r.check === 'lost')!;
    expect(lost.message).toMatch(/^rank 0 is gone: the rendezvous at 127\.0\.0\.1:\d+ reported connection closed/);
    expect(lost.detectedMs).toBeLessThan(5000);
  });
});

describe('TCP rendezvous timeouts and refusals (in this process)', () => {
  it('a rank whose rank 0 never starts gives up at the deadline, naming MASTER_ADDR:MASTER_PORT', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(TcpRendezvous.join({ rank: 1, size: 2, addr: '127.0.0.1', port, timeoutMs: 1000 })).rejects.toThrow(
      new RegExp(`^rank 1: could not reach rank 0's rendezvous at 127\\.0\\.0\\.1:${port} \\(MASTER_ADDR:MASTER_PORT\\) within 1 s: ECONNREFUSED`),
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('rank 0 names the ranks that did not join in time', async () => {
    const port = await freePort();
    await expect(TcpRendezvous.join({ rank: 0, size: 3, addr: '127.0.0.1', port, timeoutMs: 800 })).rejects.toThrow(`rank 0: ranks 1, 2 did not join the rendezvous on port ${port} within 0.8 s`);
  });

  it('a rank with another WORLD_SIZE is rejected with both sizes in the message', async () => {
    const port = await freePort();
    const zero = TcpRendezvous.join({ rank: 0, size: 2, addr: '127.0.0.1', port, timeoutMs: 1500 });
    const zeroDone = zero.catch((e: Error) => e);
    await expect(TcpRendezvous.join({ rank: 1, size: 3, addr: '127.0.0.1', port, timeoutMs: 1500 })).rejects.toThrow("the rendezvous rejected this rank: WORLD_SIZE 3 differs from rank 0's 2");
    expect(((await zeroDone) as Error).message).toMatch(/rank 1 did not join/);
  });

  it('a busy MASTER_PORT is reported as such', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, r));
    const port = (busy.address() as { port: number }).port;
    try {
      await expect(TcpRendezvous.join({ rank: 0, size: 2, addr: '127.0.0.1', port, timeoutMs: 1000 })).rejects.toThrow(`rank 0: cannot listen on port ${port} (MASTER_PORT): EADDRINUSE`);
    } finally {
      busy.close();
    }
  });

  it('two ranks in one process: broadcast, barrier, then operations after close throw', async () => {
    const port = await freePort();
    const [a, b] = await Promise.all([0, 1].map((rank) => TcpRendezvous.join({ rank, size: 2, addr: '127.0.0.1', port, timeoutMs: 5000 })));
    const sent = new Uint8Array(128).map((_, i) => i);
    const [x, y] = await Promise.all([a!.broadcast(sent), b!.broadcast(null)]);
    expect(Array.from(y)).toEqual(Array.from(sent));
    expect(x).toBe(sent);
    await Promise.all([a!.barrier(), b!.barrier()]);
    a!.close();
    b!.close();
    await expect(b!.barrier()).rejects.toThrow('rendezvous barrier on rank 1: it was closed');
  });
});
