import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configFlagOptions, toTextValues } from '../../src/cli/config-flags.js';
import { parseCommandLine } from '../../src/cli/args.js';
import { eventBody } from '../../src/webhooks/payload.js';
import { retryDelayMs } from '../../src/webhooks/backoff.js';
import { compileEndpoint } from '../../src/webhooks/endpoints.js';
import { parseIds } from '../../src/http/webhook-routes.js';

describe('webhook payload codec', () => {
  it('pins the body bytes of every event type (fields in a fixed order, timestamp of the event)', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    expect(eventBody({ at, event: { type: 'document.created', name: 'board/1' } }))
      .toBe('{"type":"document.created","timestamp":"2026-01-02T03:04:05.678Z","data":{"name":"board/1"}}');
    expect(eventBody({ at, event: { users: ['a', 'b'], size: 42, stateVector: 'AQID', name: 'n', type: 'document.changed' } }))
      .toBe('{"type":"document.changed","timestamp":"2026-01-02T03:04:05.678Z","data":{"name":"n","stateVector":"AQID","size":42,"users":["a","b"]}}');
    expect(eventBody({ at, event: { type: 'document.deleted', name: 'x' } }))
      .toBe('{"type":"document.deleted","timestamp":"2026-01-02T03:04:05.678Z","data":{"name":"x"}}');
    expect(eventBody({ at, event: { type: 'version.created', name: 'x', version: 'v1', label: 'l' } }))
      .toBe('{"type":"version.created","timestamp":"2026-01-02T03:04:05.678Z","data":{"name":"x","version":"v1","label":"l"}}');
    expect(eventBody({ at, event: { type: 'version.restored', name: 'x', version: 'v1' } }))
      .toBe('{"type":"version.restored","timestamp":"2026-01-02T03:04:05.678Z","data":{"name":"x","version":"v1"}}');
  });
});

describe('webhook retry backoff', () => {
  it('doubles per failure up to the cap, times a jitter factor in [0.5, 1]', () => {
    const policy = { initialMs: 1_000, maxMs: 60_000 };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(policy, n, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(policy, n, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelayMs(policy, 30, () => 1)).toBe(60_000);
    expect(retryDelayMs(policy, 1_000, () => 0.5)).toBe(45_000);
  });
});

describe('webhook endpoints', () => {
  it('filter by event type and document-name glob; label without path or query', () => {
    const e = compileEndpoint({ url: 'https://hooks.example.com:8443/in?key=secret', events: ['document.changed'], docs: ['board/*', 'exact'] });
    expect(e.label).toBe('https://hooks.example.com:8443');
    expect(e.wants({ type: 'document.changed', name: 'board/1', stateVector: '', size: 0, users: [] })).toBe(true);
    expect(e.wants({ type: 'document.changed', name: 'exact', stateVector: '', size: 0, users: [] })).toBe(true);
    expect(e.wants({ type: 'document.changed', name: 'other', stateVector: '', size: 0, users: [] })).toBe(false);
    expect(e.wants({ type: 'document.created', name: 'board/1' })).toBe(false);
    const all = compileEndpoint({ url: 'http://a/', events: [], docs: [] });
    expect(all.wants({ type: 'version.restored', name: 'z', version: '1' })).toBe(true);
  });
});

describe('webhook configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skein-hook-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--webhook-url is repeatable on the command line; SKEIN_WEBHOOK_URL separates by spaces', () => {
    const parsed = parseCommandLine('skein serve', ['--webhook-url', 'http://a/1', '--webhook-url', 'https://b/2', '--webhook-debounce', '500ms'], configFlagOptions(), false);
    const config = loadConfig({ argv: toTextValues(parsed.values) });
    expect(config.webhookUrl).toEqual([{ url: 'http://a/1', events: [], docs: [] }, { url: 'https://b/2', events: [], docs: [] }]);
    expect(config.webhookDebounce).toBe(500);
    expect(loadConfig({ env: { SKEIN_WEBHOOK_URL: ' http://a/1\n http://c/3 ', SKEIN_WEBHOOK_MAX_WAIT: '1m' } })).toMatchObject({
      webhookUrl: [{ url: 'http://a/1' }, { url: 'http://c/3' }], webhookMaxWait: 60_000,
    });
  });

  it('the config file lists endpoints with event filters and document patterns', () => {
    const file = join(dir, 'hooks.json');
    writeFileSync(file, JSON.stringify({ webhookUrl: ['http://all/', { url: 'http://some/', events: ['document.deleted'], docs: ['a/*'] }] }));
    expect(loadConfig({ file }).webhookUrl).toEqual([
      { url: 'http://all/', events: [], docs: [] },
      { url: 'http://some/', events: ['document.deleted'], docs: ['a/*'] },
    ]);
    for (const bad of [[{ url: 'http://x/', events: ['document.exploded'] }], [{ url: 'http://x/', extra: 1 }], [{ events: [] }], 'ftp://x']) {
      writeFileSync(file, JSON.stringify({ webhookUrl: bad }));
      expect(() => loadConfig({ file })).toThrow(expect.objectContaining({ code: 'SKEIN_ERR_CONFIG_INVALID' }));
    }
  });

  it('never echoes a bad secret', () => {
    let message = '';
    try {
      loadConfig({ argv: { 'webhook-secret': 'whsec_tooShortSecretValue' } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('--webhook-secret');
    expect(message).not.toContain('tooShortSecretValue');
  });
});

describe('dead-letter retry body', () => {
  it('takes {} or empty for all, {ids} for some, and refuses anything else with SKEIN_ERR_BAD_REQUEST', () => {
    expect(parseIds('')).toBeUndefined();
    expect(parseIds('{}')).toBeUndefined();
    expect(parseIds('{"ids":[1,2]}')).toEqual([1, 2]);
    for (const bad of ['nope', '[]', '{"ids":"1"}', '{"ids":[0]}', '{"ids":[1.5]}', 'null']) {
      expect(() => parseIds(bad)).toThrow(expect.objectContaining({ code: 'SKEIN_ERR_BAD_REQUEST' }));
    }
  });
});
