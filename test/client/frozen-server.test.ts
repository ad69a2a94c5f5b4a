import { afterEach, describe, expect, it } from 'vitest';
import type { SkeinProvider } from '@skein/client';
import { startCliServer, stopCliServer, type CliServer } from '../helpers/cli-server.js';
import { isSaved, isSynced, openClient, waitStatus } from '../helpers/skein-client.js';

describe('a frozen server process (SIGSTOP)', () => {
  let server: CliServer | undefined;
  const providers: SkeinProvider[] = [];
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.destroy()));
    if (server !== undefined) {
      server.child.kill('SIGCONT');
      await stopCliServer(server, 'SIGKILL');
    }
  });

  it('is detected within idle + timeout; edits made meanwhile are delivered once it thaws', async () => {
    server = await startCliServer(['--port', '0', '--storage', 'memory']);
    const idleMs = 400;
    const timeoutMs = 400;
    const p = openClient(server.url, 'frozen', { liveness: { idleMs, timeoutMs }, connectTimeoutMs: 1_000 });
    providers.push(p);
    await waitStatus(p, isSynced);
    p.doc.getMap('m').set('before', 1);
    await waitStatus(p, isSaved);

    server.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    p.doc.getMap('m').set('during', 2); // sent into a frozen socket: never acknowledged
    const dropped = await waitStatus(p, (s) => s.connection !== 'connected', 'dropped');
    const detectedAfter = Date.now() - frozenAt;
    expect(dropped.lastError?.code).toBe('SKEIN_ERR_CLIENT_LIVENESS_TIMEOUT');
    expect(detectedAfter).toBeLessThan(idleMs + timeoutMs + 500);
    expect(p.status.saved).toBe(false);

    server.child.kill('SIGCONT');
    await waitStatus(p, isSaved, 'saved after the server thawed');
    expect(p.status.pendingUpdates.count).toBe(0);
  });
});
