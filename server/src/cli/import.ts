import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as Y from 'yjs';
import { SkeinError } from '../errors/skein-error.js';
import type { CliCommand } from './command.js';
import { emit, findDocument, offlineHelp, offlineOptions, positionals, withOfflineStore } from './offline-store.js';

/**
 * `skein import <document> <file>`: merge a Yjs update file into a document. Importing is a
 * CRDT merge (never a replace): repeating it, or importing into a document that changed since
 * the export, is safe. The update is durable when the command exits 0, whatever the
 * document's strategy.
 */
export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Merge a Yjs update file (e.g. from skein export) into a document (server stopped).',
  usage: '<document> <file> [options]',
  options: offlineOptions({ json: { type: 'boolean' } }),
  allowPositionals: true,
  helpBody: () =>
    offlineHelp(['  --json', '      Machine-readable report.']) +
    '\n\n<file> holds one Yjs update (V1 encoding, as written by skein export --format update or\n' +
    'Y.encodeStateAsUpdate; /dev/stdin reads a pipe). The document is created if it does not\n' +
    'exist, and the data directory too. Content the document already holds is not duplicated.',
  async run(args, io) {
    const [name = '', file = ''] = positionals(args, 'import', ['document', 'file'], 2);
    const update = await readInput(file);
    validate(update, file);
    return withOfflineStore(args, io, 'create', async (offline) => {
      const existed = await findDocument(offline.kv, name).then(() => true, (err: unknown) => {
        if (err instanceof SkeinError && err.code === 'SKEIN_ERR_DOC_NOT_FOUND') return false;
        throw err;
      });
      await offline.store.importUpdate(name, update);
      const after = await findDocument(offline.kv, name);
      const report = {
        document: name,
        bytes: update.length,
        created: !existed,
        clients: after.meta === null ? null : Y.decodeStateVector(after.meta.stateVector).size,
        dataDir: offline.dir,
      };
      await emit(
        io.stdout,
        args.values['json'] === true
          ? `${JSON.stringify(report)}\n`
          : `import: merged ${report.bytes} bytes into ${existed ? '' : 'new document '}${JSON.stringify(name)} in ${offline.dir}\n`,
      );
      return 0;
    });
  },
};

async function readInput(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(resolve(file)));
  } catch (err) {
    const reason = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err);
    throw new SkeinError('SKEIN_ERR_CLI_FILE', `cannot read ${resolve(file)}: ${reason}`, { cause: err });
  }
}

/** Decode the whole update before opening the store: garbage is refused and nothing is written. */
function validate(update: Uint8Array, file: string): void {
  const what = file;
  if (update.length === 0) throw new SkeinError('SKEIN_ERR_INVALID_UPDATE', `${what} is empty, not a Yjs update; nothing was imported`);
  try {
    Y.decodeUpdate(update);
  } catch (err) {
    throw new SkeinError('SKEIN_ERR_INVALID_UPDATE', `${what} is not a Yjs update (V1); nothing was imported`, { cause: err });
  }
}
