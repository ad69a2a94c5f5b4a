/**
 * Seeded randomized convergence through real servers with real y-websocket clients, after
 * yjs `tests/testHelper.js`: N clients on a few documents make random edits, drop off
 * (gracefully or abruptly), edit offline and come back; at the end everyone reconnects and
 * the oracle holds: equal state vectors, equal content, nothing pending, and the stored
 * updates replay to the live server document.
 *
 * Server-agnostic on purpose: `urlFor` spreads clients over one server or a cluster, and
 * `serverDocs` names every server-side replica of a document.
 */
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { DocumentStore } from '@skein/server';
import { connectProvider, killProviderSocket } from './clients.js';
import { hasPending, stateVectorHex } from './docs.js';
import { waitFor } from './wait.js';
import { chance, contentJson, int, pick, randomEdits, type Prng } from './random-edits.js';

export interface FleetOptions {
  /** Where client `index` connects (round-robin over servers in a cluster). */
  readonly urlFor: (index: number) => string;
  readonly docNames: readonly string[];
  readonly clients: number;
  /** Draw each client's Yjs client id from this generator, so a seed replays conflicts too. */
  readonly gen?: Prng;
}

export interface FleetClient {
  readonly index: number;
  readonly docName: string;
  readonly provider: WebsocketProvider;
  readonly doc: Y.Doc;
}

export interface Fleet {
  readonly clients: readonly FleetClient[];
  /** Recent actions, newest last (for failure messages). */
  readonly trace: string[];
  /** Closes the server initiated (anything but our own abrupt kill), as `client:code:reason`. */
  readonly unexpectedCloses: string[];
}

const TRACE_LIMIT = 40;

/** Open `clients` providers, client i on `docNames[i % docNames.length]`. */
export function openFleet(opts: FleetOptions): Fleet {
  const unexpectedCloses: string[] = [];
  const clients = Array.from({ length: opts.clients }, (_, index): FleetClient => {
    const docName = opts.docNames[index % opts.docNames.length] ?? 'doc';
    const doc = new Y.Doc();
    if (opts.gen !== undefined) doc.clientID = int(opts.gen, 1, 0x7fffffff);
    const provider = connectProvider(opts.urlFor(index), docName, doc);
    provider.on('connection-close', (event) => {
      // null: we closed it (disconnect()); 1006: our own terminate() (killProviderSocket).
      if (event !== null && event.code !== 1006) unexpectedCloses.push(`${index}:${event.code}:${event.reason}`);
    });
    return { index, docName, provider, doc: provider.doc };
  });
  return { clients, trace: [], unexpectedCloses };
}

function record(fleet: Fleet, line: string): void {
  fleet.trace.push(line);
  if (fleet.trace.length > TRACE_LIMIT) fleet.trace.splice(0, fleet.trace.length - TRACE_LIMIT);
}

export interface RoundOptions {
  /** Probability that an online client goes offline in a round (split between graceful and abrupt). */
  readonly dropRate: number;
  /** Probability that an offline client comes back in a round. */
  readonly returnRate: number;
  /** Probability that a client edits in a round. */
  readonly editRate: number;
  readonly maxEditsPerRound: number;
  /** Probability of waiting, after a round, until every online client matches the server. */
  readonly syncRate: number;
  /** Probability that every client of one document drops at once (so the server may unload it). */
  readonly blackoutRate: number;
}

export const DEFAULT_ROUND: RoundOptions = {
  dropRate: 0.12,
  returnRate: 0.45,
  editRate: 0.7,
  maxEditsPerRound: 4,
  syncRate: 0.35,
  blackoutRate: 0.05,
};

