import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { DocumentStore, ReplicationOutbox } from '../../src/documents/ports.js';

/**
 * The behaviour every `DocumentStore` must have (in the spirit of abstract-level's shared
 * tests and `kv-conformance.ts`). Capability-specific cases (outbox, persistence) are
 * registered at definition time from the declared capabilities, never skipped at run time.
 */
export interface StoreHarness {
  readonly store: DocumentStore;
  /** Close the store if still open and release what the factory created. */
  readonly dispose: () => Promise<void>;
  /** Open the same medium again (after `store.close()`), for stores that persist. */
  readonly reopen?: () => Promise<DocumentStore>;
}

export interface StoreCapabilities {
  /** `store.outbox` exists and `append(…, { replicate: true })` resolves `{ outboxSeq }`. */
  readonly outbox: boolean;
  /** What was acknowledged survives `close()` + `reopen()`. */
  readonly persistent: boolean;
}

/** A client editing one document; each `edit()` depends on the previous one (same client). */
class Editor {
  readonly doc = new Y.Doc();
  #n = 0;

  constructor(clientId: number) {
    this.doc.clientID = clientId;
  }

  edit(value: string = `v${this.#n}`): Uint8Array {
    const before = Y.encodeStateVector(this.doc);
    this.doc.getArray<string>('a').push([value]);
    this.#n++;
    return Y.encodeStateAsUpdate(this.doc, before);
  }
}

/** Apply `parts` in order; returns the document and whether any step left something pending. */
function replay(parts: readonly Uint8Array[]): { doc: Y.Doc; outOfOrder: boolean } {
  const doc = new Y.Doc();
  let outOfOrder = false;
  for (const part of parts) {
    Y.applyUpdate(doc, part);
    if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) outOfOrder = true;
  }
  return { doc, outOfOrder };
}

const content = (doc: Y.Doc): string[] => doc.getArray<string>('a').toArray();

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

/** Names the port must keep apart: unicode, slashes, prefixes of each other, the longest allowed. */
export const ODD_NAMES: readonly string[] = [
  'a', 'a/', 'a/b', 'a/b/c', '../etc/passwd', ' spaced name ', 'ünïcødé/文档', '🚀🚀', 'x'.repeat(255),
  `${'é'.repeat(126)}z`, // 253 bytes of two-byte characters + 1
  'null\u0000byte', '%2F', 'A', 'a\\b',
];

