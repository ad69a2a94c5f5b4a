import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

/**
 * Builds src/sw.ts as `/sw.js` (a fixed name: a service worker's URL is its identity) and
 * writes into it the list of files to precache and a version derived from that list (the
 * asset names carry content hashes, so a new build means a new version).
 */
function serviceWorker(): Plugin {
  return {
    name: 'skein-canvas-service-worker',
    apply: 'build',
    buildStart() {
      this.emitFile({ type: 'chunk', id: fileURLToPath(new URL('./src/sw.ts', import.meta.url)), fileName: 'sw.js' });
    },
    generateBundle(_options, bundle) {
      const sw = bundle['sw.js'];
      if (sw?.type !== 'chunk') return this.error('sw.js was not built');
      const files = Object.keys(bundle)
        .filter((name) => name !== 'sw.js' && name !== 'index.html' && !name.endsWith('.map'))
        .sort()
        .map((name) => `/${name}`);
      const precache = ['/', ...files];
      const version = createHash('sha256').update(JSON.stringify(precache)).digest('hex').slice(0, 16);
      const placeholder = /JSON\.parse\((["'`])__SKEIN_PRECACHE__\1\)/;
      if (!placeholder.test(sw.code) || !sw.code.includes('__SKEIN_VERSION__')) return this.error('sw.js placeholders not found');
      sw.code = sw.code.replace(placeholder, JSON.stringify(precache)).replaceAll('__SKEIN_VERSION__', version);
    },
  };
}

export default defineConfig({
  // One copy of yjs: the app's and @skein/client's must be the same module.
  resolve: { dedupe: ['yjs'] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    reportCompressedSize: false,
  },
  plugins: [serviceWorker()],
});
