import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { SPAN } from '../../server/src/telemetry/names.js';
import { connectProvider, destroyAll, synced } from '../helpers/clients.js';
import { DurableClient } from '../helpers/durable-client.js';
import { RedisProcess, redisAvailable } from '../helpers/redis-server.js';
import { freePort, sameDocs } from '../helpers/skein-client.js';
import { waitFor } from '../helpers/wait.js';
import { OtlpReceiver } from '../observability/helpers.js';
import { nginxBinary, NginxProcess } from './nginx.js';
import { SkeinProcess } from './skein-process.js';
import { composeServiceEnv } from './tools.js';

/**
 * What deploy/compose describes, without containers: Debian's nginx, configured from the
 * compose template, in front of two `skein serve` processes configured by the compose file's
 * environment, sharing a real redis-server, exporting traces to an OTLP receiver. Clients
 * connect only through nginx and keep editing while node A is killed with SIGKILL (and
 * restarted) and node B is rolled (SIGTERM, restart). Then: every client reconnected through
 * nginx, all converged, no acknowledged update lost, and one edit's trace spans both nodes.
 * Short by default; EXTENSIVE=1: more documents and clients, three kill/roll rounds.
 */

const EXTENSIVE = process.env['EXTENSIVE'] === '1';
const DOCS_PER_NODE = EXTENSIVE ? 6 : 2;
const DURABLE_PER_DOC = EXTENSIVE ? 3 : 2;
const PROVIDERS_PER_DOC = EXTENSIVE ? 2 : 1;
const ROUNDS = EXTENSIVE ? 3 : 1;
/** Bound on edits per client (the loop also stops when the chaos is over). */
const MAX_EDITS = 5_000;
/** Bound on each wait (a failure's bound only: nothing asserts how fast). */
const PHASE_MS = EXTENSIVE ? 120_000 : 60_000;
/** Edit tick: every durable client and provider makes one edit per tick. */
const TICK_MS = EXTENSIVE ? 50 : 20;
const TEST_TIMEOUT_MS = EXTENSIVE ? 1_800_000 : 300_000;

const nginxBin = nginxBinary();
const haveRedis = redisAvailable();

interface Fixture {
  redis: RedisProcess;
  receiver: OtlpReceiver;
  nginx: NginxProcess;
  nodes: [SkeinProcess, SkeinProcess];
  dirs: string[];
}

let fx: Fixture | undefined;
const durable: DurableClient[] = [];
const providers: WebsocketProvider[] = [];

