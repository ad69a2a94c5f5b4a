import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeSchema } from '../config/describe.js';
import { CONFIG_FILE_ENV, CONFIG_FILE_FLAG } from '../config/load.js';
import { OPTIONS, type Config, type OptionSpec } from '../config/schema.js';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import { findDocIdByName } from '../persistence/doc-reader.js';
import { encodeName, metaKey, nameKey } from '../persistence/key-layout.js';
import type { KvBatchOptions, KvEntry, KvOp, KvRange, KvStore } from '../persistence/kv-store.js';
import { LevelKv } from '../persistence/level-kv.js';
import { openLevelStore, type LogStore } from '../persistence/log-store.js';
import { RecordType, decodeMeta, decodeVarUint, readRecord, type DocMeta } from '../persistence/record-codec.js';
import { createLogger } from '../logging/logger.js';
import type { CliIo, CommandArgs, OptionsConfig } from './command.js';
import { configFlagOptions, configFromArgs, formatDefault } from './config-flags.js';

/**
 * What the offline commands (inspect, verify, compact, export, import) share: the subset of
 * config options they take (parsed by the same loader as `serve`, so flag > environment >
 * config file > default holds), opening the LevelDB store with exclusive access, and
 * streaming output with backpressure.
 */

/** Config keys an offline command reads. Every other key may still sit in env or the config file. */
const OFFLINE_KEYS: ReadonlySet<string> = new Set(['dataDir', 'persistenceRules', 'logLevel']);
const OFFLINE_SPECS: readonly OptionSpec[] = (OPTIONS as readonly OptionSpec[]).filter((spec) => OFFLINE_KEYS.has(spec.key));

/** parseArgs options: `--config`, `--data-dir`, `--persistence-rules`, `--log-level`, plus `extra`. */
export function offlineOptions(extra: OptionsConfig = {}): OptionsConfig {
  const all = configFlagOptions();
  const options: OptionsConfig = {};
  for (const flag of [CONFIG_FILE_FLAG, ...OFFLINE_SPECS.map((spec) => spec.flag)]) {
    const option = all[flag];
    if (option !== undefined) options[flag] = option;
  }
  return { ...options, ...extra };
}

/** Descriptions that differ from `serve`'s. */
const OFFLINE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  dataDir: 'Directory of the LevelDB store (the one skein serve uses).',
  persistenceRules: 'Durability strategy rules (as for skein serve): inspect shows the strategy a document gets.',
  logLevel: 'Level of the store\'s JSON logs, written to stderr.',
};

/** The help block of the shared options, after the command's own `lines`. */
export function offlineHelp(lines: readonly string[]): string {
  const out = ['Options:', ...lines];
  out.push(
    `  --${CONFIG_FILE_FLAG} <file>`,
    `      JSON config file (as for skein serve). Env ${CONFIG_FILE_ENV}.`,
  );
  for (const spec of OFFLINE_SPECS) {
    out.push(
      `  --${spec.flag} ${describeSchema(spec.schema).placeholder}`,
      `      ${OFFLINE_DESCRIPTIONS[spec.key] ?? spec.description}`,
      `      Env ${spec.env}, file key "${spec.key}", default ${formatDefault(spec)}.`,
    );
  }
  out.push(
    '  -h, --help',
    '      Show this help.',
    '',
    'The server must be stopped: LevelDB allows one process per data directory. A flag beats',
    'its environment variable, which beats the config file, which beats the default.',
  );
  return out.join('\n');
}

/** Positionals `min`..`max`, else a usage error naming the command. */
export function positionals(args: CommandArgs, command: string, names: readonly string[], min: number): string[] {
  const given = args.positionals;
  if (given.length < min) {
    throw new SkeinError('SKEIN_ERR_USAGE', `skein ${command} needs ${names.slice(given.length, min).map((n) => `<${n}>`).join(' ')} (see skein ${command} --help)`);
  }
  if (given.length > names.length) {
    throw new SkeinError('SKEIN_ERR_USAGE', `unexpected argument "${given[names.length] ?? ''}" for skein ${command} (see skein ${command} --help)`);
  }
  return [...given];
}

export interface OfflineStore {
  readonly config: Config;
  /** Absolute path of the data directory. */
  readonly dir: string;
  readonly store: LogStore;
  /** The key-value store under `store`, for read-only lookups; counts what scans read. */
  readonly kv: ScanCountingKv;
}

/**
 * Open the store of `--data-dir` for one offline command, run `work`, close it.
 * `create`: an absent or empty directory becomes a new store (import); otherwise it must
 * already hold a LevelDB (`SKEIN_ERR_STORAGE_OPEN` if not), so a mistyped path never
 * silently shows an empty store. `read`: as `existing`, and a store of an older format
 * version is not marked with the current one (the command only reads). A store locked by a
 * running server fails at once.
 */