export function runStoreConformance(
  name: string,
  factory: () => Promise<StoreHarness>,
  capabilities: StoreCapabilities,
): void {
  describe(`DocumentStore conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: DocumentStore;
    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('loads a never-stored document as an empty array', async () => {
      expect(await store.load('never')).toEqual([]);
    });

    it('loads appended updates in an order that applies without gaps, with the same content', async () => {
      const editor = new Editor(1);
      for (let i = 0; i < 30; i++) await store.append('doc', editor.edit());
      const { doc, outOfOrder } = replay(await store.load('doc'));
      expect(outOfOrder).toBe(false);
      expect(content(doc)).toEqual(content(editor.doc));
    });

    it('settles the appends of one document in call order, even when issued without waiting', async () => {
      const editor = new Editor(2);
      const order: number[] = [];
      const writes = Array.from({ length: 20 }, (_, i) => store.append('burst', editor.edit()).then(() => order.push(i)));
      await Promise.all(writes);
      expect(order).toEqual([...Array(20).keys()]);
      const { doc, outOfOrder } = replay(await store.load('burst'));
      expect(outOfOrder).toBe(false);
      expect(content(doc)).toEqual(content(editor.doc));
    });

    it('keeps many documents apart under interleaved concurrent appends', async () => {
      const editors = Array.from({ length: 25 }, (_, i) => new Editor(100 + i));
      const writes: Promise<unknown>[] = [];
      for (let round = 0; round < 4; round++) {
        editors.forEach((e, i) => writes.push(store.append(`doc-${i}`, e.edit(`d${i}r${round}`))));
      }
      await Promise.all(writes);
      for (const [i, e] of editors.entries()) {
        const { doc, outOfOrder } = replay(await store.load(`doc-${i}`));
        expect(outOfOrder).toBe(false);
        expect(content(doc)).toEqual(content(e.doc));
      }
    });

    it('keeps odd names apart (unicode, slashes, prefixes, NUL, the longest allowed)', async () => {
      for (const [i, n] of ODD_NAMES.entries()) await store.append(n, new Editor(200 + i).edit(`name-${i}`));
      for (const [i, n] of ODD_NAMES.entries()) {
        expect(content(replay(await store.load(n)).doc), JSON.stringify(n)).toEqual([`name-${i}`]);
      }
    });

    it('copies the update: a caller reusing its buffer cannot change what was stored', async () => {
      const update = new Editor(3).edit('original');
      const pending = store.append('copy', update);
      update.fill(0);
      await pending;
      expect(content(replay(await store.load('copy')).doc)).toEqual(['original']);
    });

    it('rejects bytes that are not a Yjs update with SKEIN_ERR_INVALID_UPDATE and stores nothing', async () => {
      expect(await codeOf(store.append('garbage', Uint8Array.of(0xff, 0xff, 0xff, 0xff)))).toBe('SKEIN_ERR_INVALID_UPDATE');
      expect(await store.load('garbage')).toEqual([]);
    });

    it('flush resolves only after every earlier append of the document settled', async () => {
      const editor = new Editor(4);
      const settled: boolean[] = [];
      for (let i = 0; i < 10; i++) void store.append('flushed', editor.edit()).then(() => settled.push(true));
      await store.flush('flushed');
      expect(settled).toHaveLength(10);
      await store.flush('never-written'); // nothing to wait for
    });

    it('close settles earlier appends, then every call rejects with SKEIN_ERR_STORAGE_CLOSED', async () => {
      const editor = new Editor(5);
      const before = store.append('closing', editor.edit());
      await store.close();
      await expect(before).resolves.toBeUndefined();
      expect(await codeOf(store.load('closing'))).toBe('SKEIN_ERR_STORAGE_CLOSED');
      expect(await codeOf(store.append('closing', editor.edit()))).toBe('SKEIN_ERR_STORAGE_CLOSED');
      expect(await codeOf(store.flush('closing'))).toBe('SKEIN_ERR_STORAGE_CLOSED');
    });

    if (capabilities.outbox) {
      describe('replication outbox', () => {
        const outboxOf = (s: DocumentStore): ReplicationOutbox => {
          if (s.outbox === undefined) throw new Error('this store declared an outbox');
          return s.outbox;
        };

        it('replicate: true resolves increasing outbox seqs; without it, no seq and no entry', async () => {
          const editor = new Editor(6);
          const plain = await store.append('r', editor.edit());
          expect(plain?.outboxSeq).toBeUndefined();
          expect(outboxOf(store).size).toBe(0);
          const seqs: number[] = [];
          for (let i = 0; i < 5; i++) {
            const result = await store.append(i % 2 === 0 ? 'r' : 'other', editor.edit(), { replicate: true });
            seqs.push(result?.outboxSeq ?? -1);
          }
          expect(seqs.every((s, i) => s > 0 && (i === 0 || s > (seqs[i - 1] ?? 0)))).toBe(true);
          expect(outboxOf(store).size).toBe(5);
        });

        it('peek returns the oldest entries first with their document and bytes; remove drops them', async () => {
          const updates: { name: string; update: Uint8Array; seq: number }[] = [];
          const editor = new Editor(7);
          for (let i = 0; i < 6; i++) {
            const update = editor.edit();
            const n = `doc-${i % 3}`;
            const result = await store.append(n, update, { replicate: true });
            updates.push({ name: n, update, seq: result?.outboxSeq ?? -1 });
          }
          const outbox = outboxOf(store);
          const first = await outbox.peek(4);
          expect(first).toEqual(updates.slice(0, 4).map((u) => ({ seq: u.seq, name: u.name, update: u.update })));
          expect(await outbox.peek(4)).toEqual(first); // peek does not consume
          await outbox.remove(first.map((e) => e.seq));
          expect(outbox.size).toBe(2);
          expect((await outbox.peek(10)).map((e) => e.seq)).toEqual(updates.slice(4).map((u) => u.seq));
          // The log is untouched by the outbox: every update is still loadable.
          expect(content(replay([...(await store.load('doc-0')), ...(await store.load('doc-1')), ...(await store.load('doc-2'))]).doc)).toHaveLength(6);
        });

        it('onAppended fires once the entry is durable (peek sees it), and stops after unsubscribe', async () => {
          const outbox = outboxOf(store);
          const seen: number[][] = [];
          let peeks: Promise<void> = Promise.resolve();
          const unsubscribe = outbox.onAppended(() => {
            peeks = peeks.then(async () => void seen.push((await outbox.peek(100)).map((e) => e.seq)));
          });
          const editor = new Editor(8);
          const result = await store.append('notify', editor.edit(), { replicate: true });
          await peeks;
          expect(seen.length).toBeGreaterThanOrEqual(1);
          expect(seen[0]).toContain(result?.outboxSeq);
          unsubscribe();
          const calls = seen.length;
          await store.append('notify', editor.edit(), { replicate: true });
          await peeks;
          expect(seen).toHaveLength(calls);
        });

        it('the outbox rejects with SKEIN_ERR_STORAGE_CLOSED after close', async () => {
          await store.append('c', new Editor(9).edit(), { replicate: true });
          const outbox = outboxOf(store);
          await store.close();
          expect(await codeOf(outbox.peek(1))).toBe('SKEIN_ERR_STORAGE_CLOSED');
          expect(await codeOf(outbox.remove([1]))).toBe('SKEIN_ERR_STORAGE_CLOSED');
        });
      });
    }

    if (capabilities.persistent) {
      describe('durability across reopen', () => {
        const reopen = (): Promise<DocumentStore> => {
          if (h.reopen === undefined) throw new Error('a persistent store must provide reopen');
          return h.reopen();
        };

        it('every acknowledged update is loaded again after close and reopen', async () => {
          const editors = [new Editor(10), new Editor(11)];
          for (let i = 0; i < 8; i++) await store.append(ODD_NAMES[i % 3] ?? 'a', editors[i % 2]?.edit() ?? new Uint8Array());
          await store.close();
          store = await reopen();
          const merged = new Y.Doc();
          for (const n of ODD_NAMES.slice(0, 3)) for (const p of await store.load(n)) Y.applyUpdate(merged, p);
          expect(content(merged).sort()).toEqual([...content(editors[0]?.doc ?? new Y.Doc()), ...content(editors[1]?.doc ?? new Y.Doc())].sort());
        });

        if (capabilities.outbox) {
          it('outbox entries survive reopen, and later seqs are higher than every surviving one', async () => {
            const editor = new Editor(12);
            const kept: number[] = [];
            for (let i = 0; i < 3; i++) kept.push((await store.append('o', editor.edit(), { replicate: true }))?.outboxSeq ?? -1);
            await store.close();
            store = await reopen();
            const outbox = store.outbox;
            expect(outbox?.size).toBe(3);
            expect((await outbox?.peek(10))?.map((e) => e.seq)).toEqual(kept);
            const next = (await store.append('o', editor.edit(), { replicate: true }))?.outboxSeq ?? -1;
            expect(next).toBeGreaterThan(Math.max(...kept));
          });
        }
      });
    }
  });
}
