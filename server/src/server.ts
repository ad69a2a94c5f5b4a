import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { systemClock, type Clock } from './clock/clock.js';
import type { Authenticate } from './auth/authenticator.js';
import { JwtVerifier } from './auth/jwt.js';
import { createLogger, type Logger } from './logging/logger.js';
import type { DocumentStore } from './persistence/store.js';
import { LogStore, createMemoryStore, openLevelStore } from './persistence/log-store.js';
import { LEGACY_OUTBOX_DIR, migrateLegacyOutbox } from './persistence/legacy-outbox.js';
import { DocumentRegistry } from './documents/registry.js';
import { WsTransport } from './transport/ws-server.js';
import { guardClientErrors, httpServerOptions } from './transport/http-edge.js';
import { EdgeLimits, edgeLimitOptions } from './auth/limits.js';
import { createRequestHandler } from './http/routes.js';
import { createApiHandler } from './http/api/api-handler.js';
import { ApiAccess } from './auth/api-access.js';
import { History } from './history/history.js';
import { toDocumentEvent, type DocumentEvents as HistoryEvents } from './history/events.js';
import { parseDuration, parseHistoryKeep } from './config/api-options.js';
import { openStaticFiles, type StaticFiles } from './http/static.js';
import { createInspectorHandler } from './http/inspector.js';
import { fileURLToPath } from 'node:url';
import { SkeinError, toSkeinError } from './errors/skein-error.js';
import { CloseCode } from '@skein/protocol';
import { VERSION } from './version.js';
import { boundRunMerges } from './crdt/runs.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Cluster, parseClusterNodes, type RedisTarget } from './cluster/index.js';
import { createTelemetry, telemetryOptions, type Telemetry, type TelemetrySources } from './telemetry/index.js';
import { Webhooks, webhookOptions, webhooksEnabled, type WebhooksOptions } from './webhooks/index.js';
import { NO_DOCUMENT_EVENTS, type DocumentEvents } from './documents/events.js';
import {
  HealthService, healthOptions, type ClusterSnapshot, type HealthOptions, type HealthServiceOptions, type HealthViews,
} from './health/index.js';

export interface ServerDeps {
  readonly logger?: Logger;
  /** The document store; defaults to the one `config.storage` names. */
  readonly store?: DocumentStore;
  /** Telemetry (tests inject one with in-memory exporters; the caller then shuts it down). Default: from `config`. */
  readonly telemetry?: Telemetry;
  /** The time source of registry, transport and cluster (tests drive a manual clock). Default: the real clock. */
  readonly clock?: Clock;
  /**
   * Decide who a request is and what they may do, your own way (e.g. your app's session
   * cookie). Replaces `--auth`. See docs/security.md.
   */
  readonly authenticate?: Authenticate;
  /** Overrides of the health options `config` gives (tests: the sampling period, thresholds). */
  /** Webhooks: how POSTs go out (tests), default node:http/https. */
  readonly webhookSend?: WebhooksOptions['send'];
  readonly health?: {
    readonly model?: Partial<HealthOptions>;
    readonly integrity?: HealthServiceOptions['integrity'];
    readonly sampleIntervalMs?: number;
  };
  /**
   * Also told of `document.deleted`, `version.created` and `version.restored` (as the API and
   * history report them, `history/events.ts`); the webhooks get them either way.
   */
  readonly events?: HistoryEvents;
  /** The built inspector app served at `/_skein/` (default: `examples/inspector/dist` of this checkout). */
  readonly inspectorDir?: string;
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
  /** Traces and metrics (docs/observability.md). */
  readonly telemetry: Telemetry;
  /** Health and readiness: the health model, the integrity scan, event-loop lag. */
  readonly health: HealthService;
  /** Version history (named and automatic versions, restore); undefined when the store keeps no versions. */
  readonly history: History | undefined;
  /** The webhooks, when `--webhook-url` is set. */
  readonly webhooks: Webhooks | undefined;
  /**
   * Where `document.deleted`, `version.created` and `version.restored` are emitted (the API and
   * history code call it); a no-op without webhooks.
   */
  readonly events: DocumentEvents;
  connectionCount(): number;
  /**
   * Graceful shutdown: stop accepting, close sockets with 1001, flush every document, close
   * the store. Resolves with the names of documents that could not be flushed. Idempotent.
   */
  close(): Promise<string[]>;
}

