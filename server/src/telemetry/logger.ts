import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (pino). Never log update payloads, tokens or document content:
 * document names, sizes, codes and counts only.
 */
export function createLogger(
  level: LoggerOptions['level'] = 'info',
  destination?: NodeJS.WritableStream,
): Logger {
  const options: LoggerOptions = {
    level: level ?? 'info',
    base: { service: 'skein' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(options) : pino(options, destination as pino.DestinationStream);
}

/** A logger that discards everything (tests, library embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
