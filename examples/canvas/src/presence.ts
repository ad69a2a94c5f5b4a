import type { Awareness } from 'y-protocols/awareness';
import type { Point } from './geometry';

export interface User {
  readonly name: string;
  readonly color: string;
  /** Chosen with `?color=`: kept even when someone else has it. */
  readonly fixedColor?: boolean;
}

export interface Peer {
  readonly clientId: number;
  readonly self: boolean;
  readonly user: User;
  readonly cursor: Point | null;
  readonly selection: readonly string[];
  /** Watching through a view-only link. */
  readonly viewing: boolean;
}

const NAMES = ['Ada', 'Grace', 'Alan', 'Linus', 'Barbara', 'Edsger', 'Radia', 'Margaret', 'Dennis', 'Frances', 'Ken', 'Hedy'];
export const USER_COLORS = ['#e8590c', '#1c7ed6', '#2b8a3e', '#c2255c', '#7048e8', '#0c8599', '#d9480f', '#5f3dc4'];
const USER_KEY = 'skein-canvas:user';
const HEX = /^#[0-9a-f]{6}$/i;

/** This browser's name and colour: `?name=` / `?color=`, else remembered, else picked at random. */
export function localUser(params: URLSearchParams): User {
  let stored: Partial<User> = {};
  try {
    stored = JSON.parse(localStorage.getItem(USER_KEY) ?? '{}') as Partial<User>;
  } catch {
    stored = {};
  }
  const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;
  const name = cleanName(params.get('name')) ?? cleanName(stored.name) ?? pick(NAMES);
  const given = params.get('color');
  if (given !== null && HEX.test(given)) return { name, color: given, fixedColor: true };
  const color = typeof stored.color === 'string' && HEX.test(stored.color) ? stored.color : pick(USER_COLORS);
  const user = { name, color };
  if (params.get('name') === null) saveUser(user);
  return user;
}

export function saveUser(user: User): void {
  try {
    localStorage.setItem(USER_KEY, JSON.stringify({ name: user.name, color: user.color }));
  } catch {
    // Private mode without storage: the name is just not remembered.
  }
}

function cleanName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex -- strip control characters from names others will see
  const name = value.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 24);
  return name === '' ? undefined : name;
}

/**
 * Presence over the provider's awareness: the local user, their cursor (sent at most
 * `cursorHz` times a second, always ending with the latest position) and their selection;
 * everyone's validated states.
 */
export class Presence {
  readonly #awareness: Awareness;
  readonly #interval: number;
  #user: User;
  #cursor: Point | null = null;
  #lastCursorSent = -Infinity;
  #cursorTimer: ReturnType<typeof setTimeout> | undefined;
  /** Cursor updates handed to the awareness (for the test hooks). */
  cursorUpdates = 0;

  constructor(awareness: Awareness, user: User, { cursorHz = 20 }: { cursorHz?: number } = {}) {
    this.#awareness = awareness;
    this.#interval = 1000 / cursorHz;
    this.#user = user;
    awareness.setLocalState({ user: { name: user.name, color: user.color }, cursor: null, selection: [] });
    if (user.fixedColor !== true) awareness.on('change', () => this.#avoidColorClash());
  }

  /**
   * Two people with one colour cannot tell their cursors apart: when someone who was here
   * first (a lower client id) has this colour, take the first colour nobody has.
   */
  #avoidColorClash(): void {
    const others = this.everyone().filter((p) => !p.self);
    const own = this.#awareness.clientID;
    if (!others.some((p) => p.user.color === this.#user.color && p.clientId < own)) return;
    const taken = new Set(others.map((p) => p.user.color));
    const free = USER_COLORS.find((c) => !taken.has(c));
    if (free === undefined) return;
    this.#user = { ...this.#user, color: free };
    saveUser(this.#user);
    this.#awareness.setLocalStateField('user', { name: this.#user.name, color: free });
  }

  get user(): User {
    return this.#user;
  }

  rename(name: string): void {
    const clean = cleanName(name);
    if (clean === undefined) return;
    this.#user = { ...this.#user, name: clean };
    saveUser(this.#user);
    this.#awareness.setLocalStateField('user', { name: this.#user.name, color: this.#user.color });
  }

  /** The pointer moved (board coordinates), or left the board (`null`). Throttled. */
  cursor(at: Point | null): void {
    this.#cursor = at === null ? null : { x: Math.round(at.x), y: Math.round(at.y) };
    if (this.#cursorTimer !== undefined) return;
    const wait = this.#lastCursorSent + this.#interval - performance.now();
    if (wait <= 0) this.#sendCursor();
    else this.#cursorTimer = setTimeout(() => this.#sendCursor(), wait);
  }

  #sendCursor(): void {
    this.#cursorTimer = undefined;
    this.#lastCursorSent = performance.now();
    const prev = this.#awareness.getLocalState()?.cursor as Point | null | undefined;
    if (prev?.x === this.#cursor?.x && prev?.y === this.#cursor?.y) return;
    this.cursorUpdates++;
    this.#awareness.setLocalStateField('cursor', this.#cursor);
  }

  /** Tell the others this user only watches (a view-only link). */
  viewing(on: boolean): void {
    if ((this.#awareness.getLocalState()?.viewing === true) === on) return;
    this.#awareness.setLocalStateField('viewing', on);
  }

  /** The selection others outline (at most 50 ids: the whole state is resent with every cursor move). */
  select(ids: readonly string[]): void {
    this.#awareness.setLocalStateField('selection', ids.slice(0, 50));
  }

  /** Everyone with a valid state, the local user first. */
  everyone(): Peer[] {
    const own = this.#awareness.clientID;
    const peers: Peer[] = [];
    for (const [clientId, state] of this.#awareness.getStates()) {
      const peer = parsePeer(clientId, clientId === own, state);
      if (peer !== undefined) peers.push(peer);
    }
    return peers.sort((a, b) => Number(b.self) - Number(a.self) || a.user.name.localeCompare(b.user.name) || a.clientId - b.clientId);
  }

  onChange(listener: () => void): void {
    this.#awareness.on('change', listener);
  }
}

function parsePeer(clientId: number, self: boolean, state: Record<string, unknown>): Peer | undefined {
  const user = state.user as Partial<User> | undefined;
  const name = cleanName(user?.name);
  if (name === undefined || typeof user?.color !== 'string' || !HEX.test(user.color)) return undefined;
  const c = state.cursor as Partial<Point> | null | undefined;
  const cursor = typeof c?.x === 'number' && typeof c.y === 'number' && Number.isFinite(c.x) && Number.isFinite(c.y) ? { x: c.x, y: c.y } : null;
  const selection = Array.isArray(state.selection) ? state.selection.filter((id): id is string => typeof id === 'string').slice(0, 50) : [];
  return { clientId, self, user: { name, color: user.color }, cursor, selection, viewing: state.viewing === true };
}
