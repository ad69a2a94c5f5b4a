import * as Y from 'yjs';
import type { SkeinProvider } from '@skein/client';
import type { Shape } from './board';
import { toScreen, type Camera } from './camera';
import { lineEnds, type Point } from './geometry';
import type { Editor } from './editor';
import type { Presence } from './presence';
import type { Drawn, Renderer } from './render';
import type { StatusBadge } from './status';

/** Test hooks (also handy in the console): read-only views and a few waits. Nothing here edits the board. */
export interface CanvasHooks {
  readonly board: string;
  readonly clientId: number;
  title(): string;
  user(): { name: string; color: string };
  shapes(): Shape[];
  selection(): string[];
  /** The shapes the last painted frame drew (those in view), back to front. */
  rendered(): Drawn[];
  camera(): Camera;
  /** Where a line or arrow is drawn from and to (attached ends sit on their shapes' outlines). */
  lineEnds(id: string): [Point, Point] | null;
  /** Where a board point is on the page (client coordinates). */
  screenPoint(x: number, y: number): { x: number; y: number };
  /** Milliseconds each of the last (up to 600) painted frames took to paint, and how many paints there were in all. */
  paintTimes(): { ms: number[]; count: number };
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

export interface HookDeps {
  readonly board: string;
  readonly doc: Y.Doc;
  readonly provider: SkeinProvider;
  readonly presence: Presence;
  readonly badge: StatusBadge;
  readonly editor: Editor;
  readonly renderer: Renderer;
  readonly offlineShell: Promise<boolean>;
  readonly title: () => string;
}

export function installHooks({ board, doc, provider, presence, badge, editor, renderer, offlineShell, title }: HookDeps): void {
  const hooks: CanvasHooks = {
    board,
    clientId: doc.clientID,
    title,
    user: () => ({ ...presence.user }),
    shapes: () => editor.shapes(),
    selection: () => [...editor.selectedIds],
    rendered: () => [...renderer.drawn],
    camera: () => ({ ...editor.camera }),
    lineEnds: (id) => {
      const shape = editor.get(id);
      return shape === undefined ? null : lineEnds(shape, editor.lookup);
    },
    screenPoint: (x, y) => {
      const r = renderer.overlay.getBoundingClientRect();
      const p = toScreen(editor.camera, { x, y });
      return { x: p.x + r.left, y: p.y + r.top };
    },
    paintTimes: () => ({ ms: [...renderer.paintMs], count: renderer.paints }),
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
}
