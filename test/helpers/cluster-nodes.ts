import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCliServer, stopCliServer, type CliServer } from './cli-server.js';

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
