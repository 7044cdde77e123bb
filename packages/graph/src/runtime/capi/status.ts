// Every OrtStatus* becomes an OrtError that says which C call failed, for
// what (session, input, file), ORT's error code by name, ORT's message, and
// the graph node when ORT names one.
import type { OrtStatusPtr } from './api_table.js';
import { ortLibrary } from './library.js';

/** OrtErrorCode (onnxruntime_c_api.h), by value. */
export const ORT_ERROR_CODES = [
  'ORT_OK',
  'ORT_FAIL',
  'ORT_INVALID_ARGUMENT',
  'ORT_NO_SUCHFILE',
  'ORT_NO_MODEL',
  'ORT_ENGINE_ERROR',
  'ORT_RUNTIME_EXCEPTION',
  'ORT_INVALID_PROTOBUF',
  'ORT_MODEL_LOADED',
  'ORT_NOT_IMPLEMENTED',
  'ORT_INVALID_GRAPH',
  'ORT_EP_FAIL',
  'ORT_MODEL_LOAD_CANCELED',
  'ORT_MODEL_REQUIRES_COMPILATION',
  'ORT_NOT_FOUND',
] as const;

export class OrtError extends Error {
  constructor(
    /** The OrtApi function that returned the status, e.g. 'RunWithBinding'. */
    readonly call: string,
    /** What it was called for, e.g. "session 'train' (cpu)". */
    readonly context: string,
    /** ORT's error code name, e.g. 'ORT_INVALID_ARGUMENT'. */
    readonly code: string,
    /** ORT's own message. */
    readonly ortMessage: string,
    /** The graph node ORT names in its message, if any. */
    readonly node: string | undefined,
  ) {
    super(`${call} failed for ${context}: ${code}: ${ortMessage.trim()}${node ? ` (node '${node}')` : ''}`);
    this.name = 'OrtError';
  }
}

/** Name of an OrtErrorCode value. */
export function errorCodeName(code: number): string {
  return ORT_ERROR_CODES[code] ?? `ORT error code ${code}`;
}

/** Throw an OrtError for a non-null status (releasing it); no-op on success. */
export function check(status: OrtStatusPtr, call: string, context: string): void {
  if (status === null) return;
  const { api } = ortLibrary();
  const code = api.GetErrorCode(status);
  const message = api.GetErrorMessage(status);
  api.ReleaseStatus(status);
  // ORT names failing nodes as "... running MatMul node. Name:'layer0/MatMul' ..."
  const node = /Name:'([^']+)'/.exec(message)?.[1];
  throw new OrtError(call, context, errorCodeName(code), message, node);
}