async function startFixture(): Promise<Fixture> {
  const dirs: string[] = [];
  const redis = await RedisProcess.start();
  const receiver = await OtlpReceiver.start();
  const nodes = await Promise.all(['skein-a', 'skein-b'].map(async (name) => {
    const dataDir = mkdtempSync(join(tmpdir(), `skein-topology-${name}-`));
    dirs.push(dataDir);
    // The compose service's own environment; only addresses, paths and timings changed for loopback.
    const env = {
      ...composeServiceEnv(name),
      SKEIN_HOST: '127.0.0.1',
      SKEIN_DATA_DIR: dataDir,
      SKEIN_STATIC_DIR: '',
      SKEIN_REDIS_URL: redis.url,
      SKEIN_TRUST_PROXY: '127.0.0.1',
      SKEIN_CLUSTER_HEARTBEAT_MS: '200',
      SKEIN_CLUSTER_NODE_TIMEOUT_MS: '1000',
      SKEIN_CLUSTER_ANTI_ENTROPY_MS: '1000',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    const node = new SkeinProcess(name, await freePort(), env);
    await node.start();
    return node;
  })) as [SkeinProcess, SkeinProcess];
  const nginx = await NginxProcess.start(nginxBin as string, {
    NGINX_PORT: `127.0.0.1:${await freePort()}`,
    SKEIN_UPSTREAM_A: `127.0.0.1:${nodes[0].port}`,
    SKEIN_UPSTREAM_B: `127.0.0.1:${nodes[1].port}`,
  });
  return { redis, receiver, nginx, nodes, dirs };
}

/** Which node nginx sends document `doc` to: open one socket through nginx, see whose count rises. */
async function homeOf(f: Fixture, doc: string): Promise<SkeinProcess> {
  const ws = new WebSocket(`${f.nginx.url}/${doc}`);
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  let home: SkeinProcess | undefined;
  await waitFor(async () => {
    for (const node of f.nodes) if ((await node.readyz()).connections === 1) home = node;
    return home !== undefined;
  }, { what: `home of ${doc}` });
  const closed = new Promise((resolve) => ws.once('close', resolve));
  ws.close();
  await closed;
  await waitFor(async () => (await Promise.all(f.nodes.map((n) => n.readyz()))).every((r) => r.connections === 0), { what: 'probe closed' });
  return home as SkeinProcess;
}

const totalConnections = async (f: Fixture): Promise<number[]> => Promise.all(f.nodes.map(async (n) => (n.running ? (await n.readyz()).connections : 0)));
/** Where the clients stand (in a timeout's message). */
async function state(f: Fixture): Promise<string> {
  const codes = new Map<number, number>();
  for (const c of durable) for (const [code, n] of c.closeCodes) codes.set(code, (codes.get(code) ?? 0) + n);
  return `connections per node ${JSON.stringify(await totalConnections(f))}; durable ready ${durable.filter((c) => c.ready).length}/${durable.length}; ` +
    `providers ready ${providers.filter((p) => p.wsconnected && p.synced).length}/${providers.length}; close codes ${JSON.stringify([...codes])}`;
}

/** waitFor, with where the clients stand when it times out. */
async function settle(f: Fixture, predicate: () => Promise<boolean> | boolean, what: string): Promise<void> {
  try {
    await waitFor(predicate, { what, timeoutMs: PHASE_MS });
  } catch (err) {
    const statuses = new Map<string, number>();
    for (const line of f.nginx.accessLog().split('\n')) {
      const key = /" (\d{3}) .* upstream=(.*)$/.exec(line)?.slice(1).join(' ');
      if (key !== undefined) statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    const warnings = f.nodes.flatMap((n) => n.lines.filter((l) => /"level":(40|50|60)/.test(l)).slice(-3).map((l) => `${n.name}: ${l}`));
    throw new Error(`${err instanceof Error ? err.message : String(err)}: ${await state(f)}\nnginx statuses ${JSON.stringify([...statuses])}\n` +
      `nginx errors: ${f.nginx.errors().split('\n').slice(-3).join('\n')}\nnode warnings:\n${warnings.join('\n')}`);
  }
}

const allReady = (): boolean => durable.every((c) => c.ready) && providers.every((p) => p.wsconnected && p.synced);

describe.runIf(nginxBin !== undefined && haveRedis)('deploy topology: nginx → two Skein nodes → Redis, with a SIGKILL and a rolling restart', () => {
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => {
    await Promise.all(durable.map((c) => c.stop()));
    for (const c of durable) c.destroy();
    destroyAll(providers);
    if (fx === undefined) return;
    await fx.nginx.stop();
    await Promise.all(fx.nodes.map((n) => n.stop('SIGKILL')));
    await fx.redis.stop();
    await fx.receiver.close();
    for (const dir of fx.dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('every client reconnects through nginx, all converge, 0 acknowledged updates lost, one edit traced across both nodes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const f = fx as Fixture;
    const [a, b] = f.nodes;
    // Documents with a known home: DOCS_PER_NODE on each node.
    const docs: string[] = [];
    const perNode = new Map<SkeinProcess, number>([[a, 0], [b, 0]]);
    for (let i = 0; docs.length < 2 * DOCS_PER_NODE; i++) {
      if (i > 200) throw new Error('nginx sent 200 documents to one node: no hashing?');
      const doc = `board-${i}`;
      const home = await homeOf(f, doc);
      if ((perNode.get(home) ?? 0) >= DOCS_PER_NODE) continue;
      perNode.set(home, (perNode.get(home) ?? 0) + 1);
      docs.push(doc);
    }

    // Clients, through nginx only.
    let clientId = 1000;
    for (const doc of docs) {
      for (let k = 0; k < DURABLE_PER_DOC; k++) {
        const client = new DurableClient({ url: () => f.nginx.url, doc, clientId: clientId++, maxDelayMs: 200 });
        durable.push(client);
        client.start();
      }
      for (let k = 0; k < PROVIDERS_PER_DOC; k++) {
        const ydoc = new Y.Doc();
        ydoc.clientID = clientId++;
        providers.push(connectProvider(f.nginx.url, doc, ydoc));
      }
    }
    const clients = durable.length + providers.length;
    await Promise.all(providers.map((p) => synced(p)));
    await waitFor(allReady, { what: 'every client connected and synced', timeoutMs: PHASE_MS });
    expect((await totalConnections(f)).reduce((x, y) => x + y)).toBe(clients);
    expect((await totalConnections(f)).every((n) => n > 0), 'both nodes serve clients').toBe(true);

    // Everyone edits, all along.
    const providerEdits = new Map<WebsocketProvider, number>(providers.map((p) => [p, 0]));
    const timer = setInterval(() => {
      for (const c of durable) if (c.edits < MAX_EDITS) c.edit();
      for (const p of providers) {
        const n = providerEdits.get(p) ?? 0;
        if (n < MAX_EDITS) p.doc.getMap('m').set(`y${p.doc.clientID}:${n}`, n);
        providerEdits.set(p, n + 1);
      }
    }, TICK_MS);

    const ackedBeforeKill = new Map<DurableClient, Set<number>>();
    const figures: string[] = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        await waitFor(() => durable.every((c) => c.acked.size >= 10 * round), { what: 'edits acknowledged on both nodes', timeoutMs: PHASE_MS });

        // 1. kill -9 node A: its clients fail over to B through nginx.
        for (const c of durable) ackedBeforeKill.set(c, new Set(c.acked));
        const connectsBefore = durable.map((c) => c.connects);
        const killedAt = Date.now();
        const killed = await a.stop('SIGKILL');
        expect(killed.signal).toBe('SIGKILL');
        await settle(f, async () => allReady() && (await b.readyz()).connections === clients, 'every client on node B through nginx');
        figures.push(`round ${round}: SIGKILL A → all ${clients} clients on B in ${Date.now() - killedAt} ms`);
        expect(durable.filter((c, i) => c.connects > (connectsBefore[i] ?? 0)).length).toBeGreaterThan(0);
        await a.start();

        // 2. Roll node B: SIGTERM (flush, exit 0), everyone moves to A, B comes back.
        const rolledAt = Date.now();
        let exitedAt = 0;
        const rolling = b.stop('SIGTERM').then((exit) => ((exitedAt = Date.now()), exit));
        await settle(f, async () => allReady() && (await a.readyz()).connections === clients, 'every client on node A through nginx');
        const movedMs = Date.now() - rolledAt;
        expect(await rolling, 'B shut down cleanly within its shutdown timeout').toEqual({ code: 0, signal: null });
        figures.push(`round ${round}: SIGTERM B → all clients on A in ${movedMs} ms, B exited 0 after ${exitedAt - rolledAt} ms`);
        await b.start();
        expect(b.logged('documents not flushed at shutdown')).toEqual([]);
      }
    } finally {
      clearInterval(timer);
    }

    // Every client reconnected at least once per round it lived through on a stopped node; all are back.
    await waitFor(allReady, { what: 'every client connected after the chaos', timeoutMs: PHASE_MS });
    expect(durable.every((c) => c.connects >= 2)).toBe(true);
    await waitFor(() => durable.every((c) => c.unacked === 0), { what: 'every edit acknowledged', timeoutMs: PHASE_MS });

    // Convergence, and nothing acknowledged lost: fresh readers straight on each node.
    for (const doc of docs) {
      const editors = [...durable.filter((c) => c.name === doc).map((c) => c.doc), ...providers.filter((p) => p.roomname === doc).map((p) => p.doc)];
      const readers = f.nodes.map((node, i) => new DurableClient({ url: () => `ws://127.0.0.1:${node.port}`, doc, clientId: 900_000 + i }));
      for (const r of readers) r.start();
      try {
        await waitFor(() => {
          const all = [...editors, ...readers.map((r) => r.doc)];
          return readers.every((r) => r.ready) && all.every((d) => sameDocs(d, all[0] as Y.Doc));
        }, { what: `${doc} converged on both nodes and every client`, timeoutMs: PHASE_MS });
        const map = readers[0]?.doc.getMap('m') as Y.Map<number>;
        for (const c of durable.filter((x) => x.name === doc)) {
          for (const n of ackedBeforeKill.get(c) ?? []) expect(map.has(c.key(n)), `acked ${c.key(n)}`).toBe(true);
          for (let n = 0; n < c.edits; n++) expect(map.has(c.key(n)), `edit ${c.key(n)}`).toBe(true);
        }
      } finally {
        await Promise.all(readers.map((r) => r.stop()));
        for (const r of readers) r.destroy();
      }
    }
    const edits = durable.reduce((n, c) => n + c.edits, 0);
    const acked = [...ackedBeforeKill.values()].reduce((n, s) => n + s.size, 0);

    // One edit, traced across both nodes: made through nginx on one node, fanned out to a client of the other.
    const doc = docs[0] as string;
    const writer = durable.find((c) => c.name === doc) as DurableClient;
    const observers = f.nodes.map((node, i) => new DurableClient({ url: () => `ws://127.0.0.1:${node.port}`, doc, clientId: 910_000 + i }));
    for (const o of observers) o.start();
    await waitFor(() => observers.every((o) => o.ready), { what: 'observers on both nodes' });
    const since = f.receiver.spans.length;
    const n = writer.edit();
    await waitFor(() => observers.every((o) => o.doc.getMap('m').has(writer.key(n))), { what: 'the traced edit on both nodes' });
    await Promise.all(observers.map((o) => o.stop()));
    let crossNode: { traceId: string; instances: string[] } | undefined;
    await waitFor(() => {
      const recent = f.receiver.spans.slice(since);
      for (const apply of recent.filter((s) => s.name === SPAN.updateApply)) {
        const remote = recent.find((s) => s.traceId === apply.traceId && s.name === SPAN.clusterProcess && s.instance !== apply.instance);
        if (remote !== undefined) {
          crossNode = { traceId: apply.traceId, instances: [apply.instance, remote.instance] };
          return true;
        }
      }
      return false;
    }, { what: 'a trace with the apply on one node and the cluster process on the other', timeoutMs: PHASE_MS });
    expect(new Set(crossNode?.instances)).toEqual(new Set(['skein-a', 'skein-b']));
    for (const o of observers) o.destroy();

    // nginx saw the upstreams fail and passed the sockets on; it never logged a query string.
    expect(f.nginx.errors()).toMatch(/connect\(\) failed \(111: Connection refused\) while connecting to upstream/);
    figures.push(`${docs.length} docs, ${clients} clients, ${edits} durable edits (${acked} acknowledged before the last SIGKILL), all present on both nodes`);
    console.log(`[deploy] ${figures.join('\n[deploy] ')}`);
  });
});
