// The one place this repo opens a shared library through Koffi (ORT's C API,
// libmpi, NCCL, the CUDA runtime), so every call gets stacks big enough.
//
// Koffi runs foreign code on stacks of its own: 128 KiB for an async call
// (ORT session creation and runs go off the JS thread), 1 MiB for a sync
// one. ORT needs more: its WebGPU provider overflowed 128 KiB inside
// RunWithBinding, and the writes past the end either crashed the process or
// corrupted the gradients silently (NaN on the fixture). 16 MiB is Koffi's
// ceiling and twice a Linux thread's default; only touched pages cost memory.
// Koffi refuses new settings once any library is loaded, so they are set
// before the first load.
import koffi, { type IKoffiLib } from 'koffi';

export const FOREIGN_STACK_BYTES = 16 * 2 ** 20;

function configureStacks(): void {
  const c = koffi.config();
  if ((c.async_stack_size ?? 0) >= FOREIGN_STACK_BYTES && (c.sync_stack_size ?? 0) >= FOREIGN_STACK_BYTES) return;
  try {
    koffi.config({ ...c, sync_stack_size: FOREIGN_STACK_BYTES, async_stack_size: FOREIGN_STACK_BYTES });
  } catch (e) {
    throw new Error(
      `cannot give Koffi ${FOREIGN_STACK_BYTES / 2 ** 20} MiB call stacks (now ${c.async_stack_size} bytes async, ${c.sync_stack_size} sync): ` +
        `a library was loaded through Koffi outside @vlreward/graph's loadForeignLibrary, and ORT overflows smaller stacks (${(e as Error).message})`,
    );
  }
}

/** koffi.load with call stacks ORT fits in; throws koffi's (dlerror) message. */
export function loadForeignLibrary(path: string): IKoffiLib {
  configureStacks();
  return koffi.load(path);
}
