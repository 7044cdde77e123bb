// One framed TCP connection between rank 0's rendezvous and another rank:
// [u32 payload length][u8 type][payload]. Every wait on it has a deadline, and a
// connection that closes without a goodbye fails every wait at once, so a dead peer
// shows up as an error naming it rather than as a hang.

import type { Socket } from 'node:net';

export const MSG = {
  hello: 1, // u32 rank, u32 size
  ready: 2,
  bytes: 3, // broadcast payload
  barrier: 4,
  release: 5,
  bye: 6,
  peerLost: 7, // u32 rank
  reject: 8, // utf-8 reason
} as const;
export type MsgType = (typeof MSG)[keyof typeof MSG];

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(MSG).map(([k, v]) => [v, k]));
const HEADER = 5;

interface Waiter {
  readonly type: MsgType;
  readonly resolve: (payload: Buffer) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class Channel {
  private pending: Buffer = Buffer.alloc(0);
  private readonly inbox: { type: number; payload: Buffer }[] = [];
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  private saidBye = false;
  private gotBye = false;
  /** Called once when the peer closes without a goodbye (or the socket errors). */
  onLost: (reason: string) => void = () => undefined;
  /** Control messages that are not waited for (peerLost). */
  onControl: (type: number, payload: Buffer) => void = () => undefined;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    let lastError = '';
    socket.on('error', (e) => (lastError = (e as NodeJS.ErrnoException).code ?? e.message));
    socket.on('close', () => {
      if (this.saidBye || this.gotBye) return this.fail(new Error('the connection was closed'));
      const reason = `connection closed without a goodbye${lastError ? ` (${lastError})` : ''}`;
      this.onLost(reason); // first: the owner fails the waits with an error naming the rank
      this.fail(new Error(reason));
    });
  }

  send(type: MsgType, payload: Uint8Array = new Uint8Array(0)): void {
    if (this.failure || this.socket.destroyed) return; // the loss is reported by the waits
    const head = Buffer.alloc(HEADER);
    head.writeUInt32LE(payload.length, 0);
    head.writeUInt8(type, 4);
    this.socket.write(Buffer.concat([head, payload]));
    if (type === MSG.bye) this.saidBye = true;
  }

  /** The next message, which must be of `type`; `what` names it in errors ("rank 1's barrier"). */
  receive(type: MsgType, timeoutMs: number, what: string): Promise<Buffer> {
    if (this.waiter) return Promise.reject(new Error(`rendezvous: two waits at once on one connection (${what})`));
    const queued = this.inbox.shift();
    if (queued) return queued.type === type ? Promise.resolve(queued.payload) : Promise.reject(unexpected(queued.type, queued.payload, type, what));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`timed out after ${fmtSeconds(timeoutMs)} waiting for ${what}`));
      }, timeoutMs);
      this.waiter = { type, resolve, reject, timer };
    });
  }

  /** Fails the current and every later wait with `e` (the peer, or another rank, is gone). */
  fail(e: Error): void {
    if (!this.failure) this.failure = e;
    const w = this.waiter;
    this.waiter = null;
    if (w) {
      clearTimeout(w.timer);
      w.reject(this.failure);
    }
  }

  close(): void {
    this.send(MSG.bye);
    this.socket.end();
    this.socket.unref();
  }

  private onData(d: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, d]) : d;
    while (this.pending.length >= HEADER) {
      const len = this.pending.readUInt32LE(0);
      if (this.pending.length < HEADER + len) break;
      const type = this.pending.readUInt8(4);
      const payload = Buffer.from(this.pending.subarray(HEADER, HEADER + len));
      this.pending = this.pending.subarray(HEADER + len);
      this.deliver(type, payload);
    }
  }

  private deliver(type: number, payload: Buffer): void {
    if (type === MSG.bye) {
      this.gotBye = true;
      return;
    }
    if (type === MSG.peerLost) return this.onControl(type, payload);
    const w = this.waiter;
    if (!w) {
      this.inbox.push({ type, payload });
      return;
    }
    this.waiter = null;
    clearTimeout(w.timer);
    if (type === w.type) w.resolve(payload);
    else w.reject(unexpected(type, payload, w.type, ''));
  }
}

function unexpected(got: number, payload: Buffer, want: number, what: string): Error {
  if (got === MSG.reject) return new Error(`the rendezvous rejected this rank: ${payload.toString('utf8')}`);
  return new Error(`rendezvous protocol error: got '${NAMES[got] ?? got}' while waiting for '${NAMES[want]}'${what ? ` (${what})` : ''}: are all ranks running the same version?`);
}

export function fmtSeconds(ms: number): string {
  return `${+(ms / 1000).toFixed(1)} s`;
}
