import {
  ROOT_CONTEXT, TraceFlags, context, isSpanContextValid, trace, type Context, type SpanContext,
} from '@opentelemetry/api';

/**
 * W3C Trace Context (`traceparent`, https://www.w3.org/TR/trace-context/) for carriers that are
 * not HTTP headers: the cluster envelope's `traceparent` field. Version 00 only:
 * `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The `traceparent` of the span active in `ctx` (default: the active context), or `''` when
 * there is none — always `''` while tracing is off, so an envelope costs no bytes for it.
 */
export function injectTraceContext(ctx: Context = context.active()): string {
  const span = trace.getSpan(ctx);
  if (span === undefined) return '';
  return formatTraceparent(span.spanContext());
}

/** `traceparent` text of a span context; `''` for an invalid one. */
export function formatTraceparent(sc: SpanContext): string {
  if (!isSpanContextValid(sc)) return '';
  const flags = (sc.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${sc.traceId}-${sc.spanId}-${flags}`;
}

/** The remote span context a `traceparent` names, or undefined when empty or malformed. */
export function parseTraceparent(traceparent: string): SpanContext | undefined {
  if (traceparent === '') return undefined;
  const m = TRACEPARENT.exec(traceparent);
  if (m === null) return undefined;
  const [, traceId = '', spanId = '', flags = '00'] = m;
  const sc: SpanContext = { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
  return isSpanContextValid(sc) ? sc : undefined;
}

/**
 * A context whose parent span is the one `traceparent` names (on top of `base`, default the
 * root context); `base` itself when the text is empty or malformed (never throws: a bad
 * header from another node must not break message handling).
 */
export function extractTraceContext(traceparent: string, base: Context = ROOT_CONTEXT): Context {
  const sc = parseTraceparent(traceparent);
  return sc === undefined ? base : trace.setSpanContext(base, sc);
}
