import { SkeinError, toSkeinError } from '../errors/skein-error.js';
import { startServer, type SkeinServer } from '../server.js';
import { createLogger, type Logger } from '../logging/logger.js';
import type { CliCommand } from './command.js';
import { configFlagOptions, configFromArgs, configOptionsHelp } from './config-flags.js';
import { handleShutdownSignals, installCrashHandlers } from './lifecycle.js';

/**
 * `skein serve`: build the Config, start the server, log `listening`, and stop gracefully on
 * SIGINT/SIGTERM. Exit status: 0 after a clean shutdown; 1 when listening fails, shutdown
 * fails or times out, a second signal arrives, or anything is thrown unexpectedly; 2 for an
 * invalid configuration.
 */
export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Run the sync server (HTTP and WebSocket on one port).',
  usage: '[options]',
  options: configFlagOptions(),
  inRootHelp: true,
  helpBody: () =>
    `${configOptionsHelp()}\n\nLogs are JSON lines on stdout. SIGINT or SIGTERM shuts down gracefully within\n` +
    '--shutdown-timeout-ms; a second signal exits at once.',
  async run(args, io) {
    const config = configFromArgs(args, io);
    // Through io.stdout (synchronous for files and pipes on Linux; drained before exit by
    // main.ts): pino's own async destination can lose the last lines at process.exit.
    const logger = createLogger(config.logLevel, io.stdout);
    installCrashHandlers({ logger, stderr: io.stderr });
    // Before starting: a signal that arrives while the server starts must still close it.
    const shutdown = handleShutdownSignals({ logger, timeoutMs: config.shutdownTimeoutMs });
    const serving = startServer(config, { logger }).then(
      (server) => {
        shutdown.attach({ close: () => closeServer(server) });
        return shutdown.done;
      },
      (err: unknown) => {
        throw startFailure(err, logger, `${config.host}:${config.port}`);
      },
    );
    // `done` can settle first: a second signal or the timeout while the server was starting.
    return await Promise.race([serving, shutdown.done]);
  },
};

async function closeServer(server: SkeinServer): Promise<void> {
  const unflushed = await server.close();
  if (unflushed.length > 0) {
    throw new SkeinError('SKEIN_ERR_STORAGE_WRITE', `${unflushed.length} document(s) not flushed at shutdown`);
  }
}

const LISTEN_ERRNOS = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'ENOTFOUND', 'EAI_AGAIN']);

/** Normalize a startServer failure (log it; the dispatcher prints the one-liner and exits). */
function startFailure(err: unknown, logger: Logger, address: string): SkeinError {
  const errno = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  const error = LISTEN_ERRNOS.has(errno)
    ? new SkeinError('SKEIN_ERR_LISTEN_FAILED', `cannot listen on ${address}: ${errno}`, { cause: err })
    : toSkeinError(err);
  logger.error({ err: error, code: error.code }, 'start failed');
  return error;
}
