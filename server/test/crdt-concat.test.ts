import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as Y from 'yjs';
import { concatUpdates, mergeSequentialUpdates, utf16Length } from '../src/crdt/concat.js';
import { EXTENSIVE } from '../../test/helpers/extensive.js';

// CI: 150 random histories (about a second). EXTENSIVE=1: 50,000 (a minute or two).

/** What a document holds, for comparing two replicas (every shared type the tests write). */
function content(doc: Y.Doc): unknown {
  const shared = { m: doc.getMap('m').toJSON(), a: doc.getArray('a').toJSON(), t: doc.getText('t').toDelta(), x: doc.getXmlFragment('x').toJSON() };
  // A subdocument by its guid; binary and bigint values as JSON can hold them.
  return JSON.parse(JSON.stringify(shared, (_key, v: unknown) => (v instanceof Y.Doc ? { subdoc: v.guid } : v instanceof Uint8Array ? { bytes: [...v] } : typeof v === 'bigint' ? `${v}n` : v))) as unknown;
}

function replay(updates: readonly Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const u of updates) Y.applyUpdate(doc, u);
  return doc;
}

/** The same document: content, state vector and delete set (its encoded state, byte for byte). */
function expectSameDoc(a: Y.Doc, b: Y.Doc): void {
  expect(content(a)).toEqual(content(b));
  expect(Buffer.from(Y.encodeStateAsUpdate(a)).equals(Buffer.from(Y.encodeStateAsUpdate(b)))).toBe(true);
  expect(a.store.pendingStructs).toBeNull();
  expect(b.store.pendingStructs).toBeNull();
}

/**
 * A server's view: each client's update applied in its own transaction, in arrival order, and
 * the updates the server's document emits for them (what the fan-out merges).
 */
function serverChanges(edits: readonly ((docs: Y.Doc[]) => Uint8Array | undefined)[], clients = 3): { server: Y.Doc; changes: Uint8Array[] } {
  const docs = Array.from({ length: clients }, (_, i) => {
    const d = new Y.Doc();
    d.clientID = 1000 + i * 7919;
    return d;
  });
  const server = new Y.Doc();
  const changes: Uint8Array[] = [];
  server.on('update', (u: Uint8Array) => changes.push(u));
  for (const edit of edits) {
    const u = edit(docs);
    if (u !== undefined) Y.applyUpdate(server, u);
  }
  return { server, changes };
}

/** Run `change` on `doc` and return the update it produced (undefined: nothing changed). */
function edit(doc: Y.Doc, change: (doc: Y.Doc) => void): Uint8Array | undefined {
  let out: Uint8Array | undefined;
  const take = (u: Uint8Array): void => {
    out = u;
  };
  doc.on('update', take);
  doc.transact(() => change(doc));
  doc.off('update', take);
  return out;
}

/** Every kind of struct and content a v1 update carries. */
function everyContent(): ((docs: Y.Doc[]) => Uint8Array | undefined)[] {
  const at = (i: number, change: (doc: Y.Doc) => void) => (docs: Y.Doc[]): Uint8Array | undefined => {
    const doc = docs[i] as Y.Doc;
    // Each client first catches up with the others (its items then point at theirs).
    for (const other of docs) if (other !== doc) Y.applyUpdate(doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(doc)));
    return edit(doc, change);
  };
  return [
    at(0, (d) => d.getMap('m').set('shape', { x: 1.5, y: -3, big: 2n ** 40n, tags: ['a', null, true, false], nested: { deep: [{ k: undefined }] } })),
    at(1, (d) => d.getArray('a').push([1, -70_000, 3.25, 'text', new Uint8Array([1, 2, 3]), { k: 'v' }, [1, [2]]])),
    at(2, (d) => d.getText('t').insert(0, 'héllo wörld — 日本語 😀 𝄞', { bold: true })),
    at(0, (d) => d.getText('t').insertEmbed(3, { image: 'x.png' })),
    at(1, (d) => d.getText('t').format(1, 4, { italic: true })),
    at(2, (d) => d.getText('t').delete(2, 5)),
    at(0, (d) => {
      const el = new Y.XmlElement('p');
      el.setAttribute('class', 'c');
      el.insert(0, [new Y.XmlText('inner')]);
      // A hook is an XML node Yjs's typings leave out of a fragment's children.
      d.getXmlFragment('x').insert(0, [el, new Y.XmlHook('hook') as unknown as Y.XmlText, new Y.XmlText('tail')]);
    }),
    at(1, (d) => d.getMap('m').set('sub', new Y.Doc({ guid: 'sub-doc' }))),
    at(2, (d) => d.getMap('m').set('bin', new Uint8Array([9, 8, 7]))),
    at(0, (d) => d.getArray('a').delete(1, 3)),
    at(1, (d) => d.getMap('m').set('shape', { x: 2 })),
    at(2, (d) => {
      const nested = new Y.Map<unknown>();
      d.getMap('m').set('nested', nested);
      nested.set('k', new Y.Array());
    }),
    at(0, (d) => d.getMap('m').delete('bin')),
  ];
}

