import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../server/src/logging/logger.js';

/** A logger whose JSON lines are kept in `lines`, for tests that assert on logged codes. */
export function capturingLogger(level: 'debug' | 'info' | 'warn' = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(level, sink), lines };
}
