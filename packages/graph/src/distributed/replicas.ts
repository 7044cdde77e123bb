// Data-parallel replicas must hold bit-identical parameters (same initial broadcast,
// same all-reduced gradients, same optimizer step). A float summation order that
// differs between ranks, or a rank that skipped a step, breaks that silently;
// comparing a checksum of the parameters over allGather finds it.

import type { Collective } from './collective.js';

/** FNV-1a (32-bit) over the buffers' bytes, in order: any flipped bit changes it. */
export function parameterChecksum(buffers: readonly Float32Array[]): number {
  let h = 0x811c9dc5;
  for (const b of buffers) {
    const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  }
  return h;
}

/** Throws on every rank, naming the ranks whose parameters differ from rank 0's. */
export async function checkReplicas(c: Collective, buffers: readonly Float32Array[]): Promise<void> {
  await checkSameOnAllRanks(c, parameterChecksum(buffers), { what: 'checksums', format: (s) => s.toString(16) });
}

/**
 * Throws on every rank when a summary of the parameters (a checksum, a global norm:
 * exact float64 through allGather) differs from rank 0's, naming the ranks.
 * `when` places it in the message (e.g. 'after step 10').
 */
export async function checkSameOnAllRanks(
  c: Collective,
  value: number,
  o: { readonly what: string; readonly when?: string; readonly format?: (v: number) => string },
): Promise<void> {
  const all = await c.allGather(value);
  const off = all.flatMap((v, r) => (v !== all[0] ? [r] : []));
  if (off.length) {
    const fmt = o.format ?? String;
    throw new Error(
      `replicas diverged${o.when ? ` ${o.when}` : ''}: the parameters of rank${off.length > 1 ? 's' : ''} ${off.join(', ')} differ from rank 0's (${o.what} ${all.map(fmt).join(' ')})`,
    );
  }
}