describe('concatUpdates: a document\'s consecutive changes joined without decoding them', () => {
  it('every struct and content kind: the same document as Y.mergeUpdates, and its state vector', () => {
    const { server, changes } = serverChanges(everyContent());
    expect(changes.length).toBeGreaterThanOrEqual(13);
    const joined = concatUpdates(changes);
    expect(joined).toBeDefined();
    const merged = Y.mergeUpdates(changes);
    expectSameDoc(replay([joined as Uint8Array]), replay([merged]));
    expectSameDoc(replay([joined as Uint8Array]), server);
    expect(Y.encodeStateVectorFromUpdate(joined as Uint8Array)).toEqual(Y.encodeStateVectorFromUpdate(merged));
  });

  it('one client\'s sections become one: the structs\' bytes in order after one header (golden bytes)', () => {
    const doc = new Y.Doc();
    doc.clientID = 5;
    const changes = [edit(doc, (d) => d.getText('t').insert(0, 'a')), edit(doc, (d) => d.getText('t').insert(1, 'b'))] as Uint8Array[];
    // [1 client] [1 struct, client 5, clock 0] [info: string] [parent: root type "t"] "a" [no deletes]
    expect(Buffer.from(changes[0] as Uint8Array).toString('hex')).toBe('0101050004010174016100');
    // [1 client] [1 struct, client 5, clock 1] [info: string with an origin] [origin (5, 0)] "b" [no deletes]
    expect(Buffer.from(changes[1] as Uint8Array).toString('hex')).toBe('0101050184050001620' + '0');
    // [1 client] [2 structs, client 5, clock 0] both structs' bytes [no deletes]
    expect(Buffer.from(concatUpdates(changes) as Uint8Array).toString('hex')).toBe('0102050004010174016184050001620' + '0');
  });

  it('delete sets are joined: ranges sorted, overlapping and touching ones made one', () => {
    const doc = new Y.Doc();
    doc.clientID = 9;
    doc.getArray('a').push([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const base = Y.encodeStateAsUpdate(doc);
    const changes = [
      edit(doc, (d) => d.getArray('a').delete(6, 2)), // clocks 6..7
      edit(doc, (d) => d.getArray('a').delete(1, 2)), // clocks 1..2
      edit(doc, (d) => d.getArray('a').delete(2, 2)), // clocks 4..5 (the array is 0 3 4 5 8 9 by then), touching 6..7
    ] as Uint8Array[];
    const joined = concatUpdates(changes) as Uint8Array;
    // [0 clients] [1 delete-set client: 9, 2 ranges: (1, 2), (4, 4)]
    expect(Buffer.from(joined).toString('hex')).toBe('0001090201020404');
    expectSameDoc(replay([base, joined]), replay([base, Y.mergeUpdates(changes)]));
    expect(doc.getArray('a').toArray()).toEqual([0, 3, 8, 9]);
  });

  it('any run of consecutive changes (fast-check: random edits by three clients)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c'), value: fc.jsonValue({ maxDepth: 3 }) }),
      fc.record({ kind: fc.constant('push' as const), values: fc.array(fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.string(), fc.boolean()), { minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('text' as const), at: fc.nat(), text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }) }),
      fc.record({ kind: fc.constant('del' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 3 }) }),
    );
    const step = fc.record({ client: fc.integer({ min: 0, max: 2 }), sync: fc.boolean(), ops: fc.array(op, { minLength: 1, maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(step, { minLength: 2, maxLength: 25 }), fc.nat(), fc.nat(), (steps, a, b) => {
        const edits = steps.map((s) => (docs: Y.Doc[]): Uint8Array | undefined => {
          const doc = docs[s.client] as Y.Doc;
          if (s.sync) for (const other of docs) if (other !== doc) Y.applyUpdate(doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(doc)));
          return edit(doc, (d) => {
            for (const o of s.ops) {
              if (o.kind === 'set') d.getMap('m').set(o.key, o.value);
              else if (o.kind === 'push') d.getArray('a').push(o.values);
              else if (o.kind === 'text') d.getText('t').insert(o.at % (d.getText('t').length + 1), o.text);
              else {
                const arr = d.getArray('a');
                if (arr.length > 0) arr.delete(o.at % arr.length, Math.min(o.n, arr.length - (o.at % arr.length)));
              }
            }
          });
        });
        const { server, changes } = serverChanges(edits);
        if (changes.length === 0) return;
        const from = a % changes.length;
        const to = from + 1 + (b % (changes.length - from));
        const run = changes.slice(from, to);
        const joined = concatUpdates(run);
        expect(joined).toBeDefined();
        const before = changes.slice(0, from);
        expectSameDoc(replay([...before, joined as Uint8Array]), replay([...before, Y.mergeUpdates(run)]));
        if (from === 0 && to === changes.length) expectSameDoc(replay([joined as Uint8Array]), server);
      }),
      { numRuns: EXTENSIVE ? 50_000 : 150 },
    );
  }, EXTENSIVE ? 1_800_000 : undefined);

  it('a group of many clients (past the list the clients are first looked up in): joined all the same', () => {
    const { server, changes } = serverChanges(
      Array.from({ length: 120 }, (_, i) => (docs: Y.Doc[]): Uint8Array | undefined => edit(docs[i % 40] as Y.Doc, (d) => d.getMap('m').set(`k${i % 7}`, i))),
      40,
    );
    expect(new Set(changes.map((u) => Y.decodeUpdate(u).structs[0]?.id.client)).size).toBe(40);
    const joined = concatUpdates(changes);
    expect(joined).toBeDefined();
    expectSameDoc(replay([joined as Uint8Array]), replay([Y.mergeUpdates(changes)]));
    expectSameDoc(replay([joined as Uint8Array]), server);
  });

  it('ranges that overlap or leave a gap are not joined (Yjs merges them: mergeSequentialUpdates)', () => {
    const doc = new Y.Doc();
    const changes = [1, 2, 3].map((i) => edit(doc, (d) => d.getArray('a').push([i]))) as Uint8Array[];
    const twice = [changes[0], changes[0]] as Uint8Array[];
    const gap = [changes[0], changes[2]] as Uint8Array[];
    expect(concatUpdates(twice)).toBeUndefined();
    expect(concatUpdates(gap)).toBeUndefined();
    expect(Buffer.from(mergeSequentialUpdates(twice)).equals(Buffer.from(Y.mergeUpdates(twice)))).toBe(true);
    expect(Buffer.from(mergeSequentialUpdates(gap)).equals(Buffer.from(Y.mergeUpdates(gap)))).toBe(true);
    // A run in order is joined; a single update is returned as it is.
    expect(replay([mergeSequentialUpdates(changes)]).getArray('a').toArray()).toEqual([1, 2, 3]);
    expect(mergeSequentialUpdates([changes[1] as Uint8Array])).toBe(changes[1]);
  });

  it('bytes it cannot read give undefined, never a wrong update or an exception', () => {
    const doc = new Y.Doc();
    const changes = [edit(doc, (d) => d.getMap('m').set('k', { v: 'x' })), edit(doc, (d) => d.getMap('m').set('k', 2))] as Uint8Array[];
    const first = changes[0] as Uint8Array;
    for (let cut = 0; cut < first.length; cut++) expect(concatUpdates([first.subarray(0, cut), changes[1] as Uint8Array])).toBeUndefined();
    expect(concatUpdates([new Uint8Array([...first, 0]), changes[1] as Uint8Array])).toBeUndefined(); // trailing byte
    expect(concatUpdates([new Uint8Array([1, 1, 5, 0, 0x08 | 0x00, 0, 1, 0x73, 1, 115, 0])])).toBeUndefined(); // an unknown value type (115)
    expect(concatUpdates([new Uint8Array([1, 1, 5, 0, 0x0b, 0])])).toBeUndefined(); // content ref 11
    expect(concatUpdates([new Uint8Array([1, 1, 5, 0, 0x07, 0, 1, 0x74, 9, 0])])).toBeUndefined(); // type ref 9
    // A ContentString whose bytes are not UTF-8 (an overlong "/"): its length is not knowable.
    expect(concatUpdates([new Uint8Array([1, 1, 5, 0, 0x04, 1, 1, 0x74, 2, 0xc0, 0xaf, 0])])).toBeUndefined();
    // Arrays nested past the bound.
    const deep = [1, 1, 5, 0, 0x08, 1, 1, 0x74, 1, ...new Array<number>(300).fill(117).flatMap((t) => [t, 1]), 126, 0];
    expect(concatUpdates([new Uint8Array(deep)])).toBeUndefined();
  });
});

describe('utf16Length: the length Yjs gives a string, from its UTF-8 bytes', () => {
  const len = (s: string): number => {
    const b = Buffer.from(s, 'utf8');
    return utf16Length(b, 0, b.length);
  };

  it('counts code units as JavaScript does (astral characters are two)', () => {
    for (const s of ['', 'ascii', 'héllo', '日本語', '😀', 'a😀b𝄞c', 'ÿ\u07ff\u0800\uffff']) expect(len(s)).toBe(s.length);
  });

  it('refuses what is not well-formed UTF-8', () => {
    const bad = [[0x80], [0xc0, 0x80], [0xc2], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x28, 0xa1], [0xff]];
    for (const b of bad) expect(() => utf16Length(new Uint8Array(b), 0, b.length)).toThrow(RangeError);
  });
});
