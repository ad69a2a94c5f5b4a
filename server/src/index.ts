export { startServer, type SkeinServer, type ServerDeps } from './server.js';
export { DEFAULT_CONFIG, OPTIONS, type Config } from './config/schema.js';
export { SkeinError, toSkeinError } from './errors/skein-error.js';
export { ERRORS, type ErrorCode, type ErrorSpec } from './errors/registry.js';
export type { AppendOptions, AppendResult, DocumentStore, OutboxEntry, ReplicationOutbox } from './persistence/store.js';
export { createMemoryStore, type LevelStore, type MemoryStoreOptions } from './persistence/level-store.js';
export { DocumentRegistry } from './documents/registry.js';
export type { DocumentHandle, DocumentState } from './documents/document-handle.js';
export { createLogger, silentLogger, type Logger } from './telemetry/logger.js';
export {
  Telemetry, createTelemetry, telemetryOptions, type HealthReport, type TelemetryOptions,
} from './telemetry/index.js';
export { VERSION } from './version.js';
