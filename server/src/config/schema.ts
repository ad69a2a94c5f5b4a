import { z } from 'zod';
import { parseStrategyRules } from '../persistence/strategy-rules.js';
import { API_OPTIONS } from './api-options.js';
import { AUTH_OPTIONS } from './auth-options.js';
import { LIMIT_OPTIONS } from './limit-options.js';
import { TELEMETRY_OPTIONS } from './telemetry-options.js';
import { WEBHOOK_OPTIONS } from './webhook-options.js';

/**
 * The one description of every setting: its schema, default, CLI flag, environment
 * variable and help text. The loader, `--help` and `docs/configuration.md` all derive from
 * this table; nothing else in the server reads `process.env`.
 */
export interface OptionSpec<S extends z.ZodType = z.ZodType> {
  /** Key in the typed Config (camelCase); also the key in a config file. */
  readonly key: string;
  /** Long CLI flag without dashes, e.g. `port` for `--port`. */
  readonly flag: string;
  /** Environment variable, e.g. `SKEIN_PORT`. */
  readonly env: string;
  readonly schema: S;
  readonly default: z.output<S>;
  readonly description: string;
  /**
   * The value is a secret (a token, a password): error messages and `--help` never show it.
   * Absent means false.
   */
  readonly sensitive?: boolean;
  /** The flag may be given several times (`--webhook-url a --webhook-url b`); its values are joined by spaces. */
  readonly repeatable?: boolean;
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveMs = z.coerce.number().int().min(1).max(24 * 60 * 60 * 1000);
const bytes = z.coerce.number().int().min(1024).max(2 ** 31);
const strategyRules = z.string().superRefine((text, ctx) => {
  try {
    parseStrategyRules(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
  }
});

// Empty means off; a NUL can never be part of a path.
const staticDir = z.string().refine((text) => !text.includes('\0'), { message: 'a directory path must not contain NUL' });

// Cluster (docs/cluster.md). Empty Redis settings: a single node that needs no Redis.
const redisUrl = z.string().refine((text) => text === '' || /^rediss?:\/\/[^\s]+$/.test(text), {
  message: 'expected empty or a redis:// or rediss:// URL',
});
const clusterNodes = z.string().refine(
  (text) => text === '' || text.split(',').every((entry) => /^(\[[0-9a-fA-F:.]+\]|[^:\s,]+):\d{1,5}$/.test(entry.trim())),
  { message: 'expected empty or a comma-separated list of host:port' },
);
const nodeId = z.string().refine((text) => text === '' || /^[A-Za-z0-9._:-]{1,64}$/.test(text), {
  message: 'expected empty or 1 to 64 of A-Z a-z 0-9 . _ : -',
});

export const OPTIONS = [
  { key: 'host', flag: 'host', env: 'SKEIN_HOST', schema: z.string().min(1), default: '127.0.0.1',
    description: 'Interface to listen on (0.0.0.0 for every interface).' },
  { key: 'port', flag: 'port', env: 'SKEIN_PORT', schema: port, default: 1234,
    description: 'TCP port for HTTP and WebSocket (0 picks a free port).' },
  { key: 'storage', flag: 'storage', env: 'SKEIN_STORAGE', schema: z.enum(['leveldb', 'memory']), default: 'leveldb',
    description: 'Document store: leveldb (durable, in --data-dir) or memory (kept for the life of the process).' },
  { key: 'dataDir', flag: 'data-dir', env: 'SKEIN_DATA_DIR', schema: z.string().min(1), default: './data',
    description: 'Directory of the LevelDB store (created if missing).' },
  { key: 'persistenceRules', flag: 'persistence-rules', env: 'SKEIN_PERSISTENCE_RULES', schema: strategyRules,
    default: '*=immediate',
    description:
      'Durability strategy by document name, first match wins: pattern=immediate or pattern=debounced:WAIT_MS:MAX_WAIT_MS, ' +
      'comma-separated (e.g. doc/*=immediate,scratch/*=debounced:5000:30000). Unmatched names use immediate.' },
  { key: 'logLevel', flag: 'log-level', env: 'SKEIN_LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info',
    description: 'Log level (JSON logs on stdout).' },
  { key: 'maxMessageBytes', flag: 'max-message-bytes', env: 'SKEIN_MAX_MESSAGE_BYTES', schema: bytes,
    default: 16 * 1024 * 1024,
    description: 'Largest WebSocket message accepted; larger closes the socket with 1009.' },
  { key: 'maxBufferedBytes', flag: 'max-buffered-bytes', env: 'SKEIN_MAX_BUFFERED_BYTES', schema: bytes,
    default: 32 * 1024 * 1024,
    description: 'Outgoing bytes buffered for one slow client before it is closed with 4508.' },
  { key: 'syncChunkBytes', flag: 'sync-chunk-bytes', env: 'SKEIN_SYNC_CHUNK_BYTES', schema: bytes,
    default: 256 * 1024,
    description:
      'A sync reply (what a joiner lacks) larger than this is sent as WebSocket fragments of this size, each once ' +
      'the previous one was written to the socket: still one message for every client, at most one fragment ' +
      'buffered per joiner, no copy of the document per joiner.' },
  { key: 'maxLoadBacklogBytes', flag: 'max-load-backlog-bytes', env: 'SKEIN_MAX_LOAD_BACKLOG_BYTES', schema: bytes,
    default: 32 * 1024 * 1024,
    description: 'Bytes a client may send while its document loads before it is closed with 4529.' },
  { key: 'maxUnpersistedBytes', flag: 'max-unpersisted-bytes', env: 'SKEIN_MAX_UNPERSISTED_BYTES',
    schema: z.coerce.number().int().min(0).max(2 ** 40), default: 256 * 1024 * 1024,
    description:
      'Bytes this node may hold accepted but not yet durable (a failing or slow disk); past it new writes are refused ' +
      'with SKEIN_ERR_UNPERSISTED_LIMIT (close code 4507, retryable) and /readyz reports it. 0: no bound.' },
  { key: 'heartbeatIntervalMs', flag: 'heartbeat-interval-ms', env: 'SKEIN_HEARTBEAT_INTERVAL_MS', schema: positiveMs,
    default: 30_000,
    description: 'Ping interval; a peer silent for two intervals is terminated.' },
  { key: 'fanOutWindowMs', flag: 'fanout-window-ms', env: 'SKEIN_FANOUT_WINDOW_MS',
    schema: z.coerce.number().int().min(0).max(1_000), default: 0,
    description:
      'Coalesced fan-out: a change to a quiet document goes to its peers at once and opens a group; the changes ' +
      'within the group (this window) are merged and sent as one message when it ends, and its presence (awareness) ' +
      'changes as one more, latest state per client. 0: the rest of the event-loop turn (no added latency at low rates).' },
  { key: 'presenceIntervalMs', flag: 'presence-interval-ms', env: 'SKEIN_PRESENCE_INTERVAL_MS',
    schema: z.coerce.number().int().min(0).max(1_000), default: 50,
    description:
      'Least time between two presence (awareness) messages a document sends to its peers. A change after a quiet ' +
      'interval goes out at once (end of the turn); changes within the interval of the last message wait for its ' +
      'end and go as one message, latest state per client, so each peer gets at most one per interval however many ' +
      'clients move their cursors. 0: every turn.' },
  { key: 'dormantAfterMs', flag: 'dormant-after-ms', env: 'SKEIN_DORMANT_AFTER_MS',
    schema: z.coerce.number().int().min(0).max(24 * 60 * 60 * 1000), default: 10_000,
    description:
      'A loaded document without a change for this long keeps only its encoded state, not a Y.Doc (about a tenth ' +
      'of the memory); joiners are served from it and the next change wakes it. Documents also load that way. ' +
      'A document whose wake took w ms sleeps only after 1000 × w ms without a change. 0: always a Y.Doc.' },
  { key: 'unloadDelayMs', flag: 'unload-delay-ms', env: 'SKEIN_UNLOAD_DELAY_MS',
    schema: z.coerce.number().int().min(0).max(24 * 60 * 60 * 1000), default: 5_000,
    description: 'How long a document stays loaded after its last connection leaves.' },
  { key: 'loadTimeoutMs', flag: 'load-timeout-ms', env: 'SKEIN_LOAD_TIMEOUT_MS', schema: positiveMs, default: 30_000,
    description: 'A document load that takes longer fails with SKEIN_ERR_DOC_LOAD_TIMEOUT.' },
  { key: 'shutdownTimeoutMs', flag: 'shutdown-timeout-ms', env: 'SKEIN_SHUTDOWN_TIMEOUT_MS', schema: positiveMs,
    default: 10_000,
    description: 'On SIGTERM/SIGINT, how long pending work may take before the process exits anyway.' },
  { key: 'staticDir', flag: 'static-dir', env: 'SKEIN_STATIC_DIR', schema: staticDir, default: '',
    description:
      'Serve the files of this directory over HTTP (GET/HEAD; / is its index.html), e.g. the built canvas demo. ' +
      'Empty: no static files.' },
  { key: 'redisUrl', flag: 'redis-url', env: 'SKEIN_REDIS_URL', schema: redisUrl, default: '', sensitive: true,
    description: 'Redis of the cluster (redis://[user:password@]host:port[/db]). Empty: a single node, no Redis.' },
  { key: 'redisClusterNodes', flag: 'redis-cluster-nodes', env: 'SKEIN_REDIS_CLUSTER_NODES', schema: clusterNodes, default: '',
    description: 'A Redis Cluster instead of one Redis: comma-separated host:port seed nodes (sharded pub/sub, Redis 7+).' },
  { key: 'nodeId', flag: 'node-id', env: 'SKEIN_NODE_ID', schema: nodeId, default: '',
    description: 'Name of this node in the cluster (logs, presence). Empty: <hostname>-<pid>.' },
  { key: 'clusterAck', flag: 'cluster-ack', env: 'SKEIN_CLUSTER_ACK', schema: z.enum(['local', 'cluster']), default: 'local',
    description: 'When an update is acknowledged: local (on this node\'s disk) or cluster (also in the shared tier in Redis).' },
  { key: 'clusterHeartbeatMs', flag: 'cluster-heartbeat-ms', env: 'SKEIN_CLUSTER_HEARTBEAT_MS', schema: positiveMs, default: 1_000,
    description: 'How often a node tells the others it is alive.' },
  { key: 'clusterNodeTimeoutMs', flag: 'cluster-node-timeout-ms', env: 'SKEIN_CLUSTER_NODE_TIMEOUT_MS', schema: positiveMs,
    default: 3_000,
    description: 'A node silent this long is dead: its clients\' cursors are removed on the other nodes.' },
  { key: 'clusterAntiEntropyMs', flag: 'cluster-anti-entropy-ms', env: 'SKEIN_CLUSTER_ANTI_ENTROPY_MS', schema: positiveMs,
    default: 5_000,
    description: 'Period of the state-vector exchange per loaded document (bounds healing of a lost message).' },
  { key: 'redisMaxBackoffMs', flag: 'redis-max-backoff-ms', env: 'SKEIN_REDIS_MAX_BACKOFF_MS', schema: positiveMs, default: 500,
    description: 'Cap of the reconnect and circuit-breaker backoff while Redis is unreachable.' },
  // Access control (config/auth-options.ts, docs/security.md).
  ...AUTH_OPTIONS,
  // Limits at the edge (config/limit-options.ts, docs/security.md).
  ...LIMIT_OPTIONS,
  // The HTTP API and version history (config/api-options.ts, docs/http-api.md).
  ...API_OPTIONS,
  // Tracing, metrics, health (config/telemetry-options.ts, docs/observability.md).
  ...TELEMETRY_OPTIONS,
  // Webhooks (config/webhook-options.ts, docs/webhooks.md).
  ...WEBHOOK_OPTIONS,
] as const satisfies readonly OptionSpec[];

type Options = (typeof OPTIONS)[number];

/** The typed, frozen configuration every module receives. */
export type Config = Readonly<{
  [O in Options as O['key']]: z.output<O['schema']>;
}>;

export const DEFAULT_CONFIG: Config = Object.freeze(
  Object.fromEntries(OPTIONS.map((o) => [o.key, o.default])) as Config,
);
