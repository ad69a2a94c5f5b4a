import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import type { DocumentStore } from './persistence/store.js';
import { MemoryStore } from './persistence/memory-store.js';
import { LevelStore, openLevelStore } from './persistence/level-store.js';
import { DocumentRegistry } from './documents/registry.js';
import { WsTransport } from './transport/ws-server.js';
import { createRequestHandler, type ReadinessReport } from './http/routes.js';
import { SkeinError } from './errors/skein-error.js';
import { CloseCode } from '@skein/protocol';
import { VERSION } from './version.js';

export interface ServerDeps {
  readonly logger?: Logger;
  /** The document store; defaults to the one `config.storage` names. */
  readonly store?: DocumentStore;
}

export interface SkeinServer {
  readonly host: string;
  /** The bound port (useful with `port: 0`). */
  readonly port: number;
  /** `ws://host:port` — append `/<document-name>`. */
  readonly url: string;
  readonly registry: DocumentRegistry;
  readonly store: DocumentStore;
  connectionCount(): number;
  /**
   * Graceful shutdown: stop accepting, close sockets with 1001, flush every document, close
   * the store. Resolves with the names of documents that could not be flushed. Idempotent.
   */
  close(): Promise<string[]>;
}

/** The composition root: the only place that picks concrete adapters. */
export async function startServer(config: Config, deps: ServerDeps = {}): Promise<SkeinServer> {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const store = deps.store ?? (await createStore(config, logger));
  const registry = new DocumentRegistry({
    store,
    logger,
    unloadDelayMs: config.unloadDelayMs,
    loadTimeoutMs: config.loadTimeoutMs,
  });
  const transport = new WsTransport(registry, logger, {
    maxMessageBytes: config.maxMessageBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    maxLoadBacklogBytes: config.maxLoadBacklogBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
  });
  let closing: Promise<string[]> | undefined;
  const readiness = (): ReadinessReport => {
    if (closing !== undefined) {
      return { ready: false, reasons: [{ code: 'SKEIN_ERR_SHUTTING_DOWN', message: 'the server is shutting down' }] };
    }
    const health = store.health?.();
    if (health === undefined || health.status === 'ok') return { ready: true, reasons: [] };
    const code = health.lastErrorCode ?? (health.status === 'closed' ? 'SKEIN_ERR_STORAGE_CLOSED' : 'SKEIN_ERR_STORAGE_WRITE');
    const reasons = health.reasons.map((message) => ({ code, message }));
    // Degraded still serves (edits apply in memory, acks wait for the retried writes); closed does not.
    return { ready: health.status !== 'closed', degraded: true, reasons };
  };
  const http = createServer(
    createRequestHandler({
      version: VERSION,
      readiness,
      stats: () => ({ connections: transport.connectionCount, documents: registry.size }),
    }),
  );
  http.on('upgrade', transport.handleUpgrade);
  const address = await listen(http, config.port, config.host).catch(async (err: unknown) => {
    await transport.closeAll(CloseCode.GoingAway, 'SKEIN_ERR_SHUTTING_DOWN', 0);
    if (deps.store === undefined) await store.close().catch(() => undefined);
    throw err;
  });
  logger.info({ host: config.host, port: address.port, url: `ws://${formatHost(config.host)}:${address.port}`, storage: config.storage, version: VERSION }, 'listening');

  const shutdown = async (): Promise<string[]> => {
    logger.info({ connections: transport.connectionCount, documents: registry.size }, 'shutting down');
    const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
    const grace = Math.min(5_000, Math.max(100, Math.floor(config.shutdownTimeoutMs / 2)));
    await transport.closeAll(CloseCode.GoingAway, 'SKEIN_ERR_SHUTTING_DOWN', grace);
    const unflushed = await registry.close();
    if (store instanceof LevelStore) {
      const report = await store.shutdown({ timeoutMs: Math.max(100, config.shutdownTimeoutMs - grace) });
      unflushed.push(...report.unflushed.filter((name) => !unflushed.includes(name)));
    } else {
      await store.close();
    }
    http.closeAllConnections();
    await stopped;
    if (unflushed.length > 0) {
      logger.error({ code: 'SKEIN_ERR_STORAGE_WRITE', documents: unflushed }, 'documents not flushed at shutdown');
    }
    logger.info('shut down');
    return unflushed;
  };

  return {
    host: config.host,
    port: address.port,
    url: `ws://${formatHost(config.host)}:${address.port}`,
    registry,
    store,
    connectionCount: () => transport.connectionCount,
    close: () => (closing ??= shutdown()),
  };
}

async function createStore(config: Config, logger: Logger): Promise<DocumentStore> {
  switch (config.storage) {
    case 'memory':
      return new MemoryStore();
    case 'leveldb':
      return openLevelStore({ dir: config.dataDir, logger, rules: config.persistenceRules });
  }
}

function listen(http: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new SkeinError('SKEIN_ERR_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`, { cause: err }));
    };
    http.once('error', onError);
    http.listen(port, host, () => {
      http.off('error', onError);
      resolve(http.address() as AddressInfo);
    });
  });
}

function formatHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
