import type { VerifyProblem, VerifyProblemKind } from '../persistence/maintenance.js';
import type { CliCommand } from './command.js';
import { emit, offlineHelp, offlineOptions, positionals, withOfflineStore } from './offline-store.js';
import { startProgress } from './progress.js';

/**
 * Findings that mean the live data is damaged or inconsistent: exit status 1. `stale`
 * (already merged into a snapshot) is harmless, and `quarantined` records are damage the
 * server already moved aside (listed, so an operator sees what was lost; exit status 0).
 */
const DAMAGE: ReadonlySet<VerifyProblemKind> = new Set(['damaged', 'orphan', 'index-mismatch', 'unknown-key']);

/** `skein verify`: check the checksum and decoding of every record, read-only, in one scan. */
export const verifyCommand: CliCommand = {
  name: 'verify',
  summary: 'Check every stored record (checksums, decoding, index); exit 1 on damage (server stopped).',
  usage: '[options]',
  options: offlineOptions({ json: { type: 'boolean' } }),
  helpBody: () =>
    offlineHelp(['  --json', '      Machine-readable output: { ok, records, counts, problems: [...] }.']) +
    '\n\nOne line per finding: its error code (or "-" when harmless), kind, document, sequence\n' +
    'number, key (hex) and what is wrong. Kinds: damaged (checksum, type or decoding), orphan\n' +
    '(records without metadata), index-mismatch, unknown-key, stale (harmless: already merged\n' +
    'into a snapshot), quarantined (a damaged record the server already moved aside).\n' +
    'Exit status: 0 when the live records are intact (stale and quarantined findings allowed),\n' +
    '1 when anything is damaged. Nothing is repaired: starting the server (or skein compact)\n' +
    'quarantines damaged records of a document when it is loaded.',
  async run(args, io) {
    positionals(args, 'verify', [], 0);
    const json = args.values['json'] === true;
    return withOfflineStore(args, io, 'read', async (offline) => {
      const progress = startProgress(io.stderr, 'verify', 'records');
      offline.kv.onScan = () => progress.tick();
      offline.kv.scanned = 0;
      const counts: Partial<Record<VerifyProblemKind, number>> = {};
      let damage = 0;
      if (json) await emit(io.stdout, '{"problems":[');
      let n = 0;
      for await (const problem of offline.store.verify()) {
        counts[problem.kind] = (counts[problem.kind] ?? 0) + 1;
        if (DAMAGE.has(problem.kind)) damage++;
        progress.done();
        await emit(io.stdout, json ? `${n === 0 ? '\n' : ',\n'}  ${JSON.stringify(problem)}` : textLine(problem));
        n++;
      }
      progress.done();
      offline.kv.onScan = undefined;
      const records = offline.kv.scanned;
      if (json) {
        await emit(io.stdout, `${n === 0 ? '' : '\n'}],\n"ok":${damage === 0},"records":${records},"counts":${JSON.stringify(counts)}}\n`);
      } else {
        await emit(io.stdout, summary(records, damage, counts));
      }
      return damage === 0 ? 0 : 1;
    });
  },
};

function textLine(p: VerifyProblem): string {
  const doc = p.doc === null ? '-' : JSON.stringify(p.doc);
  return `${p.code ?? '-'} ${p.kind} doc=${doc} seq=${p.seq ?? '-'} key=${p.key}: ${p.detail}\n`;
}

function summary(records: number, damage: number, counts: Partial<Record<VerifyProblemKind, number>>): string {
  const found = Object.entries(counts).map(([kind, count]) => `${count} ${kind}`).join(', ');
  const verdict = damage === 0 ? 'OK' : `DAMAGED (${damage} problem${damage === 1 ? '' : 's'})`;
  return `verify: ${records} records checked: ${verdict}${found === '' ? '' : `; ${found}`}\n`;
}
