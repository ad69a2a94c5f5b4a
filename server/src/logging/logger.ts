import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Log lines written inside a span carry its ids (`trace_id`, `span_id`, `trace_flags`), so a
 * log search by trace id finds them and Grafana can jump from a log line to the trace. Outside
 * a span (and always while tracing is off) nothing is added.
 */
function traceIds(): object {
  const sc = trace.getSpan(context.active())?.spanContext();
  // A fresh object every time: pino merges the log call's fields into it.
  if (sc === undefined || !isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${sc.traceFlags.toString(16)}`.slice(-2) };
}

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
    mixin: traceIds,
  };
  return destination === undefined ? pino(options) : pino(options, destination as pino.DestinationStream);
}

/** A logger that discards everything (tests, library embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