/** One round: random network actions, random edits (online or not), then maybe a sync point. */
export async function randomRound(
  fleet: Fleet,
  gen: Prng,
  serverDocs: (docName: string) => Y.Doc[],
  round: number,
  opts: RoundOptions = DEFAULT_ROUND,
): Promise<void> {
  const blackout = chance(gen, opts.blackoutRate) ? pick(gen, fleet.clients).docName : undefined;
  if (blackout !== undefined) record(fleet, `r${round} blackout of ${blackout}`);
  for (const c of fleet.clients) {
    const p = c.provider;
    if (p.shouldConnect && (c.docName === blackout || chance(gen, opts.dropRate))) {
      if (chance(gen, 0.5)) {
        p.disconnect();
        record(fleet, `r${round} c${c.index} disconnect`);
      } else {
        killProviderSocket(p);
        record(fleet, `r${round} c${c.index} kill`);
      }
    } else if (!p.shouldConnect && chance(gen, opts.returnRate)) {
      p.connect();
      record(fleet, `r${round} c${c.index} connect`);
    }
    if (chance(gen, opts.editRate)) {
      const edits = randomEdits(c.doc, gen, int(gen, 1, opts.maxEditsPerRound));
      record(fleet, `r${round} c${c.index}${p.shouldConnect ? '' : ' (offline)'} ${edits.join(' ')}`);
    }
  }
  if (chance(gen, opts.syncRate)) {
    record(fleet, `r${round} sync point`);
    await waitOnlineSynced(fleet, serverDocs);
  } else {
    // Let some (random) amount of I/O interleave with the next round's edits.
    const ticks = int(gen, 0, 3);
    for (let i = 0; i < ticks; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}

function connectedAndSynced(c: FleetClient): boolean {
  const ws = c.provider.ws;
  // After terminate() the provider still says connected until the close event: check the socket.
  return c.provider.wsconnected && c.provider.synced && ws !== null && ws.readyState === ws.OPEN;
}

function sameAs(a: Y.Doc, b: Y.Doc): boolean {
  return stateVectorHex(a) === stateVectorHex(b) && contentJson(a) === contentJson(b);
}

/** Wait until every online client is synced and equal to every server replica of its document. */
async function waitOnlineSynced(fleet: Fleet, serverDocs: (docName: string) => Y.Doc[]): Promise<void> {
  const online = fleet.clients.filter((c) => c.provider.shouldConnect);
  await waitFor(
    () =>
      online.every((c) => {
        if (!connectedAndSynced(c)) return false;
        const replicas = serverDocs(c.docName);
        return replicas.length > 0 && replicas.every((s) => sameAs(c.doc, s));
      }),
    { what: 'online clients equal to the server', intervalMs: 5 },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${describeClients(fleet, serverDocs).join('\n')}`);
  });
}

/** Connection and sync status of every client against the server replicas of its document. */
export function describeClients(fleet: Fleet, serverDocs: (docName: string) => Y.Doc[]): string[] {
  return fleet.clients.map((c) => {
    const p = c.provider;
    const replicas = serverDocs(c.docName);
    const equal = replicas.length > 0 && replicas.every((s) => sameAs(c.doc, s));
    return (
      `client#${c.index} ${c.docName}: shouldConnect=${p.shouldConnect} wsconnected=${p.wsconnected} ` +
      `synced=${p.synced} readyState=${p.ws?.readyState ?? 'none'} pending=${hasPending(c.doc)} ` +
      `equal=${equal} sv=${svString(c.doc)}` +
      (replicas[0] !== undefined ? ` server sv=${svString(replicas[0])} server pending=${hasPending(replicas[0])}` : ' (no server doc)') +
      (replicas[0] !== undefined && !equal && stateVectorHex(c.doc) === stateVectorHex(replicas[0])
        ? `\n  deletions only here: ${dsDiff(c.doc, replicas[0])}; only on the server: ${dsDiff(replicas[0], c.doc)}` +
          `\n  client: ${contentJson(c.doc)}\n  server: ${contentJson(replicas[0])}`
        : '')
    );
  });
}

/**
 * Bring everyone back, wait until every client is synced and equal to the server, then check
 * the full oracle (and, for each store given, that its updates replay to the live document).
 * Throws with every difference found.
 */
