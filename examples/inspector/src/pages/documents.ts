import { doc, json, type DocMetadata, type DocSummary } from '../api.js';
import { ago, bytes, docHref, fill, h } from '../dom.js';
import { describeError, poll } from '../poll.js';

const PAGE = 50;
const EVERY_MS = 3000;

/** Documents: search by prefix; size, updates since snapshot, strategy, last change, users. */
export function documents(root: HTMLElement, params: URLSearchParams): () => void {
  const prefix = h('input', { type: 'search', placeholder: 'Name prefix, e.g. board/', value: params.get('prefix') ?? '', 'aria-label': 'Name prefix' });
  const body = h('tbody');
  const more = h('button', { type: 'button', hidden: true }, 'More');
  const error = h('p', { class: 'error', hidden: true });
  let cursor: string | null = null;
  let rows: DocMetadata[] = [];

  const load = async (append: boolean): Promise<void> => {
    const q = new URLSearchParams({ prefix: prefix.value, limit: String(PAGE) });
    if (append && cursor !== null) q.set('cursor', cursor);
    const page = await json<{ docs: DocSummary[]; nextCursor: string | null }>(`/api/v1/docs?${q}`);
    // The list has no strategy or connections: one metadata read per shown document.
    const meta = await Promise.all(page.docs.map((d) => json<DocMetadata>(doc(d.name)).catch(() => ({ ...d, strategy: '?', stateVector: '', createdAt: null, connections: 0 }))));
    rows = append ? [...rows, ...meta] : meta;
    cursor = page.nextCursor;
    more.hidden = cursor === null;
    error.hidden = true;
    fill(body, ...rows.map(row));
    if (rows.length === 0) fill(body, h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No documents with this prefix.')));
  };
  const fail = (err: unknown): void => {
    error.hidden = false;
    error.textContent = describeError(err);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  prefix.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      history.replaceState(null, '', `#/docs?${new URLSearchParams({ prefix: prefix.value })}`);
      load(false).catch(fail);
    }, 200);
  });
  more.addEventListener('click', () => void load(true).catch(fail));
  fill(root, h('h1', {}, 'Documents'), h('div', { class: 'toolbar' }, prefix), error,
    h('table', { class: 'grid', id: 'documents' },
      h('thead', {}, h('tr', {}, ...['Name', 'Size', 'Updates since snapshot', 'Strategy', 'Last change', 'Loaded', 'Connections'].map((t) => h('th', {}, t)))),
      body),
    more);
  // Refresh the first page while it is the only one shown.
  const stop = poll(() => (cursor === null || rows.length <= PAGE ? load(false) : Promise.resolve()), EVERY_MS, fail);
  return () => {
    stop();
    clearTimeout(timer);
  };
}

function row(d: DocMetadata): HTMLElement {
  return h('tr', { 'data-doc': d.name },
    h('td', {}, h('a', { href: docHref(d.name) }, d.name)),
    h('td', { class: 'num' }, bytes(d.bytes)),
    h('td', { class: 'num' }, d.updatesSinceSnapshot),
    h('td', {}, d.strategy),
    h('td', { title: d.lastModified }, `${ago(d.lastModified)} ago`),
    h('td', {}, d.loaded ? 'yes' : 'no'),
    h('td', { class: 'num' }, d.connections));
}
