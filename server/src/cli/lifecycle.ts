import { toSkeinError } from '../errors/skein-error.js';
import type { Logger } from '../logging/logger.js';

/** What a shutdown signal closes: the started server. */
export interface Closable {
  close(): Promise<unknown>;
}

/** `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface ShutdownOptions {
  readonly logger: Logger;
  /** How long closing may take, counted from the first signal, before giving up (status 1). */
  readonly timeoutMs: number;
  readonly signals?: SignalSource;
}

export interface Shutdown {
  /** Resolves with the exit status once a signal has stopped the server (see `handleShutdownSignals`). */
  readonly done: Promise<number>;
  /** Hand over the started server. A signal that came while it was starting closes it now. */
  attach(server: Closable): void;
}

/**
 * Listen for SIGINT/SIGTERM *before* the server starts (a supervisor may signal at any time;
 * without a listener the process would die by the signal, skipping the graceful close):
 * - first signal: `server.close()` (as soon as the server is attached); 0 when it resolves
 *   within `timeoutMs`, 1 when it rejects or the time runs out (logged with a code);
 * - a second signal while closing: 1 at once (the operator insists).
 *
 * The listeners stay until the process exits (the caller exits with the status right away),
 * so a late signal can never fall back to the default "die by signal" behaviour.
 */
export function handleShutdownSignals(options: ShutdownOptions): Shutdown {
  const { logger, timeoutMs } = options;
  const signals = options.signals ?? process;
  let server: Closable | undefined;
  let closing = false;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveDone: (status: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  const finish = (status: number): void => {
    if (settled) return;
    settled = true;
    if (timer !== undefined) clearTimeout(timer);
    logger.info({ exitStatus: status }, 'exiting');
    resolveDone(status);
  };
  const close = (target: Closable): void => {
    target.close().then(
      () => finish(0),
      (err: unknown) => {
        const error = toSkeinError(err);
        logger.error({ err: error, code: error.code }, 'shutdown failed');
        finish(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (settled) return;
    if (closing) {
      logger.warn({ signal }, 'second signal while shutting down, exiting now');
      finish(1);
      return;
    }
    closing = true;
    logger.info({ signal, timeoutMs }, 'signal received, closing the server');
    timer = setTimeout(() => {
      logger.error({ code: 'SKEIN_ERR_SHUTDOWN_TIMEOUT', timeoutMs }, `shutdown did not finish within ${timeoutMs} ms`);
      finish(1);
    }, timeoutMs);
    if (server !== undefined) close(server);
  };
  for (const signal of SHUTDOWN_SIGNALS) signals.on(signal, onSignal);
  return {
    done,
    attach(target) {
      if (server !== undefined) throw new Error('a server is already attached');
      server = target;
      if (closing && !settled) close(target);
    },
  };
}

/** `process`, or an EventEmitter in tests. */
export interface CrashSource {
  on(event: 'uncaughtException', listener: (err: Error) => void): unknown;
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  off(event: 'uncaughtException', listener: (err: Error) => void): unknown;
  off(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
}

export interface CrashOptions {
  readonly logger: Logger;
  readonly stderr: NodeJS.WritableStream;
  readonly exit?: (status: number) => void;
  readonly source?: CrashSource;
}

/**
 * Fail fast: an uncaught exception or unhandled rejection is logged with
 * `SKEIN_ERR_INTERNAL`, reported on stderr in one line, and the process exits with 1 (state
 * after an unexpected throw cannot be trusted). Returns a function that removes the handlers.
 */
export function installCrashHandlers(options: CrashOptions): () => void {
  const { logger, stderr } = options;
  const exit = options.exit ?? ((status: number) => process.exit(status));
  const source = options.source ?? process;
  const crash = (what: string, reason: unknown): void => {
    const message = reason instanceof Error ? reason.message : String(reason);
    logger.fatal({ err: reason, code: 'SKEIN_ERR_INTERNAL' }, what);
    stderr.write(`skein: SKEIN_ERR_INTERNAL: ${what}: ${message.replace(/\s*[\r\n]+\s*/g, ' ')}\n`);
    exit(1);
  };
  const onException = (err: Error): void => crash('uncaught exception', err);
  const onRejection = (reason: unknown): void => crash('unhandled rejection', reason);
  source.on('uncaughtException', onException);
  source.on('unhandledRejection', onRejection);
  return () => {
    source.off('uncaughtException', onException);
    source.off('unhandledRejection', onRejection);
  };
}
