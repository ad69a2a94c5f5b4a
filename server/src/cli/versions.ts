import { systemClock } from '../clock/clock.js';
import { stateToJson } from '../crdt/doc-json.js';
import type { VersionInfo } from '../documents/ports.js';
import { DocumentRegistry } from '../documents/registry.js';
import { SkeinError } from '../errors/skein-error.js';
import { History } from '../history/history.js';
import { createLogger } from '../logging/logger.js';
import type { CliCommand } from './command.js';
import { emit, findDocument, isoTime, offlineHelp, offlineOptions, withOfflineStore, type OfflineStore } from './offline-store.js';

const ACTIONS = ['list', 'show', 'restore'] as const;

/**
 * `skein versions list|show|restore`: the version history of a document in a stopped data
 * directory. `restore` runs the same saga as `POST /api/v1/docs/{name}/versions/{id}/restore`
 * (a "before restore" version first, then a forward update through the document's one edit
 * path, durable when the command exits 0).
 */
export const versionsCommand: CliCommand = {
  name: 'versions',
  summary: 'List, show or restore the versions of a stored document (server stopped).',
  usage: '<list|show|restore> <document> [<version-id>] [options]',
  options: offlineOptions({ json: { type: 'boolean' } }),
  allowPositionals: true,
  helpBody: () =>
    offlineHelp(['  --json', '      Machine-readable output.']) +
    '\n\n  skein versions list <document>            every version, oldest first\n' +
    '  skein versions show <document> <id>       one version: metadata and content as JSON\n' +
    '  skein versions restore <document> <id>    make the document equal to the version (a forward\n' +
    '                                            update; a "before restore" version is taken first)',
  async run(args, io) {
    const [given, name = '', rawId] = args.positionals;
    const action = ACTIONS.find((a) => a === given);
    if (action === undefined) {
      throw new SkeinError('SKEIN_ERR_USAGE', `skein versions needs one of ${ACTIONS.join(', ')} (see skein versions --help)`);
    }
    if (name === '') throw new SkeinError('SKEIN_ERR_USAGE', `skein versions ${action} needs <document>`);
    const needsId = action !== 'list';
    if (needsId !== (rawId !== undefined) || args.positionals.length > 3) {
      throw new SkeinError('SKEIN_ERR_USAGE', needsId ? `skein versions ${action} needs <document> <version-id>` : 'skein versions list takes only <document>');
    }
    const id = rawId === undefined ? 0 : Number(rawId);
    if (needsId && (!Number.isSafeInteger(id) || id < 1)) throw new SkeinError('SKEIN_ERR_USAGE', `not a version id: ${JSON.stringify(rawId)}`);
    const json = args.values['json'] === true;
    return withOfflineStore(args, io, 'existing', async (offline) => {
      await findDocument(offline.kv, name);
      const history = openHistory(offline, io.stderr);
      try {
        switch (action) {
          case 'list': {
            const versions = await history.history.list(name);
            await emit(io.stdout, json ? `${JSON.stringify({ document: name, versions: versions.map(plain) })}\n` : listText(name, versions));
            return 0;
          }
          case 'show': {
            const { info, state } = await history.history.read(name, id);
            const content = stateToJson(state);
            await emit(io.stdout, json ? `${JSON.stringify({ document: name, version: plain(info), content })}\n` : `${line(info)}\n${JSON.stringify(content, null, 2)}\n`);
            return 0;
          }
          case 'restore': {
            const result = await history.history.restore(name, id, 'cli');
            const report = { document: name, restored: plain(result.restored), before: plain(result.before), changed: result.changed };
            await emit(io.stdout, json ? `${JSON.stringify(report)}\n` : `versions: restored ${JSON.stringify(name)} to version ${id}${result.changed ? '' : ' (it already was equal)'}; the previous state is version ${result.before.id}\n`);
            return 0;
          }
        }
      } finally {
        await history.close();
      }
    });
  },
};

/** History over the offline store (no automatic versions, no retention). */
function openHistory(offline: OfflineStore, stderr: NodeJS.WritableStream): { history: History; close(): Promise<void> } {
  const logger = createLogger(offline.config.logLevel === 'info' ? 'warn' : offline.config.logLevel, stderr);
  const registry = new DocumentRegistry({ store: offline.store, logger, unloadDelayMs: 0, loadTimeoutMs: offline.config.loadTimeoutMs });
  const history = new History({ registry, store: offline.store, clock: systemClock, logger, intervalMs: 0, keep: { count: 0, maxAgeMs: 0 } });
  return {
    history,
    close: async () => {
      await history.stop();
      const unflushed = await registry.close();
      if (unflushed.length > 0) throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', `could not make ${unflushed.join(', ')} durable`);
    },
  };
}

function plain(info: VersionInfo): Record<string, unknown> {
  return { ...info, createdAt: isoTime(info.createdAt) };
}

function line(info: VersionInfo): string {
  return `${String(info.id).padStart(4)}  ${isoTime(info.createdAt)}  ${info.kind.padEnd(14)}  ${String(info.bytes).padStart(9)} B  ${info.user}  ${info.label}`;
}

function listText(name: string, versions: readonly VersionInfo[]): string {
  if (versions.length === 0) return `${JSON.stringify(name)} has no versions\n`;
  return `${versions.map(line).join('\n')}\n`;
}
