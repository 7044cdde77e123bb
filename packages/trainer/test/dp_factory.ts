// Worker factory for the data-parallel test: each worker builds the linear model.
import { LinearSession, encodeFeatures } from './linear_session.js';

export async function createWorkerSession(options: unknown) {
  const o = options as { numClasses: number; features: number };
  return { session: new LinearSession(o.numClasses, o.features), encode: encodeFeatures };
}
