// Many documents over one WebSocket, for the load clients (`BenchClient` with `shared`):
//   yws    Skein's multiplexed sub-protocol `skein-mux.v1` (docs/protocol.md): every message
//          is varUint(channel) ‖ a y-websocket message; channel 0 carries Open / Close / Closed.
//   hocus  Hocuspocus's own framing, which is multiplexed by design: every message starts with
//          varString(documentName), so one socket carries any number of documents (what its
//          provider's shared `HocuspocusProviderWebsocket` does).
// Incoming messages are routed to the client of their channel (or document name).
import WebSocket from 'ws';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';

export const MUX_PROTOCOL = 'skein-mux.v1';

export class SharedSocket {
  /** @param {string} url ws://host:port @param {'yws'|'hocus'} protocol */
  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    /** @type {WebSocket|null} */
    this.ws = null;
    /** @type {Map<number|string, import('./client.mjs').BenchClient>} */
    this.routes = new Map();
    this.nextChannel = 1;
    /** Channels the server closed: [channel, code] */
    this.refused = /** @type {[number, number][]} */ ([]);
  }

  /** @param {number} timeoutMs */
  open(timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const mux = this.protocol === 'yws';
      const ws = new WebSocket(mux ? `${this.url}/` : this.url, mux ? MUX_PROTOCOL : [], { perMessageDeflate: false });
      this.ws = ws;
      ws.binaryType = 'nodebuffer';
      const timer = setTimeout(() => reject(new Error(`shared socket: not open within ${timeoutMs} ms`)), timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on('message', (data) => this.#route(/** @type {Buffer} */ (data)));
      ws.on('close', () => {
        for (const c of this.routes.values()) c.closed = true;
      });
    });
  }

  /**
   * Route `client`'s document over this socket; returns the prefix of its messages.
   * @param {import('./client.mjs').BenchClient} client
   */
  attach(client) {
    if (this.protocol === 'hocus') {
      this.routes.set(client.opts.doc, client);
      return client.prefix;
    }
    const channel = this.nextChannel++;
    this.routes.set(channel, client);
    const open = encoding.createEncoder();
    encoding.writeVarUint(open, 0);
    encoding.writeVarUint(open, 0); // Open
    encoding.writeVarUint(open, channel);
    encoding.writeVarString(open, client.opts.doc);
    this.ws?.send(encoding.toUint8Array(open));
    const prefix = encoding.createEncoder();
    encoding.writeVarUint(prefix, channel);
    return encoding.toUint8Array(prefix);
  }

  close() {
    if (this.ws && this.ws.readyState <= 1) this.ws.close(1000);
  }

  /** @param {Buffer} data */
  #route(data) {
    const d = decoding.createDecoder(data);
    if (this.protocol === 'hocus') {
      this.routes.get(decoding.readVarString(d))?.receive(data);
      return;
    }
    const channel = decoding.readVarUint(d);
    if (channel !== 0) {
      this.routes.get(channel)?.receive(data.subarray(d.pos));
      return;
    }
    if (decoding.readVarUint(d) !== 2) return; // only Closed comes from the server
    const closed = decoding.readVarUint(d);
    const code = decoding.readVarUint(d);
    this.refused.push([closed, code]);
    const client = this.routes.get(closed);
    if (client) {
      client.closed = true;
      client.error ??= `channel closed by server with ${code}`;
    }
  }
}
