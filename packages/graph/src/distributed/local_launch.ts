// Starting N local ranks for users without a launcher (`vlreward train
// --nproc-per-node N`): the same program under Open MPI's mpirun, with the flags
// that work on a plain machine and in containers. Tests use it too.
import { spawnSync } from 'node:child_process';
import { MPI_INSTALL_HINT } from './mpi_library.js';

/** mpirun's path, or null when Open MPI is not installed. */
export function findMpirun(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v mpirun'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/**
 * mpirun's flags for `np` local ranks: --allow-run-as-root (mpirun refuses root
 * otherwise), --oversubscribe (more ranks than the cores a container reports),
 * and no single-copy shared memory (CMA needs ptrace rights containers often lack;
 * pass `mca: []` to keep Open MPI's default where it works).
 */
export function mpirunArgs(np: number, mca: readonly string[] = ['btl_vader_single_copy_mechanism', 'none']): string[] {
  if (!Number.isInteger(np) || np < 1) throw new RangeError(`mpirun: the number of ranks must be an integer ≥ 1, got ${np}`);
  const root = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
  const flags: string[] = [];
  for (let i = 0; i + 1 < mca.length; i += 2) flags.push('--mca', mca[i]!, mca[i + 1]!);
  return [...root, '--oversubscribe', ...flags, '-np', String(np)];
}

/** The whole command line that runs `argv` (program + arguments) as `np` local ranks. Throws with the install step when mpirun is missing. */
export function localRanksCommand(np: number, argv: readonly string[]): { command: string; args: string[] } {
  const mpirun = findMpirun();
  if (!mpirun) throw new Error(`starting ${np} local ranks needs Open MPI's mpirun, which is not on PATH: ${MPI_INSTALL_HINT}`);
  return { command: mpirun, args: [...mpirunArgs(np), ...argv] };
}
