/**
 * WebSocket close codes used by Skein. One table shared by the server and every client.
 *
 * Standard codes (1000–1015) keep their RFC 6455 meaning. Skein's own codes live in the
 * 4000–4999 application range: 4400–4499 are permanent (the client's input is at fault;
 * retrying the same thing fails again — y-websocket ≥ 3 stops reconnecting on them) and
 * 4500–4599 are transient (reconnect with backoff). The last two digits mirror an HTTP status
 * where one fits (4400 ≈ 400). Codes are only ever appended; a code's meaning never changes.
 */
export const CloseCode = {
  /** Normal closure: the peer is done. */
  Normal: 1000,
  /** The server is shutting down or restarting; reconnect (possibly to another node). */
  GoingAway: 1001,
  /** A frame broke RFC 6455 (sent by the WebSocket layer). */
  ProtocolError: 1002,
  /** A message was larger than the server's `maxMessageBytes` (sent by the WebSocket layer). */
  MessageTooLarge: 1009,
  /** The server hit an unexpected internal error handling this connection. */
  InternalError: 1011,
  /** A frame could not be decoded: truncated, garbage, unknown type or trailing bytes. */
  MalformedMessage: 4400,
  /** A Yjs update or awareness payload inside a well-formed frame was invalid. */
  InvalidUpdate: 4422,
  /**
   * The session's access token expired. Permanent for a client that cannot get a new token
   * (y-websocket stops); @skein/client asks its `token` function again and reconnects.
   */
  TokenExpired: 4401,
  /** The client sent more than the server buffers while a document is loading. */
  BacklogFull: 4529,
  /** The server's outgoing buffer for this client exceeded `maxBufferedBytes` (slow consumer). */
  SlowConsumer: 4508,
  /** The document could not be loaded from storage (retry later; nothing was lost). */
  DocumentLoadFailed: 4503,
  /**
   * The store failed to make this client's update durable. Sent only to clients that opted
   * into durable acknowledgements: reconnect and re-send what was not acknowledged.
   */
  StorageFailed: 4500,
  /**
   * The server holds too many bytes that storage has not made durable yet (its disk is
   * failing or slow): this update was refused, nothing of it kept. Reconnect with backoff and
   * re-send.
   */
  StorageBackpressure: 4507,
  /**
   * The client sent more messages or bytes per second than the server allows one connection
   * (`--max-messages-per-second`, `--max-bytes-per-second`). Reconnect with backoff.
   */
  RateLimited: 4530,
  /**
   * The update would make the document's encoded state larger than `--max-doc-bytes`; nothing
   * of it was applied or stored. Re-sending the same update fails again.
   */
  DocumentTooLarge: 4413,
  /**
   * The document was deleted (`DELETE /api/v1/docs/{name}`). Permanent: reconnecting to the
   * same name opens a new, empty document.
   */
  DocumentDeleted: 4410,
  /**
   * An administrator closed this connection (`DELETE /api/v1/connections/{id}`, the inspector).
   * Permanent: a client that should come back is reopened by its user.
   */
  ClosedByAdmin: 4403,
  /** A multiplexed channel named no valid document (empty, over 255 bytes, control characters). */
  BadDocumentName: 4404,
  /** A multiplexed channel's document is not one the access token grants access to. */
  Forbidden: 4406,
  /** A multiplexed socket already has `--mux-max-channels` channels open. */
  ChannelLimit: 4429,
  /** The document already has `--max-connections-per-doc` connections on this node (a multiplexed channel). */
  DocConnectionLimit: 4531,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];

export interface CloseCodeInfo {
  readonly name: CloseCodeName;
  readonly code: CloseCodeValue;
  /** True when reconnecting later can succeed; false when retrying the same thing fails again. */
  readonly retryable: boolean;
  readonly description: string;
}

const info = (
  name: CloseCodeName,
  retryable: boolean,
  description: string,
): CloseCodeInfo => ({ name, code: CloseCode[name], retryable, description });

/** Every close code Skein sends, with whether a client should retry. */
export const CLOSE_CODES: readonly CloseCodeInfo[] = Object.freeze([
  info('Normal', false, 'Normal closure.'),
  info('GoingAway', true, 'Server shutting down; reconnect.'),
  info('ProtocolError', false, 'A WebSocket frame broke RFC 6455.'),
  info('MessageTooLarge', false, 'A message exceeded the size limit.'),
  info('InternalError', true, 'Unexpected server error; reconnect.'),
  info('MalformedMessage', false, 'A frame could not be decoded.'),
  info('InvalidUpdate', false, 'A Yjs update or awareness payload was invalid.'),
  info('TokenExpired', false, 'The access token expired; reconnect only with a new token.'),
  info('BacklogFull', true, 'Too much data sent while the document was loading.'),
  info('SlowConsumer', true, 'The client read too slowly; its outgoing buffer overflowed.'),
  info('DocumentLoadFailed', true, 'The document could not be loaded; retry later.'),
  info('StorageFailed', true, 'An update could not be made durable; reconnect and re-send unacknowledged updates.'),
  info('StorageBackpressure', true, 'Too many bytes wait for storage on the server; the update was refused. Reconnect later and re-send.'),
  info('RateLimited', true, 'The client sent too many messages or bytes per second; reconnect with backoff.'),
  info('DocumentTooLarge', false, 'The update would make the document larger than the server allows; it was refused.'),
  info('DocumentDeleted', false, 'The document was deleted; the name now opens a new, empty document.'),
  info('ClosedByAdmin', false, 'An administrator closed this connection.'),
  info('BadDocumentName', false, 'A multiplexed channel named no valid document.'),
  info('Forbidden', false, 'The access token grants no access to the document of this multiplexed channel.'),
  info('ChannelLimit', false, 'Too many channels open on one multiplexed socket.'),
  info('DocConnectionLimit', true, 'The document has as many connections as the server allows; retry later.'),
]);

/** Look up a close code; undefined for codes Skein does not send. */
export function closeCodeInfo(code: number): CloseCodeInfo | undefined {
  return CLOSE_CODES.find((c) => c.code === code);
}

/** Whether a client should reconnect after this close code (unknown codes: yes, with backoff). */
export function isRetryableClose(code: number): boolean {
  return closeCodeInfo(code)?.retryable ?? true;
}
