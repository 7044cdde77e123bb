// One rank of a data-parallel run, started by the test under `mpirun -np N`:
// trainRewardModel picks the MPI collective from mpirun's environment, exactly as
// `mpirun -np N vlreward train …` does. Prints one JSON line per rank.
// argv: root model ckptDir batchSize maxSteps [dieAtStep]   (also run without mpirun: a single process)
import { trainRewardModel } from '@vlreward/trainer';

const [root, model, ckptDir, batch, steps, dieAt] = process.argv.slice(2);
const rank = Number(process.env.OMPI_COMM_WORLD_RANK ?? 0);
const r = await trainRewardModel({
  root: root!,
  model: model!,
  minPixels: 64 * 64,
  maxPixels: 64 * 64,
  // LoRA dropout off: with it, each rank draws its own masks and the runs differ by design.
  lora: { dropout: 0 },
  config: { batchSize: Number(batch), lr: 1e-3, maxSteps: Number(steps), evalEvery: 0, saveEvery: 2, valFraction: 0.34, seed: 0, ckptDir: ckptDir!, prefetch: 2 },
  progress: null,
  onStep: (s) => {
    if (dieAt && rank === 1 && s.step === Number(dieAt)) {
      console.error(`rank 1: dying at step ${s.step} (test)`);
      process.exit(3);
    }
  },
});
console.log(JSON.stringify({ rank, losses: r.losses, last: r.checkpointDirs.last ?? null, accuracy: r.final?.accuracy ?? null, samplesPerSecond: r.samplesPerSecond, dataWaitShare: r.dataWaitShare }));
