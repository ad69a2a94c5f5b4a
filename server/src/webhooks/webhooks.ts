import { systemClock, type Clock } from '../clock/clock.js';
import type { DeadLetter, DocumentEvent, DocumentEvents, EventJournal } from '../documents/events.js';
import { SkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import type { RetryPolicy } from './backoff.js';
import { ChangeDebouncer } from './debouncer.js';
import { Dispatcher } from './dispatcher.js';
import { compileEndpoint, type EndpointConfig } from './endpoints.js';
import type { WebhookProbes, WebhookSnapshot } from './probes.js';
import { httpSender, type Send } from './sender.js';
import { parseSecret } from './signature.js';

export interface WebhooksOptions {
  /** The store's event journal (`LogStore` with `events: true`). */
  readonly journal: EventJournal;
  readonly endpoints: readonly EndpointConfig[];
  /** `whsec_…` (never logged). */
  readonly secret: string;
  readonly debounceMs: number;
  readonly maxWaitMs: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retry: RetryPolicy;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly probes?: WebhookProbes;
  /** How a POST goes out (default: node:http/https). */
  readonly send?: Send;
  /** Jitter source in [0, 1) (tests pin it). */
  readonly random?: () => number;
  /** Attempts in flight at once. Default 8. */
  readonly concurrency?: number;
}

/**
 * Signed webhooks for document events (docs/webhooks.md): the debouncer turns change marks into
 * `document.changed` events, the dispatcher delivers this node's outbox. Implements the core's
 * `DocumentEvents` (for `document.deleted` and `version.*`). Each node delivers only the events
 * of its own outbox, which only it wrote: one node per event.
 */
export class Webhooks implements DocumentEvents {
  readonly #journal: EventJournal;
  readonly #debouncer: ChangeDebouncer;
  readonly #dispatcher: Dispatcher;
  readonly #closeSender: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  /** @throws SkeinError `SKEIN_ERR_CONFIG_INVALID` for a missing or malformed secret, or no endpoint. */
  static async start(options: WebhooksOptions): Promise<Webhooks> {
    const hooks = new Webhooks(options);
    await hooks.#debouncer.start();
    hooks.#dispatcher.start();
    return hooks;
  }

  private constructor(options: WebhooksOptions) {
    if (options.endpoints.length === 0) throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'webhooks need at least one endpoint URL');
    if (options.secret === '') throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'webhooks need a signing secret (--webhook-secret / SKEIN_WEBHOOK_SECRET)');
    if (options.maxWaitMs < options.debounceMs) throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', '--webhook-max-wait must not be shorter than --webhook-debounce');
    const clock = options.clock ?? systemClock;
    const sender = options.send === undefined ? httpSender(clock) : undefined;
    this.#closeSender = sender === undefined ? undefined : () => sender.close();
    this.#journal = options.journal;
    this.#debouncer = new ChangeDebouncer({ journal: options.journal, clock, logger: options.logger, debounceMs: options.debounceMs, maxWaitMs: options.maxWaitMs });
    this.#dispatcher = new Dispatcher({
      journal: options.journal,
      endpoints: options.endpoints.map(compileEndpoint),
      key: parseSecret(options.secret),
      send: options.send ?? (sender as Send),
      clock,
      logger: options.logger,
      retry: options.retry,
      maxAttempts: options.maxAttempts,
      timeoutMs: options.timeoutMs,
      ...(options.probes === undefined ? {} : { probes: options.probes }),
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    });
  }

  async emit(event: DocumentEvent): Promise<void> {
    await this.#journal.record(event);
  }

  snapshot(): WebhookSnapshot {
    return {
      queue: this.#journal.size,
      deadLetters: this.#journal.deadLetterCount,
      debouncing: this.#debouncer.size,
      endpoints: this.#dispatcher.breakers(),
    };
  }

  /** The oldest `limit` dead letters. */
  deadLetters(limit = 100): Promise<DeadLetter[]> {
    return this.#journal.deadLetters(Math.max(1, Math.min(1000, Math.floor(limit))));
  }

  /** Deliver dead letters again (all when `ids` is absent), with their original ids. Returns how many. */
  retryDeadLetters(ids?: readonly number[]): Promise<number> {
    return this.#journal.revive(ids);
  }

  /**
   * Stop: pending changes are sealed into events (kept in the outbox for the next start),
   * attempts in flight are awaited. Call before the store closes. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#debouncer.flushAll();
      await this.#debouncer.close();
      await this.#dispatcher.close();
      this.#closeSender?.();
    })();
    return this.#closed;
  }
}
