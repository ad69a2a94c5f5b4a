import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import * as Y from 'yjs';
import { encodeSyncStep1, encodeSyncUpdate } from '@skein/protocol';
import {
  MemoryKv, openLevelStore, type KvBatchOptions, type KvEntry, type KvOp, type KvRange, type KvStore, type LogStore,
} from '../../server/src/persistence/index.js';
import type { AppendOptions, AppendResult, DocumentStore } from '../../server/src/persistence/store.js';
import { DEFAULT_CONFIG, type Config } from '../../server/src/config/schema.js';
import { startServer, type ServerDeps, type SkeinServer } from '../../server/src/server.js';
import { silentLogger, type Logger } from '../../server/src/logging/logger.js';
import type { Telemetry } from '../../server/src/telemetry/telemetry.js';
import { CLI_MAIN } from '../helpers/cli-server.js';

/**
 * A `KvStore` over `MemoryKv` whose batches can be made to fail, to be slow, or to be dropped
 * silently (reported as written, never stored: what a lying disk does). Reads pass through.
 */
export class FaultyKv implements KvStore {
  readonly inner = new MemoryKv();
  /** Batches to fail from now on (Infinity: until changed). */
  failBatches = 0;
  /** Delay of every batch (ms). */
  delayMs = 0;
  /** Accept batches without storing them. */
  dropBatches = false;
  batches = 0;

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  async batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void> {
    this.batches++;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.failBatches > 0) {
      this.failBatches--;
      throw Object.assign(new Error('injected I/O error'), { code: 'LEVEL_IO_ERROR' });
    }
    if (this.dropBatches) return;
    await this.inner.batch(ops, options);
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    return this.inner.iterate(range);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A store whose `load` waits for `release()` (the rest delegates): holds a document in `loading`. */
export class LoadGate implements DocumentStore {
  readonly #inner: DocumentStore;
  #release!: () => void;
  readonly #open = new Promise<void>((resolve) => (this.#release = resolve));
  waiting = 0;

  constructor(inner: DocumentStore) {
    this.#inner = inner;
  }

  release(): void {
    this.#release();
  }

  async load(name: string): Promise<readonly Uint8Array[]> {
    this.waiting++;
    await this.#open;
    return this.#inner.load(name);
  }

  append(name: string, update: Uint8Array, options?: AppendOptions): Promise<AppendResult | void> {
    return this.#inner.append(name, update, options);
  }

  flush(name: string): Promise<void> {
    return this.#inner.flush(name);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** A LevelDB-engine store over a (faulty) in-memory KV, with the given telemetry. */
export async function levelStoreOn(
  kv: KvStore, telemetry: Telemetry, logger: Logger = silentLogger(), retry = { initialDelayMs: 10, maxDelayMs: 50 },
): Promise<LogStore> {
  return openLevelStore({ kv, logger, telemetry, retry });
}

/** A real server in this process on a free port, with injected store and telemetry. */
export function startInProcess(
  deps: { readonly store: DocumentStore; readonly telemetry: Telemetry; readonly logger?: Logger; readonly health?: ServerDeps['health'] },
  overrides: Partial<Config> = {},
): Promise<SkeinServer> {
  const config: Config = Object.freeze({ ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0, storage: 'memory', logLevel: 'silent', ...overrides });
  return startServer(config, {
    logger: deps.logger ?? silentLogger(), store: deps.store, telemetry: deps.telemetry, ...(deps.health === undefined ? {} : { health: deps.health }),
  });
}

export { capturingLogger } from '../helpers/logs.js';

/** A Yjs client replica producing sync frames: `edit(k, v)` returns the update frame. */
export class Editor {
  readonly doc: Y.Doc;

  constructor(clientId: number) {
    this.doc = new Y.Doc();
    this.doc.clientID = clientId;
  }

  syncStep1(): Uint8Array {
    return encodeSyncStep1(Y.encodeStateVector(this.doc));
  }

  edit(key: string, value: unknown): Uint8Array {
    const before = Y.encodeStateVector(this.doc);
    this.doc.getMap('m').set(key, value);
    return encodeSyncUpdate(Y.encodeStateAsUpdate(this.doc, before));
  }
}

// ---------------------------------------------------------------------------------------------
// Out of process: the real CLI, an OTLP/HTTP receiver, Prometheus

/** `skein serve` as a child process with extra environment variables; resolves once listening. */
export interface ServeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export function serveWithEnv(args: readonly string[], env: Readonly<Record<string, string>>): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise<ServeProcess>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const entry = safeJson(line);
      if (entry?.msg === 'listening' && typeof entry.port === 'number') {
        const stop = async (): Promise<number | null> => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        };
        resolve({ child, port: entry.port, lines, exited, stop });
      }
    });
    void exited.then((code) => reject(new Error(`skein serve exited (${code}) before listening:\n${stderr}${lines.join('\n')}`)));
  });
}

function safeJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A span as OTLP/JSON carries it (the fields the tests read). */
export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes?: readonly { key: string; value: Record<string, unknown> }[];
  readonly links?: readonly { traceId: string; spanId: string }[];
  /** service.instance.id of the resource that sent it. */
  service: string;
  instance: string;
}

/**
 * A real OTLP/HTTP receiver: a node:http server accepting `POST /v1/traces` with the JSON
 * protocol (what the exporter sends) and keeping every span with its resource's identity.
 */
export class OtlpReceiver {
  readonly spans: OtlpSpan[] = [];
  readonly requests: { path: string; contentType: string }[] = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver(createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        receiver.requests.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '' });
        try {
          receiver.#ingest(JSON.parse(Buffer.concat(chunks).toString('utf8')) as TracesRequest);
          res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
        } catch {
          res.writeHead(400).end();
        }
      });
    }));
    await new Promise<void>((resolve) => receiver.#server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #ingest(body: TracesRequest): void {
    for (const rs of body.resourceSpans ?? []) {
      const attrs = rs.resource?.attributes ?? [];
      const text = (key: string): string => {
        const value = attrs.find((a) => a.key === key)?.value.stringValue;
        return typeof value === 'string' ? value : '';
      };
      const service = text('service.name');
      const instance = text('service.instance.id');
      for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) this.spans.push({ ...span, service, instance });
    }
  }
}

interface TracesRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: Record<string, unknown> }[] };
    scopeSpans?: { spans?: Omit<OtlpSpan, 'service' | 'instance'>[] }[];
  }[];
}

export function otlpAttr(span: OtlpSpan, key: string): unknown {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  if (value === undefined) return undefined;
  return value.stringValue ?? (value.intValue === undefined ? undefined : Number(value.intValue)) ?? value.doubleValue ?? value.boolValue;
}
