import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createMemoryStore, type LogStore } from '../../server/src/persistence/log-store.js';
import { Webhooks } from '../../server/src/webhooks/webhooks.js';
import type { DeliveryOutcome, DeliveryRequest } from '../../server/src/webhooks/sender.js';
import { verify, parseSecret } from '../../server/src/webhooks/signature.js';
import { retryDelayMs } from '../../server/src/webhooks/backoff.js';
import { silentLogger } from '../../server/src/logging/logger.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const A = 'http://a.test/hook';
const B = 'http://b.test/hook';

interface Sent { readonly url: string; readonly id: string; readonly body: Record<string, unknown>; readonly headers: Readonly<Record<string, string>>; readonly raw: string }

/** A scripted endpoint: `answer` decides each attempt's outcome; every request is kept. */
function scriptedSend(answer: (req: DeliveryRequest, n: number) => DeliveryOutcome = () => ({ ok: true, status: 200 })) {
  const sent: Sent[] = [];
  const send = (req: DeliveryRequest): Promise<DeliveryOutcome> => {
    sent.push({ url: req.url.href, id: req.headers['webhook-id'] ?? '', body: JSON.parse(req.body) as Record<string, unknown>, headers: req.headers, raw: req.body });
    return Promise.resolve(answer(req, sent.length));
  };
  return { sent, send };
}

