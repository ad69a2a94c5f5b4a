/** A peer as the registry sees it: an id and a send that records what it got. */
export interface FakePeer {
  readonly id: number;
  readonly sent: Uint8Array[];
  send(message: Uint8Array): void;
}

let nextPeer = 1;

export function fakePeer(): FakePeer {
  const sent: Uint8Array[] = [];
  return { id: nextPeer++, sent, send: (m) => sent.push(m) };
}
