import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';

/** A real y-websocket client in Node (ws as the WebSocket implementation). */
export function connectProvider(
  url: string,
  docName: string,
  doc: Y.Doc = new Y.Doc(),
  options: { connect?: boolean; params?: Record<string, string> } = {},
): WebsocketProvider {
  return new WebsocketProvider(url, docName, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    maxBackoffTime: 200,
    connect: options.connect ?? true,
    ...(options.params === undefined ? {} : { params: options.params }),
  });
}

/** Resolves when the provider has completed its initial sync. */
export function synced(provider: WebsocketProvider): Promise<void> {
  if (provider.synced) return Promise.resolve();
  return new Promise((resolve) => {
    const onSync = (isSynced: boolean): void => {
      if (!isSynced) return;
      provider.off('sync', onSync);
      resolve();
    };
    provider.on('sync', onSync);
  });
}

/** Cut the socket without a close handshake and without reconnecting (a vanished peer). */
export function killProviderSocket(provider: WebsocketProvider): void {
  provider.shouldConnect = false;
  (provider.ws as unknown as WebSocket | null)?.terminate();
}

export function destroyAll(providers: Iterable<WebsocketProvider>): void {
  for (const p of providers) {
    p.destroy();
    p.doc.destroy();
  }
}
