/**
 * The side panel on the left: one panel at a time, picked by tabs. Panels register here;
 * the board list and the board's history (`history-panel.ts`), each one `add(…)` in main.ts.
 */
export interface PanelSpec {
  readonly id: string;
  readonly title: string;
  /** Fill the panel body (called once); returns a refresh called each time it is shown. */
  mount(body: HTMLElement): () => void;
}

export class SidePanel {
  readonly #root: HTMLElement;
  readonly #tabs: HTMLElement;
  readonly #bodies = new Map<string, { body: HTMLElement; tab: HTMLButtonElement; refresh: () => void }>();
  #open: string | undefined;

  constructor(root: HTMLElement) {
    this.#root = root;
    root.hidden = true;
    this.#tabs = document.createElement('div');
    this.#tabs.className = 'side-tabs';
    this.#tabs.setAttribute('role', 'tablist');
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'side-close';
    close.title = 'Close';
    close.setAttribute('aria-label', 'Close the side panel');
    close.textContent = '×';
    close.addEventListener('click', () => this.close());
    root.append(this.#tabs, close);
    root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close();
      e.stopPropagation();
    });
  }

  add(spec: PanelSpec): void {
    const tab = document.createElement('button');
    tab.type = 'button';
    tab.className = 'side-tab';
    tab.dataset.panel = spec.id;
    tab.setAttribute('role', 'tab');
    tab.textContent = spec.title;
    tab.addEventListener('click', () => this.show(spec.id));
    const body = document.createElement('section');
    body.className = 'side-body';
    body.dataset.panel = spec.id;
    body.hidden = true;
    this.#tabs.append(tab);
    this.#root.append(body);
    this.#bodies.set(spec.id, { body, tab, refresh: spec.mount(body) });
  }

  get openPanel(): string | undefined {
    return this.#open;
  }

  show(id: string): void {
    const panel = this.#bodies.get(id);
    if (panel === undefined) return;
    this.#open = id;
    this.#root.hidden = false;
    for (const [key, p] of this.#bodies) {
      p.body.hidden = key !== id;
      p.tab.setAttribute('aria-selected', String(key === id));
    }
    panel.refresh();
  }

  toggle(id: string): void {
    if (this.#open === id) this.close();
    else this.show(id);
  }

  close(): void {
    this.#open = undefined;
    this.#root.hidden = true;
  }

  /** Refresh the panel that is showing (e.g. the board was renamed). */
  refresh(): void {
    if (this.#open !== undefined) this.#bodies.get(this.#open)?.refresh();
  }
}
