import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { handleShutdownSignals, installCrashHandlers, type Closable } from '../src/cli/lifecycle.js';
import { createLogger, type Logger } from '../src/logging/logger.js';

/** A real pino logger whose JSON lines land in `entries`, and a stream that records writes. */
function capture(): { logger: Logger; entries: Array<Record<string, unknown>>; stream: Writable; text: () => string } {
  const entries: Array<Record<string, unknown>> = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        entries.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  });
  return { logger: createLogger('info', logStream), entries, stream, text: () => text };
}

/** A server whose close() settles when the test says so. */
function controllable(): Closable & { calls: number; resolve(): void; reject(err: unknown): void } {
  let settle: { resolve(): void; reject(err: unknown): void } | undefined;
  const server = {
    calls: 0,
    close() {
      server.calls++;
      return new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    },
    resolve: () => settle?.resolve(),
    reject: (err: unknown) => settle?.reject(err),
  };
  return server;
}

describe('handleShutdownSignals', () => {
  /** Install the handlers on a private emitter and attach `server` right away. */
  function started(server: Closable, logger: Logger, timeoutMs: number, signals: EventEmitter): Promise<number> {
    const shutdown = handleShutdownSignals({ logger, timeoutMs, signals });
    shutdown.attach(server);
    return shutdown.done;
  }

  it('closes the server on SIGTERM and resolves 0', async () => {
    const { logger, entries } = capture();
    const signals = new EventEmitter();
    const server = controllable();
    const status = started(server, logger, 60_000, signals);
    signals.emit('SIGTERM', 'SIGTERM');
    expect(server.calls).toBe(1);
    server.resolve();
    expect(await status).toBe(0);
    expect(entries.at(-1)).toMatchObject({ msg: 'exiting', exitStatus: 0 });
  });

  it('closes a server attached after the signal came (signal during startup)', async () => {
    const { logger } = capture();
    const signals = new EventEmitter();
    const shutdown = handleShutdownSignals({ logger, timeoutMs: 60_000, signals });
    signals.emit('SIGINT', 'SIGINT');
    const server = controllable();
    shutdown.attach(server);
    expect(server.calls).toBe(1);
    server.resolve();
    expect(await shutdown.done).toBe(0);
  });

  it('resolves 1 at once on a second signal while closing', async () => {
    const { logger } = capture();
    const signals = new EventEmitter();
    const server = controllable();
    const status = started(server, logger, 60_000, signals);
    signals.emit('SIGINT', 'SIGINT');
    signals.emit('SIGTERM', 'SIGTERM');
    expect(await status).toBe(1);
    expect(server.calls).toBe(1);
  });

  it('resolves 1 with a logged code when close() outlasts the timeout', async () => {
    const { logger, entries } = capture();
    const signals = new EventEmitter();
    const status = started(controllable(), logger, 10, signals);
    signals.emit('SIGTERM', 'SIGTERM');
    expect(await status).toBe(1);
    expect(entries.some((e) => e['level'] === 50 && e['code'] === 'SKEIN_ERR_SHUTDOWN_TIMEOUT')).toBe(true);
  });

  it('resolves 1 with the error code logged when close() rejects', async () => {
    const { logger, entries } = capture();
    const signals = new EventEmitter();
    const server = controllable();
    const status = started(server, logger, 60_000, signals);
    signals.emit('SIGTERM', 'SIGTERM');
    server.reject(new Error('disk gone'));
    expect(await status).toBe(1);
    expect(entries.some((e) => e['msg'] === 'shutdown failed' && e['code'] === 'SKEIN_ERR_INTERNAL')).toBe(true);
  });

  it('ignores signals after it settled', async () => {
    const { logger } = capture();
    const signals = new EventEmitter();
    const server = controllable();
    const status = started(server, logger, 60_000, signals);
    signals.emit('SIGTERM', 'SIGTERM');
    server.resolve();
    expect(await status).toBe(0);
    signals.emit('SIGTERM', 'SIGTERM');
    expect(server.calls).toBe(1);
  });
});

describe('installCrashHandlers', () => {
  for (const [event, payload] of [
    ['uncaughtException', new Error('boom\nsecond line')],
    ['unhandledRejection', 'just a string'],
  ] as const) {
    it(`${event}: logs SKEIN_ERR_INTERNAL, one stderr line, exit 1`, () => {
      const { logger, entries, stream, text } = capture();
      const source = new EventEmitter();
      const exits: number[] = [];
      const remove = installCrashHandlers({ logger, stderr: stream, exit: (s) => exits.push(s), source });
      source.emit(event, payload);
      expect(exits).toEqual([1]);
      expect(text()).toMatch(/^skein: SKEIN_ERR_INTERNAL: [^\n]*\n$/);
      expect(entries.some((e) => e['level'] === 60 && e['code'] === 'SKEIN_ERR_INTERNAL')).toBe(true);
      remove();
      expect(source.listenerCount(event)).toBe(0);
    });
  }
});
