import { defineConfig } from 'vite';

/** One bundle served by the server itself under /_skein/ (no CDN, works offline). */
export default defineConfig({
  base: '/_skein/',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
    // One script and one stylesheet: the app is small, splitting buys nothing.
    rollupOptions: { output: { manualChunks: undefined, inlineDynamicImports: true } },
  },
});
