import { checkUpdate, openSnapshot } from '../persistence/doc-reader.js';
import { DocKind, docRange, parseDocKey } from '../persistence/key-layout.js';
import type { KvStore } from '../persistence/kv-store.js';
import type { DocumentInfo } from '../persistence/maintenance.js';
import { RecordType, decodeClocks, decodePayload, openRecord, readRecord, type DocMeta } from '../persistence/record-codec.js';
import type { Strategy } from '../persistence/strategy-rules.js';
import type { CliCommand, CliIo } from './command.js';
import { emit, findDocument, isoTime, offlineHelp, offlineOptions, positionals, withOfflineStore, type OfflineStore } from './offline-store.js';
import { startProgress } from './progress.js';

/**
 * `skein inspect [document]`: every document with its size and last change (streamed from
 * the name index, constant memory), or the details of one document.
 */
export const inspectCommand: CliCommand = {
  name: 'inspect',
  summary: 'List the stored documents, or show one document in detail (server stopped).',
  usage: '[document] [options]',
  options: offlineOptions({ json: { type: 'boolean' } }),
  allowPositionals: true,
  helpBody: () =>
    offlineHelp([
      '  --json',
      '      Machine-readable output: a JSON array of documents, or one JSON object.',
    ]) +
    '\n\nWithout a document: one line per document (updates in the log since the last snapshot,\n' +
    'updates ever appended, bytes stored, last modified, name), streamed in name order.\n' +
    'With a document (its stored name, not URL-encoded): metadata, snapshot, log, the clients of\n' +
    'its state vector, the durability strategy the rules give it, and a scan of its records.',
  async run(args, io) {
    const [name] = positionals(args, 'inspect', ['document'], 0);
    const json = args.values['json'] === true;
    return withOfflineStore(args, io, 'read', (offline) =>
      name === undefined ? listDocuments(offline, io, json) : showDocument(offline, io, name, json),
    );
  },
};

interface Totals {
  documents: number;
  updates: number;
  bytes: number;
  problems: number;
}

async function listDocuments(offline: OfflineStore, io: CliIo, json: boolean): Promise<number> {
  const progress = startProgress(io.stderr, 'inspect', 'documents');
  const totals: Totals = { documents: 0, updates: 0, bytes: 0, problems: 0 };
  if (json) await emit(io.stdout, '[');
  else await emit(io.stdout, `${'LOG'.padStart(8)} ${'TOTAL'.padStart(10)} ${'BYTES'.padStart(12)}  ${'LAST MODIFIED'.padEnd(24)}  NAME\n`);
  for await (const info of offline.store.documents()) {
    progress.tick();
    const row = listRow(info);
    totals.documents++;
    totals.updates += row.logUpdates;
    totals.bytes += row.bytes;
    if (info.problem !== null) totals.problems++;
    if (json) await emit(io.stdout, `${totals.documents === 1 ? '\n' : ',\n'}  ${JSON.stringify(row)}`);
    else await emit(io.stdout, textRow(row));
  }
  progress.done();
  if (json) await emit(io.stdout, totals.documents === 0 ? ']\n' : '\n]\n');
  else {
    const damaged = totals.problems === 0 ? '' : `, ${totals.problems} with damaged metadata (run skein verify)`;
    await emit(io.stdout, `${totals.documents} documents, ${totals.updates} updates in logs, ${totals.bytes} bytes${damaged}\n`);
  }
  return 0;
}

interface ListRow {
  readonly name: string;
  readonly logUpdates: number;
  readonly totalUpdates: number;
  readonly snapshotBytes: number;
  readonly logBytes: number;
  readonly bytes: number;
  readonly updatedAt: string;
  readonly problem: string | null;
}

function listRow(info: DocumentInfo): ListRow {
  const m = info.meta;
  return {
    name: info.name,
    logUpdates: m?.logCount ?? 0,
    totalUpdates: m?.totalUpdates ?? 0,
    snapshotBytes: m?.snapshotBytes ?? 0,
    logBytes: m?.logBytes ?? 0,
    bytes: (m?.snapshotBytes ?? 0) + (m?.logBytes ?? 0),
    updatedAt: m === null ? '-' : isoTime(m.updatedAt),
    problem: info.problem,
  };
}

function textRow(row: ListRow): string {
  const problem = row.problem === null ? '' : `  [${row.problem}]`;
  return `${String(row.logUpdates).padStart(8)} ${String(row.totalUpdates).padStart(10)} ${String(row.bytes).padStart(12)}  ${row.updatedAt.padEnd(24)}  ${JSON.stringify(row.name).slice(1, -1)}${problem}\n`;
}

interface RecordScan {
  snapshots: number;
  snapshotBytes: number;
  /** Updates after the newest intact snapshot (the log a load applies). */
  updates: number;
  updateBytes: number;
  /** Updates already in the newest snapshot, kept to back the previous snapshot generation. */
  retained: number;
  retainedBytes: number;
  damaged: number;
  firstSeq: number | null;
  lastSeq: number | null;
}

