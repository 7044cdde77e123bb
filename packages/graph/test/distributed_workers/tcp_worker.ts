// One rank of the TCP rendezvous tests (launch.ts runTcpRanks sets RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT). argv[2] picks the scenario:
//   exchange  rank 0's 128-byte id reaches everyone; a barrier waits for a late rank
//   die       rank 1 exits without close() while the others wait in a barrier
//   die0      rank 0 does the same

import { createHash, randomBytes } from 'node:crypto';
import { readLaunch, TcpRendezvous } from '@vlreward/graph/distributed';

const scenario = process.argv[2];
const launch = readLaunch();

function report(o: Record<string, unknown>): void {
  process.stdout.write(`RESULT ${JSON.stringify({ rank: launch.rank, ...o })}\n`);
}

const rdv = await TcpRendezvous.join({ rank: launch.rank, size: launch.size, addr: launch.masterAddr!, port: launch.masterPort!, timeoutMs: 30_000 });
report({ check: 'joined' });

if (scenario === 'exchange') {
  const id = await rdv.broadcast(launch.rank === 0 ? randomBytes(128) : null);
  report({ check: 'id', bytes: id.length, sha: createHash('sha256').update(id).digest('hex') });
  const t0 = Date.now();
  if (launch.rank === 1) await new Promise((r) => setTimeout(r, 1000));
  await rdv.barrier();
  report({ check: 'barrier', waitedMs: Date.now() - t0 });
  await rdv.barrier();
  rdv.close();
} else if (scenario === 'die' || scenario === 'die0') {
  const victim = scenario === 'die' ? 1 : 0;
  await rdv.barrier();
  if (launch.rank === victim) {
    await new Promise((r) => setTimeout(r, 300));
    process.exit(3); // a crash: no close(), no goodbye
  }
  const t0 = Date.now();
  try {
    await rdv.barrier();
    report({ check: 'lost', message: 'the barrier completed without the dead rank' });
  } catch (e) {
    report({ check: 'lost', message: (e as Error).message, detectedMs: Date.now() - t0 });
    process.exitCode = 1;
  }
} else {
  throw new Error(`tcp_worker: unknown scenario '${scenario}'`);
}
