import { stepZoom, zoomAt } from './camera';
import type { Editor, Tool } from './editor';
import { fitAll, isTextEntry } from './navigation';
import type { Presence } from './presence';

const ICON: Readonly<Record<string, string>> = {
  select: '<path d="M6 3.5l12 7.2-5.3 1.3-2.6 5.3z" />',
  rect: '<rect x="4" y="6" width="16" height="12" rx="2" />',
  hand: '<path d="M8 12V5.5a1.5 1.5 0 0 1 3 0V11m0-6.5a1.5 1.5 0 0 1 3 0V11m0-5a1.5 1.5 0 0 1 3 0v6m0-3a1.5 1.5 0 0 1 3 0V15a6 6 0 0 1-6 6h-1.5a6 6 0 0 1-4.6-2.2L4.7 15.2a1.6 1.6 0 0 1 2.4-2.1L8 14" />',
  ellipse: '<ellipse cx="12" cy="12" rx="8.5" ry="6.5" />',
  diamond: '<path d="M12 3.5l8.5 8.5-8.5 8.5L3.5 12z" />',
  line: '<path d="M5 19L19 5" />',
  arrow: '<path d="M5 19L19 5M10.5 5H19v8.5" />',
  pen: '<path d="M4 18c2.5 0 3.5-3 5-6s3-5 5-3-1 6 1 7 3-2 5-4" />',
  note: '<path d="M5 4h14v10.5L13.5 20H5z" /><path d="M13.5 20v-5.5H19" />',
  front: '<rect x="9" y="9" width="11" height="11" rx="1.5" fill="currentColor" /><rect x="4" y="4" width="11" height="11" rx="1.5" />',
  back: '<rect x="4" y="4" width="11" height="11" rx="1.5" fill="currentColor" /><rect x="9" y="9" width="11" height="11" rx="1.5" fill="#fff" />',
  delete: '<path d="M5 7h14M10 7V4.5h4V7M7 7l1 13h8l1-13" />',
  undo: '<path d="M9 8H4V3" /><path d="M4.5 8A8 8 0 1 1 6 17" />',
  redo: '<path d="M15 8h5V3" /><path d="M19.5 8A8 8 0 1 0 18 17" />',
};

const TOOLS: ReadonlyArray<{ tool: Tool; label: string; key: string }> = [
  { tool: 'select', label: 'Select, move, resize, rotate (Shift+click and drag to select more)', key: 'V' },
  { tool: 'hand', label: 'Pan (or hold Space, or the wheel)', key: 'H' },
  { tool: 'rect', label: 'Rectangle', key: 'R' },
  { tool: 'ellipse', label: 'Ellipse', key: 'O' },
  { tool: 'diamond', label: 'Diamond', key: 'D' },
  { tool: 'line', label: 'Line', key: 'L' },
  { tool: 'arrow', label: 'Arrow (start or end it on a shape to attach it)', key: 'A' },
  { tool: 'pen', label: 'Freehand', key: 'P' },
  { tool: 'note', label: 'Sticky note', key: 'N' },
];

export const COLORS: ReadonlyArray<{ color: string; name: string }> = [
  { color: '#1e1e1e', name: 'Ink' },
  { color: '#e03131', name: 'Red' },
  { color: '#f08c00', name: 'Orange' },
  { color: '#e8b600', name: 'Yellow' },
  { color: '#2f9e44', name: 'Green' },
  { color: '#1971c2', name: 'Blue' },
  { color: '#9c36b5', name: 'Violet' },
];

function iconButton(icon: string, title: string, className = 'tool'): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = className;
  button.title = title;
  button.setAttribute('aria-label', title);
  button.innerHTML = `<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">${ICON[icon] ?? ''}</svg>`;
  return button;
}

function separator(): HTMLElement {
  const el = document.createElement('span');
  el.className = 'separator';
  return el;
}

