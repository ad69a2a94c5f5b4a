/**
 * Redis names. Every key and the channel of one document share one hash tag — the document
 * name in base64url, which never contains `{` or `}` — so that in a Redis Cluster they live
 * on one shard (multi-key transactions work, and sharded pub/sub goes to the same shard).
 *
 * ```
 * skein:{<b64url(name)>}:ch      pub/sub channel of the document
 * skein:{<b64url(name)>}:state   compacted state (one merged Yjs update)      STRING
 * skein:{<b64url(name)>}:log     updates appended since the last compaction   LIST
 * skein:{<b64url(name)>}:ver     compaction generation (optimistic check)     STRING (int)
 * skein:{nodes}:ch               node heartbeats and leave notices
 * ```
 */
export interface DocKeys {
  readonly channel: string;
  readonly state: string;
  readonly log: string;
  readonly version: string;
}

export const NODES_CHANNEL = 'skein:{nodes}:ch';

export function docKeys(name: string): DocKeys {
  const tag = `skein:{${Buffer.from(name, 'utf8').toString('base64url')}}`;
  return { channel: `${tag}:ch`, state: `${tag}:state`, log: `${tag}:log`, version: `${tag}:ver` };
}

/** The document name of a document channel, or undefined for any other channel. */
export function docNameOfChannel(channel: string): string | undefined {
  const m = /^skein:\{([A-Za-z0-9_-]+)\}:ch$/.exec(channel);
  if (m === null || m[1] === undefined || channel === NODES_CHANNEL) return undefined;
  return Buffer.from(m[1], 'base64url').toString('utf8');
}
