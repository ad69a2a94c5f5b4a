import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { knownStateVector, stateVectorOf } from '../src/crdt/state-vector.js';
import { DocBody } from '../src/documents/doc-body.js';
import { LevelKv } from '../src/persistence/level-kv.js';
import { openLevelStore } from '../src/persistence/log-store.js';
import { Editor, logger, tempDir } from './persistence/helpers.js';

/** One decode per stored snapshot for the check on load and the document's state vector. */
describe('state vector of an update, computed once', () => {
  const update = (): Uint8Array => {
    const doc = new Y.Doc();
    doc.getMap('m').set('a', 1);
    doc.getText('t').insert(0, 'hello');
    return Y.encodeStateAsUpdate(doc);
  };

  it('equals Y.encodeStateVectorFromUpdate, computed once per update object (not per equal bytes)', () => {
    const u = update();
    expect(knownStateVector(u)).toBeUndefined();
    const sv = stateVectorOf(u);
    expect(sv).toEqual(Y.encodeStateVectorFromUpdate(u));
    expect(stateVectorOf(u)).toBe(sv);
    expect(knownStateVector(u)).toBe(sv);
    const copy = u.slice();
    expect(knownStateVector(copy)).toBeUndefined();
    expect(stateVectorOf(copy)).not.toBe(sv);
  });

  it('throws on a malformed update and remembers nothing', () => {
    const bad = Uint8Array.of(1, 1, 200, 1, 0, 9);
    expect(() => stateVectorOf(bad)).toThrow();
    expect(knownStateVector(bad)).toBeUndefined();
  });

  describe('through a store load', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ dir, cleanup } = await tempDir());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('the store checks a snapshot by computing its state vector; a dormant document loaded from it reuses that vector', async () => {
      const store = await openLevelStore({ kv: await LevelKv.open(dir), logger, compaction: { enabled: false } });
      const editor = new Editor();
      for (let i = 0; i < 20; i++) await store.append('doc', editor.edit());
      await store.compact('doc');
      const parts = await store.load('doc');
      expect(parts).toHaveLength(1);
      const checked = knownStateVector(parts[0] as Uint8Array);
      expect(checked).toEqual(Y.encodeStateVector(editor.doc));
      const body = DocBody.load('doc', parts, true, { attach: () => undefined, detach: () => undefined, now: () => 0 });
      expect(body.form).toBe('dormant');
      expect(body.stateVector()).toBe(checked);
      await store.close();
    });
  });
});
