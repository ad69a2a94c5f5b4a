import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import type { SkeinProvider } from '@skein/client';
import { startCliServer, stopCliServer, type CliServer } from './cli-server.js';
import { destroyAll } from './clients.js';
import { RedisProcess } from './redis-server.js';

/** One `skein serve` process of a cluster, with its own data directory. */
export interface SkeinNode {
  readonly name: string;
  readonly dataDir: string;
  readonly server: CliServer;
  readonly url: string;
}

export interface NodeOptions {
  readonly name: string;
  /** `--redis-url` (standalone) or `--redis-cluster-nodes` seeds. */
  readonly redis: { readonly url: string } | { readonly clusterNodes: string };
  readonly ack?: 'local' | 'cluster';
  readonly dataDir?: string;
  readonly extra?: readonly string[];
}

/**
 * Start a real cluster node: `node server/dist/cli/main.js serve --port 0 --data-dir D
 * --redis-url ...` with the test-friendly cluster timings of the defaults.
 */
export async function startNode(options: NodeOptions): Promise<SkeinNode> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `skein-node-${options.name}-`));
  const redis = 'url' in options.redis ? ['--redis-url', options.redis.url] : ['--redis-cluster-nodes', options.redis.clusterNodes];
  const server = await startCliServer([
    '--port', '0', '--data-dir', dataDir, '--node-id', options.name, '--cluster-ack', options.ack ?? 'local',
    '--unload-delay-ms', '500', ...redis, ...(options.extra ?? []),
  ]);
  return { name: options.name, dataDir, server, url: server.url };
}

export async function stopNode(node: SkeinNode, signal: NodeJS.Signals = 'SIGTERM', removeData = true): Promise<void> {
  await stopCliServer(node.server, signal);
  if (removeData) rmSync(node.dataDir, { recursive: true, force: true });
}

/** Parsed JSON log lines of a node matching `msg`. */
export function logLines(node: SkeinNode, msg: string): Record<string, unknown>[] {
  return node.server.lines
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((entry) => entry.msg === msg);
}

/** GET /readyz of a node. */
export async function readyz(node: SkeinNode): Promise<{ status: number; body: { status?: string; reasons?: { code: string }[] } }> {
  const res = await fetch(`http://127.0.0.1:${node.server.port}/readyz`);
  return { status: res.status, body: (await res.json()) as { status?: string; reasons?: { code: string }[] } };
}

/** What a cluster test shares: one real redis-server, its nodes and the clients to clean up. */
export interface ClusterFixture {
  /** Set in `beforeAll`. */
  readonly redis: RedisProcess;
  readonly nodes: SkeinNode[];
  readonly providers: WebsocketProvider[];
  readonly skeins: SkeinProvider[];
}

/**
 * Register the hooks of a cluster suite (call inside `describe`): a real `redis-server` per
 * suite; `nodeNames` nodes started once for the suite (or none: the tests start their own
 * and push them to `nodes`); clients destroyed after each test; nodes started by a test
 * stopped after it when `stopNodesAfterEach`.
 */
export function useClusterFixture(
  nodeNames: readonly string[],
  { stopNodesAfterEach = false }: { stopNodesAfterEach?: boolean } = {},
): ClusterFixture {
  let redis: RedisProcess | undefined;
  const fixture = {
    get redis(): RedisProcess {
      if (redis === undefined) throw new Error('the cluster fixture starts Redis in beforeAll');
      return redis;
    },
    nodes: [] as SkeinNode[],
    providers: [] as WebsocketProvider[],
    skeins: [] as SkeinProvider[],
  };
  beforeAll(async () => {
    const started = await RedisProcess.start();
    redis = started;
    fixture.nodes.push(...(await Promise.all(nodeNames.map((name) => startNode({ name, redis: { url: started.url } })))));
  });
  afterEach(async () => {
    destroyAll(fixture.providers.splice(0));
    for (const s of fixture.skeins.splice(0)) void s.destroy();
    if (stopNodesAfterEach) await Promise.all(fixture.nodes.splice(0).map((n) => stopNode(n)));
  });
  afterAll(async () => {
    await Promise.all(fixture.nodes.splice(0).map((n) => stopNode(n)));
    await redis?.stop();
  });
  return fixture;
}
