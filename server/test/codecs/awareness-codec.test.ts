import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { ascii } from './helpers.js';

describe('awareness update: golden bytes (y-protocols)', () => {
  it('y-protocols encodes count, then clientID clock stateJSON per client', () => {
    const doc = new Y.Doc();
    doc.clientID = 300;
    const awareness = new Awareness(doc);
    awareness.setLocalState({ x: 1 });
    const state = ascii('{"x":1}');
    expect(Array.from(encodeAwarenessUpdate(awareness, [300]))).toEqual([1, 0xac, 0x02, 1, state.length, ...state]);
    awareness.setLocalState(null);
    expect(Array.from(encodeAwarenessUpdate(awareness, [300]))).toEqual([1, 0xac, 0x02, 2, 4, ...ascii('null')]);
    awareness.destroy();
  });
});
