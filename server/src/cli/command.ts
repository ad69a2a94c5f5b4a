import type { ParseArgsConfig } from 'node:util';
import type { TextValues } from '../config/load.js';

/** The process surface a command may touch; `main.ts` passes the real one, tests their own. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Environment variables (the only place `process.env` enters the server). */
  readonly env: TextValues;
}

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** A command line after strict parsing (`--help` is handled before `run`). */
export interface CommandArgs {
  readonly values: Readonly<Record<string, string | boolean | ReadonlyArray<string | boolean> | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * One `skein <name>` subcommand. Each lives in its own file under `cli/` and is listed in
 * `commands.ts`. The dispatcher parses the arguments strictly against `options` (plus
 * `-h/--help`), so a command never sees an unknown flag.
 *
 * `run` resolves with the process exit status; to fail, throw a `SkeinError` (the dispatcher
 * prints `skein: <code>: <message>` and exits with the code's exit status).
 */
export interface CliCommand {
  readonly name: string;
  /** One line for the command list in `skein --help`. */
  readonly summary: string;
  /** What follows `skein <name>` in the usage line, e.g. `[options]` or `<document> [options]`. */
  readonly usage: string;
  /** `node:util` parseArgs options, without `help`. */
  readonly options: OptionsConfig;
  readonly allowPositionals?: boolean;
  /** Also print `helpBody()` in `skein --help` (for the main command). */
  readonly inRootHelp?: boolean;
  /** Help text after the usage and summary lines: options, examples. */
  helpBody(): string;
  run(args: CommandArgs, io: CliIo): Promise<number>;
}
