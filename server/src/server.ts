import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { systemClock, type Clock } from './clock/clock.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import type { DocumentStore } from './persistence/store.js';
import { MemoryStore } from './persistence/memory-store.js';
import { LevelStore, openLevelStore } from './persistence/level-store.js';
import { DocumentRegistry } from './documents/registry.js';
import { WsTransport } from './transport/ws-server.js';
import { guardClientErrors, httpServerOptions } from './transport/http-edge.js';
import { EdgeLimits, edgeLimitOptions } from './auth/limits.js';
import { createRequestHandler, type ReadinessReport } from './http/routes.js';
import { openStaticFiles } from './http/static.js';
import { SkeinError } from './errors/skein-error.js';
import { CloseCode } from '@skein/protocol';
import { VERSION } from './version.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Cluster, parseClusterNodes, type RedisTarget } from './cluster/index.js';
import { LevelKv } from './persistence/level-kv.js';
import { MemoryKv } from './persistence/memory-kv.js';
import { createTelemetry, serverSources, telemetryOptions, type Telemetry } from './telemetry/index.js';

export interface ServerDeps {
  readonly logger?: Logger;
  /** The document store; defaults to the one `config.storage` names. */
  readonly store?: DocumentStore;
  /** Telemetry (tests inject one with in-memory exporters; the caller then shuts it down). Default: from `config`. */
  readonly telemetry?: Telemetry;
  /** The time source of registry, transport and cluster (tests drive a manual clock). Default: the real clock. */
  readonly clock?: Clock;
}

export interface SkeinServer {
  readonly host: string;
  /** The bound port (useful with `port: 0`). */
  readonly port: number;
  /** `ws://host:port` — append `/<document-name>`. */
  readonly url: string;
  readonly registry: DocumentRegistry;
  readonly store: DocumentStore;
  /** The cluster node, when a Redis URL or Redis Cluster nodes are configured. */
  readonly cluster: Cluster | undefined;
  /** Traces, metrics and the health model (docs/observability.md). */
  readonly telemetry: Telemetry;
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
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? (await createTelemetry(telemetryOptions(config, VERSION, nodeName(config)), logger, VERSION));
  // Checked before the store opens: a wrong --static-dir fails fast with nothing to clean up.
  const staticFiles = config.staticDir === '' ? undefined : await openStaticFiles(config.staticDir);
  const store = deps.store ?? (await createStore(config, logger, telemetry));
  // Cluster: only with Redis configured; otherwise a single node that needs no Redis.
  const cluster = await createCluster(config, logger, telemetry, clock).catch(async (err: unknown) => {
    if (deps.store === undefined) await store.close().catch(() => undefined);
    throw err;
  });
  const registry = new DocumentRegistry({
    store,
    logger,
    unloadDelayMs: config.unloadDelayMs,
    loadTimeoutMs: config.loadTimeoutMs,
    maxUnpersistedBytes: config.maxUnpersistedBytes,
    maxDocBytes: config.maxDocBytes,
    clock,
    ...(cluster === undefined ? {} : { replicator: cluster }),
    telemetry,
  });
  const transport = new WsTransport(registry, logger, {
    maxMessageBytes: config.maxMessageBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    maxLoadBacklogBytes: config.maxLoadBacklogBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    telemetry,
    clock,
    // Limits at the edge (auth/limits.ts, docs/security.md).
    limits: new EdgeLimits(edgeLimitOptions(config), clock, (kind) => telemetry.limitRefused(kind)),
    handshakeTimeoutMs: config.handshakeTimeoutMs,
  });
  telemetry.attach(serverSources({ connections: () => transport.connectionCount, registry, store, cluster }));
  let closing: Promise<string[]> | undefined;
  const readiness = (): ReadinessReport => {
    if (closing !== undefined) {
      return { ready: false, reasons: [{ code: 'SKEIN_ERR_SHUTTING_DOWN', message: 'the server is shutting down' }] };
    }
    const health = store.health?.();
    // Too many bytes wait for storage: new writes are refused, so new clients belong elsewhere
    // (not ready); connected ones keep reading and syncing.
    const budget = registry.budget;
    const budgetReasons = budget.exhausted
      ? [{ code: 'SKEIN_ERR_UNPERSISTED_LIMIT', message: `${budget.bytes} bytes wait for storage (limit ${budget.maxBytes}); new writes are refused` }]
      : [];
    // Redis unreachable: still serving (local editing continues), so ready but degraded.
    const clusterReasons = (cluster?.health().reasons ?? []).map((message) => ({ code: 'SKEIN_ERR_CLUSTER_UNAVAILABLE', message }));
    const storeReasons =
      health === undefined || health.status === 'ok'
        ? []
        : health.reasons.map((message) => ({
            code: health.lastErrorCode ?? (health.status === 'closed' ? 'SKEIN_ERR_STORAGE_CLOSED' : 'SKEIN_ERR_STORAGE_WRITE'),
            message,
          }));
    const reasons = [...storeReasons, ...budgetReasons, ...clusterReasons];
    if (reasons.length === 0) return { ready: true, reasons: [] };
    // A failing store still serves (edits apply in memory, acks wait for the retried writes);
    // a closed store or an exhausted write budget does not take new clients.
    return { ready: health?.status !== 'closed' && !budget.exhausted, degraded: true, reasons };
  };
  const http = createServer(
    httpServerOptions(config),
    createRequestHandler({
      version: VERSION,
      readiness,
      stats: () => ({
        connections: transport.connectionCount,
        documents: registry.size,
        ...(cluster === undefined ? {} : { clusterNodes: cluster.health().nodes + 1, clusterOutbox: cluster.health().outbox }),
      }),
      ...(staticFiles === undefined ? {} : { staticFiles }),
      health: () => telemetry.health(),
      metrics: telemetry.metricsHandler,
    }),
  );
  http.on('upgrade', transport.handleUpgrade);
  guardClientErrors(http, logger, (kind) => telemetry.limitRefused(kind));
  const address = await listen(http, config.port, config.host).catch(async (err: unknown) => {
    await transport.closeAll(CloseCode.GoingAway, 'SKEIN_ERR_SHUTTING_DOWN', 0);
    await cluster?.close(0).catch(() => undefined);
    if (deps.store === undefined) await store.close().catch(() => undefined);
    if (deps.telemetry === undefined) await telemetry.shutdown();
    else telemetry.detach();
    throw err;
  });
  logger.info({ host: config.host, port: address.port, url: `ws://${formatHost(config.host)}:${address.port}`, storage: config.storage, version: VERSION, ...(staticFiles === undefined ? {} : { staticDir: staticFiles.root }) }, 'listening');

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
    // After the documents: announce leaving, deliver the outbox within a bound (what is left
    // stays on disk and is delivered on the next start).
    await cluster?.close(Math.min(2_000, Math.max(100, config.shutdownTimeoutMs - grace))).catch((err: unknown) =>
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'cluster close failed'),
    );
    http.closeAllConnections();
    await stopped;
    if (unflushed.length > 0) {
      logger.error({ code: 'SKEIN_ERR_STORAGE_WRITE', documents: unflushed }, 'documents not flushed at shutdown');
    }
    // Last: the spans of the final flushes are exported too.
    if (deps.telemetry === undefined) await telemetry.shutdown();
    else telemetry.detach();
    logger.info('shut down');
    return unflushed;
  };

  return {
    host: config.host,
    port: address.port,
    url: `ws://${formatHost(config.host)}:${address.port}`,
    registry,
    store,
    cluster,
    telemetry,
    connectionCount: () => transport.connectionCount,
    close: () => (closing ??= shutdown()),
  };
}

