/**
 * @skein/protocol against the real y-protocols / lib0 / yjs packages: byte-identical
 * encodings, a sync handshake across the two codecs, and a differential check of the
 * strict decoder against lib0's reading of the same bytes.
 */
import fc from 'fast-check';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import * as authProtocol from 'y-protocols/auth';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import {
  type AwarenessEntry,
  type Message,
  ProtocolErrorCode,
  decodeAwarenessUpdate,
  decodeMessage,
  decodeStateVector,
  encodeAuthDenied,
  encodeAwareness,
  encodeAwarenessUpdate,
  encodeMessage,
  encodeQueryAwareness,
  encodeStateVector,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
} from '../protocol/src/index.js';

const RUNS = 3000;
// y-websocket's message type numbers (y-websocket/src/y-websocket.js).
const messageSync = 0;
const messageAwareness = 1;
const messageAuth = 2;
const messageQueryAwareness = 3;

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

/** The frame y-protocols / y-websocket would send for `message`. */
function referenceFrame(message: Message): Uint8Array {
  return frame((e) => {
    switch (message.type) {
      case 'sync-step1':
        encoding.writeVarUint(e, messageSync);
        encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep1);
        encoding.writeVarUint8Array(e, message.stateVector);
        return;
      case 'sync-step2':
        encoding.writeVarUint(e, messageSync);
        encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep2);
        encoding.writeVarUint8Array(e, message.update);
        return;
      case 'sync-update':
        encoding.writeVarUint(e, messageSync);
        syncProtocol.writeUpdate(e, message.update);
        return;
      case 'awareness':
        encoding.writeVarUint(e, messageAwareness);
        encoding.writeVarUint8Array(e, message.update);
        return;
      case 'auth-denied':
        encoding.writeVarUint(e, messageAuth);
        authProtocol.writePermissionDenied(e, message.reason);
        return;
      case 'query-awareness':
        encoding.writeVarUint(e, messageQueryAwareness);
        return;
      case 'skein-hello':
      case 'skein-welcome':
      case 'skein-ack':
        throw new Error(`${message.type} is a Skein extension: y-protocols has no reference frame for it`);
    }
  });
}

/** lib0's reading of a frame (as y-websocket does it); 'error' if lib0 throws or over-reads. */
function lib0Decode(bytes: Uint8Array): Message | 'error' {
  try {
    const d = decoding.createDecoder(bytes);
    let message: Message;
    switch (decoding.readVarUint(d)) {
      case messageSync: {
        const syncType = decoding.readVarUint(d);
        const data = decoding.readVarUint8Array(d);
        if (syncType === 0) message = { type: 'sync-step1', stateVector: data };
        else if (syncType === 1) message = { type: 'sync-step2', update: data };
        else if (syncType === 2) message = { type: 'sync-update', update: data };
        else return 'error';
        break;
      }
      case messageAwareness:
        message = { type: 'awareness', update: decoding.readVarUint8Array(d) };
        break;
      case messageAuth:
        if (decoding.readVarUint(d) !== authProtocol.messagePermissionDenied) return 'error';
        message = { type: 'auth-denied', reason: decoding.readVarString(d) };
        break;
      case messageQueryAwareness:
        message = { type: 'query-awareness' };
        break;
      default:
        return 'error';
    }
    return d.pos === bytes.length ? message : 'error';
  } catch {
    return 'error';
  }
}

/** y-protocols' reading of an awareness update (applyAwarenessUpdate's loop). */
function lib0DecodeAwareness(bytes: Uint8Array): AwarenessEntry[] | 'error' {
  try {
    const d = decoding.createDecoder(bytes);
    const entries: AwarenessEntry[] = [];
    const count = decoding.readVarUint(d);
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(d);
      const clock = decoding.readVarUint(d);
      entries.push({ clientId, clock, state: JSON.parse(decoding.readVarString(d)) as unknown });
    }
    return d.pos === bytes.length ? entries : 'error';
  } catch {
    return 'error';
  }
}

const arbPayload = fc.uint8Array({ maxLength: 300 });
const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  arbPayload.map((stateVector): Message => ({ type: 'sync-step1', stateVector })),
  arbPayload.map((update): Message => ({ type: 'sync-step2', update })),
  arbPayload.map((update): Message => ({ type: 'sync-update', update })),
  arbPayload.map((update): Message => ({ type: 'awareness', update })),
  fc.string({ unit: 'binary', maxLength: 60 }).map((reason): Message => ({ type: 'auth-denied', reason })),
  fc.constant<Message>({ type: 'query-awareness' }),
);

/**
 * Bytes that look like a frame often enough to reach every branch: a plausible type and
 * sub-type, then either raw bytes or a length prefix that is right, one short or one long.
 */
