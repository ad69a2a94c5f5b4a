import { compileGlob, type Glob } from '@skein/protocol';
import type { DocumentEvent, DocumentEventType } from '../documents/events.js';

/** What the configuration says about one endpoint (config/webhook-options.ts `WebhookTarget`). */
export interface EndpointConfig {
  readonly url: string;
  /** Event types; empty: every type. */
  readonly events: readonly string[];
  /** Document-name globs; empty: every document. */
  readonly docs: readonly string[];
}

/** One endpoint, compiled. Its `id` (the URL) is what the outbox records as "done". */
export interface Endpoint {
  readonly id: string;
  readonly url: URL;
  /** For metrics and logs: scheme, host and port only (a path or query may hold a secret). */
  readonly label: string;
  wants(event: DocumentEvent): boolean;
}

export function compileEndpoint(config: EndpointConfig): Endpoint {
  const url = new URL(config.url);
  const types = new Set(config.events);
  const globs: Glob[] = config.docs.map(compileGlob);
  return Object.freeze({
    id: config.url,
    url,
    label: `${url.protocol}//${url.host}`,
    wants: (event: DocumentEvent) =>
      (types.size === 0 || types.has(event.type satisfies DocumentEventType))
      && (globs.length === 0 || globs.some((glob) => glob.matches(event.name))),
  });
}
