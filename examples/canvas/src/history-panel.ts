import * as Y from 'yjs';
import { byZ, readShape, shapesOf, type Shape } from './board';
import { contentBox } from './export';
import { HistoryError, type HistoryApi, type Version } from './history-api';
import { paintShape } from './paint';
import type { PanelSpec } from './side-panel';

export interface HistoryPanelContext {
  readonly api: HistoryApi;
  /** View only: list and preview, no Save or Restore (the server would refuse them anyway). */
  readOnly(): boolean;
}

const PREVIEW = { width: 256, height: 160 };

/** The shapes of a board state (one Yjs update), read into a throwaway `Y.Doc`. */
export function shapesAt(update: Uint8Array): Shape[] {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, update);
    const shapes: Shape[] = [];
    shapesOf(doc).forEach((value, id) => {
      const shape = readShape(id, value);
      if (shape !== undefined) shapes.push(shape);
    });
    return shapes.sort(byZ);
  } finally {
    doc.destroy();
  }
}

/** Paint `shapes` (the whole board, fitted, on white) with the board's own shape painter. */
function paintPreview(canvas: HTMLCanvasElement, shapes: readonly Shape[]): void {
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  const byId = new Map(shapes.map((s) => [s.id, s]));
  const lookup = (id: string): Shape | undefined => byId.get(id);
  const box = contentBox(shapes, lookup);
  const k = Math.min(canvas.width / box.w, canvas.height / box.h);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const dx = (canvas.width - box.w * k) / 2 - box.x * k;
  const dy = (canvas.height - box.h * k) / 2 - box.y * k;
  ctx.setTransform(k, 0, 0, k, dx, dy);
  for (const shape of shapes) paintShape(ctx, shape, lookup, k);
}

const KIND: Readonly<Record<string, string>> = { named: 'Saved', auto: 'Automatic', 'before-restore': 'Before restore' };

/**
 * The "History" panel: the board's versions (newest first), "Save version" with an optional
 * label, a preview of one (its shapes painted from a throwaway `Y.Doc`), and "Restore" — a
 * forward update on the server that every connected page, this one too, receives like any edit.
 */
export function historyPanel(ctx: HistoryPanelContext): PanelSpec {
  return {
    id: 'history',
    title: 'History',
    mount(body) {
      const form = document.createElement('form');
      form.className = 'history-save';
      const label = document.createElement('input');
      label.id = 'version-label';
      label.type = 'text';
      label.maxLength = 200;
      label.placeholder = 'Label (optional)';
      const save = document.createElement('button');
      save.id = 'save-version';
      save.type = 'submit';
      save.className = 'primary';
      save.textContent = 'Save version';
      form.append(label, save);
      const status = document.createElement('p');
      status.id = 'history-status';
      status.className = 'history-status';
      const preview = document.createElement('figure');
      preview.id = 'version-preview';
      preview.hidden = true;
      const canvas = document.createElement('canvas');
      canvas.width = PREVIEW.width;
      canvas.height = PREVIEW.height;
      const caption = document.createElement('figcaption');
      preview.append(canvas, caption);
      const list = document.createElement('ul');
      list.id = 'version-list';
      body.append(form, status, preview, list);

      let versions: Version[] = [];
      let previewed: number | undefined;
      const say = (text: string): void => {
        status.textContent = text;
      };
      const failed = (what: string, e: unknown): void => {
        say(`${what} failed: ${e instanceof HistoryError ? e.message : 'the server cannot be reached'}`);
      };
      const render = (): void => {
        form.hidden = ctx.readOnly();
        list.replaceChildren(...[...versions].reverse().map((v) => row(v)));
        if (versions.length === 0) say('No versions yet.');
      };
      const load = async (): Promise<void> => {
        try {
          versions = await ctx.api.list();
          say('');
        } catch (e) {
          failed('Loading the history', e);
        }
        render();
      };
      const row = (v: Version): HTMLLIElement => {
        const li = document.createElement('li');
        li.className = 'version';
        li.dataset.version = String(v.id);
        if (v.id === previewed) li.classList.add('current');
        const text = document.createElement('span');
        text.className = 'version-label';
        text.textContent = v.label !== '' ? v.label : (KIND[v.kind] ?? v.kind);
        text.title = `#${v.id} · ${KIND[v.kind] ?? v.kind} · ${v.user}`;
        const when = document.createElement('small');
        when.textContent = `#${v.id} · ${shortTime(v.createdAt)}`;
        when.title = new Date(v.createdAt).toLocaleString();
        const show = button('Preview', 'preview', () => void showPreview(v));
        li.append(text, when, show);
        if (!ctx.readOnly()) li.append(button('Restore', 'restore', () => void restore(v)));
        return li;
      };
      const showPreview = async (v: Version): Promise<void> => {
        try {
          const shapes = shapesAt(await ctx.api.update(v.id));
          previewed = v.id;
          paintPreview(canvas, shapes);
          canvas.dataset.shapes = String(shapes.length);
          caption.textContent = `#${v.id}: ${shapes.length} shape${shapes.length === 1 ? '' : 's'}`;
          preview.hidden = false;
          render();
        } catch (e) {
          failed('Preview', e);
        }
      };
      const restore = async (v: Version): Promise<void> => {
        try {
          await ctx.api.restore(v.id);
          say(`Restored #${v.id}.`);
        } catch (e) {
          failed('Restore', e);
        }
        await load();
      };
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        save.disabled = true;
        void ctx.api
          .save(label.value.trim())
          .then(
            (v) => {
              label.value = '';
              say(`Saved #${v.id}.`);
            },
            (err: unknown) => failed('Saving', err),
          )
          .then(load)
          .finally(() => {
            save.disabled = false;
          });
      });
      return () => void load();
    },
  };
}

/** The time for a version made today, else the date. */
function shortTime(iso: string): string {
  const at = new Date(iso);
  return at.toDateString() === new Date().toDateString() ? at.toLocaleTimeString(undefined, { timeStyle: 'short' }) : at.toLocaleDateString();
}

function button(text: string, action: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.dataset.action = action;
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}
