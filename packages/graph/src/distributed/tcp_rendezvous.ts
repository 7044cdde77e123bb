// torchrun-style rendezvous over TCP: rank 0 listens on MASTER_PORT, the other ranks
// connect to MASTER_ADDR:MASTER_PORT. It carries only what NCCL needs before it has a
// communicator (rank 0's 128-byte ncclUniqueId, a barrier), never tensors: this is no
// gloo-like fallback. The connections stay open for the whole run as a liveness
// channel: when a rank's process ends without close(), rank 0 sees its socket close
// and tells the others, and every rank's waits (and the NCCL collective's) fail with
// the dead rank's number instead of hanging.

import { connect, createServer, type Server, type Socket } from 'node:net';
import { Channel, fmtSeconds, MSG } from './tcp_channel.js';

export interface TcpRendezvousOptions {
  readonly rank: number;
  readonly size: number;
  /** MASTER_ADDR: rank 0's host name or address, as the other ranks reach it. */
  readonly addr: string;
  /** MASTER_PORT: rank 0 listens on it (every interface). */
  readonly port: number;
  /** Deadline of joining and of every later exchange (default 120 s). */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const RETRY_MS = 200;

export class TcpRendezvous {
  private failure: Error | null = null;
  private readonly lostListeners: ((e: Error) => void)[] = [];
  private closed = false;

  private constructor(
    readonly rank: number,
    readonly size: number,
    private readonly where: string,
    private readonly timeoutMs: number,
    /** rank 0: channels to ranks 1 … size-1 (index = rank); others: [channel to rank 0]. */
    private readonly peers: Channel[],
    private readonly server: Server | null,
  ) {
    if (rank === 0) {
      peers.forEach((ch, r) => {
        if (r === 0) return;
        ch.onLost = (reason) => {
          // Tell everyone else first, then fail here.
          const msg = Buffer.alloc(4);
          msg.writeUInt32LE(r, 0);
          for (const other of peers) if (other && other !== ch) other.send(MSG.peerLost, msg);
          this.lose(new Error(`rank ${r} is gone: ${reason} (its process exited or crashed); rank 0 stops instead of waiting for it`));
        };
      });
    } else {
      const ch = peers[0]!;
      ch.onLost = (reason) => this.lose(new Error(`rank 0 is gone: the rendezvous at ${this.where} reported ${reason} (its process exited or crashed); rank ${rank} stops instead of waiting for it`));
      ch.onControl = (_type, payload) => {
        const dead = payload.readUInt32LE(0);
        this.lose(new Error(`rank ${dead} is gone (reported by rank 0): its process exited or crashed; rank ${rank} stops instead of waiting for it`));
      };
    }
  }

  /** Every rank calls it; resolves when all `size` ranks have joined. */
  static async join(o: TcpRendezvousOptions): Promise<TcpRendezvous> {
    const { rank, size, addr, port } = o;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`rendezvous: WORLD_SIZE must be an integer ≥ 1, got ${size}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw new RangeError(`rendezvous: RANK must be an integer in [0, ${size}), got ${rank}`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`rendezvous: MASTER_PORT must be a port number, got ${port}`);
    const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const where = `${addr}:${port}`;
    if (rank === 0) {
      const { server, peers } = await serve(size, port, timeoutMs);
      return new TcpRendezvous(0, size, where, timeoutMs, peers, server);
    }
    const ch = new Channel(await connectWithRetry(addr, port, rank, timeoutMs));
    const hello = Buffer.alloc(8);
    hello.writeUInt32LE(rank, 0);
    hello.writeUInt32LE(size, 4);
    ch.send(MSG.hello, hello);
    try {
      await ch.receive(MSG.ready, timeoutMs, `rank 0 to report that all ${size} ranks joined at ${where}`);
    } catch (e) {
      ch.socket.destroy();
      throw new Error(`rank ${rank}: ${(e as Error).message}`);
    }
    ch.socket.unref();
    return new TcpRendezvous(rank, size, where, timeoutMs, [ch], null);
  }

  /** Rank 0's `bytes` on every rank (other ranks pass null). */
  async broadcast(bytes: Uint8Array | null): Promise<Uint8Array> {
    this.check('broadcast');
    if (this.rank === 0) {
      if (!bytes) throw new TypeError('rendezvous broadcast: rank 0 must pass the bytes');
      for (const ch of this.peers.slice(1)) ch.send(MSG.bytes, bytes);
      return bytes;
    }
    return new Uint8Array(await this.wait(this.peers[0]!.receive(MSG.bytes, this.timeoutMs, "rank 0's broadcast")));
  }

  /** Resolves once every rank has called it. */
  async barrier(): Promise<void> {
    this.check('barrier');
    if (this.rank === 0) {
      await this.wait(Promise.all(this.peers.slice(1).map((ch, i) => ch.receive(MSG.barrier, this.timeoutMs, `rank ${i + 1}'s barrier`))));
      for (const ch of this.peers.slice(1)) ch.send(MSG.release);
      return;
    }
    this.peers[0]!.send(MSG.barrier);
    await this.wait(this.peers[0]!.receive(MSG.release, this.timeoutMs, 'rank 0 to release the barrier'));
  }

