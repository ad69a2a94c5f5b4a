/**
 * Stable error codes of the client SDK. Branch on `code` (and `closeCode`), never on the
 * message text. Codes are only ever appended; a code's meaning never changes.
 */
export const CLIENT_ERRORS = {
  /** The socket closed before it opened (server down, DNS, TLS, refused upgrade). Retried. */
  SKEIN_ERR_CLIENT_CONNECT_FAILED: { permanent: false, summary: 'The connection could not be opened.' },
  /** The socket did not open within `connectTimeoutMs`. Retried. */
  SKEIN_ERR_CLIENT_CONNECT_TIMEOUT: { permanent: false, summary: 'The connection did not open in time.' },
  /** An open connection closed with a retryable close code (see `closeCode`). Retried. */
  SKEIN_ERR_CLIENT_CONNECTION_LOST: { permanent: false, summary: 'The connection closed; reconnecting.' },
  /** The server closed with a permanent close code (4400–4499, 1002, 1009…). Not retried. */
  SKEIN_ERR_CLIENT_CONNECTION_REJECTED: { permanent: true, summary: 'The server rejected the connection permanently.' },
  /** The server answered nothing, not even a liveness probe, within the liveness bound. Retried. */
  SKEIN_ERR_CLIENT_LIVENESS_TIMEOUT: { permanent: false, summary: 'The server stopped answering.' },
  /** The server sent an auth "permission denied" message. Not retried. */
  SKEIN_ERR_CLIENT_PERMISSION_DENIED: { permanent: true, summary: 'The server denied access to the document.' },
  /** The server sent a frame or Yjs update this client cannot decode. Retried. */
  SKEIN_ERR_CLIENT_SERVER_PROTOCOL: { permanent: false, summary: 'The server sent an undecodable message.' },
  /**
   * The session's access token expired (close code 4401). Retried when `token` is a function
   * (it is asked for a new token); permanent with a fixed token string.
   */
  SKEIN_ERR_CLIENT_TOKEN_EXPIRED: { permanent: false, summary: 'The access token expired; reconnecting with a new one.' },
  /**
   * The session may only read this document (its token grants `read`): local edits stay in
   * the outbox, unsent. Reported once; the connection stays open. See `provider.readOnly`.
   */
  SKEIN_ERR_CLIENT_READ_ONLY: { permanent: false, summary: 'This session may only read the document.' },
  /** The `token` callback threw or rejected. Retried. */
  SKEIN_ERR_CLIENT_TOKEN_FAILED: { permanent: false, summary: 'The token callback failed.' },
  /** The local store could not be read at start; the provider continues from the server. */
  SKEIN_ERR_CLIENT_LOCAL_STORE_READ: { permanent: false, summary: 'The local store could not be read.' },
  /** The local store could not write; pending updates are kept in memory until acknowledged. */
  SKEIN_ERR_CLIENT_LOCAL_STORE_WRITE: { permanent: false, summary: 'The local store could not write.' },
} as const;

/** One of the client SDK's stable error codes. */
export type ClientErrorCode = keyof typeof CLIENT_ERRORS;

/** An error raised or reported by the client SDK, with a stable `code`. */
export class SkeinClientError extends Error {
  /** The stable error code. */
  readonly code: ClientErrorCode;
  /** The WebSocket close code, when the error is a closed connection. */
  readonly closeCode: number | undefined;
  /** True when the provider stopped reconnecting because of this error. */
  readonly permanent: boolean;

  constructor(code: ClientErrorCode, message?: string, options: { closeCode?: number; cause?: unknown } = {}) {
    super(message ?? CLIENT_ERRORS[code].summary, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SkeinClientError';
    this.code = code;
    this.closeCode = options.closeCode;
    this.permanent = CLIENT_ERRORS[code].permanent;
  }
}

/** Wrap anything thrown into a `SkeinClientError` with `code` (kept when already one). */
export function toClientError(err: unknown, code: ClientErrorCode): SkeinClientError {
  if (err instanceof SkeinClientError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SkeinClientError(code, message, { cause: err });
}
