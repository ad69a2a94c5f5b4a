import { topZ } from './board';
import type { Editor } from './editor';
import { download, fileName, fromJson, ImportError, toJson, toPng, toSvg } from './export';

export interface FileMenuContext {
  title(): string;
}

/**
 * "Export…": the board as PNG, SVG or JSON, and "Import JSON" (adds the file's shapes to
 * this board as one undo step; not for viewers). Every export covers the whole board.
 */
export function mountFileMenu(button: HTMLButtonElement, popover: HTMLElement, editor: Editor, ctx: FileMenuContext): () => void {
  const item = (action: string, label: string, run: () => void | Promise<void>): HTMLButtonElement => {
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.export = action;
    b.textContent = label;
    b.addEventListener('click', () => {
      popover.hidden = true;
      void Promise.resolve(run()).catch((err: unknown) => say(err instanceof Error ? err.message : String(err)));
    });
    return b;
  };
  const message = document.createElement('p');
  message.className = 'file-message';
  message.setAttribute('role', 'status');
  const say = (text: string): void => {
    message.textContent = text;
    popover.hidden = false;
  };
  const input = document.createElement('input');
  input.type = 'file';
  input.accept = 'application/json,.json';
  input.id = 'import-file';
  input.hidden = true;
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    input.value = '';
    if (file === undefined) return;
    void file.text().then((text) => {
      try {
        const items = fromJson(text, topZ(editor.shapesMap));
        const ids = editor.insert(items);
        say(`Imported ${ids.length} shape${ids.length === 1 ? '' : 's'}.`);
      } catch (err) {
        say(err instanceof ImportError ? err.message : 'This file could not be imported.');
      }
    });
  });
  const importButton = item('import', 'Import JSON…', () => input.click());
  popover.append(
    item('png', 'Export PNG', async () => download(await toPng(editor.shapes(), editor.lookup), fileName(ctx.title(), 'png'))),
    item('svg', 'Export SVG', () => download(new Blob([toSvg(editor.shapes(), editor.lookup)], { type: 'image/svg+xml' }), fileName(ctx.title(), 'svg'))),
    item('json', 'Export JSON', () => download(new Blob([toJson(ctx.title(), editor.shapes())], { type: 'application/json' }), fileName(ctx.title(), 'json'))),
    importButton,
    input,
    message,
  );
  button.addEventListener('click', (e) => {
    e.stopPropagation();
    message.textContent = '';
    popover.hidden = !popover.hidden;
  });
  popover.addEventListener('pointerdown', (e) => e.stopPropagation());
  document.addEventListener('pointerdown', () => (popover.hidden = true));
  return () => {
    importButton.disabled = editor.readOnly;
    importButton.title = editor.readOnly ? 'View only: this link cannot add shapes' : 'Add the shapes of a board file to this board';
  };
}