  /** `listener` runs once when another rank is found dead; the error names it. */
  onPeerLost(listener: (e: Error) => void): void {
    if (this.failure) listener(this.failure);
    else this.lostListeners.push(listener);
  }

  /** Says goodbye on every connection (so no one takes this rank for dead) and closes them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ch of this.peers) ch?.close();
    this.server?.close();
  }

  private lose(e: Error): void {
    if (this.failure || this.closed) return;
    this.failure = e;
    for (const ch of this.peers) ch?.fail(e);
    for (const l of this.lostListeners.splice(0)) l(e);
  }

  private check(what: string): void {
    if (this.closed) throw new Error(`rendezvous ${what} on rank ${this.rank}: it was closed`);
    if (this.failure) throw this.failure;
  }

  /** Prefixes this rank to errors, so a log line from any rank says whose it is. */
  private async wait<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      const m = (e as Error).message;
      throw new Error(m.startsWith('rank ') ? m : `rank ${this.rank}: ${m}`);
    }
  }
}

/** Rank 0: listens until ranks 1 … size-1 have said hello, then tells them all is ready. */
function serve(size: number, port: number, timeoutMs: number): Promise<{ server: Server; peers: Channel[] }> {
  return new Promise((resolve, reject) => {
    const peers: Channel[] = new Array(size);
    const server = createServer();
    let done = false;
    const finish = (e: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) {
        for (const ch of peers) ch?.socket.destroy();
        server.close();
        return reject(e);
      }
      server.close(); // no one else may join; the connections stay
      for (const ch of peers.slice(1)) {
        ch.send(MSG.ready);
        ch.socket.unref();
      }
      resolve({ server, peers });
    };
    const timer = setTimeout(() => {
      const missing = [...Array(size).keys()].filter((r) => r > 0 && !peers[r]);
      finish(new Error(`rank 0: ${plural(missing, 'rank')} ${missing.join(', ')} did not join the rendezvous on port ${port} within ${fmtSeconds(timeoutMs)} (were all ${size} ranks started, with MASTER_ADDR naming this host?)`));
    }, timeoutMs);
    server.on('error', (e: NodeJS.ErrnoException) =>
      finish(new Error(`rank 0: cannot listen on port ${port} (MASTER_PORT): ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ': another process uses it; pick another MASTER_PORT' : ''}`)),
    );
    server.on('connection', (socket: Socket) => {
      const ch = new Channel(socket);
      ch.receive(MSG.hello, timeoutMs, 'a hello').then(
        (p) => {
          const r = p.readUInt32LE(0), n = p.readUInt32LE(4);
          const why = n !== size ? `WORLD_SIZE ${n} differs from rank 0's ${size}` : r < 1 || r >= size ? `RANK ${r} is outside 1 … ${size - 1}` : peers[r] ? `RANK ${r} joined twice` : null;
          if (why) {
            ch.send(MSG.reject, Buffer.from(why));
            socket.end();
            return;
          }
          peers[r] = ch;
          if (peers.filter(Boolean).length === size - 1) finish(null);
        },
        () => socket.destroy(),
      );
    });
    server.listen(port);
  });
}

/** Other ranks: rank 0 may start later (another node, a slower container), so retry until the deadline. */
function connectWithRetry(addr: string, port: number, rank: number, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect({ host: addr, port });
      // An unroutable host would otherwise wait for the kernel's SYN timeout, past our deadline.
      s.setTimeout(Math.max(1, deadline - Date.now()), () => s.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })));
      s.once('connect', () => {
        s.setTimeout(0);
        s.removeAllListeners('error');
        s.removeAllListeners('timeout');
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        s.destroy();
        if (Date.now() + RETRY_MS < deadline) return void setTimeout(attempt, RETRY_MS);
        reject(new Error(`rank ${rank}: could not reach rank 0's rendezvous at ${addr}:${port} (MASTER_ADDR:MASTER_PORT) within ${fmtSeconds(timeoutMs)}: ${e.code ?? e.message} (is rank 0 running, and is the port open?)`));
      });
    };
    attempt();
  });
}

function plural(xs: readonly unknown[], word: string): string {
  return xs.length === 1 ? word : `${word}s`;
}