/** The composition root: the only place that picks concrete adapters. */
export async function startServer(config: Config, deps: ServerDeps = {}): Promise<SkeinServer> {
  // Yjs in this process: a Y.Array run grows to at most 1,024 elements (crdt/runs.ts).
  boundRunMerges();
  const logger = deps.logger ?? createLogger(config.logLevel);
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? (await createTelemetry(telemetryOptions(config, VERSION, nodeName(config)), logger, VERSION));
  // Checked before the store opens: a wrong --static-dir or key file fails fast with nothing to clean up.
  const staticFiles = config.staticDir === '' ? undefined : await openStaticFiles(config.staticDir);
  // The inspector reads everything through /api/v1: without the API it has nothing to show.
  const inspector = config.inspector === 'off' || config.httpApi === 'off' ? undefined : createInspectorHandler(await inspectorFiles(deps.inspectorDir ?? (config.inspectorDir === '' ? undefined : config.inspectorDir), logger));
  const authenticate = deps.authenticate ?? (await authFromConfig(config, clock));
  if (authenticate === undefined && !isLoopback(config.host)) {
    logger.warn({ code: 'SKEIN_ERR_AUTH_DISABLED', host: config.host }, 'no access control (--auth none) on a non-loopback host: anyone who reaches it can read and write every document');
  }
  const store = deps.store ?? (await createStore(config, logger, telemetry, clock));
  // Cluster: only with Redis configured; otherwise a single node that needs no Redis.
  const cluster = await createCluster(config, logger, telemetry, clock, store).catch(async (err: unknown) => {
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
    fanOutWindowMs: config.fanOutWindowMs,
    presenceIntervalMs: config.presenceIntervalMs,
    dormantAfterMs: config.dormantAfterMs,
    clock,
    ...(cluster === undefined ? {} : { replicator: cluster }),
    telemetry,
    onChange: (name) => history?.changed(name),
  });
  const webhooks = await startWebhooks(config, store, logger, telemetry, clock, deps).catch(async (err: unknown) => {
    await registry.close();
    await cluster?.close(0).catch(() => undefined);
    if (deps.store === undefined) await store.close().catch(() => undefined);
    throw err;
  });
  // What the API and history report (deleted documents, versions) reaches the webhooks'
  // outbox, and any listener the embedder passed (`deps.events`).
  const historyEvents: HistoryEvents = {
    emit: (event) => {
      deps.events?.emit(event);
      if (webhooks === undefined) return;
      webhooks.emit(toDocumentEvent(event)).catch((err: unknown) =>
        logger.warn({ code: toSkeinError(err).code, event: event.type }, 'document event not recorded for the webhooks'));
    },
  };
  const history = store.versions === undefined
    ? undefined
    : new History({
        registry, store, clock, logger,
        intervalMs: parseDuration(config.historyInterval),
        keep: parseHistoryKeep(config.historyKeep),
        events: historyEvents,
      });
  history?.start();
  const api = config.httpApi === 'off'
    ? undefined
    : createApiHandler({
        deps: {
          registry, store, clock, logger,
          // Late-bound: the transport is built after the API handler.
          connections: { list: () => transport.connections(), close: (id) => transport.closeConnection(id) },
          ...(history === undefined ? {} : { history }), events: historyEvents },
        access: new ApiAccess({
          authenticate, adminToken: config.adminToken, mode: config.httpApi, loopback: isLoopback(config.host),
          ratePerSecond: config.apiRatePerToken, burst: config.apiBurstPerToken, clock, inspector: config.inspector,
        }),
        maxBodyBytes: config.apiMaxBodyBytes,
        version: VERSION,
      });
  const transport = new WsTransport(registry, {
    logger,
    maxMessageBytes: config.maxMessageBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    maxLoadBacklogBytes: config.maxLoadBacklogBytes,
    syncChunkBytes: config.syncChunkBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    telemetry,
    clock,
    readonlyAwareness: config.readonlyAwareness,
    ...(authenticate === undefined ? {} : { authenticate }),
    // Limits at the edge (auth/limits.ts, docs/security.md).
    limits: new EdgeLimits(edgeLimitOptions(config), clock, (kind) => telemetry.limitRefused(kind)),
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    turnBudget: { maxMessages: config.turnMaxMessages, maxMs: config.turnMaxMs, maxReadBytes: config.turnMaxReadBytes },
    presenceRate: config.presenceRate,
    muxMaxChannels: config.muxMaxChannels,
  });
  let closing: Promise<string[]> | undefined;
  const views = { ...healthViews(registry, store, cluster, () => closing !== undefined), ...(webhooks === undefined ? {} : { webhooks }) };
  const health = new HealthService(withOverrides(healthOptions(config), deps.health), views, logger, telemetry);
  telemetry.attach(telemetrySources(views, transport, registry, health, webhooks), {
    writeFinished: (strategy, ms, ok) => health.recordWrite(strategy, ms, ok),
  });
  health.start();
  const http = createServer(
    httpServerOptions(config),
    createRequestHandler({
      version: VERSION,
      readiness: () => health.readiness(),
      stats: () => ({
        connections: transport.connectionCount,
        documents: registry.size,
        ...(cluster === undefined ? {} : { clusterNodes: cluster.health().nodes + 1, clusterOutbox: cluster.health().outbox }),
      }),
      ...(staticFiles === undefined ? {} : { staticFiles }),
      health: () => health.report(),
      metrics: telemetry.metricsHandler,
      ...(api === undefined ? {} : { api }),
      ...(webhooks === undefined
        ? {}
        : { webhooks: { adminToken: config.adminToken, deadLetters: (limit) => webhooks.deadLetters(limit), retryDeadLetters: (ids) => webhooks.retryDeadLetters(ids) } }),
      ...(inspector === undefined ? {} : { inspector }),
    }),
  );
  http.on('upgrade', transport.handleUpgrade);
  guardClientErrors(http, logger, (kind) => telemetry.limitRefused(kind));
  const address = await listen(http, config.port, config.host).catch(async (err: unknown) => {
    await transport.close(CloseCode.GoingAway, 'SKEIN_ERR_SHUTTING_DOWN', 0);
    await history?.stop();
    health.stop();
    await webhooks?.close().catch(() => undefined);
    await cluster?.close(0).catch(() => undefined);
    if (deps.store === undefined) await store.close().catch(() => undefined);
    if (deps.telemetry === undefined) await telemetry.close();
    else telemetry.detach();
    throw err;
  });
  logger.info({ host: config.host, port: address.port, url: `ws://${formatHost(config.host)}:${address.port}`, storage: config.storage, version: VERSION, ...(staticFiles === undefined ? {} : { staticDir: staticFiles.root }) }, 'listening');

  const shutdown = async (): Promise<string[]> => {
    logger.info({ connections: transport.connectionCount, documents: registry.size }, 'shutting down');
    const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
    const grace = Math.min(5_000, Math.max(100, Math.floor(config.shutdownTimeoutMs / 2)));
    await transport.close(CloseCode.GoingAway, 'SKEIN_ERR_SHUTTING_DOWN', grace);
    await history?.stop();
    const unflushed = await registry.close();
    // Every document is flushed (its change marks durable): seal pending changes into events,
    // settle attempts in flight (bounded; what is left is delivered after the next start).
    await withinMs(webhooks?.close(), Math.max(100, Math.floor(config.shutdownTimeoutMs / 4)));
    // After the documents, before the store (the outbox is the store's): announce leaving,
    // deliver the outbox within a bound (what is left stays on disk for the next start).
    await cluster?.close(Math.min(2_000, Math.max(100, config.shutdownTimeoutMs - grace))).catch((err: unknown) =>
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'cluster close failed'),
    );
    if (store instanceof LogStore) {
      const report = await store.closeWithReport({ timeoutMs: Math.max(100, config.shutdownTimeoutMs - grace) });
      unflushed.push(...report.unflushed.filter((name) => !unflushed.includes(name)));
    } else {
      await store.close();
    }
    http.closeAllConnections();
    await stopped;
    if (unflushed.length > 0) {
      logger.error({ code: 'SKEIN_ERR_STORAGE_WRITE', documents: unflushed }, 'documents not flushed at shutdown');
    }
    health.stop();
    // Last: the spans of the final flushes are exported too.
    if (deps.telemetry === undefined) await telemetry.close();
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
    health,
    history,
    webhooks,
    events: webhooks ?? NO_DOCUMENT_EVENTS,
    connectionCount: () => transport.connectionCount,
    close: () => (closing ??= shutdown()),
  };
}

