import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DocumentRegistry, silentLogger, type AppendOptions, type DocumentStore, type LogStore } from '@skein/server';
import { memoryStore } from '../helpers/stores.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { fakePeer } from '../helpers/fake-peer.js';

interface Appended {
  readonly update: Uint8Array;
  readonly clocks: ReadonlyMap<number, number> | undefined;
}

/** A real memory store that records what each append was given. */
function recording(store: LogStore): { store: DocumentStore; appended: Appended[] } {
  const appended: Appended[] = [];
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'append') {
        return (name: string, update: Uint8Array, options?: AppendOptions) => {
          appended.push({ update: update.slice(), clocks: options?.clocks });
          return target.append(name, update, options);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: proxy, appended };
}

const endClocks = (update: Uint8Array): Map<number, number> => Y.parseUpdateMeta(update).to;

describe('the write path does not decode an applied update again', () => {
  let registry: DocumentRegistry | undefined;
  let store: LogStore | undefined;
  afterEach(async () => {
    await registry?.close();
    await store?.close();
    registry = store = undefined;
  });

  it('the handle passes the clocks of what it applied, equal to a decode of the stored update; not with structs pending', async () => {
    store = memoryStore();
    const rec = recording(store);
    registry = new DocumentRegistry({ clock: new ManualClock(), store: rec.store, logger: silentLogger(), unloadDelayMs: 20, loadTimeoutMs: 5_000, maxUnloadRetryMs: 50 });
    const peer = fakePeer();
    const handle = await registry.open('d', peer);
    const source = { source: 'client' as const, peer };
    const a = new Y.Doc();
    const b = new Y.Doc();
    const delta = (doc: Y.Doc, edit: () => void): Uint8Array => {
      const before = Y.encodeStateVector(doc);
      edit();
      return Y.encodeStateAsUpdate(doc, before);
    };
    // Inserts from two clients, one at a time and as a batch; a deletion; a map overwrite.
    await handle.submit(delta(a, () => a.getText('t').insert(0, 'hello')), source);
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    await handle.submitAll([delta(b, () => b.getText('t').insert(5, ' world')), delta(a, () => a.getMap('m').set('k', 1))], source);
    await handle.submit(delta(a, () => a.getText('t').delete(0, 1)), source);
    await handle.submit(delta(b, () => b.getMap('m').set('k', 2)), source);
    const withClocks = rec.appended.filter((x) => x.clocks !== undefined);
    expect(withClocks.length).toBe(4);
    for (const x of withClocks) expect(x.clocks).toEqual(endClocks(x.update));

    // An update whose dependencies have not arrived: its structs wait (pending); the stored
    // update holds them, so the store decodes it itself.
    const c = new Y.Doc();
    Y.applyUpdate(c, Y.encodeStateAsUpdate(a));
    const first = delta(c, () => c.getArray('late').push([1]));
    const second = delta(c, () => c.getArray('late').push([2]));
    const before = rec.appended.length;
    await handle.submit(second, source);
    expect(rec.appended.slice(before).map((x) => x.clocks)).toEqual([undefined]);
    await handle.submit(first, source);
    expect(handle.doc.getArray('late').toArray()).toEqual([1, 2]);
    for (const x of rec.appended.filter((y) => y.clocks !== undefined)) expect(x.clocks).toEqual(endClocks(x.update));
    // What the store holds loads into the same document.
    const loaded = new Y.Doc();
    for (const u of await store.load('d')) Y.applyUpdate(loaded, u);
    expect(loaded.getText('t').toJSON()).toBe(handle.doc.getText('t').toJSON());
    expect(Y.encodeStateVector(loaded)).toEqual(Y.encodeStateVector(handle.doc));
  });
});
