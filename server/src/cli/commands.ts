import type { CliCommand } from './command.js';
import { serveCommand } from './serve.js';

/**
 * Every `skein` subcommand, in the order `skein --help` lists them. To add one, write
 * `cli/<name>.ts` exporting a `CliCommand` and append it here.
 */
export const COMMANDS: readonly CliCommand[] = [serveCommand];
