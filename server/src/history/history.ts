import type { Clock, TimerHandle } from '../clock/clock.js';
import type { HistoryKeep } from '../config/api-options.js';
import type { TypeKind } from '../crdt/doc-json.js';
import { restoreUpdate } from '../crdt/restore.js';
import type { DocumentHandle } from '../documents/document-handle.js';
import type { DocumentStore, VersionInfo, VersionKind, VersionStore } from '../documents/ports.js';
import type { DocumentRegistry } from '../documents/registry.js';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';
import type { DocumentEvents } from './events.js';

export interface HistoryOptions {
  readonly registry: DocumentRegistry;
  /** The document store; must carry `versions`. */
  readonly store: DocumentStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Automatic versions: at most one per document per period of editing (0: none). */
  readonly intervalMs: number;
  /** Retention of automatic and "before restore" versions. */
  readonly keep: HistoryKeep;
  readonly events?: DocumentEvents;
}

export interface RestoreResult {
  /** The version the document now equals. */
  readonly restored: VersionInfo;
  /** The automatic version taken first (the state before the restore). */
  readonly before: VersionInfo;
  /** False when the document already equalled the version (no update was needed). */
  readonly changed: boolean;
}

/** Who takes automatic versions. */
const SYSTEM_USER = 'skein';

/**
 * Version history (core): named versions, automatic versions every `intervalMs` of editing
 * with retention, and restore as a forward update. Versions are full states kept in the
 * store's `VersionStore` (beside the log, through compaction and restarts), so nothing here
 * depends on `gc: false`.
 *
 * Restore is a saga, every step through the one edit path: (1) an automatic "before restore"
 * version, (2) the forward update computed from the live document and the version
 * (`crdt/restore.ts`) submitted with `handle.submit` and awaited until durable. If (2) is
 * refused (nothing applied) the version of (1) is removed again; if it was applied but could
 * not be made durable, a second forward update back to (1) is submitted — either way the
 * document is as it was, and the error is reported.
 */
export class History {
  readonly #opts: HistoryOptions;
  readonly #versions: VersionStore;
  /** Documents changed since their last automatic version (name → first change). */
  readonly #dirty = new Map<string, number>();
  #timer: TimerHandle | undefined;
  #sweeping: Promise<void> | undefined;
  #stopped = false;

  constructor(options: HistoryOptions) {
    const versions = options.store.versions;
    if (versions === undefined) throw new SkeinError('SKEIN_ERR_CONFIG_INVALID', 'version history needs a store that keeps versions');
    this.#opts = options;
    this.#versions = versions;
  }

  /** Start automatic versions (no-op when `intervalMs` is 0). */
  start(): void {
    if (this.#opts.intervalMs <= 0 || this.#timer !== undefined || this.#stopped) return;
    this.#timer = this.#opts.clock.setInterval(() => void this.sweep(), this.#opts.intervalMs);
  }

  /** Stop the timer and wait for a sweep in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#opts.clock.clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping;
  }

  /** A loaded document changed (wired to the registry's `onChange`). */
  changed(name: string): void {
    if (!this.#dirty.has(name)) this.#dirty.set(name, this.#opts.clock.now());
  }

  /** Take an automatic version of every document changed since its last one, then apply retention. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweepOnce().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  /** A version of the document as it is now. Rejects with SKEIN_ERR_DOC_NOT_FOUND when it was never stored. */
  async create(name: string, options: { readonly kind: VersionKind; readonly label?: string; readonly user: string }): Promise<VersionInfo> {
    return this.#opts.registry.use(name, (handle) => this.#snapshot(handle, options.kind, options.label ?? '', options.user));
  }

  list(name: string): Promise<VersionInfo[]> {
    return this.#versions.list(name);
  }

  /** One version with its state; SKEIN_ERR_VERSION_NOT_FOUND when there is none. */
  async read(name: string, id: number): Promise<{ readonly info: VersionInfo; readonly state: Uint8Array }> {
    const found = await this.#versions.read(name, id);
    if (found === undefined) throw new SkeinError('SKEIN_ERR_VERSION_NOT_FOUND', `document "${name}" has no version ${id}`);
    return found;
  }

  /** Make the document equal to version `id` (see the class comment: a saga). */
  async restore(name: string, id: number, user: string, hints: Readonly<Record<string, TypeKind>> = {}): Promise<RestoreResult> {
    const target = await this.read(name, id);
    return this.#opts.registry.use(name, async (handle) => {
      const before = await this.#snapshot(handle, 'before-restore', `before restore of version ${id}`, user);
      let durable: Promise<void> | undefined;
      try {
        // Computed from the live document and submitted in the same turn: no edit can come between.
        const update = restoreUpdate(handle.encodedState(), target.state, hints);
        durable = update === null ? undefined : handle.submit(update, { source: 'history', versionId: id });
        await durable;
      } catch (err) {
        await this.#compensate(handle, before, durable !== undefined, err);
        throw toSkeinError(err);
      }
      this.#opts.logger.info({ doc: name, version: id, before: before.id, user }, 'version restored');
      this.#emit('version.restored', name, target.info);
      return { restored: target.info, before, changed: durable !== undefined };
    });
  }

