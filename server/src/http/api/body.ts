import type { IncomingMessage } from 'node:http';
import { SkeinError } from '../../errors/skein-error.js';

/**
 * Read a request body of at most `maxBytes`: SKEIN_ERR_BODY_TOO_LARGE as soon as it is
 * longer (by Content-Length or by what arrives; the rest is discarded, never buffered).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (!failed) resolve(new Uint8Array(Buffer.concat(chunks, size)));
    });
    req.once('error', (err) => {
      if (!failed) reject(new SkeinError('SKEIN_ERR_BAD_REQUEST', 'the request body could not be read', { cause: err }));
      failed = true;
    });
  });
}

function tooLarge(maxBytes: number): SkeinError {
  return new SkeinError('SKEIN_ERR_BODY_TOO_LARGE', `the body is larger than ${maxBytes} bytes (--api-max-body-bytes)`);
}
