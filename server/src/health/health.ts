import type { StrategyName } from '../config/telemetry-parsers.js';
import type { Logger } from '../logging/logger.js';
import { EventLoopMonitor, type EventLoopSample } from './event-loop.js';
import { IntegrityScanner, type IntegrityResult } from './integrity.js';
import { HealthMonitor, type HealthOptions, type HealthReport, type HealthStatus } from './model.js';
import { HEALTH_CODE } from './names.js';
import { NO_HEALTH_PROBES, type HealthProbes } from './probes.js';
import { readiness, type ReadinessReport } from './readiness.js';
import type { HealthViews } from './views.js';

export interface HealthServiceOptions {
  readonly model: HealthOptions;
  /** Background integrity scan: period (0: off) and documents per scan. */
  readonly integrity: { readonly intervalMs: number; readonly sample: number };
  /** Event-loop sampling and alert evaluation period. Default 5 000 ms. */
  readonly sampleIntervalMs?: number;
}

const NO_LOOP: EventLoopSample = Object.freeze({ p99Ms: 0, maxMs: 0, meanMs: 0, at: 0 });

/**
 * Health and readiness of the node, owned by the composition root: the health model (`/health`),
 * readiness (`/readyz`), the integrity scan and the event-loop monitor. It reads the store,
 * registry and cluster only through the read-only views it is given, and reports alerts and
 * scans through its probes (telemetry counts them). Persistence write outcomes reach it
 * through `recordWrite`.
 */
export class HealthService {
  readonly #views: HealthViews;
  readonly #opts: HealthServiceOptions;
  readonly #logger: Logger;
  readonly #probes: HealthProbes;
  readonly #model: HealthMonitor;
  readonly #integrity: IntegrityScanner;
  #loop: EventLoopMonitor | undefined;
  #scanTimer: NodeJS.Timeout | undefined;
  #lastLoop: EventLoopSample = NO_LOOP;

  constructor(options: HealthServiceOptions, views: HealthViews, logger: Logger, probes: HealthProbes = NO_HEALTH_PROBES) {
    this.#opts = options;
    this.#views = views;
    this.#logger = logger;
    this.#probes = probes;
    this.#model = new HealthMonitor(options.model, logger, (code) => probes.alertRaised(code));
    this.#integrity = new IntegrityScanner(options.integrity.sample);
  }

  /** Start the event-loop monitor (each sample re-evaluates, raising and resolving alerts) and the integrity timer (unref'd). Once. */
  start(): void {
    if (this.#loop !== undefined) return;
    this.#loop = new EventLoopMonitor(this.#opts.sampleIntervalMs ?? 5_000, (sample) => {
      this.#lastLoop = sample;
      this.report();
    });
    const every = this.#opts.integrity.intervalMs;
    if (every > 0) {
      this.#scanTimer = setInterval(() => void this.scanIntegrity().catch(() => undefined), every);
      this.#scanTimer.unref();
    }
  }

  /** Stop the timers (the server is closing). */
  stop(): void {
    this.#loop?.stop();
    if (this.#scanTimer !== undefined) clearInterval(this.#scanTimer);
    this.#scanTimer = undefined;
  }

  /** The status of the last evaluation. */
  get status(): HealthStatus {
    return this.#model.status;
  }

  /** The last event-loop sample. */
  get eventLoop(): EventLoopSample {
    return this.#lastLoop;
  }

  /** One batch write finished (its strategy, duration and outcome). */
  recordWrite(strategy: StrategyName, ms: number, ok: boolean): void {
    this.#model.recordWrite(strategy, ms, ok);
  }

  /** Evaluate the health model now (raises and resolves alerts). */
  report(): HealthReport {
    const { store, cluster, webhooks } = this.#views;
    const input = {
      store: store.health?.().status ?? 'ok', storeStats: store.stats?.(), cluster: cluster?.snapshot() ?? null, webhooks: webhooks?.snapshot() ?? null,
    } as const;
    return this.#model.evaluate(input, this.#integrity.state(this.#views), this.#lastLoop);
  }

  readiness(): ReadinessReport {
    return readiness(this.#views);
  }

  /** The largest event-loop delay of the current sampling interval so far (ms). */
  eventLoopMaxMs(): number {
    return this.#loop?.currentMaxMs ?? 0;
  }

  /** Take an event-loop sample now (the timer does it periodically). */
  sampleEventLoop(): EventLoopSample {
    this.#lastLoop = this.#loop?.sample() ?? this.#lastLoop;
    return this.#lastLoop;
  }

  /** Run one integrity scan now (read-only; the background timer runs them periodically). */
  async scanIntegrity(): Promise<IntegrityResult> {
    const result = await this.#integrity.scan(this.#views);
    const outcome = result.mismatched.length > 0 ? 'mismatch' : result.damaged.length > 0 ? 'damaged' : result.failed.length > 0 ? 'failed' : 'ok';
    this.#probes.integrityScanned(outcome, result.mismatched.length);
    for (const name of result.mismatched) {
      this.#logger.error({ code: HEALTH_CODE.integrityMismatch, doc: name }, 'integrity scan: stored state does not match memory');
    }
    for (const name of result.damaged) {
      this.#logger.warn({ code: HEALTH_CODE.recordsDamaged, doc: name }, 'integrity scan: damaged stored records (left in place)');
    }
    this.report();
    return result;
  }
}
