import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeSchema, fromText } from '../src/config/describe.js';
import { loadConfig, type LoadConfigInput } from '../src/config/load.js';
import { DEFAULT_CONFIG, OPTIONS, type Config } from '../src/config/schema.js';
import { closest } from '../src/config/suggest.js';
import { SkeinError } from '../src/errors/skein-error.js';

type Key = keyof Config;

/**
 * Per option: a valid non-default text value (when the option has one) and invalid values.
 * Typed by Config key: adding an option without a row here fails typecheck and the test below.
 */
const SAMPLES: { readonly [K in Key]: { readonly valid: string; readonly invalid: readonly string[] } } = {
  host: { valid: '0.0.0.0', invalid: [''] },
  port: { valid: '8080', invalid: ['abc', '', '-1', '65536', '1.5', '0x10', '80abc', '1e3', '1_000'] },
  storage: { valid: 'memory', invalid: ['redis', '', 'MEMORY'] },
  dataDir: { valid: '/var/lib/skein', invalid: [''] },
  persistenceRules: { valid: 'doc/*=immediate,*=debounced:1000:10000', invalid: ['doc/*', 'doc/*=sometimes', '*=debounced:10:5', '=immediate'] },
  logLevel: { valid: 'debug', invalid: ['verbose', '', 'INFO'] },
  maxMessageBytes: { valid: '2048', invalid: ['1023', 'big', '2147483649', ''] },
  maxBufferedBytes: { valid: '4096', invalid: ['0', '1kb', ''] },
  syncChunkBytes: { valid: '65536', invalid: ['1023', '1kb', ''] },
  maxLoadBacklogBytes: { valid: '8192', invalid: ['-5', 'x', ''] },
  maxUnpersistedBytes: { valid: '0', invalid: ['-1', 'x', '1.5', ''] },
  auth: { valid: 'jwt', invalid: ['basic', 'JWT', ''] },
  authJwtSecret: { valid: 'a-secret-of-at-least-32-characters!!', invalid: ['too-short'] },
  authJwtPublicKey: { valid: '/etc/skein/key.pem', invalid: ['a\0b'] },
  authJwksFile: { valid: '/etc/skein/jwks.json', invalid: ['a\0b'] },
  authJwtIssuer: { valid: 'https://auth.example', invalid: [] },
  authJwtAudience: { valid: 'skein', invalid: [] },
  authClockToleranceS: { valid: '30', invalid: ['-1', '301', 'x'] },
  readonlyAwareness: { valid: 'deny', invalid: ['no', ''] },
  heartbeatIntervalMs: { valid: '1000', invalid: ['0', '86400001', 'soon', ''] },
  fanOutWindowMs: { valid: '5', invalid: ['-1', '1001', 'soon', ''] },
  presenceIntervalMs: { valid: '0', invalid: ['-1', '1001', '2.5', 'soon', ''] },
  dormantAfterMs: { valid: '0', invalid: ['-1', '86400001', 'soon', ''] },
  unloadDelayMs: { valid: '0', invalid: ['-1', '86400001', 'later', ''] },
  loadTimeoutMs: { valid: '100', invalid: ['0', '2.5', ''] },
  shutdownTimeoutMs: { valid: '500', invalid: ['0', 'never', ''] },
  staticDir: { valid: 'examples/canvas/dist', invalid: ['dist\0', '\0'] },
  redisUrl: { valid: 'redis://127.0.0.1:6380/0', invalid: ['127.0.0.1:6379', 'http://x', 'redis://'] },
  redisClusterNodes: { valid: '127.0.0.1:7000,127.0.0.1:7001', invalid: ['127.0.0.1', 'a:b', '127.0.0.1:7000;x:1'] },
  nodeId: { valid: 'node-a', invalid: ['a b', 'a#1', 'x'.repeat(65)] },
  clusterAck: { valid: 'cluster', invalid: ['both', '', 'LOCAL'] },
  clusterHeartbeatMs: { valid: '500', invalid: ['0', 'often', ''] },
  clusterNodeTimeoutMs: { valid: '2000', invalid: ['0', '-1', ''] },
  clusterAntiEntropyMs: { valid: '10000', invalid: ['0', '1.5', ''] },
  redisMaxBackoffMs: { valid: '2000', invalid: ['0', 'x', ''] },
  allowedOrigins: { valid: 'https://app.example.com,http://localhost:5173', invalid: ['app.example.com', 'https://a.example/path', 'https://a b'] },
  trustProxy: { valid: '10.0.0.0/8,127.0.0.1,::1,fd00::/8', invalid: ['proxy.local', '10.0.0.0/33', '1.2.3.4/8/1', '::1/129'] },
  maxConnectionsPerIp: { valid: '0', invalid: ['-1', 'many', '1.5', ''] },
  upgradeRatePerIp: { valid: '50', invalid: ['-1', 'fast', ''] },
  upgradeBurstPerIp: { valid: '10', invalid: ['0', '-1', ''] },
  handshakeTimeoutMs: { valid: '500', invalid: ['99', '600001', 'x', ''] },
  maxHeaderBytes: { valid: '8192', invalid: ['1023', '1048577', ''] },
  maxMessagesPerSecond: { valid: '100', invalid: ['-1', 'x', ''] },
  maxBytesPerSecond: { valid: '1048576', invalid: ['-1', '1mb', ''] },
  maxConnectionsPerDoc: { valid: '100', invalid: ['-1', 'x', ''] },
  muxMaxChannels: { valid: '50', invalid: ['-1', 'x', '', '100001', '1.5'] },
  maxDocBytes: { valid: '0', invalid: ['-1', '1.5', ''] },
  httpApi: { valid: 'open', invalid: ['on', '', 'OPEN'] },
  inspector: { valid: 'open', invalid: ['on', '', 'ADMIN'] },
  inspectorDir: { valid: '/app/inspector', invalid: ['dist\0', '\0'] },
  adminToken: { valid: 'an-admin-token-of-16+', invalid: ['short'] },
  apiMaxBodyBytes: { valid: '4096', invalid: ['1023', 'x', ''] },
  apiRatePerToken: { valid: '0', invalid: ['-1', 'x', ''] },
  apiBurstPerToken: { valid: '10', invalid: ['0', 'x', ''] },
  historyInterval: { valid: '30s', invalid: ['10', '10 minutes', '-1m', ''] },
  historyKeep: { valid: '50,7d', invalid: ['many', '7 days', '50,x'] },
  turnMaxMessages: { valid: '64', invalid: ['0', '-1', 'x'] },
  turnMaxMs: { valid: '0.5', invalid: ['0', '0.05', '-1', '10001', 'x', ''] },
  turnMaxReadBytes: { valid: '8192', invalid: ['1023', '0', '4k', ''] },
  presenceRate: { valid: '30', invalid: ['-1', '1.5', 'x'] },
  otelSdkDisabled: { valid: 'true', invalid: ['yes', '2', ''] },
  otelServiceName: { valid: 'skein-eu', invalid: [''] },
  otelResourceAttributes: { valid: 'deployment.environment=prod,team=sync', invalid: ['novalue', '=x', 'a=%zz'] },
  otelTracesExporter: { valid: 'none', invalid: ['jaeger', '', 'OTLP'] },
  otelExporterOtlpEndpoint: { valid: 'http://collector:4318', invalid: ['collector:4318', 'ftp://x', 'not a url'] },
  otelExporterOtlpTracesEndpoint: { valid: 'https://collector:4318/v1/traces', invalid: ['localhost', 'grpc://x'] },
  otelExporterOtlpProtocol: { valid: 'http/json', invalid: ['http/protobuf', 'grpc', ''] },
  otelExporterOtlpHeaders: { valid: 'api-key=secret123', invalid: ['secretnoequals', '=v', 'k=%zz'] },
  otelTracesSampler: { valid: 'traceidratio', invalid: ['sometimes', '', 'ALWAYS_ON'] },
  otelTracesSamplerArg: { valid: '0.25', invalid: ['2', '-0.1', 'half', ''] },
  disableMetrics: { valid: 'true', invalid: ['off', ''] },
  healthWindowMs: { valid: '5000', invalid: ['99', 'long', ''] },
  healthPersistLatencyMs: { valid: 'immediate=50', invalid: ['slow', 'immediate=0', 'weekly=5', 'immediate=5=6'] },
  healthFailureThreshold: { valid: '3', invalid: ['0', '1001', 'x', ''] },
  healthEventLoopLagMs: { valid: '500', invalid: ['0', 'x', ''] },
  integrityScanIntervalMs: { valid: '0', invalid: ['-1', 'x', ''] },
  integrityScanSample: { valid: '16', invalid: ['0', 'x', ''] },
  webhookUrl: { valid: 'https://hooks.example.com/skein http://127.0.0.1:9000/in', invalid: ['hooks.example.com', 'ftp://x', 'http://a/ http://a/'] },
  webhookSecret: { valid: `whsec_${'A'.repeat(43)}=`, invalid: ['secret', 'whsec_!!!!', `whsec_${'A'.repeat(8)}`] },
  webhookDebounce: { valid: '2s', invalid: ['0', 'soon', '2h', ''] },
  webhookMaxWait: { valid: '10000', invalid: ['0', '-1', '1.5s', ''] },
  webhookTimeout: { valid: '500ms', invalid: ['0', 'x', '11m'] },
  webhookMaxAttempts: { valid: '5', invalid: ['0', '101', 'x', ''] },
  webhookRetryInitial: { valid: '1s', invalid: ['0', 'x', ''] },
  webhookRetryMax: { valid: '5m', invalid: ['0', 'x', ''] },
};

