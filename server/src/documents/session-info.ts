/**
 * What an operator may see of one open WebSocket (the inspector's Connections page, `GET
 * /api/v1/connections`): who, which document, from where, how much it moved, how much waits
 * in its send buffer, since when. Never its token or its payloads. The core names the shape
 * because two drivers share it: the WebSocket transport produces it, the HTTP API lists it.
 */
export interface ConnectionInfo {
  readonly id: number;
  readonly doc: string;
  readonly user: string;
  readonly readOnly: boolean;
  /** The socket's peer address (a proxy's when behind one). */
  readonly ip: string;
  /** Milliseconds since the epoch when the socket was accepted. */
  readonly openedAt: number;
  /** WebSocket message payload bytes received from / sent to the client since it opened. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Bytes queued in the socket's send buffer right now. */
  readonly bufferedBytes: number;
}
