import './style.css';
import { ApiError, json, setToken, token } from './api.js';
import { fill, h } from './dom.js';
import { connections } from './pages/connections.js';
import { documentPage, documentView } from './pages/document.js';
import { documents } from './pages/documents.js';
import { overview } from './pages/overview.js';

/**
 * The Skein inspector: a hash-routed page over the documented HTTP API. `#/` overview,
 * `#/docs?prefix=`, `#/doc/<encoded name>`, `#/connections`.
 */
const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
let stop: (() => void) | undefined;

declare global {
  interface Window {
    __inspector: { page: () => string; document: typeof documentView; loggedIn: () => boolean };
  }
}
let current = '';
let loggedIn = false;
window.__inspector = { page: () => current, document: documentView, loggedIn: () => loggedIn };

async function start(): Promise<void> {
  // The admin routes answer without a token where the node allows it (--auth none on loopback,
  // --inspector open); otherwise ask for the admin token.
  try {
    await json('/api/v1/connections');
    loggedIn = true;
    route();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) login(token() === '' ? '' : `${err.code}: ${err.message}`);
    else fill(main, h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
  }
}

function login(problem: string): void {
  loggedIn = false;
  stop?.();
  nav.hidden = true;
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', placeholder: 'Admin token (--admin-token)', 'aria-label': 'Admin token' });
  const form = h('form', { class: 'login panel', id: 'login' },
    h('h1', {}, 'Skein inspector'),
    h('p', {}, 'Sign in with the server\'s admin token (', h('code', {}, '--admin-token'), ' / ', h('code', {}, 'SKEIN_ADMIN_TOKEN'), ').'),
    input, h('button', { type: 'submit' }, 'Sign in'),
    problem === '' ? null : h('p', { class: 'error' }, problem));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    nav.hidden = false;
    void start();
  });
  fill(main, form);
  input.focus();
}

function route(): void {
  stop?.();
  nav.hidden = false;
  const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const section = path.startsWith('/doc') ? '#/docs' : path === '/connections' ? '#/connections' : '#/';
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.getAttribute('href') === section);
  if (path.startsWith('/doc/')) {
    current = 'document';
    stop = documentPage(main, decodeURIComponent(path.slice('/doc/'.length)));
  } else if (path === '/docs') {
    current = 'documents';
    stop = documents(main, params);
  } else if (path === '/connections') {
    current = 'connections';
    stop = connections(main);
  } else {
    current = 'overview';
    stop = overview(main);
  }
}

window.addEventListener('hashchange', () => {
  if (loggedIn) route();
});
document.getElementById('logout')?.addEventListener('click', () => {
  setToken('');
  login('');
});
void start();
