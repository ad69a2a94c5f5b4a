/**
 * Every span, metric and attribute name Skein emits. Telemetry owns its names: other modules
 * never spell one (health reason codes and alert log events are in `health/names.ts`).
 * `docs/observability.md` documents each of them; a test fails when a constant here is
 * missing from that page.
 *
 * Metric names are OpenTelemetry names; the Prometheus endpoint turns dots into underscores
 * and adds `_total` to counters. Where the unit is a base unit (seconds, bytes) it is part of
 * the name, so the Prometheus names are the idiomatic ones (`..._seconds`, `..._bytes_total`).
 *
 * Privacy: no span or metric carries update payloads, awareness states, tokens or document
 * content. Document names appear only on spans (`skein.document.name`), never as a metric
 * attribute (unbounded cardinality).
 */

/** Instrumentation scope (tracer and meter name). */
export const INSTRUMENTATION_SCOPE = 'skein';

export const SPAN = {
  /** SERVER: the WebSocket upgrade of one connection, through the document open, to the first sync step 1 sent. */
  connectionUpgrade: 'skein.connection.upgrade',
  /** INTERNAL: loading one document from the store (and the cluster's shared tier). */
  documentLoad: 'skein.document.load',
  /** SERVER: answering a client's sync step 1 with sync step 2 (the diff it lacks). */
  sync: 'skein.sync',
  /** SERVER: applying one client update message and fanning it out locally. A root span linked to its connection. */
  updateApply: 'skein.update.apply',
  /** INTERNAL: one synced batch write of a document's update log. */
  persistenceWrite: 'skein.persistence.write',
  /** PRODUCER: publishing a change to the other nodes through Redis (messaging semantic conventions). */
  clusterPublish: 'publish skein:{doc}:ch',
  /** CONSUMER: applying a change another node published. */
  clusterProcess: 'process skein:{doc}:ch',
} as const;

export const METRIC = {
  // Connections and documents
  connections: 'skein.connections',
  connectionUpgrades: 'skein.connection.upgrades',
  documentsLoaded: 'skein.documents.loaded',
  documentsDormant: 'skein.documents.dormant',
  documentLoads: 'skein.document.loads',
  documentLoadDuration: 'skein.document.load.duration.seconds',
  // Traffic
  updatesReceived: 'skein.updates.received',
  updatesReceivedBytes: 'skein.updates.received.bytes',
  awarenessReceived: 'skein.awareness.received',
  readOnlyDropped: 'skein.readonly.updates.dropped',
  writesRefused: 'skein.writes.refused',
  syncRequests: 'skein.sync.requests',
  messagesSent: 'skein.messages.sent',
  messagesSentBytes: 'skein.messages.sent.bytes',
  fanoutDuration: 'skein.fanout.duration.seconds',
  // Limits at the edge
  limitRefusals: 'skein.limit.refusals',
  // Persistence
  persistenceWriteDuration: 'skein.persistence.write.duration.seconds',
  persistenceWrites: 'skein.persistence.writes',
  persistenceWrittenUpdates: 'skein.persistence.written.updates',
  persistenceWrittenBytes: 'skein.persistence.written.bytes',
  persistenceFailures: 'skein.persistence.failures',
  persistenceConsecutiveFailures: 'skein.persistence.consecutive.failures',
  persistencePendingUpdates: 'skein.persistence.pending.updates',
  persistencePendingBytes: 'skein.persistence.pending.bytes',
  persistenceQuarantinedRecords: 'skein.persistence.quarantined.records',
  persistenceCompactions: 'skein.persistence.compactions',
  // Cluster
  clusterOutboxDepth: 'skein.cluster.outbox.depth',
  clusterLinkUp: 'skein.cluster.link.up',
  clusterCircuitState: 'skein.cluster.circuit.state',
  clusterNodes: 'skein.cluster.nodes',
  clusterMessagesPublished: 'skein.cluster.messages.published',
  clusterMessagesReceived: 'skein.cluster.messages.received',
  clusterAntiEntropyRepairs: 'skein.cluster.antientropy.repairs',
  // Webhooks
  webhookSent: 'skein.webhook.sent',
  webhookFailed: 'skein.webhook.failed',
  webhookDuration: 'skein.webhook.delivery.duration.seconds',
  webhookDeadLettered: 'skein.webhook.dead_lettered',
  webhookQueueDepth: 'skein.webhook.queue.depth',
  webhookDeadLetters: 'skein.webhook.dead_letters',
  webhookCircuitState: 'skein.webhook.circuit.state',
  // Health
  healthStatus: 'skein.health.status',
  healthAlerts: 'skein.health.alerts',
  integrityScans: 'skein.integrity.scans',
  integrityMismatches: 'skein.integrity.mismatches',
  // Runtime (OpenTelemetry Node.js / V8 semantic conventions)
  eventLoopDelayP99: 'nodejs.eventloop.delay.p99',
  eventLoopDelayMax: 'nodejs.eventloop.delay.max',
  heapUsed: 'v8js.memory.heap.used',
  heapLimit: 'v8js.memory.heap.limit',
} as const;

/** Span and metric attribute keys. */
export const ATTR = {
  documentName: 'skein.document.name',
  /** The authenticated user (a token's `sub`; OpenTelemetry's `enduser.id`). Never the token. */
  userId: 'enduser.id',
  /** The session may only read (its token grants `read`). */
  readOnly: 'skein.session.read_only',
  connectionId: 'skein.connection.id',
  /** Where an update came from: `client` or `cluster`. */
  updateSource: 'skein.update.source',
  /** Message type on the wire: `sync-step2`, `update`, … */
  messageType: 'skein.message.type',
  updateBytes: 'skein.update.bytes',
  peers: 'skein.peers',
  stateVectorBytes: 'skein.sync.state_vector.bytes',
  replyBytes: 'skein.sync.reply.bytes',
  loadUpdates: 'skein.load.updates',
  loadBytes: 'skein.load.bytes',
  loadRemoteParts: 'skein.load.remote_parts',
  persistStrategy: 'skein.persistence.strategy',
  persistBatchUpdates: 'skein.persistence.batch.updates',
  persistBatchBytes: 'skein.persistence.batch.bytes',
  persistAttempt: 'skein.persistence.attempt',
  outcome: 'skein.outcome',
  circuitState: 'skein.cluster.circuit.state',
  repairDirection: 'skein.cluster.repair.direction',
  healthCode: 'skein.health.code',
  /** A webhook endpoint: scheme://host:port only (a URL's path or query may hold a secret). */
  webhookEndpoint: 'skein.webhook.endpoint',
  webhookEventType: 'skein.webhook.event.type',
  /** Why a webhook attempt failed: `http` (a non-2xx status), `timeout`, `network`. */
  webhookFailure: 'skein.webhook.failure.reason',
  webhookCircuitState: 'skein.webhook.circuit.state',
  /** Which edge limit refused: origin, ip-connections, ip-upgrade-rate, doc-connections, message-rate, byte-rate, doc-bytes, handshake-timeout, header-size. */
  limitKind: 'skein.limit.kind',
  /** OpenTelemetry general attribute: the error code (a SKEIN_ERR_* code). */
  errorType: 'error.type',
  // OpenTelemetry messaging semantic conventions (cluster spans).
  messagingSystem: 'messaging.system',
  messagingOperationType: 'messaging.operation.type',
  messagingOperationName: 'messaging.operation.name',
  messagingDestinationTemplate: 'messaging.destination.template',
  messagingBodySize: 'messaging.message.body.size',
  messagingKind: 'skein.cluster.message.kind',
} as const;
