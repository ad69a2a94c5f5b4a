import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { SkeinServer } from '@skein/server';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import type { WebsocketProvider } from 'y-websocket';

const HOOK_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const JWT_SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const ADMIN = 'an-admin-token-of-at-least-32-characters';

function token(sub: string): Promise<string> {
  return new SignJWT({ sub, docs: { 'board/*': 'write' }, exp: Math.floor(Date.now() / 1000) + 3600 })
    .setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JWT_SECRET));
}

let server: SkeinServer | undefined;
let receiver: WebhookReceiver | undefined;
const providers: WebsocketProvider[] = [];
afterEach(async () => {
  destroyAll(providers.splice(0));
  await server?.close();
  await receiver?.close();
  server = undefined;
  receiver = undefined;
});

async function start(overrides: Record<string, unknown> = {}): Promise<{ server: SkeinServer; receiver: WebhookReceiver }> {
  receiver = await WebhookReceiver.start(HOOK_SECRET);
  server = await startTestServer({
    auth: 'jwt', authJwtSecret: JWT_SECRET,
    webhookUrl: [{ url: receiver.url, events: [], docs: [] }], webhookSecret: HOOK_SECRET,
    webhookDebounce: 100, webhookMaxWait: 400, webhookTimeout: 300,
    webhookRetryInitial: 20, webhookRetryMax: 150, webhookMaxAttempts: 100,
    adminToken: ADMIN,
    ...overrides,
  });
  return { server, receiver };
}

async function edit(srv: SkeinServer, user: string, name: string, text: string): Promise<void> {
  const doc = new Y.Doc();
  const provider = connectProvider(srv.url, name, doc, { params: { token: await token(user) } });
  providers.push(provider);
  await synced(provider);
  doc.getText('t').insert(0, text);
  await waitFor(async () => (await srv.store.load(name)).length > 0, { what: `${name} stored` });
}

interface Body { type: string; timestamp: string; data: { name: string; users?: string[] } }