/** The read-only views the health module reads (the store, registry and cluster, never written through). */
function healthViews(registry: DocumentRegistry, store: DocumentStore, cluster: Cluster | undefined, shuttingDown: () => boolean): HealthViews {
  const stats = store.stats?.bind(store);
  const inspect = store.inspect?.bind(store);
  const storeHealth = store.health?.bind(store);
  return {
    store: {
      ...(storeHealth === undefined ? {} : { health: storeHealth }),
      ...(stats === undefined ? {} : { stats }),
      ...(inspect === undefined ? {} : { inspect }),
    },
    budget: registry.budget,
    registry: {
      names: () => registry.names(),
      stateVector: (name) => {
        const handle = registry.get(name);
        return handle === undefined || handle.state === 'loading' || handle.state === 'closed' ? undefined : handle.stateVector();
      },
    },
    ...(cluster === undefined
      ? {}
      : {
          cluster: {
            snapshot: (): ClusterSnapshot => {
              const h = cluster.health();
              return { status: h.status, reasons: h.reasons, linkState: h.link.state, breaker: h.link.breaker, nodes: h.nodes, outbox: h.outbox };
            },
          },
        }),
    shuttingDown,
  };
}

/** The live figures telemetry's gauges read. */
function telemetrySources(views: HealthViews, transport: WsTransport, registry: DocumentRegistry, health: HealthService, webhooks: Webhooks | undefined): TelemetrySources {
  const stats = views.store.stats?.bind(views.store);
  const { cluster } = views;
  return {
    connections: () => transport.connectionCount,
    documents: () => registry.size,
    dormantDocuments: () => registry.dormantCount(),
    ...(stats === undefined ? {} : { storeStats: stats }),
    ...(cluster === undefined ? {} : { cluster: () => cluster.snapshot() }),
    ...(webhooks === undefined ? {} : { webhooks: () => webhooks.snapshot() }),
    healthStatus: () => health.status,
    eventLoop: () => health.eventLoop,
  };
}

