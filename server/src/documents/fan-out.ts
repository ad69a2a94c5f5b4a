import { encodeSyncUpdate } from '@skein/protocol';
import { mergeSequentialUpdates } from '../crdt/concat.js';
import type { Clock, TimerHandle } from '../clock/clock.js';
import type { Peer } from './origins.js';

interface Change {
  readonly update: Uint8Array;
  /** The peer that sent it (it has it already), or undefined when every peer needs it. */
  readonly from: Peer | undefined;
}

/** What a group published to the other nodes: its updates and their merge. */
interface Published {
  readonly updates: readonly Uint8Array[];
  readonly merged: Uint8Array;
}

export interface FanOutOptions {
  readonly clock: Pick<Clock, 'now' | 'defer' | 'cancelDefer' | 'setTimeout' | 'clearTimeout'>;
  /** The peers attached now. */
  peers(): Iterable<Peer>;
  /**
   * How long a group stays open after a change went out: 0: to the end of the event-loop turn
   * (`clock.defer`); > 0: this many milliseconds.
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
 * Coalesced fan-out of one document, on the leading edge. A change to a quiet document (no
 * group open) goes to every peer at once, as it is, and opens a group: the changes applied
 * until the end of that event-loop turn (or window) are merged once (`crdt/concat.ts`), framed
 * once, and the same bytes go to every peer when it ends. A group that sent something opens
 * the next one, so while every turn brings changes each turn's go out as one message; a turn
 * without a change closes it, and the next change goes out at once again. Latency is that of
 * an uncoalesced server at low rates (nothing waits for the end of the turn: the store's work
 * and the rest of the turn come after the sends) and the message count that of a coalescing
 * one under load. A peer that sent every change of a group gets nothing; any other peer gets
 * the whole group — a peer that sent part of it gets its own part back, which Yjs ignores
 * (cheaper than a merge per sender). Order per document is kept: changes leave in the order
 * they were applied.
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
    if (this.#scheduled === undefined) {
      // Quiet: this change goes now; the group it opens gathers what follows in its turn.
      if (this.#anyoneBut(from)) this.#send(encodeSyncUpdate(update), from);
      this.#schedule();
      return;
    }
    this.#pending.push({ update, from });
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
    this.#sendChanges(this.#publish());
    this.#sendPresence();
  }

  /** The group is complete: its changes go now, its presence when the interval allows. */
  #fire(): void {
    this.#scheduled = undefined;
    const published = this.#publish();
    // Changes went out: the next group opens at once (a steady stream stays coalesced).
    if (this.#sendChanges(published)) this.#schedule();
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

  /**
   * Send the group's changes; false when it had none. `published`: what the group published to
   * the other nodes — when those are the very updates sent here (a group of this node's own
   * changes), their merge is used again instead of merging them twice.
   */
  #sendChanges(published: Published | undefined): boolean {
    const changes = this.#pending;
    if (changes.length === 0) return false;
    this.#pending = [];
    const except = commonSender(changes);
    // A document whose only peer sent the whole group (a burst with nobody watching): no merge.
    if (!this.#anyoneBut(except)) return true;
    const first = changes[0];
    const update = changes.length === 1 && first !== undefined ? first.update
      : published !== undefined && sameUpdates(changes, published.updates) ? published.merged
      : mergeSequentialUpdates(changes.map((c) => c.update));
    this.#send(encodeSyncUpdate(update), except);
    return true;
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

  /** Publish the group's own changes, merged (`toCluster` holds any only when `publish` is set). */
  #publish(): Published | undefined {
    const updates = this.#toCluster;
    if (updates.length === 0 || this.#opts.publish === undefined) return undefined;
    this.#toCluster = [];
    const merged = updates.length === 1 ? (updates[0] as Uint8Array) : mergeSequentialUpdates(updates);
    this.#opts.publish(merged);
    return { updates, merged };
  }

  /** Some attached peer is not `except` (a message would reach someone). */
  #anyoneBut(except: Peer | undefined): boolean {
    for (const peer of this.#opts.peers()) if (peer !== except) return true;
    return false;
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

/** The changes are exactly `updates` (the same arrays, in the same order). */
function sameUpdates(changes: readonly Change[], updates: readonly Uint8Array[]): boolean {
  return changes.length === updates.length && changes.every((c, i) => c.update === updates[i]);
}

/** The one peer that sent every change, if there is one. */
function commonSender(changes: readonly Change[]): Peer | undefined {
  const first = changes[0]?.from;
  if (first === undefined) return undefined;
  return changes.every((c) => c.from === first) ? first : undefined;
}
