import { json, type ConnectionEntry } from '../api.js';
import { ago, bytes, docHref, fill, h } from '../dom.js';
import { describeError, poll } from '../poll.js';

const EVERY_MS = 2000;

/** Connections: per socket user, document, IP, bytes/s in and out, buffered bytes, age; close one. */
export function connections(root: HTMLElement): () => void {
  const body = h('tbody');
  const error = h('p', { class: 'error', hidden: true });
  const count = h('span', { class: 'muted' });
  const fail = (err: unknown): void => {
    error.hidden = false;
    error.textContent = describeError(err);
  };
  let prev = new Map<number, { at: number; bytesIn: number; bytesOut: number }>();
  const close = async (c: ConnectionEntry): Promise<void> => {
    if (!confirm(`Close connection #${c.id} (${c.user} on ${c.doc})? The client is told 4403 and does not reconnect by itself.`)) return;
    await json(`/api/v1/connections/${c.id}`, { method: 'DELETE' });
  };
  fill(root, h('h1', {}, 'Connections ', count), error,
    h('table', { class: 'grid', id: 'connections' },
      h('thead', {}, h('tr', {}, ...['#', 'User', 'Document', 'IP', 'In /s', 'Out /s', 'Buffered', 'Age', ''].map((t) => h('th', {}, t)))),
      body));
  return poll(async () => {
    const list = (await json<{ connections: ConnectionEntry[] }>('/api/v1/connections')).connections;
    const now = performance.now();
    const next = new Map<number, { at: number; bytesIn: number; bytesOut: number }>();
    error.hidden = true;
    count.textContent = `(${list.length} on this node)`;
    fill(body, ...list.map((c) => {
      const p = prev.get(c.id);
      const s = p === undefined ? 0 : (now - p.at) / 1000;
      next.set(c.id, { at: now, bytesIn: c.bytesIn, bytesOut: c.bytesOut });
      const perSecond = (a: number, b: number | undefined): string => (b === undefined || s <= 0 ? '—' : `${bytes(Math.round((a - b) / s))}`);
      return h('tr', { 'data-connection': c.id },
        h('td', { class: 'num' }, c.id),
        h('td', {}, c.user, c.readOnly ? h('span', { class: 'tag' }, 'read') : null),
        h('td', {}, h('a', { href: docHref(c.doc) }, c.doc)),
        h('td', {}, c.ip),
        h('td', { class: 'num' }, perSecond(c.bytesIn, p?.bytesIn)),
        h('td', { class: 'num' }, perSecond(c.bytesOut, p?.bytesOut)),
        h('td', { class: 'num' }, bytes(c.bufferedBytes)),
        h('td', { title: c.openedAt }, ago(c.openedAt)),
        h('td', {}, h('button', { type: 'button', class: 'danger close-connection', onclick: () => void close(c).catch(fail) }, 'Close')));
    }));
    if (list.length === 0) fill(body, h('tr', {}, h('td', { colspan: 9, class: 'muted' }, 'No open connections.')));
    prev = next;
  }, EVERY_MS, fail);
}
