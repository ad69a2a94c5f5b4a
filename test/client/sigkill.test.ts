import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SkeinProvider } from '@skein/client';
import { startCliServer, stopCliServer, type CliServer } from '../helpers/cli-server.js';
import { isSaved, isSynced, openClient, sameDocs, waitStatus } from '../helpers/skein-client.js';

/**
 * The durability promise end to end: the real `skein serve` with LevelDB in a temp dir,
 * killed with SIGKILL while a client edits. Every edit the client ever made must end up in
 * the server's store, and the client must report `saved` — proven by killing the server a
 * second time after `saved` and reading the document from a fresh process.
 */
describe('SIGKILL while the client edits (skein serve --storage leveldb)', () => {
  let dataDir: string | undefined;
  let server: CliServer | undefined;
  const providers: SkeinProvider[] = [];
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.destroy()));
    if (server !== undefined) await stopCliServer(server, 'SIGKILL');
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  const serve = (port: number, dir: string): Promise<CliServer> =>
    startCliServer(['--port', String(port), '--storage', 'leveldb', '--data-dir', dir, '--log-level', 'info']);

  it('every edit is in the store after a restart, and saved becomes true', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'skein-sigkill-'));
    server = await serve(0, dataDir);
    const { port, url } = server;
    const client = openClient(url, 'canvas', { liveness: { idleMs: 1_000, timeoutMs: 1_000 } });
    providers.push(client);
    await waitStatus(client, isSynced);

    const shapes = client.doc.getMap('shapes');
    const edit = (i: number): void => {
      shapes.set(`s${i}`, { x: i, y: i % 7 });
      if (i % 10 === 0) client.doc.getText('log').insert(0, `${i};`);
    };
    let i = 0;
    // Edit steadily; SIGKILL the server in the middle of the stream (updates in flight, unacked).
    for (; i < 150; i++) {
      edit(i);
      if (i === 75) server.child.kill('SIGKILL');
      await new Promise((r) => setImmediate(r));
    }
    await server.exited;
    expect(client.status.saved).toBe(false);
    // Keep editing while it is down, then restart on the same port and data dir.
    for (; i < 200; i++) edit(i);
    server = await serve(port, dataDir);
    for (; i < 250; i++) {
      edit(i);
      await new Promise((r) => setImmediate(r));
    }
    await waitStatus(client, isSaved, 'saved after the restart', 30_000);
    expect(client.status.pendingUpdates).toEqual({ count: 0, bytes: 0 });

    // Acknowledged means on disk: kill it again, start a fresh process, read with a fresh client.
    await stopCliServer(server, 'SIGKILL');
    server = await serve(port, dataDir);
    const reader = openClient(server.url, 'canvas');
    providers.push(reader);
    await waitStatus(reader, isSynced);
    expect(reader.doc.getMap('shapes').size).toBe(250);
    expect(sameDocs(reader.doc, client.doc)).toBe(true);
  });
});