describe('webhooks against a real local HTTP receiver', () => {
  it('down, 500, slow, then up: every event is delivered, each id with one body, every signature verifies', async () => {
    const { server: srv, receiver: rx } = await start();
    await rx.down();
    await edit(srv, 'alice', 'board/1', 'hello');
    await edit(srv, 'bob', 'board/2', 'world');
    await srv.events.emit({ type: 'version.created', name: 'board/1', version: 'v1', label: 'first' });
    await srv.events.emit({ type: 'document.deleted', name: 'board/old' });
    // Down: attempts are refused until the endpoint's circuit opens.
    await waitFor(() => srv.webhooks?.snapshot().endpoints[0]?.breaker === 'open', { what: 'circuit open while down' });
    rx.mode = '500';
    await rx.up();
    await waitFor(() => rx.count(500) >= 3, { what: 'attempts answered 500' });
    rx.mode = 'slow';
    await waitFor(() => rx.count('slow') >= 2, { what: 'a slow attempt timed out and was retried' });
    rx.mode = 'ok';
    rx.release();
    await edit(srv, 'alice', 'board/1', 'again');
    await waitFor(() => {
      const snap = srv.webhooks?.snapshot();
      return snap !== undefined && snap.queue === 0 && snap.debouncing === 0 && rx.accepted.size >= 7;
    }, { what: `outbox drained (${JSON.stringify(srv.webhooks?.snapshot())}, ${rx.accepted.size} accepted, ${rx.received.length} received ${rx.received.map((r) => `${r.answer} ${r.id.slice(-4)} ${r.body}`).join('\n')})`, timeoutMs: 30_000 });

    // Every request carried a valid Standard Webhooks signature (checked by the standardwebhooks library).
    expect(rx.received.every((r) => r.verified)).toBe(true);
    // Duplicates carry the same id and the same body.
    const byId = new Map<string, Set<string>>();
    for (const r of rx.received) byId.set(r.id, (byId.get(r.id) ?? new Set()).add(r.body));
    for (const bodies of byId.values()) expect(bodies.size).toBe(1);
    // Every id that was ever attempted was finally accepted (nothing missing).
    expect([...byId.keys()].filter((id) => !rx.accepted.has(id))).toEqual([]);
    const events = [...rx.accepted.values()].map((hooks) => JSON.parse(hooks[0]?.body ?? '{}') as Body);
    const kinds = events.map((e) => `${e.type} ${e.data.name}`);
    for (const expected of ['document.created board/1', 'document.created board/2', 'version.created board/1', 'document.deleted board/old', 'document.changed board/1', 'document.changed board/2']) {
      expect(kinds).toContain(expected);
    }
    expect(kinds.filter((k) => k === 'document.created board/1')).toHaveLength(1);
    // The edit after recovery made a second document.changed of board/1.
    expect(kinds.filter((k) => k === 'document.changed board/1').length).toBeGreaterThanOrEqual(2);
    const users = new Set(events.filter((e) => e.type === 'document.changed').flatMap((e) => e.data.users ?? []));
    expect(users).toEqual(new Set(['alice', 'bob']));
    expect(rx.count(500)).toBeGreaterThanOrEqual(3);
  });

  it('dead letters: shown in /health and the admin API, retried with the same id once the endpoint recovers', async () => {
    const { server: srv, receiver: rx } = await start({ webhookMaxAttempts: 2, webhookRetryInitial: 10, webhookRetryMax: 20 });
    rx.mode = '500';
    await srv.events.emit({ type: 'version.restored', name: 'board/9', version: 'v3', before: 'v4' });
    await waitFor(() => srv.webhooks?.snapshot().deadLetters === 1, { what: 'dead letter' });
    const base = `http://127.0.0.1:${srv.port}`;
    const health = await (await fetch(`${base}/health`)).json() as { status: string; reasons: { code: string }[]; checks: { webhooks: { deadLetters: number } } };
    expect(health.reasons.map((r) => r.code)).toContain('SKEIN_ERR_WEBHOOK_DEAD_LETTER');
    expect(health.checks.webhooks.deadLetters).toBe(1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/skein_webhook_failed_total\{[^}]*skein_webhook_failure_reason="http"[^}]*\} 2/);
    expect(metrics).toMatch(/skein_webhook_dead_lettered_total\{[^}]*\} 1/);
    expect(metrics).toMatch(/skein_webhook_dead_letters(\{[^}]*\})? 1/);

    const list = `${base}/api/v1/webhooks/dead-letters`;
    expect((await fetch(list)).status).toBe(401);
    expect(((await (await fetch(list, { headers: { authorization: 'Bearer wrong' } })).json()) as { error: { code: string } }).error.code).toBe('SKEIN_ERR_ADMIN_TOKEN');
    const auth = { authorization: `Bearer ${ADMIN}` };
    const listed = await (await fetch(list, { headers: auth })).json() as { deadLetters: { id: number; attempts: number; event: { id: string } }[] };
    expect(listed.deadLetters).toHaveLength(1);
    expect(listed.deadLetters[0]).toMatchObject({ attempts: 2, error: 'http 500', target: rx.url });
    const firstId = rx.received[0]?.id;
    expect(listed.deadLetters[0]?.event.id).toBe(firstId);

    const retry = `${base}/api/v1/webhooks/dead-letters/retry`;
    expect((await fetch(retry, { method: 'POST', headers: auth, body: 'nope' })).status).toBe(400);
    expect((await fetch(retry, { method: 'GET', headers: auth })).status).toBe(405);
    rx.mode = 'ok';
    const answer = await (await fetch(retry, { method: 'POST', headers: auth, body: JSON.stringify({ ids: [listed.deadLetters[0]?.id] }) })).json() as { retried: number };
    expect(answer.retried).toBe(1);
    await waitFor(() => rx.accepted.has(firstId ?? ''), { what: 'redelivered' });
    expect(srv.webhooks?.snapshot().deadLetters).toBe(0);
    expect(JSON.parse(rx.accepted.get(firstId ?? '')?.[0]?.body ?? '{}')).toMatchObject({ type: 'version.restored', data: { name: 'board/9', version: 'v3', before: 'v4' } });
  });

  it('versions and deletes made through the HTTP API reach the receiver as version.* and document.deleted', async () => {
    const { server: srv, receiver: rx } = await start();
    await edit(srv, 'alice', 'board/api', 'hello');
    const base = `${srv.url.replace('ws://', 'http://')}/api/v1/docs/${encodeURIComponent('board/api')}`;
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/versions`, { method: 'POST', headers, body: JSON.stringify({ label: 'first' }) });
    expect(created.status).toBe(201);
    const restored = await fetch(`${base}/versions/1/restore`, { method: 'POST', headers });
    expect(restored.status).toBe(200);
    expect((await fetch(base, { method: 'DELETE', headers })).status).toBe(200);
    const types = (): string[] => rx.received.filter((r) => r.answer === 200)
      .map((r) => JSON.parse(r.body) as Body).filter((b) => b.data.name === 'board/api').map((b) => b.type);
    await waitFor(() => types().includes('document.deleted'), { what: 'document.deleted delivered' });
    expect(types()).toEqual(expect.arrayContaining(['document.created', 'version.created', 'version.restored', 'document.deleted']));
    expect(rx.received.every((r) => r.verified)).toBe(true);
    const versionEvent = rx.received.map((r) => JSON.parse(r.body) as Body & { data: { version?: string; label?: string } })
      .find((b) => b.type === 'version.created' && b.data.label === 'first');
    expect(versionEvent?.data.version).toBe('1');
  });

  it('without --admin-token the dead-letter routes do not exist', async () => {
    const { server: srv } = await start({ adminToken: '' });
    const res = await fetch(`http://127.0.0.1:${srv.port}/api/v1/webhooks/dead-letters`, { headers: { authorization: 'Bearer x' } });
    expect(res.status).toBe(404);
  });
});
