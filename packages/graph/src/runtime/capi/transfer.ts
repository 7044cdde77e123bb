// Bytes that cross between host (JS) memory and the provider's memory,
// counted where values are bound: host values bound as inputs are uploaded,
// outputs bound to host memory are downloaded, device values re-bound as
// inputs and outputs kept in device memory cost nothing. On the CPU provider
// nothing physically moves; the same rule counts what would cross on a GPU.

/** Bytes moved in one direction or the other. */
export interface Transfer {
  readonly hostToDevice: number;
  readonly deviceToHost: number;
}

export const NO_TRANSFER: Transfer = { hostToDevice: 0, deviceToHost: 0 };

export function addTransfer(a: Transfer, b: Transfer): Transfer {
  return { hostToDevice: a.hostToDevice + b.hostToDevice, deviceToHost: a.deviceToHost + b.deviceToHost };
}