  async #compensate(handle: DocumentHandle, before: VersionInfo, applied: boolean, cause: unknown): Promise<void> {
    const code = toSkeinError(cause).code;
    try {
      if (!applied) {
        await this.#versions.remove(handle.name, [before.id]);
      } else {
        const back = await this.#versions.read(handle.name, before.id);
        const update = back === undefined ? null : restoreUpdate(handle.encodedState(), back.state);
        if (update !== null) await handle.submit(update, { source: 'history', versionId: before.id });
      }
      this.#opts.logger.warn({ code, doc: handle.name, before: before.id, applied }, 'restore failed; the document is as it was');
    } catch (err) {
      this.#opts.logger.error({ code, doc: handle.name, before: before.id, compensation: toSkeinError(err).code }, 'restore failed and could not be undone; version "before" holds the previous state');
    }
  }

  /** Snapshot the live document, once everything it holds is durable, as a version. */
  async #snapshot(handle: DocumentHandle, kind: VersionKind, label: string, user: string): Promise<VersionInfo> {
    const state = handle.encodedState();
    // Every change in `state` was handed to the store before this line: wait until durable, so
    // that a version never holds what a crash could still lose from the log.
    await this.#opts.store.flush(handle.name);
    const info = await this.#versions.add(handle.name, { kind, label, user, createdAt: this.#opts.clock.now(), state });
    this.#emit('version.created', handle.name, info);
    return info;
  }

  async #sweepOnce(): Promise<void> {
    const names = [...this.#dirty.keys()];
    this.#dirty.clear();
    for (const name of names) {
      if (this.#stopped) return;
      try {
        await this.create(name, { kind: 'auto', label: '', user: SYSTEM_USER });
        await this.#retain(name);
      } catch (err) {
        const e = toSkeinError(err);
        // A document deleted meantime has nothing to version.
        if (e.code !== 'SKEIN_ERR_DOC_NOT_FOUND') this.#opts.logger.warn({ code: e.code, doc: name }, 'automatic version failed');
      }
    }
  }

  /** Drop automatic and "before restore" versions beyond the count or older than the age of `--history-keep`. */
  async #retain(name: string): Promise<void> {
    const { count, maxAgeMs } = this.#opts.keep;
    if (count === 0 && maxAgeMs === 0) return;
    const automatic = (await this.#versions.list(name)).filter((v) => v.kind !== 'named');
    const now = this.#opts.clock.now();
    const drop = automatic.filter((v, i) => (count > 0 && i < automatic.length - count) || (maxAgeMs > 0 && now - v.createdAt > maxAgeMs));
    if (drop.length > 0) await this.#versions.remove(name, drop.map((v) => v.id));
  }

  #emit(type: 'version.created' | 'version.restored', doc: string, info: VersionInfo): void {
    try {
      this.#opts.events?.emit({ type, doc, versionId: info.id, label: info.label, at: this.#opts.clock.now() });
    } catch (err) {
      this.#opts.logger.error({ code: toSkeinError(err).code, doc, event: type }, 'event sink threw');
    }
  }
}
