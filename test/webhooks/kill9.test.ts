import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliServer, stopCliServer, type CliServer } from '../helpers/cli-server.js';
import { DurableClient } from '../helpers/durable-client.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;

let dir: string | undefined;
let server: CliServer | undefined;
let receiver: WebhookReceiver | undefined;
const clients: DurableClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(async (c) => {
    await c.stop();
    c.destroy();
  }));
  if (server !== undefined) await stopCliServer(server, 'SIGKILL');
  await receiver?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  server = undefined;
  receiver = undefined;
  dir = undefined;
});

function serve(dataDir: string, url: string, debounce: string): Promise<CliServer> {
  return startCliServer([
    '--port', '0', '--data-dir', dataDir, '--log-level', 'info',
    '--webhook-url', url, '--webhook-secret', SECRET,
    '--webhook-debounce', debounce, '--webhook-max-wait', '60s', '--webhook-timeout', '1s',
    '--webhook-retry-initial', '50ms', '--webhook-retry-max', '200ms', '--webhook-max-attempts', '100',
  ]);
}

interface Body { type: string; data: { name: string; users?: string[] } }

describe('webhooks survive kill -9', () => {
  it('kill -9 mid-delivery and right after acknowledged edits: nothing is lost, duplicates carry the same id', async () => {
    dir = mkdtempSync(join(tmpdir(), 'skein-hooks-kill9-'));
    const rx = (receiver = await WebhookReceiver.start(SECRET, 'ok'));
    // A long debounce: no document.changed can be sealed before the kill; only the change marks
    // written in the acknowledged batches can carry those events across it.
    let srv = (server = await serve(dir, rx.url, '30s'));
    const client = (name: string, id: number): DurableClient => {
      const c = new DurableClient({ url: () => `ws://127.0.0.1:${server?.port ?? 0}`, doc: name, clientId: id });
      clients.push(c);
      c.start();
      return c;
    };
    const first = client('kill/0', 100);
    await waitFor(() => first.ready, { what: 'client ready' });
    first.edit();
    await waitFor(() => first.acked.size === 1, { what: 'ack' });
    await waitFor(() => rx.accepted.size === 1, { what: 'document.created of kill/0 delivered' });

    // Mid-delivery: the receiver holds the next requests (received, never answered).
    rx.mode = 'slow';
    const others = [client('kill/1', 101), client('kill/2', 102)];
    await waitFor(() => others.every((c) => c.ready), { what: 'clients ready' });
    for (const c of [first, ...others]) for (let i = 0; i < 5; i++) c.edit();
    await waitFor(() => [first, ...others].every((c) => c.acked.size === c.edits), { what: 'every edit acknowledged' });
    await waitFor(() => rx.count('slow') >= 2, { what: 'deliveries in flight' });
    const inFlight = rx.received.filter((r) => r.answer === 'slow').map((r) => r.id);

    await stopCliServer(srv, 'SIGKILL');
    rx.mode = 'ok';
    rx.release();
    srv = server = await serve(dir, rx.url, '100ms');
    await waitFor(() => {
      const kinds = [...rx.accepted.values()].map((h) => JSON.parse(h[0]?.body ?? '{}') as Body).map((b) => `${b.type} ${b.data.name}`);
      return ['0', '1', '2'].every((n) => kinds.includes(`document.created kill/${n}`) && kinds.includes(`document.changed kill/${n}`));
    }, { what: 'every event delivered after the restart', timeoutMs: 30_000 });

    expect(rx.received.every((r) => r.verified)).toBe(true);
    const bodies = new Map<string, Set<string>>();
    for (const r of rx.received) bodies.set(r.id, (bodies.get(r.id) ?? new Set()).add(r.body));
    for (const set of bodies.values()) expect(set.size).toBe(1);
    // What was in flight at the kill was delivered again with the same id.
    for (const id of inFlight) {
      expect(rx.accepted.has(id)).toBe(true);
      expect(rx.received.filter((r) => r.id === id).length).toBeGreaterThanOrEqual(2);
    }
    const created = [...rx.accepted.values()].map((h) => JSON.parse(h[0]?.body ?? '{}') as Body).filter((b) => b.type === 'document.created');
    expect(created.map((b) => b.data.name).sort()).toEqual(['kill/0', 'kill/1', 'kill/2']);
    const changed = [...rx.accepted.values()].map((h) => JSON.parse(h[0]?.body ?? '{}') as Body).filter((b) => b.type === 'document.changed');
    expect(new Set(changed.flatMap((b) => b.data.users ?? []))).toEqual(new Set(['anonymous']));
  });
});