const arbFrameish = fc
  .tuple(
    fc.constantFrom(0, 1, 2, 3, 4, 0x80),
    fc.constantFrom(0, 1, 2, 3, 4, 0x80, 0xff),
    fc.uint8Array({ maxLength: 12 }),
    fc.constantFrom('raw', 'prefixed', 'prefixed-after-type'),
    fc.integer({ min: -1, max: 1 }),
  )
  .map(([a, b, rest, shape, delta]) => {
    const length = Math.max(0, rest.length + delta);
    if (shape === 'prefixed') return Uint8Array.from([a, b, length, ...rest]);
    if (shape === 'prefixed-after-type') return Uint8Array.from([a, length, ...rest]);
    return Uint8Array.from([a, b, ...rest]);
  });

const awarenesses: awarenessProtocol.Awareness[] = [];
function newAwareness(doc: Y.Doc): awarenessProtocol.Awareness {
  const awareness = new awarenessProtocol.Awareness(doc);
  awarenesses.push(awareness);
  return awareness;
}
afterEach(() => {
  for (const a of awarenesses.splice(0)) a.destroy();
});

function docWithEdits(): Y.Doc {
  const doc = new Y.Doc();
  doc.getMap('shapes').set('a', { x: 1, y: 2 });
  doc.getText('title').insert(0, 'hello ✓');
  return doc;
}