function update(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

async function setup(options: { send: (req: DeliveryRequest) => Promise<DeliveryOutcome>; endpoints?: { url: string; events: string[]; docs: string[] }[]; maxAttempts?: number }) {
  const clock = new ManualClock();
  const store: LogStore = createMemoryStore({ events: true, timers: clock });
  const journal = store.events;
  if (journal === undefined) throw new Error('no journal');
  const hooks = await Webhooks.start({
    journal,
    endpoints: options.endpoints ?? [{ url: A, events: [], docs: [] }],
    secret: SECRET,
    debounceMs: 2_000,
    maxWaitMs: 10_000,
    timeoutMs: 1_000,
    maxAttempts: options.maxAttempts ?? 4,
    retry: { initialMs: 1_000, maxMs: 60_000 },
    logger: silentLogger(),
    clock,
    send: options.send,
    random: () => 0.5,
  });
  return { clock, store, journal, hooks };
}

/** Let promise chains (store batches, sends) settle: real I/O-free turns. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('webhook delivery engine (manual clock)', () => {
  it('records document.created in the first batch and debounces document.changed per document with the editors', async () => {
    const { sent, send } = scriptedSend();
    const { clock, store, hooks } = await setup({ send });
    await store.append('board/1', update('a'), { change: { user: 'alice' } });
    await settle();
    expect(sent.map((s) => s.body.type)).toEqual(['document.created']);
    clock.advance(1_500);
    await store.append('board/1', update('b'), { change: { user: 'bob' } });
    await store.append('board/1', update('c'), { change: { user: 'alice' } });
    await settle();
    clock.advance(1_999); // quiet for < 2 s since the last change: nothing yet
    await settle();
    expect(sent).toHaveLength(1);
    clock.advance(1);
    await waitFor(() => sent.length === 2, { what: 'document.changed' });
    const changed = sent[1]?.body as { type: string; data: { name: string; users: string[]; size: number; stateVector: string } };
    expect(changed.type).toBe('document.changed');
    expect(changed.data.name).toBe('board/1');
    expect(changed.data.users).toEqual(['alice', 'bob']);
    expect(changed.data.size).toBeGreaterThan(0);
    expect(Buffer.from(changed.data.stateVector, 'base64').length).toBeGreaterThan(1);
    // Copies of other nodes' changes (no change note) make no event.
    await store.append('board/2', update('x'));
    clock.advance(20_000);
    await settle();
    expect(sent).toHaveLength(2);
    expect(store.events?.size).toBe(0);
    await hooks.close();
    await store.close();
  });

  it('sends document.changed at most max-wait after the first change while edits keep coming', async () => {
    const { sent, send } = scriptedSend();
    const { clock, store, hooks } = await setup({ send });
    for (let i = 0; i < 12; i++) {
      await store.append('busy', update(`u${i}`), { change: { user: `u${i % 3}` } });
      await settle();
      clock.advance(1_000);
    }
    await waitFor(() => sent.some((s) => s.body.type === 'document.changed'), { what: 'max-wait event' });
    expect(sent.filter((s) => s.body.type === 'document.changed')).toHaveLength(1);
    await hooks.close();
    await store.close();
  });

  it('signs every attempt with the stable event id; retries with exponential backoff; then delivers', async () => {
    const { sent, send } = scriptedSend((_req, n) => (n <= 2 ? { ok: false, status: 500, error: 'http 500' } : { ok: true, status: 204 }));
    const { clock, store, hooks, journal } = await setup({ send });
    await hooks.emit({ type: 'document.deleted', name: 'gone' });
    await settle();
    expect(sent).toHaveLength(1);
    // failure 1 → retry after 1 000 · (0.5 + 0.5 · 0.5) = 750 ms
    expect(retryDelayMs({ initialMs: 1_000, maxMs: 60_000 }, 1, () => 0.5)).toBe(750);
    clock.advance(749);
    await settle();
    expect(sent).toHaveLength(1);
    clock.advance(1);
    await waitFor(() => sent.length === 2);
    clock.advance(1_500); // failure 2 → 1 500 ms
    await waitFor(() => sent.length === 3);
    await waitFor(() => journal.size === 0, { what: 'outbox drained' });
    expect(new Set(sent.map((s) => s.id)).size).toBe(1);
    expect(sent[0]?.id).toMatch(/^msg_[0-9a-f]{32}$/);
    const key = parseSecret(SECRET);
    for (const s of sent) {
      expect(verify(key, s.id, Number(s.headers['webhook-timestamp']), s.raw, s.headers['webhook-signature'] ?? '')).toBe(true);
    }
    expect(sent[0]?.raw).toBe(sent[2]?.raw);
    await hooks.close();
    await store.close();
  });

  it('moves an event to the dead letters after max attempts, lists it, and retries it with the same id', async () => {
    let up = false;
    const { sent, send } = scriptedSend(() => (up ? { ok: true, status: 200 } : { ok: false, error: 'network ECONNREFUSED' }));
    const { clock, store, hooks, journal } = await setup({ send, maxAttempts: 3 });
    await hooks.emit({ type: 'version.created', name: 'doc', version: 'v1', label: 'before lunch' });
    await settle();
    clock.advance(750);
    await settle();
    clock.advance(1_500);
    await waitFor(() => journal.deadLetterCount === 1, { what: 'dead letter' });
    expect(sent).toHaveLength(3);
    expect(journal.size).toBe(0);
    const [letter] = await hooks.deadLetters();
    expect(letter).toMatchObject({ target: A, attempts: 3, error: 'network ECONNREFUSED', event: { id: sent[0]?.id, event: { type: 'version.created', name: 'doc', version: 'v1' } } });
    expect(hooks.snapshot()).toMatchObject({ deadLetters: 1, queue: 0 });
    up = true;
    expect(await hooks.retryDeadLetters(letter === undefined ? [] : [letter.id])).toBe(1);
    clock.advance(60_000); // past any open breaker's backoff
    await waitFor(() => sent.length === 4 && journal.size === 0, { what: 'redelivery' });
    expect(sent[3]?.id).toBe(sent[0]?.id);
    expect(journal.deadLetterCount).toBe(0);
    await hooks.close();
    await store.close();
  });

  it('opens an endpoint\'s circuit after consecutive failures (no attempts counted while open) and filters by type and document', async () => {
    let up = false;
    const { sent, send } = scriptedSend((req) => (req.url.href === B || up ? { ok: true, status: 200 } : { ok: false, status: 503, error: 'http 503' }));
    const { clock, store, hooks, journal } = await setup({
      send,
      maxAttempts: 50,
      endpoints: [{ url: A, events: [], docs: [] }, { url: B, events: ['document.deleted'], docs: ['keep/*'] }],
    });
    for (let i = 0; i < 6; i++) await hooks.emit({ type: 'document.deleted', name: i === 0 ? 'keep/x' : `other/${i}` });
    await settle();
    // Five consecutive failures open A's circuit: the sixth event waits without an attempt.
    expect(sent.filter((s) => s.url === A)).toHaveLength(5);
    expect(hooks.snapshot().endpoints).toEqual([{ endpoint: 'http://a.test', breaker: 'open' }, { endpoint: 'http://b.test', breaker: 'closed' }]);
    // B wants only document.deleted of keep/*: one delivery.
    expect(sent.filter((s) => s.url === B).map((s) => (s.body.data as { name: string }).name)).toEqual(['keep/x']);
    up = true;
    clock.advance(2_000); // the breaker's probe goes, succeeds, the rest follow
    await waitFor(() => journal.size === 0, { what: 'all delivered after recovery' });
    const delivered = new Set(sent.filter((s) => s.url === A).map((s) => s.id));
    expect(delivered.size).toBe(6);
    expect(hooks.snapshot().endpoints[0]?.breaker).toBe('closed');
    await hooks.close();
    await store.close();
  });
});
