import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Limits at the edge (docs/security.md, "Limits at the edge"), spread into `OPTIONS` by
 * `schema.ts`. `0` switches a numeric limit off; an empty list means "no restriction".
 */

const count = (max: number) => z.coerce.number().int().min(0).max(max);

/** Comma-separated exact origins: scheme://host[:port], no path. */
const originList = z.string().refine(
  (text) => text.split(',').map((o) => o.trim()).filter((o) => o !== '').every((o) => /^[a-z][a-z0-9+.-]*:\/\/[^/\s,]+$/i.test(o) || o === 'null'),
  { message: 'expected empty or comma-separated origins like https://app.example.com (scheme://host[:port], no path)' },
);

/** Comma-separated IPs or CIDR ranges (checked fully by auth/client-ip.ts at start). */
const addressList = z.string().refine(
  (text) =>
    text.split(',').map((e) => e.trim()).filter((e) => e !== '').every((entry) => {
      const [ip = '', bits, extra] = entry.split('/');
      if (extra !== undefined || isIP(ip) === 0) return false;
      return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (isIP(ip) === 4 ? 32 : 128));
    }),
  { message: 'expected empty or comma-separated IP addresses or CIDR ranges (e.g. 10.0.0.0/8,::1)' },
);

export const LIMIT_OPTIONS = [
  { key: 'allowedOrigins', flag: 'allowed-origins', env: 'SKEIN_ALLOWED_ORIGINS', schema: originList, default: '',
    description:
      'Comma-separated exact origins browsers may connect from (e.g. https://app.example.com); another Origin is refused with 403 ' +
      '(SKEIN_ERR_ORIGIN_FORBIDDEN). Requests without an Origin header (non-browser clients) are allowed. Empty: any origin.' },
  { key: 'trustProxy', flag: 'trust-proxy', env: 'SKEIN_TRUST_PROXY', schema: addressList, default: '',
    description:
      'Comma-separated IPs or CIDR ranges of reverse proxies in front of Skein. From a trusted proxy the client IP is the rightmost ' +
      'X-Forwarded-For address that is not itself trusted. Empty: the socket address is the client IP.' },
  { key: 'maxConnectionsPerIp', flag: 'max-connections-per-ip', env: 'SKEIN_MAX_CONNECTIONS_PER_IP', schema: count(1_000_000),
    default: 4096,
    description: 'Open WebSocket connections per client IP (IPv6: per /64); more are refused with 429 (SKEIN_ERR_IP_CONNECTION_LIMIT). 0: no bound.' },
  { key: 'upgradeRatePerIp', flag: 'upgrade-rate-per-ip', env: 'SKEIN_UPGRADE_RATE_PER_IP', schema: count(1_000_000), default: 200,
    description: 'Upgrade attempts per second per client IP (token bucket refill); past it 429 with Retry-After (SKEIN_ERR_IP_RATE_LIMITED). 0: no bound.' },
  { key: 'upgradeBurstPerIp', flag: 'upgrade-burst-per-ip', env: 'SKEIN_UPGRADE_BURST_PER_IP',
    schema: z.coerce.number().int().min(1).max(1_000_000), default: 4096,
    description: 'Upgrade attempts one client IP may make at once (token bucket capacity).' },
  { key: 'handshakeTimeoutMs', flag: 'handshake-timeout-ms', env: 'SKEIN_HANDSHAKE_TIMEOUT_MS',
    schema: z.coerce.number().int().min(100).max(10 * 60 * 1000), default: 10_000,
    description:
      'Time a peer has to send complete request headers (and body), and for the WebSocket upgrade to complete; a slower peer is ' +
      'closed (408, SKEIN_ERR_HANDSHAKE_TIMEOUT).' },
  { key: 'maxHeaderBytes', flag: 'max-header-bytes', env: 'SKEIN_MAX_HEADER_BYTES', schema: z.coerce.number().int().min(1024).max(1024 * 1024),
    default: 16 * 1024,
    description: 'Largest HTTP request header block (Node maxHeaderSize); a larger one is answered 431 and closed (SKEIN_ERR_HEADERS_TOO_LARGE).' },
  { key: 'maxMessagesPerSecond', flag: 'max-messages-per-second', env: 'SKEIN_MAX_MESSAGES_PER_SECOND', schema: count(10_000_000),
    default: 0,
    description:
      'Messages per second one connection may send (burst: two seconds\' worth); past it the socket closes with 4530 ' +
      '(SKEIN_ERR_RATE_LIMITED, retryable). 0 (default): no bound; e.g. 500 for interactive editors.' },
  { key: 'maxBytesPerSecond', flag: 'max-bytes-per-second', env: 'SKEIN_MAX_BYTES_PER_SECOND', schema: count(2 ** 40),
    default: 0,
    description:
      'Bytes per second one connection may send (burst: two seconds\' worth, at least one --max-message-bytes message); past it ' +
      'the socket closes with 4530 (SKEIN_ERR_RATE_LIMITED, retryable). 0 (default): no bound; e.g. 1048576 for interactive editors.' },
  { key: 'maxConnectionsPerDoc', flag: 'max-connections-per-doc', env: 'SKEIN_MAX_CONNECTIONS_PER_DOC', schema: count(10_000_000),
    default: 10_000,
    description: 'Open WebSocket connections per document on this node; more are refused with 503 and Retry-After (SKEIN_ERR_DOC_CONNECTION_LIMIT). 0: no bound.' },
  { key: 'muxMaxChannels', flag: 'mux-max-channels', env: 'SKEIN_MUX_MAX_CHANNELS', schema: count(100_000),
    default: 1_000,
    description:
      'Channels (documents) one multiplexed socket (sub-protocol skein-mux.v1, @skein/client\'s SkeinConnection) may have open at once; ' +
      'more are refused with 4429 (SKEIN_ERR_MUX_CHANNEL_LIMIT) and the socket stays open. 0: the sub-protocol is off (such upgrades ' +
      'are refused with 400, SKEIN_ERR_MUX_DISABLED).' },
  { key: 'maxDocBytes', flag: 'max-doc-bytes', env: 'SKEIN_MAX_DOC_BYTES', schema: count(2 ** 40), default: 128 * 1024 * 1024,
    description:
      'Largest encoded state a document may grow to; an update that would pass it is refused, nothing of it applied or stored ' +
      '(close 4413, SKEIN_ERR_DOC_TOO_LARGE). 0: no bound.' },
  { key: 'turnMaxMessages', flag: 'turn-max-messages', env: 'SKEIN_TURN_MAX_MESSAGES',
    schema: z.coerce.number().int().min(1).max(1_000_000), default: 256,
    description:
      'Fairness: messages one connection may have handled per event-loop turn; past it the connection stops reading its socket ' +
      '(the sender is slowed by TCP) and the rest is handled in batches (merged into one change) on later turns.' },
  { key: 'turnMaxMs', flag: 'turn-max-ms', env: 'SKEIN_TURN_MAX_MS',
    schema: z.coerce.number().min(0.1).max(10_000), default: 0.5,
    description: 'Fairness: milliseconds (fractions allowed) of handling one connection may use per event-loop turn before it yields.' },
  { key: 'presenceRate', flag: 'presence-rate', env: 'SKEIN_PRESENCE_RATE', schema: count(100_000), default: 0,
    description:
      'Presence budget: awareness updates per second applied from one connection (a burst of one second\'s worth passes at once). ' +
      'Past it the states in between are dropped and each client\'s latest state is applied as soon as the rate allows; ' +
      'nothing closes the socket. 0 (default): no bound; e.g. 30 for cursors.' },
  { key: 'turnMaxReadBytes', flag: 'turn-max-read-bytes', env: 'SKEIN_TURN_MAX_READ_BYTES',
    schema: z.coerce.number().int().min(1024).max(16 * 1024 * 1024), default: 4 * 1024,
    description:
      'Fairness: bytes of one connection\'s socket reads parsed into messages per event-loop turn (a read can hold 64 KB, thousands of ' +
      'small messages); the rest waits for later turns with the socket paused.' },
] as const;
