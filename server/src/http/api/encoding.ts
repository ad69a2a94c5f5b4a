import { decodeStateVector } from '@skein/protocol';
import { SkeinError } from '../../errors/skein-error.js';

/** base64 (standard) of bytes. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict base64 / base64url (padding optional) → bytes; SKEIN_ERR_BAD_BASE64 for anything else. */
export function fromBase64(text: string, what: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/_-]*$/.test(clean) || clean.length % 4 === 1 || (/[+/]/.test(clean) && /[-_]/.test(clean))) {
    throw new SkeinError('SKEIN_ERR_BAD_BASE64', `${what} is not base64 or base64url`);
  }
  return new Uint8Array(Buffer.from(clean, /[-_]/.test(clean) ? 'base64url' : 'base64'));
}

/** A base64 Yjs state vector → its bytes, checked to decode; SKEIN_ERR_BAD_BASE64 otherwise. */
export function stateVectorParam(text: string): Uint8Array {
  const bytes = fromBase64(text, 'sv');
  try {
    decodeStateVector(bytes); // strict: bounds and trailing bytes checked
  } catch (cause) {
    throw new SkeinError('SKEIN_ERR_BAD_BASE64', 'sv does not decode to a Yjs state vector', { cause });
  }
  if (bytes.byteLength === 0) throw new SkeinError('SKEIN_ERR_BAD_BASE64', 'sv is empty');
  return bytes;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
