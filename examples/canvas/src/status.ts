import type { SkeinProvider, SkeinStatus } from '@skein/client';

export type BadgeState = 'saved' | 'pending' | 'offline' | 'connecting' | 'unconfirmed';

export interface BadgeView {
  readonly state: BadgeState;
  readonly text: string;
  /** Local changes not yet acknowledged durable by the server. */
  readonly pending: number;
}

const OFFLINE_KEY = 'skein-canvas:work-offline';

/** "Work offline": remembered per tab, so a reload keeps working offline. */
export function workOfflineSetting(): boolean {
  try {
    return sessionStorage.getItem(OFFLINE_KEY) === '1';
  } catch {
    return false;
  }
}

function rememberWorkOffline(on: boolean): void {
  try {
    if (on) sessionStorage.setItem(OFFLINE_KEY, '1');
    else sessionStorage.removeItem(OFFLINE_KEY);
  } catch {
    // Not remembered; the toggle still works for this page.
  }
}

/**
 * Counts the user's changes (a drawn shape, a drag, a recolour) since everything was last
 * saved. The provider counts outbox entries, which it merges (after a reload offline, five
 * shapes are one entry); people count what they did. Kept in localStorage so a reload
 * offline still says how many changes wait; reset when the provider reports `saved`.
 */
export class ChangeCounter {
  readonly #key: string;
  #count: number;

  constructor(board: string) {
    this.#key = `skein-canvas:unsaved:${board}`;
    this.#count = this.#read();
  }

  get count(): number {
    return this.#count;
  }

  bump(): void {
    this.#count = this.#read() + 1;
    this.#write();
  }

  reset(): void {
    if (this.#count === 0 && this.#read() === 0) return;
    this.#count = 0;
    this.#write();
  }

  #read(): number {
    try {
      const n = Number(localStorage.getItem(this.#key) ?? this.#count);
      return Number.isSafeInteger(n) && n >= 0 ? n : 0;
    } catch {
      return this.#count;
    }
  }

  #write(): void {
    try {
      if (this.#count === 0) localStorage.removeItem(this.#key);
      else localStorage.setItem(this.#key, String(this.#count));
    } catch {
      // Kept in memory only.
    }
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** How the page may use the board: edit, or only view (a read-only token, or the server said so). */
export interface Mode {
  readonly readOnly: boolean;
  /** Why the connection cannot work (an expired link, no access to this board), if known. */
  readonly problem?: string | undefined;
}

/** What the badge says for a provider status. */
export function badgeView(status: SkeinStatus, changes: number, workOffline: boolean, everConnected: boolean, mode: Mode = { readOnly: false }): BadgeView {
  const pending = status.pendingUpdates.count === 0 ? 0 : Math.max(changes, status.pendingUpdates.count);
  const waiting = pending > 0 ? ` · ${plural(pending, 'change')} pending` : '';
  if (status.connection !== 'connected' || workOffline) {
    if (!workOffline && mode.problem !== undefined) return { state: 'offline', text: mode.problem, pending };
    if (!workOffline && !everConnected && status.lastError === null) return { state: 'connecting', text: `Connecting…${waiting}`, pending };
    return { state: 'offline', text: `Offline${waiting}`, pending };
  }
  // A viewer has nothing to save: it is live or catching up.
  if (mode.readOnly && pending === 0) return status.synced ? { state: 'saved', text: 'Live', pending } : { state: 'connecting', text: 'Syncing…', pending };
  if (status.acks === false) return { state: 'unconfirmed', text: 'Connected · this server does not confirm saves', pending };
  if (pending > 0) return { state: 'pending', text: `Saving${waiting}`, pending };
  if (!status.synced || !status.saved) return { state: 'connecting', text: 'Syncing…', pending };
  return { state: 'saved', text: 'All changes saved', pending };
}

/** The status badge and the "work offline" switch. */
export class StatusBadge {
  readonly #provider: SkeinProvider;
  readonly #changes: ChangeCounter;
  readonly #badge: HTMLElement;
  readonly #text: Element;
  readonly #toggle: HTMLInputElement;
  #workOffline: boolean;
  #everConnected = false;
  #mode: Mode = { readOnly: false };
  #view: BadgeView;

  constructor(provider: SkeinProvider, changes: ChangeCounter, badge: HTMLElement, toggle: HTMLInputElement, workOffline: boolean) {
    this.#provider = provider;
    this.#changes = changes;
    this.#badge = badge;
    this.#text = badge.querySelector('.badge-text') ?? badge;
    this.#toggle = toggle;
    this.#workOffline = workOffline;
    toggle.checked = workOffline;
    toggle.addEventListener('change', () => this.setWorkOffline(toggle.checked));
    provider.on('status', () => this.render());
    this.#view = this.render();
  }

  get view(): BadgeView {
    return this.#view;
  }

  get workOffline(): boolean {
    return this.#workOffline;
  }

  get mode(): Mode {
    return this.#mode;
  }

  set mode(mode: Mode) {
    this.#mode = mode;
    this.render();
  }

  /** Simulate losing the network (close the connection, keep editing) or get it back. */
  setWorkOffline(on: boolean): void {
    this.#workOffline = on;
    this.#toggle.checked = on;
    rememberWorkOffline(on);
    if (on) this.#provider.disconnect();
    else this.#provider.connect();
    this.render();
  }

  /** A local change was made. */
  changed(): void {
    this.#changes.bump();
    this.render();
  }

  render(): BadgeView {
    const status = this.#provider.status;
    if (status.connection === 'connected') this.#everConnected = true;
    if (status.saved) this.#changes.reset();
    const view = badgeView(status, this.#changes.count, this.#workOffline, this.#everConnected, this.#mode);
    this.#view = view;
    this.#badge.dataset.state = view.state;
    this.#text.textContent = view.text;
    this.#badge.title =
      view.state === 'saved'
        ? this.#mode.readOnly
          ? 'Connected: changes by others show as they happen.'
          : 'Every change is on the Skein server’s disk.'
        : view.state === 'offline'
          ? 'Changes are kept in this browser (IndexedDB) and sent when the connection returns.'
          : '';
    return view;
  }
}
