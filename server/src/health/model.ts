import type { Logger } from '../logging/logger.js';
import { HEALTH_CODE, LOG_EVENT, type HealthCode } from './names.js';
import { STRATEGY_KINDS, type LatencyThresholds, type StrategyName } from '../config/telemetry-parsers.js';
import { RollingWindow, type WindowSummary } from './rolling-window.js';
import type { EventLoopSample } from './event-loop.js';
import type { IntegrityState } from './integrity.js';
import type { ClusterSnapshot, StoreSnapshot, WebhooksSnapshot } from './views.js';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';
export type Severity = 'degraded' | 'unhealthy';

export interface HealthOptions {
  /** Window of the persistence success rate and latency percentiles (ms). */
  readonly windowMs: number;
  /** p95 batch-write latency (ms) per strategy above which persistence is slow. */
  readonly latencyThresholdMs: LatencyThresholds;
  /** Consecutive failed batch writes from which the node is unhealthy (one is degraded). */
  readonly failureThreshold: number;
  /** Event-loop delay p99 (ms) above which the node is degraded (5× is unhealthy). */
  readonly eventLoopLagMs: number;
}

export interface HealthReason {
  readonly code: HealthCode;
  readonly severity: Severity;
  readonly message: string;
}

/** What one evaluation reads from the live modules (a snapshot: plain data). */
export interface HealthInputs {
  /** The store's write health; null when unknown. */
  readonly store: 'ok' | 'degraded' | 'closed' | null;
  readonly storeStats?: StoreSnapshot | undefined;
  /** Null on a single node. */
  readonly cluster: ClusterSnapshot | null;
  /** Null without webhooks. */
  readonly webhooks?: WebhooksSnapshot | null;
}

export interface PersistenceCheck extends WindowSummary {
  readonly thresholdMs: number;
}

export interface HealthReport {
  readonly status: HealthStatus;
  readonly reasons: readonly HealthReason[];
  readonly checks: {
    readonly persistence: {
      readonly windowMs: number;
      readonly consecutiveFailures: number;
      readonly strategies: Readonly<Record<StrategyName, PersistenceCheck>>;
      readonly pendingUpdates: number | null;
      readonly quarantinedRecords: number | null;
      readonly store: 'ok' | 'degraded' | 'closed' | null;
    };
    readonly integrity: IntegrityState;
    readonly eventLoop: EventLoopSample & { readonly thresholdMs: number };
    readonly cluster: ClusterSnapshot | null;
    readonly webhooks: WebhooksSnapshot | null;
  };
}

/** Below this success rate (with at least `MIN_ATTEMPTS` writes in the window) persistence is degraded. */
const MIN_SUCCESS_RATE = 0.99;
const MIN_ATTEMPTS = 5;
/** p95 above `SLOW_UNHEALTHY_FACTOR` × the threshold is unhealthy; event-loop lag likewise. */
const SLOW_UNHEALTHY_FACTOR = 10;
const LAG_UNHEALTHY_FACTOR = 5;

/**
 * The health model: rolls up persistence (success rate, consecutive failures, p95 latency per
 * strategy against its threshold, quarantined records), the integrity scan, the cluster link
 * and event-loop lag into `healthy | degraded | unhealthy` with reasons. Every reason that
 * appears is an alert: a log event with its code (and, through the health probes, the
 * `skein.health.alerts` counter); its disappearance is logged too.
 */
export class HealthMonitor {
  readonly #opts: HealthOptions;
  readonly #logger: Logger;
  readonly #onAlert: (code: HealthCode) => void;
  readonly #windows: Record<StrategyName, RollingWindow> = { immediate: new RollingWindow(), debounced: new RollingWindow() };
  #consecutiveFailures = 0;
  #quarantineSeen = 0;
  #quarantineRoseAt = 0;
  #active = new Map<HealthCode, Severity>();
  #status: HealthStatus = 'healthy';

  constructor(options: HealthOptions, logger: Logger, onAlert: (code: HealthCode) => void) {
    this.#opts = options;
    this.#logger = logger;
    this.#onAlert = onAlert;
  }

  get status(): HealthStatus {
    return this.#status;
  }

  /** One batch write finished (fed by the persistence hook). */
  recordWrite(strategy: StrategyName, ms: number, ok: boolean): void {
    this.#windows[strategy].record(Date.now(), ms, ok);
    this.#consecutiveFailures = ok ? 0 : this.#consecutiveFailures + 1;
  }

