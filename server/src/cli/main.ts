#!/usr/bin/env node
/**
 * The `skein` executable: wires the real process (argv, stdout, stderr, env) into `runCli`.
 * The only place in the server that reads `process.env`.
 */
import { COMMANDS } from './commands.js';
import { runCli } from './run.js';

const status = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }, COMMANDS);
await Promise.all([drain(process.stdout), drain(process.stderr)]);
// Exit explicitly: a command is done when it returns, whatever handles a dependency left open.
process.exit(status);

function drain(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}