describe('encodings are byte-identical to y-protocols', () => {
  it('sync step 1', () => {
    const doc = docWithEdits();
    const expected = frame((e) => {
      encoding.writeVarUint(e, messageSync);
      syncProtocol.writeSyncStep1(e, doc);
    });
    expect(encodeSyncStep1(Y.encodeStateVector(doc))).toEqual(expected);
    expect(encodeSyncStep1(Y.encodeStateVector(new Y.Doc()))).toEqual(Uint8Array.from([0, 0, 1, 0]));
  });

  it('sync step 2', () => {
    const doc = docWithEdits();
    const expected = frame((e) => {
      encoding.writeVarUint(e, messageSync);
      syncProtocol.writeSyncStep2(e, doc);
    });
    expect(encodeSyncStep2(Y.encodeStateAsUpdate(doc))).toEqual(expected);
  });

  it('sync update', () => {
    const doc = new Y.Doc();
    const updates: Uint8Array[] = [];
    doc.on('update', (u: Uint8Array) => updates.push(u));
    doc.getArray('list').insert(0, [1, 'two', { three: 3 }]);
    const update = updates[0];
    if (update === undefined) throw new Error('no update');
    const expected = frame((e) => {
      encoding.writeVarUint(e, messageSync);
      syncProtocol.writeUpdate(e, update);
    });
    expect(encodeSyncUpdate(update)).toEqual(expected);
  });

  it('awareness update and frame, including a removed client', () => {
    const doc = new Y.Doc();
    const awareness = newAwareness(doc);
    awareness.setLocalState({ user: { name: 'Zoë', color: '#f00' }, cursor: { x: 1.5, y: -2 } });
    awareness.setLocalState({ user: { name: 'Zoë' }, cursor: null });
    const clock = awareness.meta.get(doc.clientID)?.clock ?? -1;
    const state = awareness.getLocalState();
    const theirs = awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]);
    const ours = encodeAwarenessUpdate([{ clientId: doc.clientID, clock, state }]);
    expect(ours).toEqual(theirs);
    expect(decodeAwarenessUpdate(theirs)).toEqual([{ clientId: doc.clientID, clock, state }]);
    expect(encodeAwareness(ours)).toEqual(
      frame((e) => {
        encoding.writeVarUint(e, messageAwareness);
        encoding.writeVarUint8Array(e, theirs);
      }),
    );
    // What y-websocket sends on disconnect: the local client with a null state.
    const removed = awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID], new Map());
    expect(decodeAwarenessUpdate(removed)).toEqual([{ clientId: doc.clientID, clock, state: null }]);
    expect(encodeAwarenessUpdate([{ clientId: doc.clientID, clock, state: null }])).toEqual(removed);
  });

  it('auth permission denied', () => {
    const expected = frame((e) => {
      encoding.writeVarUint(e, messageAuth);
      authProtocol.writePermissionDenied(e, 'token expired ⏰');
    });
    expect(encodeAuthDenied('token expired ⏰')).toEqual(expected);
  });

  it('query awareness', () => {
    expect(encodeQueryAwareness()).toEqual(frame((e) => encoding.writeVarUint(e, messageQueryAwareness)));
  });

  it('state vectors, with many clients', () => {
    const doc = new Y.Doc();
    for (let i = 0; i < 5; i++) {
      const other = docWithEdits();
      Y.applyUpdate(doc, Y.encodeStateAsUpdate(other));
    }
    const sv = Y.encodeStateVector(doc);
    expect(decodeStateVector(sv)).toEqual(Y.decodeStateVector(sv));
    expect(encodeStateVector(Y.decodeStateVector(sv))).toEqual(sv);
  });

  it('every message: encodeMessage equals the lib0/y-protocols frame (property)', () => {
    fc.assert(
      fc.property(arbMessage, (message) => {
        expect(encodeMessage(message)).toEqual(referenceFrame(message));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('y-protocols understands our frames', () => {
  it('completes a sync handshake: Skein codec on one side, y-protocols on the other', () => {
    const server = docWithEdits();
    const client = new Y.Doc();
    client.getMap('local').set('k', 'v');

    // Client (y-protocols) sends step 1; the server side decodes it with @skein/protocol.
    const step1 = frame((e) => {
      encoding.writeVarUint(e, messageSync);
      syncProtocol.writeSyncStep1(e, client);
    });
    const received = decodeMessage(step1);
    if (received.type !== 'sync-step1') throw new Error(`unexpected ${received.type}`);
    // Server answers with step 2 + its own step 1, encoded with @skein/protocol.
    const replies = [
      encodeSyncStep2(Y.encodeStateAsUpdate(server, received.stateVector)),
      encodeSyncStep1(Y.encodeStateVector(server)),
    ];
    // The client handles them as y-websocket does and answers step 1 with a step 2.
    const answers: Uint8Array[] = [];
    for (const reply of replies) {
      const decoder = decoding.createDecoder(reply);
      expect(decoding.readVarUint(decoder)).toBe(messageSync);
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, messageSync);
      syncProtocol.readSyncMessage(decoder, encoder, client, 'test');
      if (encoding.length(encoder) > 1) answers.push(encoding.toUint8Array(encoder));
    }
    expect(answers).toHaveLength(1);
    const answer = decodeMessage(answers[0] ?? new Uint8Array());
    if (answer.type !== 'sync-step2') throw new Error(`unexpected ${answer.type}`);
    Y.applyUpdate(server, answer.update);
    expect(server.getMap('local').toJSON()).toEqual({ k: 'v' });
    expect(client.getText('title').toJSON()).toBe('hello ✓');
    expect(Y.encodeStateVector(client)).toEqual(Y.encodeStateVector(server));
  });

  it('applyAwarenessUpdate accepts our awareness updates', () => {
    const awareness = newAwareness(new Y.Doc());
    const update = encodeAwarenessUpdate([
      { clientId: 7, clock: 1, state: { name: 'a' } },
      { clientId: 0xffff_ffff, clock: 3, state: { name: 'b' } },
    ]);
    awarenessProtocol.applyAwarenessUpdate(awareness, update, 'test');
    expect(awareness.getStates().get(7)).toEqual({ name: 'a' });
    expect(awareness.getStates().get(0xffff_ffff)).toEqual({ name: 'b' });
    awarenessProtocol.applyAwarenessUpdate(awareness, encodeAwarenessUpdate([{ clientId: 7, clock: 2, state: null }]), 'test');
    expect(awareness.getStates().has(7)).toBe(false);
  });
});

describe('the strict decoder agrees with lib0 wherever lib0 is well-defined', () => {
  // Ours accepts a subset of what lib0 accepts; the only extra rejections are varints above
  // 2^53 - 1 or longer than 8 bytes (which lib0 partly lets through), awareness client IDs
  // above 2^32 - 1, and the configurable limits (not reached here).
  const check = (bytes: Uint8Array): void => {
    const theirs = lib0Decode(bytes);
    let ours: Message | string;
    try {
      ours = decodeMessage(bytes);
    } catch (err) {
      ours = (err as { code: string }).code;
    }
    if (typeof ours === 'string') {
      if (theirs !== 'error') expect(ours).toBe(ProtocolErrorCode.VarintOverflow);
    } else if (!ours.type.startsWith('skein-')) {
      // Skein's extension types (≥ 100) are unknown to the y-websocket reference decoder.
      expect(ours).toEqual(theirs);
    }
  };

  it('on arbitrary frame-like bytes', () => {
    fc.assert(fc.property(arbFrameish, check), { numRuns: RUNS });
  });

  it('on mutated valid frames', () => {
    const arbMutated = fc
      .tuple(arbMessage, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
      .map(([message, at, value, cut]) => {
        const bytes = encodeMessage(message);
        const i = at % bytes.length;
        if (cut) return bytes.slice(0, i);
        bytes[i] = value;
        return bytes;
      });
    fc.assert(fc.property(arbMutated, check), { numRuns: RUNS });
  });

  it('on awareness updates', () => {
    const arbEntries = fc.array(
      fc.record({
        clientId: fc.oneof(fc.nat({ max: 300 }), fc.integer({ min: 0, max: 0xffff_ffff })),
        clock: fc.nat(),
        state: fc.jsonValue({ maxDepth: 2 }),
      }),
      { maxLength: 4 },
    );
    const arbUpdate = fc
      .tuple(arbEntries, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
      .map(([entries, at, value, mutate]) => {
        const bytes = encodeAwarenessUpdate(entries);
        if (mutate) bytes[at % bytes.length] = value;
        return bytes;
      });
    fc.assert(
      fc.property(arbUpdate, (bytes) => {
        const theirs = lib0DecodeAwareness(bytes);
        let ours: AwarenessEntry[] | string;
        try {
          ours = decodeAwarenessUpdate(bytes);
        } catch (err) {
          ours = (err as { code: string }).code;
        }
        if (typeof ours === 'string') {
          if (theirs !== 'error') expect(ours).toBe(ProtocolErrorCode.VarintOverflow);
        } else {
          expect(ours).toEqual(theirs);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