function withOverrides(base: HealthServiceOptions, over: ServerDeps['health']): HealthServiceOptions {
  if (over === undefined) return base;
  const sampleIntervalMs = over.sampleIntervalMs ?? base.sampleIntervalMs;
  return {
    model: { ...base.model, ...over.model },
    integrity: over.integrity ?? base.integrity,
    ...(sampleIntervalMs === undefined ? {} : { sampleIntervalMs }),
  };
}

async function createStore(config: Config, logger: Logger, telemetry: Telemetry, clock: Clock): Promise<DocumentStore> {
  switch (config.storage) {
    case 'memory':
      // The same engine as LevelDB, over an in-memory KV.
      return createMemoryStore({ logger, rules: config.persistenceRules, telemetry, timers: clock, events: webhooksEnabled(config) });
    case 'leveldb': {
      const store = await openLevelStore({ dir: config.dataDir, logger, rules: config.persistenceRules, telemetry, timers: clock, events: webhooksEnabled(config) });
      // Releases before the in-log outbox kept the cluster outbox in a LevelDB of its own.
      await migrateLegacyOutbox(store, join(config.dataDir, LEGACY_OUTBOX_DIR), logger).catch(async (err: unknown) => {
        await store.close().catch(() => undefined);
        throw err;
      });
      return store;
    }
  }
}