const dir = mkdtempSync(join(tmpdir(), 'skein-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function configFile(content: unknown): string {
  const path = join(dir, `config-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The SkeinError `loadConfig` throws (fails the test when it does not throw one). */
function configError(input: LoadConfigInput): SkeinError {
  try {
    loadConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(SkeinError);
    const error = err as SkeinError;
    expect(error.code).toBe('SKEIN_ERR_CONFIG_INVALID');
    expect(error.message).not.toMatch(/[\r\n]/);
    return error;
  }
  throw new Error(`loadConfig(${JSON.stringify(input)}) did not throw`);
}

describe('loadConfig defaults', () => {
  it('has a sample row for every option', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(OPTIONS.map((o) => o.key).sort());
  });

  it('returns the defaults when nothing is given, and every default passes its schema', () => {
    expect(loadConfig({})).toEqual(DEFAULT_CONFIG);
    expect(loadConfig()).toEqual(DEFAULT_CONFIG);
    for (const option of OPTIONS) {
      expect(option.schema.safeParse(option.default).success, option.key).toBe(true);
    }
  });

  it('returns a frozen Config', () => {
    const config = loadConfig({ argv: { port: '1' } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 2;
    }).toThrow(TypeError);
  });

  it('ignores unrelated environment variables and flags with no value', () => {
    expect(loadConfig({ env: { PATH: '/bin', SKEIN_PORT: undefined }, argv: { port: undefined } })).toEqual(DEFAULT_CONFIG);
  });
});

describe('loadConfig precedence: flag > environment > file > default', () => {
  it('file beats default', () => {
    expect(loadConfig({ file: configFile({ port: 1001 }) }).port).toBe(1001);
  });

  it('environment beats default', () => {
    expect(loadConfig({ env: { SKEIN_PORT: '1002' } }).port).toBe(1002);
  });

  it('flag beats default', () => {
    expect(loadConfig({ argv: { port: '1003' } }).port).toBe(1003);
  });

  it('environment beats file', () => {
    expect(loadConfig({ env: { SKEIN_PORT: '1004' }, file: configFile({ port: 2004 }) }).port).toBe(1004);
  });

  it('flag beats file', () => {
    expect(loadConfig({ argv: { port: '1005' }, file: configFile({ port: 2005 }) }).port).toBe(1005);
  });

  it('flag beats environment', () => {
    expect(loadConfig({ argv: { port: '1006' }, env: { SKEIN_PORT: '2006' } }).port).toBe(1006);
  });

  it('resolves each option independently across the three sources', () => {
    const config = loadConfig({
      argv: { port: '1007', 'log-level': 'warn' },
      env: { SKEIN_LOG_LEVEL: 'debug', SKEIN_HOST: '0.0.0.0' },
      file: configFile({ logLevel: 'error', host: '::1', dataDir: '/srv/skein', port: 3007 }),
    });
    expect(config).toEqual({ ...DEFAULT_CONFIG, port: 1007, logLevel: 'warn', host: '0.0.0.0', dataDir: '/srv/skein' });
  });

  it('reads every option from each source by its flag, env name and file key', () => {
    const entries = OPTIONS.map((o) => [o, SAMPLES[o.key].valid] as const);
    // Text as the loader converts it (booleans are `true`/`false` text, not coercible by zod).
    const expected = Object.fromEntries(entries.map(([o, text]) => [o.key, o.schema.parse(fromText(describeSchema(o.schema).kind, text))]));
    const argv = Object.fromEntries(entries.map(([o, text]) => [o.flag, text]));
    const env = Object.fromEntries(entries.map(([o, text]) => [o.env, text]));
    const file = configFile(expected);
    expect(loadConfig({ argv })).toEqual(expected);
    expect(loadConfig({ env })).toEqual(expected);
    expect(loadConfig({ file })).toEqual(expected);
  });
});

describe('loadConfig config file location', () => {
  it('takes the file from --config, then SKEIN_CONFIG; the flag wins', () => {
    const a = configFile({ port: 4001 });
    const b = configFile({ port: 4002 });
    expect(loadConfig({ argv: { config: a } }).port).toBe(4001);
    expect(loadConfig({ env: { SKEIN_CONFIG: b } }).port).toBe(4002);
    expect(loadConfig({ argv: { config: a }, env: { SKEIN_CONFIG: b } }).port).toBe(4001);
  });

  it('accepts numeric strings in the file and a byte-order mark', () => {
    expect(loadConfig({ file: configFile('\uFEFF{"port": "4003"}') }).port).toBe(4003);
  });

  it('rejects an empty --config or SKEIN_CONFIG', () => {
    expect(configError({ argv: { config: '' } }).message).toContain('--config');
    expect(configError({ env: { SKEIN_CONFIG: ' ' } }).message).toContain('SKEIN_CONFIG');
  });

  it('rejects a missing file, naming it and where its path came from', () => {
    const missing = join(dir, 'missing.json');
    const error = configError({ argv: { config: missing } });
    expect(error.message).toContain(missing);
    expect(error.message).toContain('--config');
    expect(configError({ env: { SKEIN_CONFIG: missing } }).message).toContain('SKEIN_CONFIG');
  });

  it('rejects a directory, bad JSON and a non-object', () => {
    expect(configError({ file: dir }).message).toContain(dir);
    for (const content of ['{"port": 1', '', '[1]', '"port"', 'null', '42']) {
      const path = configFile(content);
      expect(configError({ file: path }).message).toContain(path);
    }
  });

  it('rejects an unknown key, with a hint', () => {
    const path = configFile({ port: 1, prot: 2 });
    const error = configError({ file: path });
    expect(error.message).toContain('"prot"');
    expect(error.message).toContain(path);
    expect(error.message).toContain('"port"');
    expect(configError({ file: configFile({ 'data-dir': '/x' }) }).message).toContain('"dataDir"');
    expect(configError({ file: configFile({ SKEIN_LOG_LEVEL: 'info' }) }).message).toContain('"logLevel"');
    expect(configError({ file: configFile({ zzzzzzzz: 1 }) }).message).toContain('known keys');
    expect(configError({ file: configFile('{"__proto__": {"port": 1}}') }).message).toContain('__proto__');
  });
});

describe('loadConfig rejects every invalid value, naming the option as given', () => {
  for (const option of OPTIONS) {
    const { invalid } = SAMPLES[option.key];
    it(`${option.key}: --${option.flag}, ${option.env}, "${option.key}" in a file`, () => {
      for (const text of invalid) {
        const fromFlag = configError({ argv: { [option.flag]: text } });
        expect(fromFlag.message).toContain(`--${option.flag}`);
        // A sensitive value (e.g. a Redis URL with a password) is never shown back.
        if (!('sensitive' in option && option.sensitive)) expect(fromFlag.message).toContain(JSON.stringify(text));
        else expect(fromFlag.message).not.toContain(JSON.stringify(text));
        expect(configError({ env: { [option.env]: text } }).message).toContain(option.env);
        const path = configFile({ [option.key]: text });
        const fromFile = configError({ file: path });
        expect(fromFile.message).toContain(`"${option.key}"`);
        expect(fromFile.message).toContain(path);
      }
    });
  }

  it('rejects file values of the wrong JSON type', () => {
    for (const value of [true, null, {}, [8080], [], false]) {
      expect(configError({ file: configFile({ port: value }) }).message).toContain('"port"');
    }
    for (const value of [1, true, null, ['info']]) {
      expect(configError({ file: configFile({ logLevel: value }) }).message).toContain('"logLevel"');
      expect(configError({ file: configFile({ host: value }) }).message).toContain('"host"');
    }
  });

  it('says what is expected and what was given', () => {
    expect(configError({ argv: { port: 'abc' } }).message).toBe(
      'invalid value for --port: expected an integer between 0 and 65535, got "abc"',
    );
    expect(configError({ env: { SKEIN_LOG_LEVEL: 'loud' } }).message).toBe(
      'invalid value for SKEIN_LOG_LEVEL (environment): expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    );
  });

  it('validates a value even when a higher source overrides it', () => {
    expect(configError({ argv: { port: '1' }, env: { SKEIN_PORT: 'abc' } }).message).toContain('SKEIN_PORT');
    expect(configError({ env: { SKEIN_PORT: '1' }, file: configFile({ port: -1 }) }).message).toContain('"port"');
  });

  it('reports the highest-precedence invalid value first', () => {
    expect(configError({ argv: { port: 'x' }, env: { SKEIN_PORT: 'y' } }).message).toContain('--port');
  });

  it('trims whitespace around numbers only', () => {
    expect(loadConfig({ env: { SKEIN_PORT: ' 8080\n' } }).port).toBe(8080);
    expect(loadConfig({ env: { SKEIN_HOST: ' h ' } }).host).toBe(' h ');
  });

  it('truncates a very long value in the message', () => {
    const message = configError({ argv: { port: 'x'.repeat(500) } }).message;
    expect(message.length).toBeLessThan(200);
  });
});

describe('describeSchema', () => {
  it('words numbers, enums, strings and booleans', () => {
    expect(describeSchema(z.number().int()).expected).toBe('an integer');
    expect(describeSchema(z.number().min(0.5)).expected).toBe('a number of at least 0.5');
    expect(describeSchema(z.coerce.number().int().max(9)).expected).toBe('an integer of at most 9');
    expect(describeSchema(z.enum(['a'])).expected).toBe('"a"');
    expect(describeSchema(z.string()).expected).toBe('a string');
    expect(describeSchema(z.boolean()).kind).toBe('boolean');
    expect(describeSchema(z.array(z.string())).kind).toBe('other');
  });
});

describe('closest', () => {
  it('finds likely typos only', () => {
    expect(closest('prot', ['host', 'port'])).toBe('port');
    expect(closest('data-dir', ['dataDir', 'host'])).toBe('dataDir');
    expect(closest('zzzz', ['port'])).toBeUndefined();
  });
});

describe('docs/configuration.md', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const rows = doc.split('\n').filter((line) => line.startsWith('| `--'));

  it('has one table row per option with its flag, env name, file key and default', () => {
    expect(rows).toHaveLength(OPTIONS.length);
    for (const option of OPTIONS) {
      const row = rows.find((line) => line.startsWith(`| \`--${option.flag}\``));
      expect(row, `row for --${option.flag}`).toBeDefined();
      expect(row).toContain(`\`${option.env}\``);
      expect(row).toContain(`\`${option.key}\``);
      const value: unknown = option.default;
      expect(row).toContain(`\`${Array.isArray(value) ? value.join(' ') : String(value as string | number | boolean)}\``);
    }
  });

  it('documents the config file flag and variable', () => {
    expect(doc).toContain('--config');
    expect(doc).toContain('SKEIN_CONFIG');
  });
});
