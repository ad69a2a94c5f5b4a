import { closest } from '../config/suggest.js';
import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import { boundRunMerges } from '../crdt/runs.js';
import { VERSION } from '../version.js';
import { parseCommandLine } from './args.js';
import type { CliCommand, CliIo } from './command.js';
import { commandHelp, rootHelp } from './help.js';

/**
 * Run `skein <args>` and resolve with the exit status; never rejects. Errors are printed on
 * stderr as one line, `skein: <code>: <message>`, and exit with their code's exit status
 * (2 for SKEIN_ERR_USAGE and SKEIN_ERR_CONFIG_INVALID, 1 otherwise).
 */
export async function runCli(args: readonly string[], io: CliIo, commands: readonly CliCommand[]): Promise<number> {
  // Offline commands load, compact and restore documents in this process too (crdt/runs.ts).
  boundRunMerges();
  try {
    return await dispatch(args, io, commands);
  } catch (err) {
    const error = toSkeinError(err);
    io.stderr.write(`skein: ${error.code}: ${error.message.replace(/\s*[\r\n]+\s*/g, ' ')}\n`);
    return error.spec.exitCode ?? 1;
  }
}

async function dispatch(args: readonly string[], io: CliIo, commands: readonly CliCommand[]): Promise<number> {
  // Global flags come before the command; everything after it belongs to the command.
  const at = args.findIndex((arg) => !arg.startsWith('-'));
  const global = parseCommandLine(
    'skein',
    at === -1 ? args : args.slice(0, at),
    { version: { type: 'boolean' } },
    false,
    (option) => ownerHint(option, commands),
  );
  const name = at === -1 ? undefined : args[at];
  if (global.help || name === undefined) {
    if (global.values['version'] === true && !global.help) return write(io.stdout, `${VERSION}\n`);
    return write(io.stdout, rootHelp(commands, VERSION));
  }
  if (global.values['version'] === true) return write(io.stdout, `${VERSION}\n`);
  const rest = args.slice(at + 1);
  if (name === 'help') return help(rest, io, commands);
  const command = findCommand(name, commands);
  const parsed = parseCommandLine(`skein ${name}`, rest, command.options, command.allowPositionals ?? false);
  if (parsed.help) return write(io.stdout, commandHelp(command));
  return command.run(parsed, io);
}

function help(args: readonly string[], io: CliIo, commands: readonly CliCommand[]): number {
  const parsed = parseCommandLine('skein help', args, {}, true);
  const name = parsed.positionals[0];
  if (parsed.positionals.length > 1) {
    throw new SkeinError('SKEIN_ERR_USAGE', `unexpected argument "${parsed.positionals[1] ?? ''}" for skein help (see skein --help)`);
  }
  if (name === undefined || name === 'help') return write(io.stdout, rootHelp(commands, VERSION));
  return write(io.stdout, commandHelp(findCommand(name, commands)));
}

function findCommand(name: string, commands: readonly CliCommand[]): CliCommand {
  const command = commands.find((c) => c.name === name);
  if (command !== undefined) return command;
  const guess = closest(name, [...commands.map((c) => c.name), 'help']);
  const hint = guess === undefined ? '' : `did you mean "${guess}"? `;
  throw new SkeinError('SKEIN_ERR_USAGE', `unknown command "${name}" (${hint}see skein --help)`);
}

/** For `skein --port 80 serve`: say the option belongs after the command. */
function ownerHint(option: string, commands: readonly CliCommand[]): string | undefined {
  const flag = option.replace(/^-+/, '');
  const owner = commands.find((c) => Object.hasOwn(c.options, flag));
  return owner === undefined ? undefined : `it is an option of "skein ${owner.name}": put it after the command;`;
}

function write(stream: NodeJS.WritableStream, text: string): number {
  stream.write(text);
  return 0;
}
