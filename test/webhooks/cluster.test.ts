import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { SkeinServer } from '@skein/server';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const HOOK_SECRET = `whsec_${Buffer.alloc(32, 11).toString('base64')}`;
const JWT_SECRET = 'a-test-secret-that-is-long-enough-0123456789';

const token = (sub: string): Promise<string> =>
  new SignJWT({ sub, docs: { '*': 'write' }, exp: Math.floor(Date.now() / 1000) + 3600 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JWT_SECRET));

let redis: RedisProcess | undefined;
let receiver: WebhookReceiver | undefined;
const servers: SkeinServer[] = [];
const providers: WebsocketProvider[] = [];
afterEach(async () => {
  destroyAll(providers.splice(0));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await receiver?.close();
  await redis?.stop();
  receiver = undefined;
  redis = undefined;
});

interface Body { type: string; data: { name: string; users?: string[] } }

describe.runIf(redisAvailable() || process.env.CI === 'true')('webhooks in a cluster', () => {
  it('each event is delivered by exactly one node: the one whose client made the change', async () => {
    redis = await RedisProcess.start();
    const rx = (receiver = await WebhookReceiver.start(HOOK_SECRET));
    for (const nodeId of ['a', 'b']) {
      servers.push(await startTestServer({
        nodeId, redisUrl: redis.url, auth: 'jwt', authJwtSecret: JWT_SECRET,
        webhookUrl: [{ url: rx.url, events: [], docs: [] }], webhookSecret: HOOK_SECRET,
        webhookDebounce: 100, webhookMaxWait: 400, webhookRetryInitial: 20, webhookRetryMax: 100,
      }));
    }
    const [a, b] = servers as [SkeinServer, SkeinServer];
    const open = async (srv: SkeinServer, user: string): Promise<Y.Doc> => {
      const doc = new Y.Doc();
      const p = connectProvider(srv.url, 'shared/1', doc, { params: { token: await token(user) } });
      providers.push(p);
      await synced(p);
      return doc;
    };
    const onA = await open(a, 'alice');
    const onB = await open(b, 'bob');
    onA.getText('t').insert(0, 'from a');
    await waitFor(() => onB.getText('t').toJSON() === 'from a', { what: 'replicated to b' });
    const events = (): Body[] => [...rx.accepted.values()].map((h) => JSON.parse(h[0]?.body ?? '{}') as Body);
    await waitFor(() => events().some((e) => e.type === 'document.changed'), { what: 'changed from a' });
    onB.getText('t').insert(0, 'b says ');
    await waitFor(() => onA.getText('t').toJSON() === 'b says from a', { what: 'replicated to a' });
    await waitFor(() => events().filter((e) => e.type === 'document.changed').length >= 2, { what: 'changed from b' });
    await waitFor(() => servers.every((s) => s.webhooks?.snapshot().queue === 0 && s.webhooks.snapshot().debouncing === 0), { what: 'both outboxes empty' });

    // Every id was received once (no node delivered another's event; nothing was retried here).
    expect(rx.received.length).toBe(rx.accepted.size);
    const got = events();
    expect(got.filter((e) => e.type === 'document.created')).toHaveLength(1);
    const changed = got.filter((e) => e.type === 'document.changed').map((e) => e.data.users);
    // Each node reports its own clients' edits, never the copies it received from the other node.
    expect(changed).toHaveLength(2);
    expect(changed).toContainEqual(['alice']);
    expect(changed).toContainEqual(['bob']);
  });
});
