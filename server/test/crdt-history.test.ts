import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { stateToJson } from '../src/crdt/doc-json.js';
import { restoreUpdate } from '../src/crdt/restore.js';
import { missingDependencies, stateTag } from '../src/crdt/update-deps.js';

function build(edit: (doc: Y.Doc) => void, base?: Y.Doc): Y.Doc {
  const doc = new Y.Doc({ gc: true });
  if (base !== undefined) Y.applyUpdate(doc, Y.encodeStateAsUpdate(base));
  edit(doc);
  return doc;
}

describe('crdt: content as JSON', () => {
  it('infers map, array, text and xml; hints override', () => {
    const doc = build((d) => {
      d.getMap('m').set('k', new Y.Map([['n', 1]]));
      d.getArray('a').push([1, 'two']);
      d.getText('t').insert(0, 'hello');
      d.getXmlFragment('x').insert(0, [new Y.XmlElement('p')]);
    });
    const state = Y.encodeStateAsUpdate(doc);
    expect(stateToJson(state)).toEqual({ m: { k: { n: 1 } }, a: [1, 'two'], t: 'hello', x: '<p></p>' });
    // A hint names the kind where inference cannot: the same text read as an array of its items.
    expect(Array.isArray(stateToJson(state, { t: 'array' }).t)).toBe(true);
  });
});

describe('crdt: restore as a forward update', () => {
  it('makes the content equal to the version with gc on, and later and concurrent edits merge on top', () => {
    const v1 = build((d) => {
      d.getMap('m').set('keep', 1);
      d.getMap('m').set('gone', new Y.Map([['deep', true]]));
      d.getArray('a').push(['x', 'y']);
      d.getText('t').insert(0, 'first');
    });
    const versionState = Y.encodeStateAsUpdate(v1);
    const now = build((d) => {
      d.getMap('m').delete('gone');
      d.getMap('m').set('added', 2);
      d.getArray('a').delete(0, 1);
      d.getText('t').insert(5, ' and more');
    }, v1);
    // An offline replica that forked before the restore.
    const offline = build(() => undefined, now);
    offline.getMap('m').set('offline', 3);

    const update = restoreUpdate(Y.encodeStateAsUpdate(now), versionState);
    expect(update).not.toBeNull();
    Y.applyUpdate(now, update!);
    expect(stateToJson(Y.encodeStateAsUpdate(now))).toEqual(stateToJson(versionState));
    // The key the version and the present share is untouched (a concurrent edit of it survives).
    Y.applyUpdate(now, Y.encodeStateAsUpdate(offline));
    Y.applyUpdate(offline, Y.encodeStateAsUpdate(now));
    expect(Y.encodeStateAsUpdate(now)).toEqual(Y.encodeStateAsUpdate(offline));
    expect(now.getMap('m').toJSON()).toEqual({ keep: 1, gone: { deep: true }, offline: 3 });
    // Already equal: nothing to do.
    expect(restoreUpdate(Y.encodeStateAsUpdate(v1), versionState)).toBeNull();
  });
});

describe('crdt: update dependencies and state tags', () => {
  it('accepts updates that build on the document, refuses ones that build on another', () => {
    const doc = build((d) => d.getMap('m').set('a', 1));
    const next = build((d) => d.getMap('m').set('a', 2), doc); // overwrites a: its left origin is doc's item
    const onTop = Y.encodeStateAsUpdate(next, Y.encodeStateVector(doc));
    expect(missingDependencies(onTop, Y.decodeStateVector(Y.encodeStateVector(doc)))).toBe(false);
    expect(missingDependencies(onTop, new Map())).toBe(true);
    const fresh = build((d) => d.getMap('m').set('c', 3));
    expect(missingDependencies(Y.encodeStateAsUpdate(fresh), Y.decodeStateVector(Y.encodeStateVector(doc)))).toBe(false);
    expect(() => missingDependencies(Uint8Array.of(1, 2, 3), new Map())).toThrow();
  });

  it('the state tag changes on a delete, which leaves the state vector alone', () => {
    const doc = build((d) => d.getMap('m').set('a', 1));
    const before = stateTag(doc);
    const sv = Y.encodeStateVector(doc);
    doc.getMap('m').delete('a');
    expect(Y.encodeStateVector(doc)).toEqual(sv);
    expect(stateTag(doc)).not.toBe(before);
  });
});
