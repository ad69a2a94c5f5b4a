import fc from 'fast-check';
import { ProtocolErrorCode, encodeAwarenessUpdate as encodeEntries } from '@skein/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { decodeAwarenessEntries } from '../../src/cluster/awareness-codec.js';
import { DocReplica } from '../../src/cluster/doc-replica.js';
import { Kind } from '../../src/cluster/envelope.js';
import type { ReplicaHost } from '../../src/documents/ports.js';
import { systemClock } from '../../src/clock/clock.js';
import { capturingLogger } from '../../../test/helpers/logs.js';
import { RUNS, arbBytes, ascii, bytes, codeOf, inView, viewInto } from './helpers.js';

const STATE = ascii('{"x":1}');
/** Two clients: 300 (ac 02) at clock 1 with {"x":1}, 7 at clock 2 removed (null). */
const GOLDEN = [2, 0xac, 0x02, 1, STATE.length, ...STATE, 7, 2, 4, ...ascii('null')];

describe('awareness update: golden bytes', () => {
  it('y-protocols encodes count, then clientID clock stateJSON per client', () => {
    const doc = new Y.Doc();
    doc.clientID = 300;
    const awareness = new Awareness(doc);
    awareness.setLocalState({ x: 1 });
    expect(Array.from(encodeAwarenessUpdate(awareness, [300]))).toEqual([1, 0xac, 0x02, 1, STATE.length, ...STATE]);
    awareness.setLocalState(null);
    expect(Array.from(encodeAwarenessUpdate(awareness, [300]))).toEqual([1, 0xac, 0x02, 2, 4, ...ascii('null')]);
    awareness.destroy();
  });

  it('decodes the clients and their removals, also from a view into a larger buffer', () => {
    const expected = [{ clientId: 300, clock: 1, removed: false }, { clientId: 7, clock: 2, removed: true }];
    expect(decodeAwarenessEntries(Uint8Array.from(GOLDEN))).toEqual(expected);
    expect(decodeAwarenessEntries(viewInto(Uint8Array.from(GOLDEN), 5, 5))).toEqual(expected);
    expect(decodeAwarenessEntries(bytes(0))).toEqual([]);
  });
});

const E = 'SKEIN_ERR_CLUSTER_ENVELOPE';
const P = ProtocolErrorCode;

describe('awareness update: every error code from a crafted input', () => {
  const CASES: ReadonlyArray<readonly [string, number[], string]> = [
    ['empty', [], P.Empty],
    ['ends inside the count', [0x80], P.Truncated],
    ['count the bytes cannot hold', [2, 1, 1, 0], P.LengthOutOfBounds],
    ['ends inside an entry', [1, 1, 0x80, 0x80], P.Truncated],
    ['state longer than the input', [1, 1, 1, 9, 0x6e], P.LengthOutOfBounds],
    ['client id above 2^32 - 1', [1, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 4, ...ascii('null')], P.VarintOverflow],
    ['state not UTF-8', [1, 1, 1, 1, 0xff], P.InvalidString],
    ['state not JSON', [1, 1, 1, 1, 0x7b], P.InvalidString],
    ['trailing byte', [...GOLDEN, 0], P.TrailingBytes],
  ];
  for (const [name, input, code] of CASES) {
    it(`${name} → ${code}`, () => {
      expect(codeOf(() => decodeAwarenessEntries(Uint8Array.from(input)))).toBe(`${E}/${code}`);
    });
  }

  it('a state cut short by the view is refused even when the larger buffer holds the rest', () => {
    const backing = Uint8Array.from(GOLDEN);
    expect(codeOf(() => decodeAwarenessEntries(backing.subarray(0, backing.length - 1)))).toBe(`${E}/${P.LengthOutOfBounds}`);
  });
});

describe('awareness update: properties', () => {
  const arbEntries = fc.array(
    fc.record({
      clientId: fc.nat({ max: 0xffff_ffff }),
      clock: fc.maxSafeNat(),
      state: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 2 })),
    }),
    { maxLength: 6 },
  );

  it('every client of an update is found, with its removal flag, from any view', () => {
    fc.assert(
      fc.property(arbEntries.chain((entries) => fc.tuple(fc.constant(entries), inView(encodeEntries(entries)))), ([entries, update]) => {
        const decoded = decodeAwarenessEntries(update);
        expect(decoded).toEqual(entries.map(({ clientId, clock, state }) => ({ clientId, clock, removed: state === null })));
      }),
      { numRuns: RUNS },
    );
  });

  it('what it accepts, y-protocols applies without throwing', () => {
    fc.assert(
      fc.property(arbEntries.map((entries) => encodeEntries(entries)), (update) => {
        decodeAwarenessEntries(update);
        const awareness = new Awareness(new Y.Doc());
        applyAwarenessUpdate(awareness, update, 'test');
        awareness.destroy();
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes (incl. views into larger buffers) only raise coded errors', () => {
    fc.assert(
      fc.property(arbBytes(), (input) => {
        const code = codeOf(() => decodeAwarenessEntries(input));
        if (code !== undefined) expect(code).toMatch(/^SKEIN_ERR_CLUSTER_ENVELOPE\/SKEIN_ERR_PROTOCOL_/);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('a malformed awareness message from another node', () => {
  it('is logged with its code and dropped: nothing thrown, no state or owner recorded', () => {
    const { logger, lines } = capturingLogger('warn');
    const doc = new Y.Doc();
    // Awareness never goes through the edit path: a host with a live Awareness is all it needs.
    const handle: ReplicaHost = {
      name: 'doc', doc, awareness: new Awareness(doc), stateVector: () => Y.encodeStateVector(doc),
      submit: () => Promise.resolve(), replicateAll: () => Promise.resolve(),
    };
    const replica = new DocReplica(handle, {
      nodeKey: 'me#1', logger, clock: systemClock, publish: () => true,
    });
    replica.start([]);
    // The second state is not JSON: validating entry by entry would record (and y-protocols
    // would apply) client 300 before failing on it.
    const malformed = Uint8Array.from([...GOLDEN.slice(0, -5), 1, 0x7b]);
    const env = { kind: Kind.Awareness, nodeId: 'other', incarnation: 1, seq: 1, traceparent: '', payload: malformed };
    expect(() => replica.receive(env, 'other#1')).not.toThrow();
    expect(lines.map((l) => l.code)).toEqual([E]);
    expect(handle.awareness.getStates().has(300)).toBe(false);
    expect(replica.removeNode('other#1')).toBe(0);

    replica.receive({ ...env, seq: 2, payload: Uint8Array.from(GOLDEN) }, 'other#1');
    expect(handle.awareness.getStates().get(300)).toEqual({ x: 1 });
    expect(replica.removeNode('other#1')).toBe(1);
    replica.stop();
  });
});
