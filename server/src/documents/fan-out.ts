import * as Y from 'yjs';
import { encodeSyncUpdate } from '@skein/protocol';
import type { Clock, TimerHandle } from '../clock/clock.js';
import type { Peer } from './origins.js';

interface Change {
  readonly update: Uint8Array;
  /** The peer that sent it (it has it already), or undefined when every peer needs it. */
  readonly from: Peer | undefined;
}

export interface FanOutOptions {
  readonly clock: Pick<Clock, 'now' | 'defer' | 'cancelDefer' | 'setTimeout' | 'clearTimeout'>;
  /** The peers attached now. */
  peers(): Iterable<Peer>;
  /**
   * 0: changes of one event-loop turn go out together at the end of the turn (`clock.defer`);
   * > 0: changes within this many milliseconds of the first go out together.
   */
  readonly windowMs: number;
  /**
   * Least time between two presence messages of this document (0: none). A change after a
   * quiet interval goes with its group at once; changes within the interval of the last
   * message wait for its end and go as one message, latest state per client.
   */
  readonly presenceIntervalMs?: number;
  /** Hands the group's changes accepted by this node (`toCluster`) to the other nodes, merged. */
  publish?(update: Uint8Array): void;
  /** The awareness message for these clients' latest states (a removed client's as removed). */
  awarenessMessage?(clients: readonly number[]): Uint8Array;
}

/**
 * Coalesced fan-out of one document. Changes applied within one event-loop turn (or a short
 * window) are merged once (`Y.mergeUpdates`), framed once, and the same bytes go to every
 * peer. A peer that sent every change of the group gets nothing; any other peer gets the
 * whole group — a peer that sent part of it gets its own part back, which Yjs ignores (cheaper
 * than a merge per sender). A single change goes out as it is. Order per document is kept:
 * groups leave in the order they were formed.
 *
 * Presence goes the same way: the awareness clients that changed within the group are sent
 * once, as one message with each client's latest state, to every peer (the sender too, as the
 * y-websocket server does), after the group's document changes — a cursor never arrives
 * before the shape it points at. Presence is also paced (`presenceIntervalMs`): at most one
 * message per interval, so n clients moving their cursors cost each peer one message per
 * interval, not n.
 */
export class FanOut {
  readonly #opts: FanOutOptions;
  #pending: Change[] = [];
  /** This node's changes of the group, for the other nodes (never ones that came from them). */
  #toCluster: Uint8Array[] = [];
  /** Awareness clients changed in this group (their latest state goes out at the flush). */
  #presence = new Set<number>();
  #scheduled: TimerHandle | undefined;
  #scheduledBy: 'defer' | 'timer' = 'defer';
  /** When the last presence message went out (the document's clock). */
  #presenceSentAt = Number.NEGATIVE_INFINITY;
  /** Armed while presence waits for the end of the interval. */
  #presenceTimer: TimerHandle | undefined;

  constructor(options: FanOutOptions) {
    this.#opts = options;
  }

  /** Changes waiting for the end of the turn (or window). */
  get pending(): number {
    return this.#pending.length;
  }

  /** These awareness clients changed (added, updated or removed): their latest state goes with the group. */
  presence(clients: readonly number[]): void {
    if (this.#opts.awarenessMessage === undefined || clients.length === 0) return;
    for (const id of clients) this.#presence.add(id);
    if (this.#presenceDue()) this.#schedule();
    else this.#armPresence();
  }

  add(update: Uint8Array, from: Peer | undefined): void {
    this.#pending.push({ update, from });
    this.#schedule();
  }

  /** A change this node accepted, for the other nodes: published merged with the group. */
  toCluster(update: Uint8Array): void {
    if (this.#opts.publish === undefined) return;
    this.#toCluster.push(update);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled !== undefined) return;
    const { clock, windowMs } = this.#opts;
    if (windowMs > 0) {
      this.#scheduledBy = 'timer';
      this.#scheduled = clock.setTimeout(() => this.#fire(), windowMs);
    } else {
      this.#scheduledBy = 'defer';
      this.#scheduled = clock.defer(() => this.#fire());
    }
  }

  /** Send what is pending now, presence too (e.g. before the document is released). */
  flush(): void {
    this.#cancel();
    this.#cancelPresence();
    this.#publish();
    this.#sendChanges();
    this.#sendPresence();
  }

  /** The group is complete: its changes go now, its presence when the interval allows. */
  #fire(): void {
    this.#scheduled = undefined;
    this.#publish();
    this.#sendChanges();
    if (this.#presenceDue()) this.#sendPresence();
    else if (this.#presence.size > 0) this.#armPresence();
  }

  #presenceDue(): boolean {
    const interval = this.#opts.presenceIntervalMs ?? 0;
    return interval <= 0 || this.#opts.clock.now() - this.#presenceSentAt >= interval;
  }

  /** Presence waits for the end of the interval; then it goes with whatever changes wait. */
  #armPresence(): void {
    if (this.#presenceTimer !== undefined) return;
    const { clock, presenceIntervalMs = 0 } = this.#opts;
    const wait = Math.max(0, this.#presenceSentAt + presenceIntervalMs - clock.now());
    this.#presenceTimer = clock.setTimeout(() => {
      this.#presenceTimer = undefined;
      this.flush();
    }, wait);
  }

  #cancelPresence(): void {
    if (this.#presenceTimer === undefined) return;
    this.#opts.clock.clearTimeout(this.#presenceTimer);
    this.#presenceTimer = undefined;
  }

  #sendChanges(): void {
    const changes = this.#pending;
    if (changes.length === 0) return;
    this.#pending = [];
    const first = changes[0];
    if (changes.length === 1 && first !== undefined) {
      this.#send(encodeSyncUpdate(first.update), first.from);
      return;
    }
    const message = encodeSyncUpdate(Y.mergeUpdates(changes.map((c) => c.update)));
    this.#send(message, commonSender(changes));
  }

  #sendPresence(): void {
    if (this.#presence.size === 0 || this.#opts.awarenessMessage === undefined) return;
    const clients = [...this.#presence];
    this.#presence.clear();
    this.#presenceSentAt = this.#opts.clock.now();
    this.#send(this.#opts.awarenessMessage(clients), undefined);
  }

  /** Drop what is pending (the document is gone). */
  clear(): void {
    this.#cancel();
    this.#cancelPresence();
    this.#pending = [];
    this.#toCluster = [];
    this.#presence.clear();
  }

  #publish(): void {
    const updates = this.#toCluster;
    if (updates.length === 0) return;
    this.#toCluster = [];
    this.#opts.publish?.(updates.length === 1 ? (updates[0] ?? new Uint8Array()) : Y.mergeUpdates(updates));
  }

  #send(message: Uint8Array, except: Peer | undefined): void {
    for (const peer of this.#opts.peers()) if (peer !== except) peer.send(message);
  }

  #cancel(): void {
    if (this.#scheduled === undefined) return;
    if (this.#scheduledBy === 'timer') this.#opts.clock.clearTimeout(this.#scheduled);
    else this.#opts.clock.cancelDefer(this.#scheduled);
    this.#scheduled = undefined;
  }
}

/** The one peer that sent every change, if there is one. */
function commonSender(changes: readonly Change[]): Peer | undefined {
  const first = changes[0]?.from;
  if (first === undefined) return undefined;
  return changes.every((c) => c.from === first) ? first : undefined;
}