/** The cluster node when Redis is configured (`--redis-url` or `--redis-cluster-nodes`), else undefined. */
async function createCluster(config: Config, logger: Logger, telemetry: Telemetry, clock: Clock, store: DocumentStore): Promise<Cluster | undefined> {
  if (config.redisUrl === '' && config.redisClusterNodes === '') return undefined;
  if (config.redisUrl !== '' && config.redisClusterNodes !== '') {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'give either --redis-url or --redis-cluster-nodes, not both');
  }
  if (config.clusterNodeTimeoutMs <= config.clusterHeartbeatMs) {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', '--cluster-node-timeout-ms must be longer than --cluster-heartbeat-ms');
  }
  const target: RedisTarget =
    config.redisUrl !== '' ? { mode: 'standalone', url: config.redisUrl } : { mode: 'cluster', nodes: parseClusterNodes(config.redisClusterNodes) };
  // The outbox (updates on their way to the shared tier) is the store's: its records are
  // written in the same batch as the log records.
  const outbox = store.outbox;
  if (outbox === undefined) {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'a cluster needs a store with a replication outbox (the built-in engines have one)');
  }
  return Cluster.start({
    nodeId: nodeName(config),
    target,
    ackPolicy: config.clusterAck,
    heartbeatMs: config.clusterHeartbeatMs,
    nodeTimeoutMs: config.clusterNodeTimeoutMs,
    antiEntropyMs: config.clusterAntiEntropyMs,
    maxBackoffMs: config.redisMaxBackoffMs,
    outbox,
    logger,
    telemetry,
    clock,
  });
}

/** The webhooks when `--webhook-url` is set: they deliver the store's event journal. */
async function startWebhooks(config: Config, store: DocumentStore, logger: Logger, telemetry: Telemetry, clock: Clock, deps: ServerDeps): Promise<Webhooks | undefined> {
  if (!webhooksEnabled(config)) return undefined;
  const journal = store instanceof LogStore ? store.events : undefined;
  if (journal === undefined) {
    throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'webhooks need the built-in store with its event journal (LogStore with events: true)');
  }
  return Webhooks.start({
    ...webhookOptions(config), journal, logger, clock, probes: telemetry,
    ...(deps.webhookSend === undefined ? {} : { send: deps.webhookSend }),
  });
}

/** Wait for `work` at most `ms` (real time: shutdown bounds). */
async function withinMs(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (work === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** `--auth jwt`: the token verifier's hook; `--auth none`: undefined (everyone may write). */
async function authFromConfig(config: Config, clock: Clock): Promise<Authenticate | undefined> {
  if (config.auth === 'none') return undefined;
  const verifier = await JwtVerifier.open({
    secret: config.authJwtSecret,
    publicKeyFile: config.authJwtPublicKey,
    jwksFile: config.authJwksFile,
    issuer: config.authJwtIssuer,
    audience: config.authJwtAudience,
    clockToleranceS: config.authClockToleranceS,
  });
  return verifier.authenticator(() => clock.now());
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
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

/** The inspector's built files, or undefined (answered with how to build them) when absent. */
async function inspectorFiles(dir: string | undefined, logger: Logger): Promise<StaticFiles | undefined> {
  const path = dir ?? fileURLToPath(new URL('../../examples/inspector/dist/', import.meta.url));
  try {
    return await openStaticFiles(path);
  } catch {
    logger.info({ dir: path }, 'the inspector is not built; /_skein/ says how to build it');
    return undefined;
  }
}
