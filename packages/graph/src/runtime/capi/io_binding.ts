// OrtIoBinding: inputs bound as OrtValues (host arrays or values a previous
// run left in device memory), outputs bound to a memory (host or the
// session's device) so ORT allocates them there. The transfer of each run is
// counted here (see transfer.ts).
import type { OrtIoBindingPtr, OrtMemoryInfoPtr, RawPtr } from './api_table.js';
import koffi from 'koffi';
import type { TypedArray } from '../../dtype.js';
import { ortLibrary } from './library.js';
import { check } from './status.js';
import { NO_TRANSFER, type Transfer } from './transfer.js';
import { CapiValue, memoryInfo, type MemoryKind } from './value.js';
import type { CapiSession } from './session.js';

const released = new FinalizationRegistry<OrtIoBindingPtr>((p) => ortLibrary().api.ReleaseIoBinding(p));

interface BoundOutput {
  readonly name: string;
  readonly toHost: boolean;
}

export class IoBinding {
  private ptr: OrtIoBindingPtr | null;
  /** Bound inputs and the JS arrays under them: ORT's binding reads them at run time. */
  private readonly inputs = new Map<string, { value: CapiValue; keep: TypedArray | null }>();
  private readonly outputs: BoundOutput[] = [];
  private lastRun: Transfer = NO_TRANSFER;

  constructor(readonly session: CapiSession) {
    const { api } = ortLibrary();
    const out: [OrtIoBindingPtr | null] = [null];
    check(api.CreateIoBinding(session.handle, out), 'CreateIoBinding', session.describe());
    this.ptr = out[0]!;
    released.register(this, this.ptr, this);
  }

  private get handle(): OrtIoBindingPtr {
    if (!this.ptr) throw new Error(`IoBinding of ${this.session.describe()} was disposed`);
    return this.ptr;
  }

  /** Bind `value` as input `name` (a host value is uploaded at run time; a device value stays where it is). */
  bindInput(name: string, value: CapiValue): void {
    check(ortLibrary().api.BindInput(this.handle, name, value.handle), 'BindInput', `input '${name}' of ${this.session.describe()}`);
    this.inputs.set(name, { value, keep: value.keepAlive });
  }

  /** ORT allocates output `name` in host memory; it is downloaded after the run. */
  bindOutputToHost(name: string): void {
    this.bindOutput(name, memoryInfo('Cpu'), true, 'Cpu');
  }

  /** ORT allocates output `name` in the session's device memory, where it stays. */
  bindOutputToDevice(name: string): void {
    const kind = this.session.deviceMemory;
    this.bindOutput(name, memoryInfo(kind, this.session.deviceId), false, kind);
  }

  private bindOutput(name: string, mem: OrtMemoryInfoPtr, toHost: boolean, kind: MemoryKind): void {
    check(ortLibrary().api.BindOutputToDevice(this.handle, name, mem), 'BindOutputToDevice', `output '${name}' (${kind} memory) of ${this.session.describe()}`);
    this.outputs.push({ name, toHost });
  }

  /** Bytes the last run moved across the host/device boundary. */
  get lastTransfer(): Transfer {
    return this.lastRun;
  }

  /** RunWithBinding (off the JS thread); returns the bound outputs by name and clears the binding. */
  async run(): Promise<Record<string, CapiValue>> {
    const { api, allocator } = ortLibrary();
    const b = this.handle;
    let h2d = 0;
    for (const { value } of this.inputs.values()) if (value.origin === 'host') h2d += value.byteLength;
    const status = await new Promise<ReturnType<typeof api.RunWithBinding>>((resolve, reject) =>
      api.RunWithBinding.async(this.session.handle, null, b, (err, res) => (err ? reject(err as Error) : resolve(res))),
    );
    try {
      check(status, 'RunWithBinding', this.session.describe());
      check(api.SynchronizeBoundOutputs(b), 'SynchronizeBoundOutputs', this.session.describe());
      const arr: [RawPtr | null] = [null];
      const count: [number] = [0];
      check(api.GetBoundOutputValues(b, allocator, arr, count), 'GetBoundOutputValues', this.session.describe());
      if (count[0] !== this.outputs.length) throw new Error(`GetBoundOutputValues returned ${count[0]} values for ${this.outputs.length} bound outputs of ${this.session.describe()}`);
      const ptrs = count[0] > 0 ? (koffi.decode(arr[0], koffi.array('OrtValue *', count[0])) as Parameters<typeof CapiValue.adopt>[0][]) : [];
      if (arr[0]) api.AllocatorFree(allocator, arr[0]);
      const out: Record<string, CapiValue> = {};
      let d2h = 0;
      this.outputs.forEach((o, i) => {
        const v = CapiValue.adopt(ptrs[i]!, o.toHost ? 'host' : 'device', `output '${o.name}' of ${this.session.describe()}`, this.session);
        if (o.toHost) d2h += v.byteLength;
        this.session.track(v);
        out[o.name] = v;
      });
      this.lastRun = { hostToDevice: h2d, deviceToHost: d2h };
      return out;
    } finally {
      this.clear();
    }
  }

  /** Drop every bound input and output (ORT's references and ours). */
  clear(): void {
    if (!this.ptr) return;
    const { api } = ortLibrary();
    api.ClearBoundInputs(this.ptr);
    api.ClearBoundOutputs(this.ptr);
    this.inputs.clear();
    this.outputs.length = 0;
  }

  dispose(): void {
    if (!this.ptr) return;
    this.clear();
    released.unregister(this);
    ortLibrary().api.ReleaseIoBinding(this.ptr);
    this.ptr = null;
  }
}