/** The toolbar: tools, colours, stacking, delete, undo/redo; plus the keyboard shortcuts. */
export function mountToolbar(root: HTMLElement, editor: Editor): () => void {
  const toolButtons = TOOLS.map(({ tool, label, key }) => {
    const button = iconButton(tool, `${label} (${key})`);
    button.dataset.tool = tool;
    button.addEventListener('click', () => (editor.tool = tool));
    return button;
  });
  const swatches = COLORS.map(({ color, name }) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'swatch';
    button.dataset.color = color;
    button.title = name;
    button.setAttribute('aria-label', `Colour ${name}`);
    button.style.setProperty('--swatch', color);
    button.addEventListener('click', () => editor.setColor(color));
    return button;
  });
  const front = iconButton('front', 'Bring to front (])', 'action');
  front.dataset.action = 'front';
  front.addEventListener('click', () => editor.restack(true));
  const back = iconButton('back', 'Send to back ([)', 'action');
  back.dataset.action = 'back';
  back.addEventListener('click', () => editor.restack(false));
  const del = iconButton('delete', 'Delete (Del)', 'action');
  del.dataset.action = 'delete';
  del.addEventListener('click', () => editor.deleteSelected());
  const undo = iconButton('undo', 'Undo your last change (Ctrl+Z)', 'action');
  undo.dataset.action = 'undo';
  undo.addEventListener('click', () => editor.undo());
  const redo = iconButton('redo', 'Redo (Ctrl+Shift+Z)', 'action');
  redo.dataset.action = 'redo';
  redo.addEventListener('click', () => editor.redo());
  root.append(...toolButtons, separator(), ...swatches, separator(), front, back, del, separator(), undo, redo);

  const keys: Readonly<Record<string, Tool>> = { v: 'select', h: 'hand', r: 'rect', o: 'ellipse', e: 'ellipse', d: 'diamond', l: 'line', a: 'arrow', p: 'pen', n: 'note' };
  window.addEventListener('keydown', (e) => {
    if (isTextEntry(e.target)) return;
    // View only: no shortcut edits (Escape still just clears).
    const key = e.key.toLowerCase();
    if (editor.readOnly && e.key !== 'Escape' && key !== 'h' && key !== 'v') return;
    const mod = e.ctrlKey || e.metaKey;
    if (mod && key === 'z') editor[e.shiftKey ? 'redo' : 'undo']();
    else if (mod && key === 'y') editor.redo();
    else if (mod && key === 'a') editor.select(editor.shapes().map((s) => s.id));
    else if (mod || e.altKey) return;
    else if (e.key === 'Delete' || e.key === 'Backspace') editor.deleteSelected();
    else if (e.key === ']') editor.restack(true);
    else if (e.key === '[') editor.restack(false);
    else if (e.key === 'Enter' && editor.selection.length === 1 && editor.selection[0]?.kind === 'note') editor.openNote(editor.selection[0].id);
    else if (e.key === 'Escape') {
      editor.tool = 'select';
      editor.select([]);
    } else if (keys[key] !== undefined) editor.tool = keys[key];
    else return;
    e.preventDefault();
  });

  return () => {
    const readOnly = editor.readOnly;
    root.classList.toggle('read-only', readOnly);
    root.setAttribute('aria-disabled', String(readOnly));
    root.title = readOnly ? 'View only: this link can watch the board, not edit it' : '';
    for (const button of toolButtons) {
      button.classList.toggle('active', button.dataset.tool === editor.tool && (!readOnly || editor.tool === 'hand'));
      button.disabled = readOnly;
    }
    const selection = editor.selection;
    const selected = selection[0];
    const current = selected?.color ?? editor.color;
    for (const swatch of swatches) {
      swatch.classList.toggle('active', !readOnly && swatch.dataset.color === current);
      swatch.disabled = readOnly;
    }
    for (const button of [front, back, del]) button.disabled = readOnly || selected === undefined;
    undo.disabled = !editor.canUndo;
    redo.disabled = !editor.canRedo;
  };
}

/** Who is here: a coloured dot and a name per user, "you" first (click your name to rename). */
export function mountPeople(root: HTMLElement, presence: Presence): void {
  const title = document.createElement('h2');
  const list = document.createElement('ul');
  root.append(title, list);
  let shown = '';
  const render = (): void => {
    const everyone = presence.everyone();
    // Cursor moves change the awareness many times a second; the list only when people do.
    const key = JSON.stringify(everyone.map((p) => [p.clientId, p.user.name, p.user.color, p.viewing]));
    if (key === shown) return;
    shown = key;
    title.textContent = everyone.length === 1 ? 'Only you here' : `${everyone.length} here`;
    list.replaceChildren(
      ...everyone.map((peer) => {
        const item = document.createElement('li');
        item.dataset.client = String(peer.clientId);
        item.dataset.name = peer.user.name;
        if (peer.self) item.classList.add('self');
        if (peer.viewing) item.dataset.viewing = 'true';
        const dot = document.createElement('span');
        dot.className = 'avatar';
        dot.style.background = peer.user.color;
        dot.textContent = peer.user.name.slice(0, 1).toUpperCase();
        const name = document.createElement('span');
        name.className = 'name';
        name.textContent = peer.user.name;
        item.append(dot, name);
        if (peer.viewing) {
          const viewing = document.createElement('span');
          viewing.className = 'viewing';
          viewing.textContent = 'viewing';
          viewing.title = 'Watching through a view-only link';
          item.append(viewing);
        }
        if (peer.self) {
          const you = document.createElement('span');
          you.className = 'you';
          you.textContent = 'you';
          item.append(you);
          item.title = 'Click to change your name';
          item.addEventListener('click', () => {
            const next = prompt('Your name', peer.user.name);
            if (next !== null) presence.rename(next);
          });
        }
        return item;
      }),
    );
  };
  presence.onChange(render);
  render();
}

/** Zoom out, the zoom level (click: 100 %), zoom in, fit the board. */
export function mountZoom(root: HTMLElement, editor: Editor, surface: SVGSVGElement): () => void {
  const middle = (): { x: number; y: number } => ({ x: surface.clientWidth / 2, y: surface.clientHeight / 2 });
  const button = (action: string, text: string, title: string, run: () => void): HTMLButtonElement => {
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.zoom = action;
    b.textContent = text;
    b.title = title;
    b.setAttribute('aria-label', title);
    b.addEventListener('click', run);
    return b;
  };
  const out = button('out', '−', 'Zoom out (−)', () => (editor.camera = zoomAt(editor.camera, stepZoom(editor.camera.zoom, -1), middle())));
  const level = button('reset', '100%', 'Zoom to 100% (0)', () => (editor.camera = zoomAt(editor.camera, 1, middle())));
  level.id = 'zoom-level';
  const into = button('in', '+', 'Zoom in (+)', () => (editor.camera = zoomAt(editor.camera, stepZoom(editor.camera.zoom, 1), middle())));
  const fit = button('fit', 'Fit', 'Show the whole board (1)', () => fitAll(editor, { width: surface.clientWidth, height: surface.clientHeight }));
  root.append(out, level, into, fit);
  return () => {
    level.textContent = `${Math.round(editor.camera.zoom * 100)}%`;
  };
}
