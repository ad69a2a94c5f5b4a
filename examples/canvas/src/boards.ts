import type * as Y from 'yjs';
import { metaOf } from './board';

/**
 * The board list. A board is named by the URL fragment (`/#<id>`, the Skein document
 * `canvas/<id>`); its title lives in the board's own document (`meta.title`), so a rename
 * shows for everyone on the board. The list of boards is what this browser has opened or
 * made (localStorage): there is no shared index document, so a token for `canvas/<id>`
 * grants exactly that board and nothing reveals the others.
 */

export interface BoardEntry {
  readonly id: string;
  readonly title: string;
  /** Last opened here (ms since the epoch). */
  readonly opened: number;
}

const KEY = 'skein-canvas:boards';
const MAX = 50;

export function listBoards(): BoardEntry[] {
  try {
    const data: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    if (!Array.isArray(data)) return [];
    return (data as unknown[]).filter(isEntry).sort((a, b) => b.opened - a.opened);
  } catch {
    return [];
  }
}

function isEntry(value: unknown): value is BoardEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.id === 'string' && typeof e.title === 'string' && typeof e.opened === 'number';
}

/** Note that this browser has the board open now (and its current title). */
export function rememberBoard(id: string, title: string): void {
  const rest = listBoards().filter((e) => e.id !== id);
  const list = [{ id, title, opened: Date.now() }, ...rest].slice(0, MAX);
  try {
    localStorage.setItem(KEY, JSON.stringify(list));
  } catch {
    // Not remembered: the list is just shorter.
  }
}

export function forgetBoard(id: string): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(listBoards().filter((e) => e.id !== id)));
  } catch {
    // Nothing to forget from.
  }
}

/** A fresh board id: short, URL-safe, unlikely to meet another. */
export function newBoardId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `board-${Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 8)}`;
}

export const cleanTitle = (title: string): string =>
  // eslint-disable-next-line no-control-regex -- titles are shown to everyone: no control characters
  title.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 80);

/** The board's title (its id until someone names it). */
export function boardTitle(doc: Y.Doc, id: string): string {
  const title = metaOf(doc).get('title');
  return typeof title === 'string' && cleanTitle(title) !== '' ? cleanTitle(title) : id;
}

/** Rename the board (call inside a transaction). */
export function setBoardTitle(doc: Y.Doc, title: string): void {
  const clean = cleanTitle(title);
  if (clean !== '' && metaOf(doc).get('title') !== clean) metaOf(doc).set('title', clean);
}
