/**
 * Public surface of the persistence module. The composition root opens the engine over
 * LevelDB (`openLevelStore`) or memory (`createMemoryStore`) and hands the registry a
 * `DocumentStore`.
 */
export type { AppendOptions, AppendResult, DocumentStore, OutboxEntry, ReplicationOutbox } from './store.js';
export { LEGACY_OUTBOX_DIR, migrateLegacyOutbox } from './legacy-outbox.js';
export type { KvBatchOptions, KvEntry, KvOp, KvRange, KvStore } from './kv-store.js';
export { compareBytes } from './kv-store.js';
export { MemoryKv } from './memory-kv.js';
export { LevelKv, type LevelKvOptions } from './level-kv.js';
export {
  createMemoryStore, openLevelStore, LogStore, type MemoryStoreOptions, type CloseReport, type CompactionReport, type LogStoreOptions,
} from './log-store.js';
export type { StoreHealth, StoreStats, HealthStatus, PendingTotals } from './store-stats.js';
export type { DocumentInfo, VerifyProblem, VerifyProblemKind } from './maintenance.js';
export type { DocMeta } from './record-codec.js';
export {
  DEFAULT_COMPACTION, DEFAULT_RETRY, systemTimers, type CompactionPolicy, type RetryPolicy, type Timers, type TimerHandle,
} from './engine-context.js';
export {
  IMMEDIATE, StrategyResolver, formatStrategyRules, matchGlob, parseStrategyRules, validateStrategyRules,
  type Strategy, type StrategyKind, type StrategyRule,
} from './strategy-rules.js';
export { FORMAT_VERSION, MAX_NAME_BYTES } from './key-layout.js';