export async function settleAndCheck(
  fleet: Fleet,
  serverDocs: (docName: string) => Y.Doc[],
  stores: DocumentStore | readonly DocumentStore[] = [],
): Promise<void> {
  for (const c of fleet.clients) if (!c.provider.shouldConnect) c.provider.connect();
  record(fleet, 'settle: everyone reconnects');
  await waitFor(() => fleet.clients.every(connectedAndSynced), { what: 'every client connected and synced' });
  const docNames = [...new Set(fleet.clients.map((c) => c.docName))];
  await waitFor(
    () =>
      fleet.clients.every((c) => {
        const replicas = serverDocs(c.docName);
        return replicas.length > 0 && replicas.every((s) => sameAs(c.doc, s));
      }),
    { what: 'every client equal to the server', intervalMs: 5 },
  ).catch((err: unknown) => {
    throw new Error(
      `${(err as Error).message}\n${[...describeClients(fleet, serverDocs), ...describeDifferences(fleet, serverDocs, docNames)].join('\n')}`,
    );
  });
  const problems = describeDifferences(fleet, serverDocs, docNames);
  for (const store of ([] as DocumentStore[]).concat(stores)) {
    for (const name of docNames) problems.push(...(await checkStored(store, name, serverDocs(name))));
  }
  if (fleet.unexpectedCloses.length > 0) problems.push(`server closed connections: ${fleet.unexpectedCloses.join(', ')}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/** Every way the clients and server replicas of each document differ (empty when converged). */
export function describeDifferences(
  fleet: Fleet,
  serverDocs: (docName: string) => Y.Doc[],
  docNames: readonly string[],
): string[] {
  const problems: string[] = [];
  for (const name of docNames) {
    const replicas = serverDocs(name).map((doc, i) => ({ label: `server#${i}`, doc }));
    if (replicas.length === 0) problems.push(`${name}: not loaded on any server`);
    const clients = fleet.clients
      .filter((c) => c.docName === name)
      .map((c) => ({ label: `client#${c.index}${connectedAndSynced(c) ? '' : ' (not synced)'}`, doc: c.doc }));
    const all = [...replicas, ...clients];
    const [ref] = all;
    if (ref === undefined) continue;
    const refSv = stateVectorHex(ref.doc);
    const refContent = contentJson(ref.doc);
    for (const { label, doc } of all) {
      if (hasPending(doc)) problems.push(`${name}: ${label} has pending structs`);
      if (doc === ref.doc) continue;
      if (stateVectorHex(doc) !== refSv) {
        problems.push(`${name}: ${label} state vector ${svString(doc)} ≠ ${ref.label} ${svString(ref.doc)}`);
      }
      const content = contentJson(doc);
      if (content !== refContent) problems.push(`${name}: ${label} content ≠ ${ref.label}:\n  ${content}\n  ${refContent}`);
    }
  }
  return problems;
}

/** The stored updates of `name`, replayed into a fresh doc, equal the live server doc. */
export async function checkStored(store: DocumentStore, name: string, replicas: readonly Y.Doc[]): Promise<string[]> {
  const [live] = replicas;
  if (live === undefined) return [`${name}: not loaded, cannot compare with the store`];
  await store.flush(name);
  const replay = new Y.Doc();
  try {
    for (const update of await store.load(name)) Y.applyUpdate(replay, update);
    const problems: string[] = [];
    if (hasPending(replay)) problems.push(`${name}: stored updates leave pending structs`);
    if (stateVectorHex(replay) !== stateVectorHex(live)) {
      problems.push(`${name}: stored state vector ${svString(replay)} ≠ live ${svString(live)}`);
    }
    if (contentJson(replay) !== contentJson(live)) problems.push(`${name}: stored content ≠ live content`);
    return problems;
  } finally {
    replay.destroy();
  }
}

/** Deleted ids (`client:clock`) in `a` but not in `b`. */
function dsDiff(a: Y.Doc, b: Y.Doc): string {
  const ids = (doc: Y.Doc): Set<string> => {
    const out = new Set<string>();
    for (const [client, items] of Y.snapshot(doc).ds.clients) {
      for (const { clock, len } of items) for (let i = 0; i < len; i++) out.add(`${client}:${clock + i}`);
    }
    return out;
  };
  const inB = ids(b);
  return JSON.stringify([...ids(a)].filter((id) => !inB.has(id)));
}

function svString(doc: Y.Doc): string {
  const sv = Y.decodeStateVector(Y.encodeStateVector(doc));
  return JSON.stringify([...sv.entries()].sort(([a], [b]) => a - b));
}
