import type { Config } from '../config/schema.js';
import { parseLatencyThresholds } from '../config/telemetry-parsers.js';
import type { HealthServiceOptions } from './health.js';

/** Health options from the validated Config. */
export function healthOptions(config: Config): HealthServiceOptions {
  return {
    model: {
      windowMs: config.healthWindowMs,
      latencyThresholdMs: parseLatencyThresholds(config.healthPersistLatencyMs),
      failureThreshold: config.healthFailureThreshold,
      eventLoopLagMs: config.healthEventLoopLagMs,
    },
    integrity: { intervalMs: config.integrityScanIntervalMs, sample: config.integrityScanSample },
  };
}