export async function withOfflineStore<T>(
  args: CommandArgs,
  io: CliIo,
  mode: 'read' | 'existing' | 'create',
  work: (offline: OfflineStore) => Promise<T>,
): Promise<T> {
  const config = configFromArgs(args, io);
  const dir = resolve(config.dataDir);
  if (mode !== 'create') await requireStore(dir);
  const kv = new ScanCountingKv(await openKv(dir));
  const logger = createLogger(config.logLevel, io.stderr);
  // Background compaction off: an offline command changes only what it was asked to.
  const store = await openLevelStore({ kv, logger, rules: config.persistenceRules, compaction: { enabled: false }, upgradeFormat: mode !== 'read' });
  kv.scanned = 0;
  const offline: OfflineStore = { config, dir, store, kv };
  let result: T;
  try {
    result = await work(offline);
  } catch (err) {
    await store.closeWithReport({ timeoutMs: 10_000 }).catch(() => undefined);
    throw err;
  }
  await store.close();
  return result;
}

async function requireStore(dir: string): Promise<void> {
  const found = await stat(join(dir, 'CURRENT')).then((s) => s.isFile(), () => false);
  if (!found) {
    throw new SkeinError('SKEIN_ERR_STORAGE_OPEN', `no Skein store at ${dir} (set --data-dir or SKEIN_DATA_DIR to the directory skein serve uses)`);
  }
}

async function openKv(dir: string): Promise<KvStore> {
  try {
    return await LevelKv.open(dir);
  } catch (err) {
    if (hasCode(err, 'LEVEL_LOCKED')) {
      throw new SkeinError('SKEIN_ERR_STORAGE_OPEN', `the store at ${dir} is in use by another process (is skein serve running? stop it first)`, { cause: err });
    }
    const detail = err instanceof Error && err.cause instanceof Error ? err.cause.message : toSkeinError(err).message;
    throw new SkeinError('SKEIN_ERR_STORAGE_OPEN', `cannot open the store at ${dir}: ${detail}`, { cause: err });
  }
}

function hasCode(err: unknown, code: string): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    if ('code' in e && e.code === code) return true;
    e = 'cause' in e ? e.cause : undefined;
  }
  return false;
}

/** Counts entries read by range scans (the progress of `verify`). */
export class ScanCountingKv implements KvStore {
  readonly #inner: KvStore;
  /** Entries read by range scans (reset it before the scan to measure). */
  scanned = 0;
  /** Called for every entry a range scan reads. */
  onScan: (() => void) | undefined;

  constructor(inner: KvStore) {
    this.#inner = inner;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#inner.get(key);
  }

  batch(ops: readonly KvOp[], options: KvBatchOptions): Promise<void> {
    return this.#inner.batch(ops, options);
  }

  iterate(range: KvRange): AsyncIterable<KvEntry> {
    return { [Symbol.asyncIterator]: () => this.#counting(range) };
  }

  async *#counting(range: KvRange): AsyncGenerator<KvEntry> {
    for await (const entry of this.#inner.iterate(range)) {
      this.scanned++;
      this.onScan?.();
      yield entry;
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

export interface StoredDocument {
  readonly name: string;
  readonly docId: number;
  /** `null` when the metadata record is missing or damaged (see `problem`). */
  readonly meta: DocMeta | null;
  readonly problem: string | null;
}

/**
 * Find a document without changing anything: name index → metadata (falling back to a
 * metadata scan when the index record is damaged). `SKEIN_ERR_DOC_NOT_FOUND` when the store
 * has never held it, `SKEIN_ERR_BAD_DOC_NAME` for a name no document can have.
 */
export async function findDocument(kv: KvStore, name: string): Promise<StoredDocument> {
  const nameBytes = encodeName(name);
  if (nameBytes === undefined) {
    throw new SkeinError('SKEIN_ERR_BAD_DOC_NAME', 'a document name must be 1 to 255 bytes of well-formed UTF-8');
  }
  const key = nameKey(nameBytes);
  const raw = await kv.get(key);
  if (raw === undefined) throw new SkeinError('SKEIN_ERR_DOC_NOT_FOUND', `no document named ${JSON.stringify(name)} in the store`);
  const index = readRecord(key, raw, RecordType.NameIndex, decodeVarUint);
  let problem: string | null = null;
  let docId: number;
  if (index.ok) docId = index.value;
  else {
    const found = await findDocIdByName(kv, name);
    if (found === undefined) {
      throw new SkeinError('SKEIN_ERR_STORAGE_CORRUPT_RECORD', `the name-index record of ${JSON.stringify(name)} is damaged (${index.damage}) and no metadata names the document`);
    }
    docId = found;
    problem = `name-index record ${index.damage} (document found through its metadata)`;
  }
  const mKey = metaKey(docId);
  const rawMeta = await kv.get(mKey);
  const meta = rawMeta === undefined ? undefined : readRecord(mKey, rawMeta, RecordType.Meta, decodeMeta);
  if (meta === undefined) return { name, docId, meta: null, problem: 'metadata missing' };
  if (!meta.ok) return { name, docId, meta: null, problem: `metadata ${meta.damage}` };
  return { name, docId, meta: meta.value, problem };
}

/** Write to a stream, waiting for `drain` when its buffer is full (a huge listing stays in constant memory). */
export async function emit(stream: NodeJS.WritableStream, chunk: string | Uint8Array): Promise<void> {
  if (stream.write(chunk)) return;
  await new Promise<void>((done) => {
    const finish = (): void => {
      stream.off('drain', finish);
      stream.off('error', finish);
      stream.off('close', finish);
      done();
    };
    stream.once('drain', finish);
    stream.once('error', finish);
    stream.once('close', finish);
  });
}

export function isoTime(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : '-';
}
