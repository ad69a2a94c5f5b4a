import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCliServer, stopCliServer } from '../helpers/cli-server.js';

const PRELOAD = fileURLToPath(new URL('../helpers/preload/report-modules.mjs', import.meta.url));

/** The CommonJS modules a `skein serve` with `args` loaded from start to a graceful stop. */
async function modulesLoadedBy(args: readonly string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'skein-lazy-'));
  const file = join(dir, 'modules.txt');
  try {
    const server = await startCliServer(['--port', '0', ...args], {
      nodeArgs: ['--import', PRELOAD],
      env: { ...process.env, SKEIN_TEST_MODULES_FILE: file },
    });
    await stopCliServer(server);
    return readFileSync(file, 'utf8').split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const loads = (modules: readonly string[], pkg: string): boolean => modules.some((m) => m.includes(`/node_modules/${pkg}/`));

/**
 * Start-up memory (issue "Lead every peer on speed and memory"): what a node is not configured
 * for is not loaded — ioredis without `--redis-url` (about 20 MB of RSS), classic-level's
 * native addon on `--storage memory`. Each case also runs configured, so the check can fail.
 */
describe('lazy dependencies: a node loads only what it is configured for', () => {
  it('on --storage memory without Redis: neither ioredis nor classic-level', async () => {
    const modules = await modulesLoadedBy(['--storage', 'memory']);
    expect(modules.length).toBeGreaterThan(20); // the report works: ws, pino, … are there
    expect(loads(modules, 'ws')).toBe(true);
    expect(loads(modules, 'ioredis')).toBe(false);
    expect(loads(modules, 'classic-level')).toBe(false);
  }, 30_000);

  it('configured, each is loaded: --redis-url loads ioredis, LevelDB storage loads classic-level', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'skein-lazy-data-'));
    try {
      // An unreachable Redis is a degraded state, not an error: the node starts and stops.
      const modules = await modulesLoadedBy(['--data-dir', dataDir, '--redis-url', 'redis://127.0.0.1:1', '--node-id', 'lazy']);
      expect(loads(modules, 'ioredis')).toBe(true);
      expect(loads(modules, 'classic-level')).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});
