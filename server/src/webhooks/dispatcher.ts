import type { Clock, TimerHandle } from '../clock/clock.js';
import type { EventJournal, StoredEvent } from '../documents/events.js';
import { toSkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import { CircuitBreaker, type BreakerState } from '../resilience/circuit-breaker.js';
import { retryDelayMs, type RetryPolicy } from './backoff.js';
import type { Endpoint } from './endpoints.js';
import { eventBody } from './payload.js';
import { NO_WEBHOOK_PROBES, type WebhookProbes } from './probes.js';
import type { DeliveryOutcome, Send } from './sender.js';
import { signedHeaders, type SigningKey } from './signature.js';

export interface DispatcherOptions {
  readonly journal: EventJournal;
  readonly endpoints: readonly Endpoint[];
  readonly key: SigningKey;
  readonly send: Send;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly retry: RetryPolicy;
  /** Failed attempts (per endpoint) before the event becomes a dead letter. */
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly probes?: WebhookProbes;
  /** Attempts in flight at once, node-wide. Default 8. */
  readonly concurrency?: number;
  /** Events read from the outbox and tracked at once. Default 1024. */
  readonly window?: number;
  /** Consecutive failures that open an endpoint's circuit. Default 5. */
  readonly breakerThreshold?: number;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** One endpoint's delivery of one event. */
interface Delivery {
  failures: number;
  dueAt: number;
  inFlight: boolean;
}

interface Tracked {
  readonly stored: StoredEvent;
  readonly done: Set<string>;
  readonly pending: Map<string, Delivery>;
  /** Progress writes of this event, in order (a later write never overtakes an earlier one). */
  chain: Promise<void>;
}

/**
 * The delivery engine: reads this node's outbox in seq order (a window at a time), POSTs each
 * event to every endpoint that wants it — signed, with the event's stable id — and records
 * progress in the outbox. A failure is retried with exponential backoff and jitter; an
 * endpoint whose circuit is open gets no attempt (nor is one counted) until its backoff ends;
 * after `maxAttempts` failures the event becomes a dead letter for that endpoint. At least
 * once: a crash between a 2xx and its progress write re-delivers with the same id.
 */
export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #probes: WebhookProbes;
  readonly #random: () => number;
  readonly #endpoints: ReadonlyMap<string, Endpoint>;
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #events = new Map<number, Tracked>();
  readonly #inFlight = new Set<Promise<void>>();
  #cursor = 0;
  /** The outbox may hold events not read yet. */
  #more = true;
  #loading: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #closed = false;
  #unsubscribe: (() => void) | undefined;

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#probes = options.probes ?? NO_WEBHOOK_PROBES;
    this.#random = options.random ?? Math.random;
    this.#endpoints = new Map(options.endpoints.map((e) => [e.id, e]));
    for (const e of options.endpoints) {
      this.#breakers.set(e.id, new CircuitBreaker({
        failureThreshold: options.breakerThreshold ?? 5,
        initialBackoffMs: options.retry.initialMs,
        maxBackoffMs: options.retry.maxMs,
        now: () => options.clock.now(),
        random: this.#random,
      }));
    }
  }

  start(): void {
    this.#unsubscribe = this.#o.journal.onAppended(() => {
      this.#more = true;
      this.#pump();
    });
    this.#pump();
  }

  /** Breaker state per endpoint label. */
  breakers(): { endpoint: string; breaker: BreakerState }[] {
    return this.#o.endpoints.map((e) => ({ endpoint: e.label, breaker: this.#breakers.get(e.id)?.state ?? 'closed' }));
  }

  /** Stop: no new attempt; waits for attempts in flight and their progress writes (bounded by the caller). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#clearTimer();
    await this.#loading?.catch(() => undefined);
    await Promise.all([...this.#inFlight]);
    await Promise.all([...this.#events.values()].map((t) => t.chain));
  }

  // ---------------------------------------------------------------------------------------

  #pump(): void {
    if (this.#closed) return;
    const window = this.#o.window ?? 1024;
    if (this.#more && this.#loading === undefined && this.#events.size < window) {
      this.#loading = this.#load(window - this.#events.size).finally(() => {
        this.#loading = undefined;
        this.#pump();
      });
    }
    this.#startDue();
  }

  async #load(limit: number): Promise<void> {
    this.#more = false;
    let batch: StoredEvent[];
    try {
      batch = await this.#o.journal.peek(limit, this.#cursor);
    } catch (err) {
      this.#o.logger.error({ code: toSkeinError(err).code }, 'webhook outbox read failed; retrying');
      this.#more = true;
      this.#wakeAt(this.#o.clock.now() + this.#o.retry.initialMs);
      return;
    }
    if (batch.length === limit) this.#more = true;
    const now = this.#o.clock.now();
    for (const stored of batch) {
      this.#cursor = Math.max(this.#cursor, stored.seq);
      const targets = (stored.targets ?? [...this.#endpoints.keys()]).filter((id) => {
        const endpoint = this.#endpoints.get(id);
        return endpoint !== undefined && !stored.done.includes(id) && (stored.targets !== undefined || endpoint.wants(stored.event));
      });
      const tracked: Tracked = { stored, done: new Set(stored.done), pending: new Map(), chain: Promise.resolve() };
      for (const id of targets) tracked.pending.set(id, { failures: 0, dueAt: now, inFlight: false });
      if (tracked.pending.size === 0) this.#settle(tracked, undefined);
      else this.#events.set(stored.seq, tracked);
    }
  }

  #startDue(): void {
    const concurrency = this.#o.concurrency ?? 8;
    const now = this.#o.clock.now();
    let next = Infinity;
    for (const tracked of this.#events.values()) {
      for (const [id, delivery] of tracked.pending) {
        if (delivery.inFlight) continue;
        if (delivery.dueAt > now || this.#inFlight.size >= concurrency) {
          next = Math.min(next, Math.max(delivery.dueAt, now + 1));
          continue;
        }
        const breaker = this.#breakers.get(id);
        if (breaker !== undefined && !breaker.allow()) {
          // Open: no attempt (and none counted) until it lets a probe through. Half-open: its one
          // probe is in flight, and its outcome pumps again.
          if (breaker.state === 'open') {
            delivery.dueAt = now + Math.max(1, breaker.retryInMs);
            next = Math.min(next, delivery.dueAt);
          }
          continue;
        }
        this.#attempt(tracked, id, delivery);
      }
    }
    if (next !== Infinity && this.#inFlight.size < concurrency) this.#wakeAt(next);
  }

  #attempt(tracked: Tracked, id: string, delivery: Delivery): void {
    const endpoint = this.#endpoints.get(id);
    if (endpoint === undefined) return;
    delivery.inFlight = true;
    const { stored } = tracked;
    const body = eventBody(stored);
    const headers = signedHeaders(this.#o.key, stored.id, Math.floor(this.#o.clock.now() / 1000), body);
    const started = performance.now();
    const run = this.#o.send({ url: endpoint.url, headers: { ...headers }, body, timeoutMs: this.#o.timeoutMs })
      .catch((err: unknown): DeliveryOutcome => ({ ok: false, error: `network ${err instanceof Error ? err.message : 'error'}` }))
      .then((outcome) => {
        if (this.#closed) return; // the next start re-delivers what is not recorded (same id)
        this.#finished(tracked, id, delivery, endpoint, outcome, performance.now() - started);
      });
    this.#inFlight.add(run);
    void run.finally(() => {
      this.#inFlight.delete(run);
      this.#pump();
    });
  }

  #finished(tracked: Tracked, id: string, delivery: Delivery, endpoint: Endpoint, outcome: DeliveryOutcome, ms: number): void {
    delivery.inFlight = false;
    const type = tracked.stored.event.type;
    const breaker = this.#breakers.get(id);
    if (outcome.ok) {
      breaker?.success();
      this.#probes.webhookDelivered(endpoint.label, type, ms);
      tracked.pending.delete(id);
      tracked.done.add(id);
      this.#settle(tracked, undefined);
      return;
    }
    breaker?.failure();
    delivery.failures++;
    const reason = outcome.status !== undefined ? 'http' : outcome.error === 'timeout' ? 'timeout' : 'network';
    this.#probes.webhookFailed(endpoint.label, type, reason, ms);
    if (delivery.failures >= this.#o.maxAttempts) {
      this.#o.logger.warn({ code: 'SKEIN_ERR_WEBHOOK_DEAD_LETTER', endpoint: endpoint.label, event: tracked.stored.id, type, attempts: delivery.failures, error: outcome.error }, 'webhook event moved to the dead-letter list');
      this.#probes.webhookDeadLettered(endpoint.label, type);
      tracked.pending.delete(id);
      tracked.done.add(id);
      this.#settle(tracked, { target: id, attempts: delivery.failures, error: outcome.error, deadAt: this.#o.clock.now() });
      return;
    }
    delivery.dueAt = this.#o.clock.now() + retryDelayMs(this.#o.retry, delivery.failures, this.#random);
    this.#o.logger.debug({ endpoint: endpoint.label, event: tracked.stored.id, attempt: delivery.failures, error: outcome.error }, 'webhook attempt failed; will retry');
  }

  /** Record progress (in order per event); a finished event leaves the window. */
  #settle(tracked: Tracked, deadLetter: { target: string; attempts: number; error: string; deadAt: number } | undefined): void {
    const finished = tracked.pending.size === 0;
    if (finished) this.#events.delete(tracked.stored.seq);
    const progress = { done: [...tracked.done], finished, ...(deadLetter === undefined ? {} : { deadLetter }) };
    tracked.chain = tracked.chain
      .then(() => this.#o.journal.settle(tracked.stored, progress))
      .catch((err: unknown) => {
        // Not recorded: the event is delivered again after a restart, with the same id.
        this.#o.logger.error({ code: toSkeinError(err).code, event: tracked.stored.id }, 'webhook progress could not be recorded');
      });
  }

  #wakeAt(at: number): void {
    if (this.#closed || at >= this.#timerAt) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#pump();
    }, Math.max(0, at - this.#o.clock.now()));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }
}
