#!/usr/bin/env node
// Browser bundle size of @skein/client: esbuild (bundle + minify, ESM, browser) of the built
// package entry (run `npx tsc -b` first), gzip level 9 via node:zlib. Two variants:
// `yjs` external (it is a peer dependency: the app bundles it anyway) and everything included.
// Usage: node client-sdk/scripts/bundle-size.mjs
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// esbuild is a dev dependency of the workspace's test package; resolve it from there.
const require = createRequire(new URL('../../test/package.json', import.meta.url));
const { build } = await import(require.resolve('esbuild'));

const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('client-sdk/dist/index.js is missing: run `npx tsc -b` first\n');
  process.exit(1);
}

async function measure(external) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external,
    write: false,
    logLevel: 'silent',
    metafile: true,
  });
  const code = result.outputFiles[0].contents;
  return { min: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const [label, external] of [
  ['@skein/client, yjs external', ['yjs']],
  ['@skein/client + yjs, all included', []],
]) {
  const { min, gzip } = await measure(external);
  process.stdout.write(`${label.padEnd(36)} minified ${kb(min).padStart(10)}   gzip ${kb(gzip).padStart(9)}\n`);
}