  /** Evaluate now; raises and resolves alerts as reasons appear and disappear. */
  evaluate(input: HealthInputs, integrity: IntegrityState, eventLoop: EventLoopSample): HealthReport {
    const now = Date.now();
    const reasons: HealthReason[] = [];
    const add = (code: HealthCode, severity: Severity, message: string): void => void reasons.push({ code, severity, message });
    const strategies = this.#persistence(now, add);
    const stats = input.storeStats;
    const store = input.store;
    if (store === 'closed') add(HEALTH_CODE.storeClosed, 'unhealthy', 'the store is closed');
    if (stats !== undefined) this.#quarantine(now, stats.quarantinedRecords, add);
    for (const name of integrity.mismatched.slice(0, 20)) {
      add(HEALTH_CODE.integrityMismatch, 'unhealthy', `stored state of document ${JSON.stringify(name)} does not match memory`);
    }
    for (const name of integrity.damaged.slice(0, 20)) {
      add(HEALTH_CODE.recordsDamaged, 'degraded', `integrity scan found damaged records in document ${JSON.stringify(name)} (left in place; its next load quarantines them)`);
    }
    if (integrity.unreadable.length > 0) {
      add(HEALTH_CODE.integrityScanFailed, 'degraded', `integrity scan could not read ${integrity.unreadable.length} document(s)`);
    }
    const cluster = input.cluster;
    if (cluster !== null && cluster.status !== 'ok') {
      add(HEALTH_CODE.clusterUnavailable, 'degraded', cluster.reasons.join('; ') || `redis ${cluster.linkState}`);
    }
    const hooks = input.webhooks ?? null;
    if (hooks !== null && hooks.deadLetters > 0) {
      add(HEALTH_CODE.webhookDeadLetters, 'degraded', `${hooks.deadLetters} webhook event(s) in the dead-letter list (GET /api/v1/webhooks/dead-letters)`);
    }
    for (const e of hooks?.endpoints ?? []) {
      if (e.breaker === 'open') add(HEALTH_CODE.webhookEndpointDown, 'degraded', `webhook endpoint ${e.endpoint} keeps failing (circuit open)`);
    }
    const lag = this.#opts.eventLoopLagMs;
    if (eventLoop.p99Ms > lag) {
      const severity = eventLoop.p99Ms > lag * LAG_UNHEALTHY_FACTOR ? 'unhealthy' : 'degraded';
      add(HEALTH_CODE.eventLoopLag, severity, `event-loop delay p99 ${eventLoop.p99Ms.toFixed(1)} ms > ${lag} ms`);
    }
    const status: HealthStatus = reasons.some((r) => r.severity === 'unhealthy') ? 'unhealthy' : reasons.length > 0 ? 'degraded' : 'healthy';
    this.#transition(status, reasons);
    const pending = stats === undefined ? null : STRATEGY_KINDS.reduce((n, s) => n + stats.pending[s].updates, 0);
    return {
      status,
      reasons,
      checks: {
        persistence: {
          windowMs: this.#opts.windowMs,
          consecutiveFailures: this.#consecutiveFailures,
          strategies,
          pendingUpdates: pending,
          quarantinedRecords: stats?.quarantinedRecords ?? null,
          store,
        },
        integrity,
        eventLoop: { ...eventLoop, thresholdMs: lag },
        cluster,
        webhooks: hooks,
      },
    };
  }

  #persistence(now: number, add: (code: HealthCode, severity: Severity, message: string) => void): Record<StrategyName, PersistenceCheck> {
    const failing = this.#consecutiveFailures;
    if (failing > 0) {
      const severity = failing >= this.#opts.failureThreshold ? 'unhealthy' : 'degraded';
      add(HEALTH_CODE.persistenceFailing, severity, `${failing} consecutive storage write(s) failed; acknowledgements wait for the retries`);
    }
    const out = {} as Record<StrategyName, PersistenceCheck>;
    for (const strategy of STRATEGY_KINDS) {
      const summary = this.#windows[strategy].summarize(now - this.#opts.windowMs, MIN_ATTEMPTS);
      const thresholdMs = this.#opts.latencyThresholdMs[strategy];
      out[strategy] = { ...summary, thresholdMs };
      if (summary.attempts >= MIN_ATTEMPTS && summary.successRate < MIN_SUCCESS_RATE) {
        add(HEALTH_CODE.persistenceErrorRate, 'degraded', `${strategy}: ${summary.failures} of ${summary.attempts} storage writes failed in the last ${this.#opts.windowMs} ms`);
      }
      if (summary.p95Ms !== null && summary.p95Ms > thresholdMs) {
        const severity = summary.p95Ms > thresholdMs * SLOW_UNHEALTHY_FACTOR ? 'unhealthy' : 'degraded';
        add(HEALTH_CODE.persistenceSlow, severity, `${strategy}: p95 write latency ${summary.p95Ms.toFixed(1)} ms > ${thresholdMs} ms`);
      }
    }
    return out;
  }

  /** Newly quarantined (damaged) records degrade health for one window. */
  #quarantine(now: number, count: number, add: (code: HealthCode, severity: Severity, message: string) => void): void {
    if (count > this.#quarantineSeen) this.#quarantineRoseAt = now;
    this.#quarantineSeen = count;
    if (this.#quarantineRoseAt > 0 && now - this.#quarantineRoseAt < this.#opts.windowMs) {
      add(HEALTH_CODE.recordsQuarantined, 'degraded', `damaged records were quarantined (${count} in quarantine)`);
    }
  }

  /** Log alerts raised and resolved (one per code), and status changes. */
  #transition(status: HealthStatus, reasons: readonly HealthReason[]): void {
    const next = new Map<HealthCode, Severity>();
    for (const r of reasons) if (next.get(r.code) !== 'unhealthy') next.set(r.code, r.severity);
    for (const [code, severity] of next) {
      if (this.#active.get(code) === severity) continue;
      const message = reasons.find((r) => r.code === code)?.message ?? code;
      this.#logger[severity === 'unhealthy' ? 'error' : 'warn']({ code, severity, alert: message }, LOG_EVENT.alertRaised);
      this.#onAlert(code);
    }
    for (const code of this.#active.keys()) {
      if (!next.has(code)) this.#logger.info({ code }, LOG_EVENT.alertResolved);
    }
    this.#active = next;
    if (status !== this.#status) {
      this.#logger[status === 'healthy' ? 'info' : 'warn']({ from: this.#status, to: status }, LOG_EVENT.healthChanged);
      this.#status = status;
    }
  }
}
