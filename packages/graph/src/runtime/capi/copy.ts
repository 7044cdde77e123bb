// Copies between host and device memory for values kept on a GPU. The C API
// of ORT 1.14-1.22 has no general tensor copy (CopyTensors, 1.23, works only
// for providers registered as plugin libraries), so a one-node Identity
// session on the same provider does it: input bound where the value is,
// output bound to the other memory, and ORT's own data transfer moves it.
import { Graph } from '../../builder.js';
import type { DType } from '../../dtype.js';
import { identity } from '../../ops/Identity.js';
import type { TensorData } from '../../tensor_data.js';
import { IoBinding } from './io_binding.js';
import { CapiSession } from './session.js';
import type { CapiValue } from './value.js';

export class DeviceCopier {
  /** One Identity session per dtype and rank (symbolic dims), created when first needed. */
  private readonly sessions = new Map<string, Promise<CapiSession>>();

  constructor(
    private readonly options: CapiSession.Options,
    private readonly owner: string,
  ) {}

  private session(dtype: DType, rank: number): Promise<CapiSession> {
    const key = `${dtype}/${rank}`;
    let s = this.sessions.get(key);
    if (!s) {
      const g = new Graph(`copy_${dtype}_${rank}`);
      const x = g.input('x', dtype, Array.from({ length: rank }, (_, i) => `d${i}`));
      g.output(identity(x), 'y');
      const { keepOnDevice: _k, enableProfiling: _p, optimizedModelFilePath: _o, optimizedCacheDir: _c, freeDimensionOverrides: _f, ...rest } = this.options;
      s = CapiSession.create(g, { ...rest, keepOnDevice: ['y'], name: `${this.owner}/copy ${key}` });
      this.sessions.set(key, s);
    }
    return s;
  }

  /** A host copy of a device value. */
  async toHost(v: CapiValue): Promise<TensorData> {
    const s = await this.session(v.dtype, v.dims.length);
    const b = new IoBinding(s);
    try {
      b.bindInput('x', v);
      b.bindOutputToHost('y');
      const res = await b.run();
      try {
        return res.y!.readHost();
      } finally {
        res.y!.dispose();
      }
    } finally {
      b.dispose();
    }
  }

  /** A device copy of a host tensor (uploaded once, then bound without traffic). */
  async toDevice(t: TensorData): Promise<CapiValue> {
    const s = await this.session(t.dtype, t.dims.length);
    const res = await s.runOrt({ x: t }, ['y']);
    return res.y!;
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).dispose();
    this.sessions.clear();
  }
}
