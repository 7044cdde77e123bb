// A data-parallel worker process: builds its own model session from the factory module
// named by the coordinator and serves requests one at a time over IPC.

import { pathToFileURL } from 'node:url';
import type { GradientSession, Reply, Request, WorkerFactoryModule } from './protocol.js';
import type { RewardSample } from '../types.js';

let session: GradientSession<unknown> | null = null;
let encode: ((s: readonly RewardSample[]) => unknown) | null = null;

async function handle(m: Request): Promise<unknown> {
  if (m.op === 'init') {
    const mod = (await import(m.factory.startsWith('file:') ? m.factory : pathToFileURL(m.factory).href)) as WorkerFactoryModule;
    if (typeof mod.createWorkerSession !== 'function') throw new Error(`${m.factory}: does not export createWorkerSession(options, rank)`);
    ({ session, encode } = await mod.createWorkerSession(m.options, m.rank));
    return { numClasses: session.numClasses };
  }
  if (m.op === 'exit') {
    setImmediate(() => process.exit(0));
    return null;
  }
  if (!session || !encode) throw new Error('worker: not initialised');
  switch (m.op) {
    case 'accumulate':
      return session.accumulate(await encode(m.samples));
    case 'grads':
      return session.readGradients();
    case 'apply':
      await session.writeGradients(m.grads);
      return session.apply(m.lr, m.microSteps);
    case 'evaluate': {
      const r = await session.evaluate(await encode(m.samples));
      return { loss: r.loss, logits: Float32Array.from(r.logits as ArrayLike<number>) };
    }
    case 'getState':
      return session.getTrainableState();
    case 'setState':
      return session.setTrainableState(m.state);
  }
}

// Requests are served strictly in order: the coordinator awaits each reply.
let chain: Promise<void> = Promise.resolve();
process.on('message', (m: Request) => {
  chain = chain.then(async () => {
    let reply: Reply;
    try {
      reply = { ok: true, value: await handle(m) };
    } catch (e) {
      reply = { ok: false, error: (e as Error).stack ?? String(e) };
    }
    process.send!(reply);
  });
});
process.on('disconnect', () => process.exit(0));