async function createStore(config: Config, logger: Logger, telemetry: Telemetry): Promise<DocumentStore> {
  switch (config.storage) {
    case 'memory':
      return new MemoryStore();
    case 'leveldb':
      return openLevelStore({ dir: config.dataDir, logger, rules: config.persistenceRules, telemetry });
  }
}

/** The cluster node when Redis is configured (`--redis-url` or `--redis-cluster-nodes`), else undefined. */
async function createCluster(config: Config, logger: Logger, telemetry: Telemetry, clock: Clock): Promise<Cluster | undefined> {
  if (config.redisUrl === '' && config.redisClusterNodes === '') return undefined;
  if (config.redisUrl !== '' && config.redisClusterNodes !== '') {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'give either --redis-url or --redis-cluster-nodes, not both');
  }
  if (config.clusterNodeTimeoutMs <= config.clusterHeartbeatMs) {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', '--cluster-node-timeout-ms must be longer than --cluster-heartbeat-ms');
  }
  const target: RedisTarget =
    config.redisUrl !== '' ? { mode: 'standalone', url: config.redisUrl } : { mode: 'cluster', nodes: parseClusterNodes(config.redisClusterNodes) };
  // The outbox (updates on their way to the shared tier) lives next to the documents: its own
  // LevelDB inside the data directory, or memory with the memory store.
  const outboxKv = config.storage === 'leveldb' ? await LevelKv.open(join(config.dataDir, 'cluster-outbox')) : new MemoryKv();
  return Cluster.start({
    nodeId: nodeName(config),
    target,
    ackPolicy: config.clusterAck,
    heartbeatMs: config.clusterHeartbeatMs,
    nodeTimeoutMs: config.clusterNodeTimeoutMs,
    antiEntropyMs: config.clusterAntiEntropyMs,
    maxBackoffMs: config.redisMaxBackoffMs,
    outboxKv,
    logger,
    telemetry,
    clock,
  });
}

/** This node's name: `--node-id`, else `<hostname>-<pid>` (the cluster's presence name and `service.instance.id`). */
function nodeName(config: Config): string {
  return config.nodeId === '' ? `${hostname()}-${process.pid}` : config.nodeId;
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
