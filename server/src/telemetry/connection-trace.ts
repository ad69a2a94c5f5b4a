import { context, trace, type Context, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import { ATTR } from './names.js';
import { failSpan } from './spans.js';

import type { ConnectionTrace } from '../transport/probes.js';

export type { ConnectionTrace };

/** @internal the ConnectionTrace `Telemetry.upgradeStarted` returns. */
export class ConnTrace implements ConnectionTrace {
  /** The upgrade span; undefined while tracing is off (the outcome is still counted). */
  readonly span: Span | undefined;
  readonly ctx: Context | undefined;
  ended = false;
  readonly #done: (outcome: string) => void;

  constructor(span: Span | undefined, done: (outcome: string) => void) {
    this.span = span;
    this.ctx = span === undefined ? undefined : trace.setSpan(context.active(), span);
    this.#done = done;
  }

  run<T>(fn: () => T): T {
    return this.ctx === undefined ? fn() : context.with(this.ctx, fn);
  }

  authenticated(user: string, readOnly: boolean): void {
    if (this.span?.isRecording() !== true) return;
    this.span.setAttribute(ATTR.userId, user);
    this.span.setAttribute(ATTR.readOnly, readOnly);
  }

  opened(connectionId: number): void {
    if (this.ended) return;
    if (this.span?.isRecording() === true) this.span.setAttribute(ATTR.connectionId, connectionId);
    this.#end('ok');
  }

  failed(code: string): void {
    if (this.ended) return;
    if (this.span !== undefined) failSpan(this.span, code);
    this.#end('failed');
  }

  closed(): void {
    this.#end('closed');
  }

  #end(outcome: string): void {
    if (this.ended) return;
    this.ended = true;
    this.span?.end();
    this.#done(outcome);
  }
}

/** Parent/links of a span caused by a connection: a child while the connection is opening, else a linked root. */
export function where(conn: ConnectionTrace | undefined): { parent: Context | undefined; links: readonly Link[] } {
  if (!(conn instanceof ConnTrace) || conn.span === undefined) return { parent: undefined, links: [] };
  if (!conn.ended) return { parent: conn.ctx, links: [] };
  const sc: SpanContext = conn.span.spanContext();
  return { parent: undefined, links: [{ context: sc }] };
}
