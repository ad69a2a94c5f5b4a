import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as Y from 'yjs';
import { SkeinError } from '../errors/skein-error.js';
import { readDocument } from '../persistence/doc-reader.js';
import type { KvStore } from '../persistence/kv-store.js';
import type { CliCommand, CliIo } from './command.js';
import { emit, findDocument, offlineHelp, offlineOptions, positionals, withOfflineStore } from './offline-store.js';
import { isTty } from './progress.js';

const FORMATS = ['update', 'json'] as const;
type Format = (typeof FORMATS)[number];

/**
 * `skein export <document>`: the stored document as one merged Yjs update (lossless, what
 * `skein import` reads) or as JSON. Read-only: damaged records are skipped and reported, never
 * quarantined (that is the server's or `skein compact`'s job).
 */
export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Write a stored document as a Yjs update (lossless) or as JSON (server stopped).',
  usage: '<document> [options]',
  options: offlineOptions({ format: { type: 'string' }, out: { type: 'string' } }),
  allowPositionals: true,
  helpBody: () =>
    offlineHelp([
      '  --format <update|json>',
      '      update (default): every stored update merged into one Yjs update (V1 encoding),',
      '      byte for byte what skein import reads. json: the content of every top-level',
      '      shared type (see docs/operations.md for how each type is rendered).',
      '  --out <file>',
      '      Write to this file (atomically: a temp file renamed into place) instead of stdout.',
    ]) +
    '\n\nThe update format is refused on a terminal: redirect stdout or use --out.',
  async run(args, io) {
    const [name] = positionals(args, 'export', ['document'], 1);
    const format = parseFormat(args.values['format']);
    const out = typeof args.values['out'] === 'string' ? args.values['out'] : undefined;
    if (out === undefined && format === 'update' && isTty(io.stdout)) {
      throw new SkeinError('SKEIN_ERR_USAGE', 'refusing to write a binary Yjs update to a terminal: use --out <file>, redirect stdout, or --format json');
    }
    const update = await withOfflineStore(args, io, 'read', (offline) => readMerged(offline.kv, name ?? '', io));
    const bytes = format === 'update' ? update : new TextEncoder().encode(`${JSON.stringify(docToJson(update), null, 2)}\n`);
    if (out === undefined) await emit(io.stdout, bytes);
    else await writeAtomically(out, bytes);
    return 0;
  },
};

function parseFormat(value: unknown): Format {
  if (value === undefined) return 'update';
  const found = FORMATS.find((f) => f === value);
  if (found === undefined) {
    throw new SkeinError('SKEIN_ERR_USAGE', `invalid value for --format: expected one of ${FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return found;
}

/** The snapshot and intact updates of the document, merged; damaged records are skipped with a warning. */
async function readMerged(kv: KvStore, name: string, io: CliIo): Promise<Uint8Array> {
  const found = await findDocument(kv, name);
  const contents = await readDocument(kv, found.docId);
  if (contents.damaged.length > 0) {
    await emit(io.stderr, `skein: warning: ${contents.damaged.length} damaged record(s) of ${JSON.stringify(name)} skipped (run skein verify)\n`);
  }
  const parts = contents.snapshot === undefined ? [] : [contents.snapshot.bytes];
  for (const u of contents.updates) parts.push(u.bytes);
  try {
    return parts.length === 1 ? (parts[0] ?? new Uint8Array()) : Y.mergeUpdates(parts);
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_STORAGE_CORRUPT_RECORD', `the records of ${JSON.stringify(name)} could not be merged`, { cause: err });
  }
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, bytes, { flag: 'wx' });
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    const reason = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err);
    throw new SkeinError('SKEIN_ERR_CLI_FILE', `cannot write ${target}: ${reason}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------
// JSON rendering

export type RootKind = 'map' | 'array' | 'text' | 'xml' | 'unknown';
type RootType = NonNullable<ReturnType<Y.Doc['share']['get']>>;

/**
 * The document as JSON: `{ <top-level name>: <content> }`. An update does not say which kind
 * each top-level type is (that is decided by the code calling `getMap`/`getText`/…), so the
 * kind is inferred from what the type holds:
 * - keyed entries and no list content → Y.Map → an object (nested types rendered by their `toJSON`);
 * - strings, formatting marks or embeds → Y.Text → its plain text (formatting and embeds are not kept);
 * - XML elements or XML text → Y.XmlFragment → its XML serialization as a string;
 * - any other list content → Y.Array → an array;
 * - nothing left to tell (every item deleted) → `null`.
 */
function docToJson(update: Uint8Array): Record<string, unknown> {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, update);
    const out: Record<string, unknown> = {};
    for (const key of [...doc.share.keys()].sort()) {
      const type = doc.share.get(key);
      if (type !== undefined) out[key] = renderRoot(doc, key, inferKind(type));
    }
    return out;
  } finally {
    doc.destroy();
  }
}

function inferKind(type: RootType): RootKind {
  if (type instanceof Y.Map) return 'map';
  if (type instanceof Y.Text) return 'text';
  if (type instanceof Y.XmlFragment) return 'xml';
  if (type instanceof Y.Array) return 'array';
  let kind: RootKind = 'unknown';
  for (let item = type._start; item !== null; item = item.right) {
    const content = item.content;
    if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) return 'text';
    if (content instanceof Y.ContentAny || content instanceof Y.ContentJSON || content instanceof Y.ContentBinary || content instanceof Y.ContentDoc) return 'array';
    if (content instanceof Y.ContentType) {
      const inner = content.type;
      if (inner instanceof Y.XmlElement || inner instanceof Y.XmlText || inner instanceof Y.XmlHook) return 'xml';
      kind = 'array'; // a Y.Text may embed a type too: keep looking for text content
    }
  }
  if (kind !== 'unknown') return kind;
  return type._map.size > 0 ? 'map' : 'unknown';
}

function renderRoot(doc: Y.Doc, key: string, kind: RootKind): unknown {
  switch (kind) {
    case 'map':
      return doc.getMap(key).toJSON();
    case 'array':
      return doc.getArray(key).toJSON();
    case 'text':
      return doc.getText(key).toJSON();
    case 'xml':
      return doc.getXmlFragment(key).toJSON();
    case 'unknown':
      return null;
  }
}
