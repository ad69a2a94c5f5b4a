/**
 * The service worker of the built demo: it caches the app shell (the page and its hashed
 * assets) so the page loads, and a reload works, while the server is unreachable. The
 * document itself lives in IndexedDB (the @skein/client outbox), not here.
 *
 * Built by vite.config.ts as `sw.js`, which replaces the two placeholders below with the
 * build's file list and a version derived from it. No imports: it is a classic worker script.
 */

// The parts of the service worker API used here (the DOM lib does not declare them).
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
interface WorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
  readonly location: Location;
}

const scope = self as unknown as WorkerScope;
const PRECACHE = JSON.parse('__SKEIN_PRECACHE__') as string[];
const CACHE = `skein-canvas-${'__SKEIN_VERSION__'}`;
const SHELL = PRECACHE[0] ?? '/';

scope.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => scope.skipWaiting()),
  );
});

scope.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('skein-canvas-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => scope.clients.claim()),
  );
});

scope.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== scope.location.origin) return;
  if (request.mode === 'navigate') {
    // The network first (a new build shows at once), the cached shell when it is unreachable.
    event.respondWith(
      fetch(request).then(
        (response) => {
          if (response.ok && url.pathname === SHELL) {
            const copy = response.clone();
            void caches.open(CACHE).then((cache) => cache.put(SHELL, copy));
          }
          return response;
        },
        () => caches.match(SHELL).then((cached) => cached ?? Response.error()),
      ),
    );
  } else if (PRECACHE.includes(url.pathname)) {
    // Hashed assets never change under their name.
    event.respondWith(caches.match(url.pathname).then((cached) => cached ?? fetch(request)));
  }
});
