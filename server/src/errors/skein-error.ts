import { isProtocolError } from '@skein/protocol';
import { ERRORS, isErrorCode, type ErrorCode, type ErrorSpec } from './registry.js';

/** The one error class of the server. Branch on `code`, never on `message`. */
export class SkeinError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].summary, options);
    this.name = 'SkeinError';
    this.code = code;
  }

  get spec(): ErrorSpec {
    return ERRORS[this.code];
  }

  /** JSON body for HTTP errors: `{ error: { code, message } }`. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Normalize anything thrown into a SkeinError (codec errors keep their code). */
export function toSkeinError(err: unknown, fallback: ErrorCode = 'SKEIN_ERR_INTERNAL'): SkeinError {
  if (err instanceof SkeinError) return err;
  if (isProtocolError(err) && isErrorCode(err.code)) {
    return new SkeinError(err.code, err.message, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new SkeinError(fallback, message, { cause: err });
}
