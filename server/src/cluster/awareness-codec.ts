import { decodeAwarenessUpdate } from '@skein/protocol';
import { guarded } from './envelope.js';

/** One client of an awareness update, as the cluster tracks it (which node controls it). */
export interface AwarenessClient {
  readonly clientId: number;
  readonly clock: number;
  /** The state is JSON `null`: the client left. */
  readonly removed: boolean;
}

/**
 * The clients of an awareness update received from another node (an `Awareness` envelope's
 * payload; grammar in `docs/cluster.md`, "Byte formats"):
 *
 *   awarenessUpdate = varUint(count) { varUint(clientID) varUint(clock) varString(stateJSON) }*
 *
 * Validated as strictly as a client's awareness message (the protocol's
 * `decodeAwarenessUpdate`: bounded count, client IDs ≤ 2^32 - 1, UTF-8 JSON states, no bytes
 * past the view or after the last entry), so y-protocols' unchecked parse that follows only
 * ever sees well-formed bytes. A removal is a state that parses to `null`, as in y-protocols.
 * Throws only SKEIN_ERR_CLUSTER_ENVELOPE, with the ProtocolError as its cause.
 */
export function decodeAwarenessEntries(update: Uint8Array): AwarenessClient[] {
  return guarded('awareness update', () =>
    decodeAwarenessUpdate(update).map(({ clientId, clock, state }) => ({ clientId, clock, removed: state === null })),
  );
}
