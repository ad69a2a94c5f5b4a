/**
 * What `webhooks/` reports (its probe port). Declared here, by the module that calls it;
 * `telemetry/` implements it and the composition root plugs it in. `webhooks/` never imports
 * `telemetry/`. Endpoint labels are scheme://host:port only (a URL's path or query may hold a secret).
 */
export interface WebhookProbes {
  /** An attempt got a 2xx answer after `ms`. */
  webhookDelivered(endpoint: string, type: string, ms: number): void;
  /** An attempt failed (`http` status, `timeout`, `network` error) after `ms`. */
  webhookFailed(endpoint: string, type: string, reason: 'http' | 'timeout' | 'network', ms: number): void;
  /** An event was given up on for `endpoint` and moved to the dead-letter list. */
  webhookDeadLettered(endpoint: string, type: string): void;
}

export const NO_WEBHOOK_PROBES: WebhookProbes = Object.freeze({
  webhookDelivered: () => undefined,
  webhookFailed: () => undefined,
  webhookDeadLettered: () => undefined,
});

/** The live figures of the webhooks, read by health and by telemetry's gauges. */
export interface WebhookSnapshot {
  /** Events in this node's outbox (not yet delivered to every endpoint). */
  readonly queue: number;
  readonly deadLetters: number;
  /** Documents with changes not yet turned into a `document.changed` event. */
  readonly debouncing: number;
  readonly endpoints: readonly { readonly endpoint: string; readonly breaker: 'closed' | 'open' | 'half-open' }[];
}
