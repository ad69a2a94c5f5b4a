// Build a browser app of this repository (examples/canvas, examples/inspector) into its dist/
// unless dist is already built from exactly the current inputs: the app's sources and config,
// and the built workspace packages it bundles. A hash of the inputs is kept in
// dist/.build-input (dotfiles are never served). Used by the root `pnpm start`, the browser
// tests and the apps' own `scripts/build-if-needed.mjs`, which only name the app.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));

function files(dir, keep = () => true) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .filter(keep);
}

/**
 * @param {object} app
 * @param {string} app.name      log prefix ("canvas")
 * @param {string} app.dir       the app's directory (holds index.html, src/, vite.config.ts)
 * @param {string[]} app.bundles workspace package directories it bundles, relative to the repo
 *                               ("client-sdk"); each must be built (dist/index.js) first
 * @param {string[]} argv        the script's arguments: --force, --quiet
 */
export function buildIfNeeded({ name, dir, bundles }, argv = process.argv.slice(2)) {
  const dist = join(dir, 'dist');
  const stampFile = join(dist, '.build-input');
  const force = argv.includes('--force');
  const quiet = argv.includes('--quiet');
  const say = (line) => process.stdout.write(`${name}: ${line}\n`);
  const fail = (line, status = 1) => {
    process.stderr.write(`${name}: ${line}\n`);
    process.exit(status);
  };

  for (const pkg of bundles) {
    if (!existsSync(join(repo, pkg, 'dist', 'index.js'))) fail(`${pkg} is not built; run \`pnpm build\` (tsc -b) first`);
  }
  const inputs = [
    ...['index.html', 'vite.config.ts', 'tsconfig.json', 'tsconfig.node.json', 'package.json'].map((f) => join(dir, f)),
    ...files(join(dir, 'src')),
    ...bundles.flatMap((pkg) => files(join(repo, pkg, 'dist'), (f) => f.endsWith('.js'))),
  ].sort();
  const hash = createHash('sha256');
  for (const file of inputs) {
    if (!existsSync(file)) continue;
    hash.update(relative(repo, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  const digest = hash.digest('hex');

  const built = existsSync(join(dist, 'index.html')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === digest;
  if (built && !force) {
    if (!quiet) say('dist is up to date');
    return;
  }

  const require = createRequire(join(dir, 'package.json'));
  const run = (what, bin, args) => {
    const started = Date.now();
    // NODE_ENV decides import.meta.env.DEV in Vite; a caller's (vitest sets "test") must not leak in.
    const env = { ...process.env, NODE_ENV: 'production' };
    const result = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
    if (result.status !== 0) fail(`${what} failed`, result.status ?? 1);
    if (!quiet) say(`${what} done in ${Date.now() - started} ms`);
  };
  const tsc = require.resolve('typescript/bin/tsc');
  run('typecheck', tsc, ['-p', 'tsconfig.json']);
  run('typecheck (vite config)', tsc, ['-p', 'tsconfig.node.json']);
  run('vite build', join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js'), ['build', '--logLevel', quiet ? 'warn' : 'info']);
  writeFileSync(stampFile, `${digest}\n`);
  if (!quiet) say(`built ${relative(process.cwd(), dist) || '.'} (${statSync(join(dist, 'index.html')).size} B index.html)`);
}
