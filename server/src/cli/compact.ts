import { toSkeinError } from '../errors/skein-error.js';
import type { CliCommand, CliIo } from './command.js';
import { emit, findDocument, offlineHelp, offlineOptions, positionals, withOfflineStore, type OfflineStore } from './offline-store.js';
import { startProgress } from './progress.js';

interface CompactTotals {
  documents: number;
  compacted: number;
  mergedUpdates: number;
  quarantined: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Compactions whose merge ran in the worker thread (large documents). */
  offThread: number;
  readonly failed: { readonly name: string; readonly code: string }[];
}

/**
 * `skein compact [document]`: merge each document's log into its snapshot now, one document
 * at a time (each compaction is one atomic batch; memory holds one document at a time).
 */
export const compactCommand: CliCommand = {
  name: 'compact',
  summary: 'Merge the update log of one document, or of every document, into a snapshot (server stopped).',
  usage: '[document] [options]',
  options: offlineOptions({ json: { type: 'boolean' } }),
  allowPositionals: true,
  helpBody: () =>
    offlineHelp(['  --json', '      Machine-readable report.']) +
    '\n\nEach document is compacted in one atomic batch (a crash leaves the old state or the new\n' +
    'one). Damaged records found on the way are quarantined. Exit status 1 when a document\n' +
    'could not be compacted (the others still are).',
  async run(args, io) {
    const [name] = positionals(args, 'compact', ['document'], 0);
    const json = args.values['json'] === true;
    return withOfflineStore(args, io, 'existing', async (offline) => {
      const totals: CompactTotals = { documents: 0, compacted: 0, mergedUpdates: 0, quarantined: 0, bytesBefore: 0, bytesAfter: 0, offThread: 0, failed: [] };
      if (name !== undefined) {
        await findDocument(offline.kv, name);
        await compactOne(offline, name, totals, false);
      } else {
        await compactAll(offline, io, totals);
      }
      totals.offThread = offline.store.stats().compactionsOffThread;
      await emit(io.stdout, json ? `${JSON.stringify(totals)}\n` : report(totals));
      return totals.failed.length === 0 ? 0 : 1;
    });
  },
};

async function compactAll(offline: OfflineStore, io: CliIo, totals: CompactTotals): Promise<void> {
  // Counting first costs one scan of the name index; only worth it when a bar is drawn.
  let total: number | undefined;
  if ('isTTY' in io.stderr && io.stderr.isTTY === true) {
    total = 0;
    for await (const _ of offline.store.documents()) total++;
  }
  const progress = startProgress(io.stderr, 'compact', 'documents', total);
  // The listing iterator reads a snapshot of the name index; compactions write other keys.
  for await (const info of offline.store.documents()) {
    await compactOne(offline, info.name, totals, true);
    progress.tick();
  }
  progress.done();
}

async function compactOne(offline: OfflineStore, name: string, totals: CompactTotals, keepGoing: boolean): Promise<void> {
  const before = await findDocument(offline.kv, name).catch(() => undefined);
  totals.documents++;
  try {
    const report = await offline.store.compact(name);
    totals.compacted += report.compacted;
    totals.mergedUpdates += report.mergedUpdates;
    totals.quarantined += report.quarantined;
  } catch (err) {
    if (!keepGoing) throw err;
    totals.failed.push({ name, code: toSkeinError(err).code });
  }
  const after = await findDocument(offline.kv, name).catch(() => undefined);
  totals.bytesBefore += (before?.meta?.snapshotBytes ?? 0) + (before?.meta?.logBytes ?? 0);
  totals.bytesAfter += (after?.meta?.snapshotBytes ?? 0) + (after?.meta?.logBytes ?? 0);
}

function report(t: CompactTotals): string {
  const lines = [
    `compact: ${t.compacted} of ${t.documents} documents compacted, ${t.mergedUpdates} updates merged, ` +
      `${t.bytesBefore} -> ${t.bytesAfter} bytes, ${t.quarantined} damaged records quarantined`,
  ];
  for (const f of t.failed) lines.push(`${f.code} failed to compact ${JSON.stringify(f.name)}`);
  return `${lines.join('\n')}\n`;
}
