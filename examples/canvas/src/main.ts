import './style.css';
import * as Y from 'yjs';
import { SkeinProvider } from '@skein/client';
import { tokenInfo } from './access';
import { metaOf } from './board';
import { boardPanel } from './board-panel';
import { boardTitle, rememberBoard, setBoardTitle } from './boards';
import { Editor } from './editor';
import { mountFileMenu } from './file-menu';
import { Gestures } from './gestures';
import { HistoryApi } from './history-api';
import { historyPanel } from './history-panel';
import { installHooks } from './hooks';
import { mountNavigation, rememberedCamera } from './navigation';
import { localUser, Presence } from './presence';
import { Renderer } from './render';
import { mountShare } from './share';
import { SidePanel } from './side-panel';
import { ChangeCounter, StatusBadge, workOfflineSetting } from './status';
import { mountPeople, mountToolbar, mountZoom } from './ui';

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

const surface = element('#board', SVGSVGElement);
const renderer = new Renderer(element('#canvas', HTMLCanvasElement), surface);
const camera = rememberedCamera(board);
let refreshUi = (): void => undefined;
const editor = new Editor({
  doc,
  renderer,
  presence,
  noteInput: element('#note-input', HTMLTextAreaElement),
  ...(camera.camera === undefined ? {} : { camera: camera.camera }),
  onLocalChange: () => badge.changed(),
  onUiChange: () => refreshUi(),
});
const gestures = new Gestures(editor, surface, presence);
editor.gestures = gestures;
mountNavigation(editor, surface, gestures);
const refreshToolbar = mountToolbar(element('#toolbar', HTMLElement), editor);
const refreshZoom = mountZoom(element('#zoom', HTMLElement), editor, surface);
mountPeople(element('#people', HTMLElement), presence);
surface.dataset.tool = editor.tool;

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

// The board's title (shared, in the document) and the board list (this browser's).
const title = (): string => boardTitle(doc, board);
const side = new SidePanel(element('#side-panel', HTMLElement));
side.add(
  boardPanel({
    board,
    title,
    readOnly: () => editor.readOnly,
    rename: (next) => {
      editor.change(() => setBoardTitle(doc, next), false);
      showTitle();
    },
  }),
);
// The board's versions through the HTTP API: list, preview, save and restore (not for viewers).
side.add(historyPanel({ api: new HistoryApi(serverUrl(params), docName, token), readOnly: () => editor.readOnly }));
element('#boards-button', HTMLButtonElement).addEventListener('click', () => side.toggle('boards'));
element('#history-button', HTMLButtonElement).addEventListener('click', () => side.toggle('history'));
const showTitle = (): void => {
  const name = title();
  document.title = `${name} · Skein canvas`;
  element('#board-name', HTMLElement).textContent = name;
  rememberBoard(board, name);
  side.refresh();
};
metaOf(doc).observe(showTitle);
showTitle();

const refreshFiles = mountFileMenu(element('#export-button', HTMLButtonElement), element('#file-menu', HTMLElement), editor, { title });
refreshUi = (): void => {
  refreshToolbar();
  refreshZoom();
  refreshFiles();
  camera.save(editor.camera);
};
refreshUi();

const viewOnly = element('#view-only', HTMLElement);
const hint = element('#board-hint', HTMLElement);
const refreshShare = mountShare(element('#share-button', HTMLButtonElement), element('#share', HTMLElement), {
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
  side.refresh();
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

installHooks({ board, doc, provider, presence, badge, editor, renderer, offlineShell, title });
