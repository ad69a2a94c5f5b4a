import { CloseCode, ProtocolErrorCode } from '@skein/protocol';

/**
 * Every error code Skein raises, with what it means and how it surfaces: an HTTP status
 * (HTTP API, refused upgrades), a WebSocket close code, a process exit status (CLI).
 * `docs/errors.md` lists the same table; a test fails when the two disagree.
 */
export interface ErrorSpec {
  /** One line: what happened. */
  readonly summary: string;
  readonly httpStatus?: number;
  readonly closeCode?: number;
  readonly exitCode?: number;
}

const protocolError = (summary: string): ErrorSpec => ({
  summary,
  httpStatus: 400,
  closeCode: CloseCode.MalformedMessage,
});

export const ERRORS = {
  // Transport edge
  SKEIN_ERR_BAD_DOC_NAME: {
    summary: 'The document name is empty, longer than 255 bytes of UTF-8, not valid percent-encoded UTF-8, or contains a control character.',
    httpStatus: 400,
    closeCode: CloseCode.BadDocumentName,
  },
  SKEIN_ERR_MUX_PROTOCOL: {
    summary: 'A multiplexed (`skein-mux.v1`) socket broke the sub-protocol: a message for a channel that is not open, a channel opened twice, a control message only the server sends. The whole socket closes.',
    closeCode: CloseCode.MalformedMessage,
  },
  SKEIN_ERR_MUX_CHANNEL_LIMIT: {
    summary: 'A multiplexed socket opened more than `--mux-max-channels` channels at once; the channel is refused (the socket stays open).',
    closeCode: CloseCode.ChannelLimit,
  },
  SKEIN_ERR_MUX_DISABLED: {
    summary: 'The client asked for the multiplexed sub-protocol (`skein-mux.v1`) and this server has it off (`--mux-max-channels 0`).',
    httpStatus: 400,
  },
  SKEIN_ERR_NOT_FOUND: { summary: 'No such HTTP route.', httpStatus: 404 },
  SKEIN_ERR_METHOD_NOT_ALLOWED: { summary: 'The HTTP method is not allowed on this route.', httpStatus: 405 },
  SKEIN_ERR_MESSAGE_TOO_LARGE: {
    summary: 'A WebSocket message exceeded `maxMessageBytes`.',
    httpStatus: 413,
    closeCode: CloseCode.MessageTooLarge,
  },
  SKEIN_ERR_SLOW_CONSUMER: {
    summary: "The server's outgoing buffer for a connection exceeded `maxBufferedBytes`.",
    closeCode: CloseCode.SlowConsumer,
  },
  SKEIN_ERR_BACKLOG_FULL: {
    summary: 'A client sent more than `maxLoadBacklogBytes` while its document was loading.',
    closeCode: CloseCode.BacklogFull,
  },
  SKEIN_ERR_MALFORMED_FRAME: {
    summary: 'A WebSocket frame broke RFC 6455 (bad opcode, unmasked client frame, invalid UTF-8 in a text frame).',
    closeCode: CloseCode.ProtocolError,
  },
  SKEIN_ERR_HEARTBEAT_TIMEOUT: {
    summary: 'A peer answered no ping within two heartbeat intervals; its socket was terminated.',
  },
  SKEIN_ERR_SHUTTING_DOWN: {
    summary: 'The server is shutting down.',
    httpStatus: 503,
    closeCode: CloseCode.GoingAway,
  },
  // Limits at the edge (auth/limits.ts, docs/security.md)
  SKEIN_ERR_ORIGIN_FORBIDDEN: {
    summary: 'A browser upgrade came from an Origin not in `--allowed-origins`; refused before the upgrade.',
    httpStatus: 403,
  },
  SKEIN_ERR_IP_RATE_LIMITED: {
    summary: 'The client address made more upgrade attempts than `--upgrade-rate-per-ip` / `--upgrade-burst-per-ip` allow; refused before the upgrade, with Retry-After.',
    httpStatus: 429,
  },
  SKEIN_ERR_IP_CONNECTION_LIMIT: {
    summary: 'The client address already has `--max-connections-per-ip` connections open; refused before the upgrade, with Retry-After.',
    httpStatus: 429,
  },
  SKEIN_ERR_DOC_CONNECTION_LIMIT: {
    summary: 'The document already has `--max-connections-per-doc` connections on this node; refused before the upgrade, with Retry-After (a multiplexed channel: closed with 4531).',
    httpStatus: 503,
    closeCode: CloseCode.DocConnectionLimit,
  },
  SKEIN_ERR_HANDSHAKE_TIMEOUT: {
    summary: 'The request headers (or body) did not arrive, or the upgrade did not complete, within `--handshake-timeout-ms`; the socket was closed.',
    httpStatus: 408,
  },
  SKEIN_ERR_HEADERS_TOO_LARGE: {
    summary: 'The request header block exceeded `--max-header-bytes`; the socket was closed.',
    httpStatus: 431,
  },
  SKEIN_ERR_RATE_LIMITED: {
    summary: 'A connection sent more than `--max-messages-per-second` messages or `--max-bytes-per-second` bytes per second; the socket was closed (retryable).',
    httpStatus: 429,
    closeCode: CloseCode.RateLimited,
  },
  SKEIN_ERR_DOC_TOO_LARGE: {
    summary: "An update would have made the document's encoded state larger than `--max-doc-bytes`; nothing of it was applied or stored.",
    httpStatus: 413,
    closeCode: CloseCode.DocumentTooLarge,
  },
  // Codec (raised by @skein/protocol)
  [ProtocolErrorCode.Empty]: protocolError('An empty WebSocket message.'),
  [ProtocolErrorCode.Truncated]: protocolError('A message ended in the middle of a value.'),
  [ProtocolErrorCode.VarintOverflow]: protocolError('A varint was too long or above 2^53 - 1.'),
  [ProtocolErrorCode.LengthOutOfBounds]: protocolError('A length or count was above its limit or the bytes available.'),
  [ProtocolErrorCode.UnknownMessageType]: protocolError('The message type or sub-type is unknown.'),
  [ProtocolErrorCode.TrailingBytes]: protocolError('Bytes were left after a complete message.'),
  [ProtocolErrorCode.InvalidString]: protocolError('A string was not valid UTF-8 or an awareness state was not JSON.'),
  // Document content
  SKEIN_ERR_INVALID_UPDATE: {
    summary: 'A sync step 2 or update message (or an HTTP API update body) carried bytes that are not a valid Yjs update (e.g. truncated); it was not applied or stored.',
    httpStatus: 400,
    closeCode: CloseCode.InvalidUpdate,
  },
  SKEIN_ERR_INVALID_AWARENESS: {
    summary: 'An awareness message carried an invalid awareness update; it was not applied.',
    httpStatus: 422,
    closeCode: CloseCode.InvalidUpdate,
  },
  // Documents
  SKEIN_ERR_DOC_LOAD_FAILED: {
    summary: 'The document could not be loaded from storage; nothing was created in its place.',
    httpStatus: 503,
    closeCode: CloseCode.DocumentLoadFailed,
  },
  SKEIN_ERR_DOC_LOAD_TIMEOUT: {
    summary: 'Loading the document took longer than `loadTimeoutMs`.',
    httpStatus: 503,
    closeCode: CloseCode.DocumentLoadFailed,
  },
  // Access control (docs/security.md)
  SKEIN_ERR_AUTH_MISSING: {
    summary: 'The request carries no access token (`token` query parameter or `Authorization: Bearer`) and the server requires one (`--auth jwt`).',
    httpStatus: 401,
  },
  SKEIN_ERR_AUTH_MALFORMED: { summary: 'The access token is not a well-formed signed JWT.', httpStatus: 401 },
  SKEIN_ERR_AUTH_SIGNATURE: {
    summary: 'The access token was not signed by a trusted key with an allowed algorithm (bad signature, `alg: none`, an HS256 token against a public key, no matching JWKS key).',
    httpStatus: 401,
  },
  SKEIN_ERR_AUTH_EXPIRED: {
    summary: 'The access token has expired: refused at the upgrade (401), or the session is closed when it expires (close code 4401; @skein/client asks its `token` function again).',
    httpStatus: 401,
    closeCode: CloseCode.TokenExpired,
  },
  SKEIN_ERR_AUTH_CLAIMS: {
    summary: 'A claim of the access token is missing or unacceptable: `exp`, `sub`, `docs` (pattern → "read" | "write"), a wrong `iss` or `aud`, or `nbf` in the future.',
    httpStatus: 401,
  },
  SKEIN_ERR_AUTH_DISABLED: {
    summary: 'Logged (warn) at start when `--auth none` is used with a `--host` beyond loopback: anyone who reaches the server can read and write every document.',
  },
  SKEIN_ERR_FORBIDDEN: { summary: 'The access token is valid but grants no access to this document.', httpStatus: 403, closeCode: CloseCode.Forbidden },
  SKEIN_ERR_READ_ONLY: {
    summary: 'This session may only read the document: its updates are dropped (never applied, stored or forwarded). Sent once to @skein/client sessions as an auth message; the connection stays open.',
  },
  SKEIN_ERR_DOC_CLOSED: { summary: 'An operation reached a document that was already closed.', httpStatus: 503 },
  SKEIN_ERR_UNPERSISTED_LIMIT: {
    summary: 'The node holds more bytes than --max-unpersisted-bytes that storage has not made durable yet (the disk is failing or slow); the write was refused and nothing of it kept. Retry later.',
    httpStatus: 507,
    closeCode: CloseCode.StorageBackpressure,
  },
  // Storage
  SKEIN_ERR_STORAGE_READ: { summary: 'The store failed to read a document.', httpStatus: 500 },
  SKEIN_ERR_STORAGE_WRITE: {
    summary: 'The store failed to make an update durable.',
    httpStatus: 500,
    closeCode: CloseCode.StorageFailed,
  },
  SKEIN_ERR_STORAGE_CLOSED: { summary: 'The store was used after it was closed.', httpStatus: 503 },
  SKEIN_ERR_STORAGE_CORRUPT_RECORD: {
    summary: 'A stored record failed its checksum or did not decode; it was quarantined and the document loaded from its intact records.',
    httpStatus: 500,
  },
  SKEIN_ERR_STORAGE_FORMAT: {
    summary: 'The data directory holds a newer (unknown) storage format version, or data that is not a Skein store.',
    httpStatus: 500,
    exitCode: 1,
  },
  SKEIN_ERR_STORAGE_OPEN: {
    summary: 'The store could not be opened (locked by another process, missing permissions, or damaged files).',
    httpStatus: 500,
    exitCode: 1,
  },
  SKEIN_ERR_STORAGE_UNFLUSHED: {
    summary: 'The store closed before some pending updates were durable; those updates were never acknowledged.',
    httpStatus: 503,
    exitCode: 1,
  },
  // Webhooks (docs/webhooks.md)
  SKEIN_ERR_WEBHOOK_DEAD_LETTER: {
    summary: 'A webhook event kept failing for an endpoint (`--webhook-max-attempts`) and was moved to the dead-letter list; `/health` is degraded until it is retried or the list is empty.',
  },
  SKEIN_ERR_WEBHOOK_ENDPOINT_DOWN: {
    summary: "A webhook endpoint's circuit is open after consecutive failures: its deliveries wait (no attempt counted) until the backoff lets a probe through.",
  },
  SKEIN_ERR_ADMIN_TOKEN: {
    summary: 'An admin route needs `Authorization: Bearer <--admin-token>`; the header was missing or held another token.',
    httpStatus: 401,
  },
  // Cluster (docs/cluster.md)
  SKEIN_ERR_CLUSTER_UNAVAILABLE: {
    summary: 'Redis is unreachable: the node serves its own clients, other nodes\' edits and the shared tier wait until it returns (`/readyz` says degraded).',
    httpStatus: 503,
  },
  SKEIN_ERR_CLUSTER_ENVELOPE: {
    summary: 'A message from another node (through Redis) was malformed or could not be applied; it was dropped and logged (anti-entropy heals).',
  },
  // Health alerts: reasons of `/health` and codes of alert log events (docs/observability.md)
  SKEIN_ERR_HEALTH_PERSISTENCE_FAILING: {
    summary: 'Storage batch writes are failing and being retried (degraded; unhealthy from `healthFailureThreshold` consecutive failures); acknowledgements wait.',
  },
  SKEIN_ERR_HEALTH_PERSISTENCE_ERROR_RATE: {
    summary: 'More than 1 % of the storage writes in the health window failed (degraded).',
  },
  SKEIN_ERR_HEALTH_PERSISTENCE_SLOW: {
    summary: 'The p95 storage write latency of a strategy exceeds its `healthPersistLatencyMs` threshold (degraded; 10x: unhealthy).',
  },
  SKEIN_ERR_HEALTH_RECORDS_QUARANTINED: {
    summary: 'Damaged stored records (bad checksum) were found and quarantined within the health window (degraded).',
  },
  SKEIN_ERR_HEALTH_INTEGRITY_MISMATCH: {
    summary: 'The integrity scan found a loaded document whose stored state does not match memory (unhealthy).',
  },
  SKEIN_ERR_HEALTH_INTEGRITY_SCAN_FAILED: {
    summary: 'The integrity scan could not read the stored state of a loaded document (degraded).',
  },
  SKEIN_ERR_HEALTH_EVENT_LOOP_LAG: {
    summary: 'The event-loop delay p99 exceeds `healthEventLoopLagMs` (degraded; 5x: unhealthy).',
  },
  // Process
  SKEIN_ERR_CONFIG_INVALID: { summary: 'A configuration value (flag, environment variable or file) is invalid.', exitCode: 2 },
  SKEIN_ERR_USAGE: { summary: 'The command line could not be parsed (unknown command or option).', exitCode: 2 },
  SKEIN_ERR_SHUTDOWN_TIMEOUT: {
    summary: 'Graceful shutdown did not finish within `shutdownTimeoutMs`; the process exited anyway.',
    exitCode: 1,
  },
  SKEIN_ERR_LISTEN_FAILED: { summary: 'The server could not listen on the configured host and port.', exitCode: 1 },
  SKEIN_ERR_INTERNAL: {
    summary: 'An unexpected internal error.',
    httpStatus: 500,
    closeCode: CloseCode.InternalError,
    exitCode: 1,
  },
  // HTTP API (docs/http-api.md)
  SKEIN_ERR_BAD_REQUEST: {
    summary: 'An HTTP API request failed its schema (path, query or JSON body); the error message names the field. Nothing was changed.',
    httpStatus: 400,
  },
  SKEIN_ERR_BAD_BASE64: { summary: 'A base64 parameter (e.g. `sv`) is not base64 or base64url, or does not decode to what it should (a state vector).', httpStatus: 400 },
  SKEIN_ERR_UPDATE_DEPENDENCIES_MISSING: {
    summary: 'An HTTP API update builds on changes the document does not have (it was made for another document, or against a state this server never had); nothing was applied.',
    httpStatus: 400,
  },
  SKEIN_ERR_BODY_TOO_LARGE: { summary: 'An HTTP API request body exceeded `--api-max-body-bytes`; nothing was applied.', httpStatus: 413 },
  SKEIN_ERR_UNSUPPORTED_MEDIA_TYPE: {
    summary: 'An HTTP API request body has the wrong Content-Type (updates: `application/octet-stream`; JSON bodies: `application/json`).',
    httpStatus: 415,
  },
  SKEIN_ERR_API_RATE_LIMITED: {
    summary: 'One token (or, without one, one client IP) made more HTTP API requests than `--api-rate-per-token` / `--api-burst-per-token` allow; answered with Retry-After.',
    httpStatus: 429,
  },
  SKEIN_ERR_API_WRITE_DISABLED: {
    summary: 'Write and admin routes of the HTTP API are off: `--auth none` on a non-loopback host without `--http-api open` (or `--http-api read-only`).',
    httpStatus: 403,
  },
  SKEIN_ERR_ADMIN_REQUIRED: {
    summary: 'An admin route (e.g. DELETE a document) was called without the `--admin-token` (or no admin token is configured).',
    httpStatus: 403,
  },
  SKEIN_ERR_DOC_DELETED: {
    summary: 'The document was deleted (admin API): its sockets are closed with 4410, updates not yet durable were dropped; the name now opens a new, empty document.',
    httpStatus: 410,
    closeCode: CloseCode.DocumentDeleted,
  },
  SKEIN_ERR_CONNECTION_CLOSED_BY_ADMIN: {
    summary: 'An administrator closed this WebSocket (`DELETE /api/v1/connections/{id}`, the inspector).',
    closeCode: CloseCode.ClosedByAdmin,
  },
  SKEIN_ERR_CONNECTION_NOT_FOUND: { summary: 'No open WebSocket connection on this node has this id.', httpStatus: 404 },
  SKEIN_ERR_VERSION_NOT_FOUND: { summary: 'No version with this id exists for the document.', httpStatus: 404 },
  // Offline commands (inspect, verify, compact, export, import) and the HTTP API
  SKEIN_ERR_DOC_NOT_FOUND: {
    summary: 'No stored document has this name (an offline command, or an HTTP API read of a document that was never written).',
    httpStatus: 404,
    exitCode: 1,
  },
  SKEIN_ERR_CLI_FILE: {
    summary: 'An offline command could not read its input file or write its output file.',
    exitCode: 1,
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}
