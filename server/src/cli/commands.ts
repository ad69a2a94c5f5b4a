import type { CliCommand } from './command.js';
import { compactCommand } from './compact.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { inspectCommand } from './inspect.js';
import { serveCommand } from './serve.js';
import { tokenCommand } from './token.js';
import { verifyCommand } from './verify.js';
import { versionsCommand } from './versions.js';

/**
 * Every `skein` subcommand, in the order `skein --help` lists them. To add one, write
 * `cli/<name>.ts` exporting a `CliCommand` and append it here.
 */
export const COMMANDS: readonly CliCommand[] = [
  serveCommand,
  inspectCommand,
  verifyCommand,
  compactCommand,
  exportCommand,
  importCommand,
  versionsCommand,
  tokenCommand,
];
