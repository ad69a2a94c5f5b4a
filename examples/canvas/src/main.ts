import './style.css';
import * as Y from 'yjs';
import { SkeinProvider } from '@skein/client';
import { tokenInfo } from './access';
import type { Shape } from './board';
import { Editor } from './editor';
import { localUser, Presence } from './presence';
import { Renderer } from './render';
import { ChangeCounter, StatusBadge, workOfflineSetting } from './status';
import { mountShare } from './share';
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
/** The Skein document of the board. Access tokens grant patterns of these names (`canvas/*`). */
const docName = `canvas/${board}`;
// Another board: start afresh. Only the fragment changed, so `?token=` (and `?name=`) stay.
window.addEventListener('hashchange', () => location.reload());
document.title = `${board} · Skein canvas`;
element('#board-name', HTMLElement).textContent = board;

/**
 * `?token=`: the access token for a server run with `--auth jwt` (a link made by
 * `skein token --url`). Without one the page connects without (`--auth none`).
 */
const token = params.get('token') ?? '';
const claimed = token === '' ? undefined : tokenInfo(token, docName);

const doc = new Y.Doc();
const workOffline = workOfflineSetting();
const provider = new SkeinProvider({
  url: serverUrl(params),
  name: docName,
  doc,
  connect: !workOffline,
  ...(token === '' ? {} : { token }),
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

/**
 * View only: the token grants only `read` for this board (known at once, from the token),
 * or the server said so (its Welcome; `provider.readOnly`), which decides. Then no tool,
 * key or undo touches the document, so nothing waits unsent.
 */
const isReadOnly = (): boolean => provider.readOnly || (claimed !== undefined && claimed.access !== 'write');
/**
 * A token the page cannot read (an embedder's own session token): no edits until the
 * server has said what it grants (its Welcome), so a viewer never makes edits that would
 * wait unsent. Nothing to wait for without a token (`--auth none`) or with a readable one.
 */
const accessUnknown = (): boolean => token !== '' && claimed === undefined && provider.status.acks === null;
const viewOnly = element('#view-only', HTMLElement);
const hint = element('#board-hint', HTMLElement);
const refreshShare = mountShare(element('#viewer-link', HTMLButtonElement), element('#share', HTMLElement), {
  docName,
  hasToken: token !== '',
  readOnly: isReadOnly,
});
let shown: string | undefined;
const applyMode = (): void => {
  const readOnly = isReadOnly();
  const unknown = accessUnknown();
  if (shown === `${readOnly}/${unknown}`) return;
  shown = `${readOnly}/${unknown}`;
  editor.readOnly = readOnly || unknown;
  presence.viewing(readOnly);
  viewOnly.hidden = !readOnly;
  hint.textContent = readOnly ? ' · watching live' : token === '' ? ' · share this URL to draw together' : ' · this URL carries your token';
  document.body.classList.toggle('read-only', readOnly);
  refreshShare();
  badge.mode = {
    readOnly,
    problem: claimed?.expired === true ? 'This link has expired' : claimed?.access === 'none' ? `This link has no access to “${board}”` : undefined,
  };
};
applyMode();
provider.on('status', applyMode);

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
    readOnly: boolean;
    viewOnly: boolean;
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
  /** This page's Y.Doc holds changes made here (its own client id is in the state vector). */
  ownChanges(): boolean;
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
      readOnly: s.readOnly,
      viewOnly: editor.readOnly,
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
  ownChanges: () => Y.decodeStateVector(Y.encodeStateVector(doc)).has(doc.clientID),
  setWorkOffline: (on) => badge.setWorkOffline(on),
  restored: () => provider.whenRestored.then(() => true),
  flush: () => provider.flush().then(() => true),
  offlineShell: () => offlineShell,
};
(window as unknown as { __skein: CanvasHooks }).__skein = hooks;
