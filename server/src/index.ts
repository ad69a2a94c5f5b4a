export { startServer, type SkeinServer, type ServerDeps } from './server.js';
export { DEFAULT_CONFIG, OPTIONS, type Config } from './config/schema.js';
export { SkeinError, toSkeinError } from './errors/skein-error.js';
export { ERRORS, type ErrorCode, type ErrorSpec } from './errors/registry.js';
export type { DocumentStore } from './persistence/store.js';
export { MemoryStore } from './persistence/memory-store.js';
export { DocumentRegistry } from './documents/registry.js';
export type { DocumentHandle, DocumentState } from './documents/document-handle.js';
export { createLogger, silentLogger, type Logger } from './logging/logger.js';
export {
  Telemetry, createTelemetry, telemetryOptions, type HealthReport, type TelemetryOptions,
} from './telemetry/index.js';
export { VERSION } from './version.js';
