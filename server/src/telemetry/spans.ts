import {
  ROOT_CONTEXT, SpanStatusCode, context, isSpanContextValid, trace,
  type Context, type Link, type Span, type SpanContext, type SpanKind, type Tracer,
} from '@opentelemetry/api';
import { ATTR } from './names.js';

/** Most links one batch span carries (the batch may hold thousands of updates). */
export const MAX_LINKS = 32;

/** The span context of the span active in `ctx`, if it is a valid one. */
export function spanContextOf(ctx: Context | undefined): SpanContext | undefined {
  if (ctx === undefined) return undefined;
  const sc = trace.getSpan(ctx)?.spanContext();
  return sc !== undefined && isSpanContextValid(sc) ? sc : undefined;
}

/** Mark a span failed with a stable error code (`error.type`), never the message (it may name content). */
export function failSpan(span: Span, code: string): void {
  if (!span.isRecording()) return;
  span.setAttribute(ATTR.errorType, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

/** The code of an error: a SkeinError's `code`, else its name. */
export function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.name : 'unknown';
}

/**
 * Run `fn` inside a new span: a child of `parent`, or a root span with `links` when there is no
 * parent. The span ends when `fn` returns (or throws: marked failed and rethrown).
 */
export function inSpan<T>(
  tracer: Tracer, name: string, kind: SpanKind,
  where: { readonly parent?: Context | undefined; readonly links?: readonly Link[] },
  fn: (span: Span) => T,
): T {
  const parent = where.parent;
  const span = tracer.startSpan(
    name,
    { kind, ...(parent === undefined ? { root: true } : {}), ...(where.links === undefined ? {} : { links: [...where.links] }) },
    parent ?? ROOT_CONTEXT,
  );
  try {
    return context.with(trace.setSpan(parent ?? ROOT_CONTEXT, span), fn, undefined, span);
  } catch (err) {
    failSpan(span, errorCode(err));
    throw err;
  } finally {
    span.end();
  }
}

/** `inSpan` for async work: the span ends when the promise settles. */
export async function inSpanAsync<T>(
  tracer: Tracer, name: string, kind: SpanKind,
  where: { readonly parent?: Context | undefined; readonly links?: readonly Link[] },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = where.parent;
  const span = tracer.startSpan(
    name,
    { kind, ...(parent === undefined ? { root: true } : {}), ...(where.links === undefined ? {} : { links: [...where.links] }) },
    parent ?? ROOT_CONTEXT,
  );
  try {
    return await context.with(trace.setSpan(parent ?? ROOT_CONTEXT, span), fn, undefined, span);
  } catch (err) {
    failSpan(span, errorCode(err));
    throw err;
  } finally {
    span.end();
  }
}
