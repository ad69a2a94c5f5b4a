#!/usr/bin/env node
// Build the inspector into examples/inspector/dist unless dist is already built from exactly
// the current inputs (its sources and config; it bundles no workspace package). A hash of
// the inputs is kept in dist/.build-input (dotfiles are never served). Used by the root `pnpm start` and by the browser tests.
//
//   node examples/inspector/scripts/build-if-needed.mjs [--force] [--quiet]
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const app = dirname(dirname(fileURLToPath(import.meta.url)));
const repo = join(app, '..', '..');
const dist = join(app, 'dist');
const stampFile = join(dist, '.build-input');
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');
const say = (line) => process.stdout.write(`${line}\n`);
const fail = (line, status = 1) => {
  process.stderr.write(`${line}\n`);
  process.exit(status);
};

function files(dir, keep = () => true) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .filter(keep);
}

const inputs = [
  ...['index.html', 'vite.config.ts', 'tsconfig.json', 'tsconfig.node.json', 'package.json'].map((f) => join(app, f)),
  ...files(join(app, 'src')),
].sort();

const hash = createHash('sha256');
for (const file of inputs) {
  if (!existsSync(file)) continue;
  hash.update(relative(repo, file)).update('\0').update(readFileSync(file)).update('\0');
}
const digest = hash.digest('hex');

const built = existsSync(join(dist, 'index.html')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === digest;
if (built && !force) {
  if (!quiet) say('inspector: dist is up to date');
  process.exit(0);
}

const require = createRequire(join(app, 'package.json'));
const run = (what, bin, args) => {
  const started = Date.now();
  // NODE_ENV decides import.meta.env.DEV in Vite; a caller's (vitest sets "test") must not leak in.
  const env = { ...process.env, NODE_ENV: 'production' };
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: app, env, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  if (result.status !== 0) {
    fail(`inspector: ${what} failed`, result.status ?? 1);
  }
  if (!quiet) say(`inspector: ${what} done in ${Date.now() - started} ms`);
};
const tsc = require.resolve('typescript/bin/tsc');
run('typecheck', tsc, ['-p', 'tsconfig.json']);
run('typecheck (vite config)', tsc, ['-p', 'tsconfig.node.json']);
run('vite build', join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js'), ['build', '--logLevel', quiet ? 'warn' : 'info']);
writeFileSync(stampFile, `${digest}\n`);
if (!quiet) say(`inspector: built ${relative(process.cwd(), dist) || '.'} (${statSync(join(dist, 'index.html')).size} B index.html)`);
