import { listBoards, newBoardId, type BoardEntry } from './boards';
import type { PanelSpec } from './side-panel';

export interface BoardPanelContext {
  readonly board: string;
  title(): string;
  readOnly(): boolean;
  rename(title: string): void;
}

/** The "Boards" panel: rename this board, make a new one, open one this browser has seen. */
export function boardPanel(ctx: BoardPanelContext): PanelSpec {
  return {
    id: 'boards',
    title: 'Boards',
    mount(body) {
      const label = document.createElement('label');
      label.className = 'field';
      label.textContent = 'This board';
      const title = document.createElement('input');
      title.id = 'board-title';
      title.type = 'text';
      title.maxLength = 80;
      title.spellcheck = false;
      title.addEventListener('change', () => ctx.rename(title.value));
      title.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') title.blur();
      });
      label.append(title);
      const create = document.createElement('button');
      create.id = 'new-board';
      create.type = 'button';
      create.className = 'primary';
      create.textContent = 'New board';
      create.addEventListener('click', () => {
        location.hash = `#${newBoardId()}`;
      });
      const heading = document.createElement('h3');
      heading.textContent = 'Opened in this browser';
      const list = document.createElement('ul');
      list.id = 'board-list';
      body.append(label, create, heading, list);
      return () => {
        if (document.activeElement !== title) title.value = ctx.title();
        title.disabled = ctx.readOnly();
        title.title = ctx.readOnly() ? 'View only: this link cannot rename the board' : 'Everyone on this board sees the new name';
        list.replaceChildren(...listBoards().map((entry) => item(entry, entry.id === ctx.board)));
      };
    },
  };
}

function item(entry: BoardEntry, current: boolean): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.board = entry.id;
  if (current) li.classList.add('current');
  const link = document.createElement('a');
  // Only the fragment changes: `?token=`, `?name=` stay (the page reloads on a board change).
  link.href = `${location.search}#${encodeURIComponent(entry.id)}`;
  link.textContent = entry.title;
  const when = document.createElement('small');
  when.textContent = current ? 'open now' : ago(entry.opened);
  li.append(link, when);
  return li;
}

function ago(ms: number): string {
  const minutes = Math.round((Date.now() - ms) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return new Date(ms).toLocaleDateString();
}
