import './style.css';
import * as Y from 'yjs';
import { SkeinProvider } from '@skein/client';
import type { Shape } from './board';
import { Editor } from './editor';
import { localUser, Presence } from './presence';
import { Renderer } from './render';
import { ChangeCounter, StatusBadge, workOfflineSetting } from './status';
import { mountPeople, mountToolbar } from './ui';

/** The board is named by the URL fragment: `/#my-board`; no fragment is the board "main". */
function boardName(hash: string): string {
  let name = '';
  try {
    name = decodeURIComponent(hash.replace(/^#/, ''));
  } catch {
    name = hash.replace(/^#/, '');
  }
  // eslint-disable-next-line no-control-regex -- document names must not hold control characters
  name = name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 100);
  return name === '' ? 'main' : name;
}

/** The Skein server: the host that served this page (`?ws=` overrides; `vite dev` uses :1234). */
function serverUrl(params: URLSearchParams): string {
  const given = params.get('ws');
  if (given !== null && /^wss?:\/\//.test(given)) return given;
  if (import.meta.env.DEV) return `ws://${location.hostname}:1234`;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
}

function element<T extends Element>(selector: string, type: new () => T): T {
  const el = document.querySelector(selector);
  if (!(el instanceof type)) throw new Error(`canvas: missing ${selector}`);
  return el;
}

const params = new URLSearchParams(location.search);
const board = boardName(location.hash);
window.addEventListener('hashchange', () => location.reload());
document.title = `${board} · Skein canvas`;
element('#board-name', HTMLElement).textContent = board;

const doc = new Y.Doc();
const workOffline = workOfflineSetting();
const provider = new SkeinProvider({
  url: serverUrl(params),
  name: `canvas/${board}`,
  doc,
  connect: !workOffline,
  // A demo should come back quickly when the server returns.
  backoff: { initialDelayMs: 250, maxDelayMs: 4000 },
});
const presence = new Presence(provider.awareness, localUser(params));
const badge = new StatusBadge(provider, new ChangeCounter(board), element('#badge', HTMLElement), element('#offline-toggle', HTMLInputElement), workOffline);

let refreshToolbar = (): void => undefined;
const editor = new Editor({
  doc,
  svg: element('#board', SVGSVGElement),
  renderer: new Renderer(element('#board', SVGSVGElement)),
  presence,
  noteInput: element('#note-input', HTMLTextAreaElement),
  onLocalChange: () => badge.changed(),
  onUiChange: () => refreshToolbar(),
});
refreshToolbar = mountToolbar(element('#toolbar', HTMLElement), editor);
refreshToolbar();
mountPeople(element('#people', HTMLElement), presence);
element('#board', SVGSVGElement).dataset.tool = editor.tool;

// Leaving: tell the others at once (not after the awareness timeout) and store what is queued.
window.addEventListener('pagehide', () => void provider.destroy());
// Back from the back/forward cache the provider is gone: start afresh.
window.addEventListener('pageshow', (e) => {
  if (e.persisted) location.reload();
});

// The app shell is cached by a service worker, so the page also reloads while offline.
const offlineShell: Promise<boolean> =
  import.meta.env.PROD && 'serviceWorker' in navigator
    ? navigator.serviceWorker
        .register(`${import.meta.env.BASE_URL}sw.js`)
        .then(() => navigator.serviceWorker.ready)
        .then(() => true, () => false)
    : Promise.resolve(false);

/** Test hooks (also handy in the console): read-only views and a few waits. */
export interface CanvasHooks {
  readonly board: string;
  readonly clientId: number;
  user(): { name: string; color: string };
  shapes(): Shape[];
  selection(): string[];
  status(): {
    connection: string;
    synced: boolean;
    acks: boolean | null;
    restored: boolean;
    saved: boolean;
    pendingUpdates: number;
    pending: number;
    badge: string;
    state: string;
    workOffline: boolean;
  };
  people(): Array<{ name: string; color: string; self: boolean }>;
  /** Names on the remote cursors currently drawn. */
  cursors(): string[];
  stats(): { pointerMoves: number; transactions: number; frames: number; steps: number; cursorUpdates: number };
  setWorkOffline(on: boolean): void;
  restored(): Promise<boolean>;
  flush(): Promise<boolean>;
  offlineShell(): Promise<boolean>;
}

const hooks: CanvasHooks = {
  board,
  clientId: doc.clientID,
  user: () => ({ ...presence.user }),
  shapes: () => editor.shapes(),
  selection: () => (editor.selected === undefined ? [] : [editor.selected.id]),
  status: () => {
    const s = provider.status;
    const view = badge.view;
    return {
      connection: s.connection,
      synced: s.synced,
      acks: s.acks,
      restored: s.restored,
      saved: s.saved,
      pendingUpdates: s.pendingUpdates.count,
      pending: view.pending,
      badge: view.text,
      state: view.state,
      workOffline: badge.workOffline,
    };
  },
  people: () => presence.everyone().map((p) => ({ name: p.user.name, color: p.user.color, self: p.self })),
  cursors: () => [...document.querySelectorAll('#board .cursor')].map((el) => el.getAttribute('data-name') ?? ''),
  stats: () => ({ ...editor.stats, cursorUpdates: presence.cursorUpdates }),
  setWorkOffline: (on) => badge.setWorkOffline(on),
  restored: () => provider.whenRestored.then(() => true),
  flush: () => provider.flush().then(() => true),
  offlineShell: () => offlineShell,
};
(window as unknown as { __skein: CanvasHooks }).__skein = hooks;
