export { Webhooks, type WebhooksOptions } from './webhooks.js';
export type { WebhookProbes, WebhookSnapshot } from './probes.js';
export { parseSecret, sign, signedHeaders, verify, SECRET_PREFIX } from './signature.js';
export { eventBody } from './payload.js';
export { webhookOptions, webhooksEnabled } from './from-config.js';
