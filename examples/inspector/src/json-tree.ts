import { h } from './dom.js';

/**
 * A collapsible JSON tree that can be re-rendered with new data while keeping which branches
 * the user opened or closed (by path). Branches start open down to `openDepth`.
 */
export class JsonTree {
  readonly el = h('div', { class: 'json-tree' });
  readonly #toggled = new Map<string, boolean>();
  #last = '';

  constructor(private readonly openDepth = 3) {}

  /** Render `value`; nothing happens when it equals the last one. Returns whether it changed. */
  render(value: unknown): boolean {
    const text = JSON.stringify(value);
    if (text === this.#last) return false;
    this.#last = text;
    this.el.replaceChildren(this.#node(value, '$', undefined, 0));
    return true;
  }

  #node(value: unknown, path: string, key: string | undefined, depth: number): Node {
    const label = key === undefined ? null : h('span', { class: 'key' }, key);
    if (value === null || typeof value !== 'object') {
      return h('div', { class: 'leaf', 'data-path': path }, label, label && ': ', h('span', { class: `v-${value === null ? 'null' : typeof value}` }, JSON.stringify(value)));
    }
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    const open = this.#toggled.get(path) ?? depth < this.openDepth;
    const details = h('details', { 'data-path': path, open }, h('summary', {}, label, label && ' ', h('span', { class: 'count' }, summary)));
    details.addEventListener('toggle', () => this.#toggled.set(path, details.open));
    for (const [k, v] of entries) details.appendChild(this.#node(v, `${path}.${k}`, k, depth + 1));
    return details;
  }
}
