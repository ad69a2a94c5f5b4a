import type { Config } from '../config/schema.js';
import type { WebhooksOptions } from './webhooks.js';

/** Webhooks are on when at least one endpoint URL is configured. */
export function webhooksEnabled(config: Config): boolean {
  return config.webhookUrl.length > 0;
}

/** The webhook options from the validated Config (the journal, logger, clock and probes come from the composition root). */
export function webhookOptions(config: Config): Omit<WebhooksOptions, 'journal' | 'logger' | 'clock' | 'probes'> {
  return {
    endpoints: config.webhookUrl,
    secret: config.webhookSecret,
    debounceMs: config.webhookDebounce,
    maxWaitMs: config.webhookMaxWait,
    timeoutMs: config.webhookTimeout,
    maxAttempts: config.webhookMaxAttempts,
    retry: { initialMs: config.webhookRetryInitial, maxMs: config.webhookRetryMax },
  };
}
