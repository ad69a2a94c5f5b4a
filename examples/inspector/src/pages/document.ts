import { doc, json, request, type DocMetadata, type Version } from '../api.js';
import { ago, bytes, fill, h } from '../dom.js';
import { JsonTree } from '../json-tree.js';
import { describeError, poll } from '../poll.js';

const CONTENT_EVERY_MS = 500;
const PRESENCE_EVERY_MS = 1000;

/** What the browser tests read (the same data the page shows). */
export const documentView = { content: undefined as unknown, versions: [] as Version[], presence: [] as unknown[] };

/**
 * One document: its content as a live JSON tree, presence, and the version timeline with
 * create / preview / restore. "Live" is a cheap poll: `GET …/update` with the last ETag and
 * state vector answers 304 until the document changes (deletions included), then the content
 * is read again.
 */
export function documentPage(root: HTMLElement, name: string): () => void {
  const url = doc(name);
  const meta = h('p', { class: 'meta' }, '…');
  const tree = new JsonTree();
  const preview = new JsonTree(3);
  const previewBox = h('section', { class: 'panel preview', hidden: true });
  const presence = h('ul', { class: 'presence', id: 'presence' });
  const timeline = h('ol', { class: 'timeline', id: 'versions' });
  const label = h('input', { type: 'text', placeholder: 'Label (optional)', maxlength: 200, 'aria-label': 'Version label' });
  const create = h('button', { type: 'button', id: 'create-version' }, 'Create version');
  const error = h('p', { class: 'error', hidden: true });
  const fail = (err: unknown): void => {
    error.hidden = false;
    error.textContent = describeError(err);
  };
  let etag = '';
  let sv = '';
  let versionsShown = '';

  const refreshVersions = async (): Promise<void> => {
    const { versions } = await json<{ versions: Version[] }>(`${url}/versions`);
    documentView.versions = versions;
    const text = JSON.stringify(versions);
    if (text === versionsShown) return;
    versionsShown = text;
    fill(timeline, ...[...versions].reverse().map(versionItem));
    if (versions.length === 0) fill(timeline, h('li', { class: 'muted' }, 'No versions yet.'));
  };
  const versionItem = (v: Version): HTMLElement => h('li', { 'data-version': v.id, 'data-kind': v.kind },
    h('div', {}, h('b', {}, v.label !== '' ? v.label : v.kind === 'auto' ? 'Automatic' : v.kind === 'before-restore' ? 'Before restore' : `Version ${v.id}`),
      h('span', { class: 'muted' }, ` #${v.id} · ${v.kind} · ${v.user} · ${ago(v.createdAt)} ago · ${bytes(v.bytes)}`)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'preview-version', onclick: () => void showPreview(v).catch(fail) }, 'Preview'),
      h('button', { type: 'button', class: 'restore-version', onclick: () => void restore(v).catch(fail) }, 'Restore')));
  const showPreview = async (v: Version): Promise<void> => {
    const { content } = await json<{ content: unknown }>(`${url}/versions/${v.id}/content`);
    preview.render(content);
    fill(previewBox, h('h2', {}, `Preview of #${v.id} `, h('button', { type: 'button', onclick: () => (previewBox.hidden = true) }, 'Close')), preview.el);
    previewBox.hidden = false;
  };
  const restore = async (v: Version): Promise<void> => {
    if (!confirm(`Restore "${name}" to version #${v.id}? Connected clients follow at once; a "before restore" version is taken first.`)) return;
    await json(`${url}/versions/${v.id}/restore`, { method: 'POST' });
    await refreshVersions();
  };
  create.addEventListener('click', () => {
    const body = label.value === '' ? {} : { label: label.value };
    json(`${url}/versions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
      .then(() => {
        label.value = '';
        return refreshVersions();
      })
      .catch(fail);
  });

  fill(root,
    h('h1', {}, h('a', { href: '#/docs' }, 'Documents'), ' / ', h('span', { id: 'doc-name' }, name)),
    meta, error,
    h('div', { class: 'doc-layout' },
      h('section', { class: 'panel' }, h('h2', {}, 'Content ', h('span', { class: 'live' }, 'live')), h('div', { id: 'content' }, tree.el)),
      h('div', { class: 'side' },
        h('section', { class: 'panel' }, h('h2', {}, 'Presence'), presence),
        h('section', { class: 'panel' }, h('h2', {}, 'Versions'), h('div', { class: 'toolbar' }, label, create), timeline),
        previewBox,
        h('section', { class: 'panel' }, h('h2', {}, 'Update log'),
          h('p', { class: 'muted' }, 'The HTTP API does not expose the update log yet; the content above and the version timeline show what changed.')))));

  const stopContent = poll(async () => {
    const q = sv === '' ? '' : `?sv=${encodeURIComponent(sv)}`;
    const res = await request(`${url}/update${q}`, { headers: etag === '' ? {} : { 'If-None-Match': etag } });
    if (res.status === 304) return;
    await res.arrayBuffer();
    etag = res.headers.get('ETag') ?? '';
    const [m, { content }] = await Promise.all([json<DocMetadata>(url), json<{ content: unknown }>(`${url}/content`)]);
    sv = m.stateVector;
    documentView.content = content;
    tree.render(content);
    error.hidden = true;
    fill(meta, `${bytes(m.bytes)} stored · ${m.updatesSinceSnapshot} updates since snapshot · strategy ${m.strategy} · `,
      `${m.connections} connection${m.connections === 1 ? '' : 's'} · last change ${ago(m.lastModified)} ago`);
    await refreshVersions();
  }, CONTENT_EVERY_MS, fail);
  const stopPresence = poll(async () => {
    const { clients } = await json<{ clients: { clientId: number; state: Record<string, unknown> }[] }>(`${url}/awareness`);
    documentView.presence = clients;
    fill(presence, ...clients.map((c) => h('li', {}, swatch(c.state), h('b', {}, userName(c.state) ?? `client ${c.clientId}`),
      h('code', {}, JSON.stringify(c.state)))));
    if (clients.length === 0) fill(presence, h('li', { class: 'muted' }, 'Nobody here on this node.'));
  }, PRESENCE_EVERY_MS, fail);
  return () => {
    stopContent();
    stopPresence();
  };
}

function userName(state: Record<string, unknown>): string | undefined {
  const user = state.user as { name?: unknown } | undefined;
  return typeof user?.name === 'string' ? user.name : typeof state.name === 'string' ? state.name : undefined;
}

function swatch(state: Record<string, unknown>): HTMLElement {
  const user = state.user as { color?: unknown } | undefined;
  const color = typeof user?.color === 'string' && /^#[0-9a-f]{3,8}$/i.test(user.color) ? user.color : '#adb5bd';
  return h('span', { class: 'swatch', style: `background:${color}` });
}
