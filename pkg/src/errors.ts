/**
 * One error type for everything the package throws. `code` is stable and meant for
 * branching; `message` is for people. Errors raised inside the wasm engine keep the
 * engine's code (`E_BUNDLE_INTEGRITY`, `E_PROFILE_CORRUPT`, `E_RANK_INVALID`, …).
 */

/** Codes raised by the wasm engine (see docs/js-api.md). */
export type EngineErrorCode =
  | 'E_BUNDLE_SIGNATURE'
  | 'E_BUNDLE_VERSION'
  | 'E_BUNDLE_MANIFEST'
  | 'E_BUNDLE_INTEGRITY'
  | 'E_BUNDLE_MISSING_FILE'
  | 'E_BUNDLE_CATALOG'
  | 'E_BUNDLE_CONTRACT'
  | 'E_BUNDLE_TEST_KEY'
  | 'E_BUNDLE_NAME'
  | 'E_BUNDLE_ROLLBACK'
  | 'E_BUNDLE_EXPIRED'
  | 'E_MALFORMED_MODEL'
  | 'E_UNSUPPORTED_OP'
  | 'E_INVALID_OPERATOR'
  | 'E_INVALID_INPUT'
  | 'E_PREPARE'
  | 'E_RUNTIME'
  | 'E_PROFILE_CORRUPT'
  | 'E_PROFILE_VERSION'
  | 'E_PROFILE_INVALID'
  | 'E_RANK_UNKNOWN_ITEM'
  | 'E_RANK_INVALID'
  | 'E_RANK_TOO_LARGE'
  | 'E_RANK_NO_MODEL'
  | 'E_RANK_MODEL_OUTPUT'
  | 'E_INTERNAL';

/** Codes added by the package. */
export type PackageErrorCode =
  | 'E_FETCH'
  | 'E_ABORTED'
  | 'E_STORAGE'
  | 'E_STORAGE_QUOTA'
  | 'E_INTEGRITY'
  | 'E_NOT_INITIALIZED'
  | 'E_WASM_INIT'
  | 'E_WORKER'
  | 'E_ONBOARDING'
  | 'E_PANIC';

export type AttuneErrorCode = EngineErrorCode | PackageErrorCode;

/** Extra data some errors carry. */
export interface AttuneErrorDetails {
  /** `E_PROFILE_CORRUPT` / `E_PROFILE_VERSION`: the stored record's text, untouched. */
  raw?: string;
  /** `E_FETCH`: the URL and HTTP status. */
  url?: string;
  status?: number;
  /** `E_INTEGRITY`: what was expected and what was found. */
  expected?: string;
  actual?: string;
}

export class AttuneError extends Error {
  override readonly name = 'AttuneError';
  readonly code: AttuneErrorCode;
  readonly details: AttuneErrorDetails;

  constructor(code: AttuneErrorCode, message: string, options?: { cause?: unknown; details?: AttuneErrorDetails }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details ?? {};
  }

  /** True for any Attune error, including the plain `Error`s the wasm layer throws
   *  (`name === "AttuneError"`) and errors that crossed a worker boundary. */
  static is(e: unknown, code?: AttuneErrorCode): e is AttuneError {
    if (typeof e !== 'object' || e === null) return false;
    const r = e as { name?: unknown; code?: unknown };
    return r.name === 'AttuneError' && typeof r.code === 'string' && (code === undefined || r.code === code);
  }
}

/** Turns anything thrown into an `AttuneError`, keeping the engine's code. */
export function toAttuneError(e: unknown, fallback: AttuneErrorCode = 'E_INTERNAL', context?: string): AttuneError {
  if (e instanceof AttuneError) return e;
  const prefix = context ? `${context}: ` : '';
  if (AttuneError.is(e)) {
    return new AttuneError(e.code, prefix + (e as Error).message, { cause: e });
  }
  if (isAbort(e)) return new AttuneError('E_ABORTED', prefix + 'aborted', { cause: e });
  const message = e instanceof Error ? e.message : String(e);
  return new AttuneError(fallback, prefix + message, { cause: e });
}

export function isAbort(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new AttuneError('E_ABORTED', 'aborted', { cause: signal.reason });
  }
}