async function showDocument(offline: OfflineStore, io: CliIo, name: string, json: boolean): Promise<number> {
  const found = await findDocument(offline.kv, name);
  const scan = await scanRecords(offline.kv, found.docId);
  const strategy = offline.store.strategyFor(name);
  const meta = found.meta;
  const clients = meta === null ? [] : [...decodeClocks(meta.stateVector)].map(([client, clock]) => ({ client, clock }));
  clients.sort((a, b) => a.client - b.client);
  if (json) {
    const body = {
      name, docId: found.docId, problem: found.problem, strategy,
      meta: meta === null ? null : metaJson(meta),
      records: scan,
      stateVector: clients,
    };
    await emit(io.stdout, `${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  const lines = [
    ['document', JSON.stringify(name)],
    ['id', String(found.docId)],
    ['strategy', describeStrategy(strategy)],
  ];
  if (found.problem !== null) lines.push(['problem', `${found.problem} (run skein verify)`]);
  if (meta !== null) {
    lines.push(
      ['created', isoTime(meta.createdAt)],
      ['modified', isoTime(meta.updatedAt)],
      ['snapshot', meta.snapshotSeq === 0 ? 'none' : `covers seq 1..${meta.snapshotSeq}, ${meta.snapshotBytes} bytes`],
      ['log', `${meta.logCount} updates after the snapshot, ${meta.logBytes} bytes (last seq ${meta.lastSeq})`],
      ['appended', `${meta.totalUpdates} updates ever`],
    );
  }
  const seqs = scan.firstSeq === null ? '' : `, seq ${scan.firstSeq}..${scan.lastSeq ?? scan.firstSeq}`;
  lines.push(
    ['on disk', `${scan.snapshots} snapshot(s) ${scan.snapshotBytes} bytes, ${scan.updates} update(s) ${scan.updateBytes} bytes${seqs}, ${scan.retained} retained update(s) ${scan.retainedBytes} bytes, ${scan.damaged} damaged`],
    ['clients', `${clients.length} in the state vector`],
  );
  const text = lines.map(([k, v]) => `${(k ?? '').padEnd(10)}${v ?? ''}`).join('\n');
  const clientLines = clients.map((c) => `  client ${c.client}: clock ${c.clock}`).join('\n');
  await emit(io.stdout, `${text}\n${clientLines === '' ? '' : `${clientLines}\n`}`);
  return 0;
}

/** Count the document's records on disk, checking each (streamed: nothing is kept). */
async function scanRecords(kv: KvStore, docId: number): Promise<RecordScan> {
  const scan: RecordScan = {
    snapshots: 0, snapshotBytes: 0, updates: 0, updateBytes: 0, retained: 0, retainedBytes: 0, damaged: 0, firstSeq: null, lastSeq: null,
  };
  let newestSnapshot = 0; // snapshots sort before updates: known before the first update
  for await (const { key, value } of kv.iterate(docRange(docId))) {
    const parts = parseDocKey(key);
    const isSnapshot = parts?.kind === DocKind.Snapshot;
    if (parts?.kind === DocKind.SnapshotPart) {
      // A chunked snapshot's bytes (counted with its manifest, which sorts before them).
      if (openRecord(key, value, RecordType.SnapshotPart).ok) scan.snapshotBytes += value.length;
      else scan.damaged++;
      continue;
    }
    if (parts === undefined || (!isSnapshot && parts.kind !== DocKind.Update)) {
      scan.damaged++;
      continue;
    }
    const intact = isSnapshot ? snapshotIntact(key, value) : readRecord(key, value, RecordType.Update, checkUpdate).ok;
    if (!intact) {
      scan.damaged++;
    } else if (isSnapshot) {
      scan.snapshots++;
      scan.snapshotBytes += value.length;
      newestSnapshot = parts.seq;
    } else if (parts.seq <= newestSnapshot) {
      scan.retained++;
      scan.retainedBytes += value.length;
    } else {
      scan.updates++;
      scan.updateBytes += value.length;
      scan.firstSeq ??= parts.seq;
      scan.lastSeq = parts.seq;
    }
  }
  return scan;
}

/** A whole snapshot that decodes, or a chunked snapshot's intact manifest (its parts are counted one by one). */
function snapshotIntact(key: Uint8Array, value: Uint8Array): boolean {
  const head = openSnapshot(key, value);
  if (!head.ok) return false;
  return !('whole' in head.value) || decodePayload(head.value.whole, checkUpdate).ok;
}

function metaJson(meta: DocMeta): Record<string, unknown> {
  return {
    createdAt: isoTime(meta.createdAt),
    updatedAt: isoTime(meta.updatedAt),
    lastSeq: meta.lastSeq,
    snapshotSeq: meta.snapshotSeq,
    snapshotBytes: meta.snapshotBytes,
    logUpdates: meta.logCount,
    logBytes: meta.logBytes,
    totalUpdates: meta.totalUpdates,
  };
}

function describeStrategy(strategy: Strategy): string {
  return strategy.kind === 'immediate'
    ? 'immediate (each update synced to disk before it is acknowledged)'
    : `debounced (written ${strategy.waitMs} ms after the last update, at most ${strategy.maxWaitMs} ms after the first)`;
}
