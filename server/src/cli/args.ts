import { parseArgs } from 'node:util';
import { closest } from '../config/suggest.js';
import { SkeinError } from '../errors/skein-error.js';
import type { CommandArgs, OptionsConfig } from './command.js';

export interface ParsedCommandLine extends CommandArgs {
  readonly help: boolean;
}

/**
 * Parse `args` strictly against `options` plus `-h/--help`. Any parse failure becomes a
 * `SkeinError('SKEIN_ERR_USAGE')` with a one-line message naming the offending token.
 *
 * @param label how the user invoked it, e.g. `skein serve` (used in messages)
 * @param hint extra advice for an unknown option, e.g. that it belongs after a command
 */
export function parseCommandLine(
  label: string,
  args: readonly string[],
  options: OptionsConfig,
  allowPositionals: boolean,
  hint?: (option: string) => string | undefined,
): ParsedCommandLine {
  const all: OptionsConfig = { ...options, help: { type: 'boolean', short: 'h' } };
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: all, strict: true, allowPositionals });
    const { help, ...rest } = values;
    return { help: help === true, values: rest, positionals };
  } catch (err) {
    throw usageError(err, label, Object.keys(all), hint);
  }
}

function usageError(
  err: unknown,
  label: string,
  optionNames: readonly string[],
  hint: ((option: string) => string | undefined) | undefined,
): unknown {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_') || !(err instanceof Error)) return err;
  const see = `see ${label} --help`;
  // Node quotes the token: "Unknown option '--prot'", "Option '--port <value>' argument missing",
  // "Option '-h, --help' does not take an argument", "Unexpected argument 'x'".
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? '';
  const token = (quoted.split(', ').pop() ?? quoted).split(' ')[0] ?? quoted;
  let message: string;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const extra = hint?.(token) ?? didYouMean(token, optionNames);
    message = `unknown option ${token} for ${label} (${extra === undefined ? '' : `${extra} `}${see})`;
  } else if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    message = `unexpected argument "${token}" for ${label} (${see})`;
  } else if (/argument missing|ambiguous/.test(err.message)) {
    message = `option ${token} needs a value (for a value starting with "-", write ${token}=<value>; ${see})`;
  } else if (/does not take an argument/.test(err.message)) {
    message = `option ${token} does not take a value (${see})`;
  } else {
    message = `${err.message.split('\n')[0] ?? err.message} (${see})`;
  }
  return new SkeinError('SKEIN_ERR_USAGE', message, { cause: err });
}

function didYouMean(token: string, optionNames: readonly string[]): string | undefined {
  if (!token.startsWith('--')) return undefined;
  const guess = closest(token.slice(2), optionNames);
  return guess === undefined ? undefined : `did you mean --${guess}?`;
}
