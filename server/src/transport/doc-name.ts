import { SkeinError } from '../errors/skein-error.js';

const MAX_DOC_NAME_BYTES = 255;
// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const encoder = new TextEncoder();

/**
 * The y-websocket URL convention: the document name is the percent-decoded request path
 * without its leading slash (the query string is ignored). Valid names are 1–255 bytes of
 * UTF-8 with no control characters; anything else throws SKEIN_ERR_BAD_DOC_NAME.
 */
export function docNameFromUrl(url: string | undefined): string {
  const raw = (url ?? '').split('?', 1)[0] ?? '';
  const path = raw.startsWith('/') ? raw.slice(1) : raw;
  let name: string;
  try {
    name = decodeURIComponent(path);
  } catch {
    throw new SkeinError('SKEIN_ERR_BAD_DOC_NAME', 'document name is not valid percent-encoded UTF-8');
  }
  validateDocName(name);
  return name;
}

/** Throws SKEIN_ERR_BAD_DOC_NAME unless `name` is 1–255 bytes of UTF-8 without control characters. */
export function validateDocName(name: string): void {
  if (name.length === 0) throw new SkeinError('SKEIN_ERR_BAD_DOC_NAME', 'document name is empty');
  if (CONTROL.test(name)) {
    throw new SkeinError('SKEIN_ERR_BAD_DOC_NAME', 'document name contains a control character');
  }
  if (!name.isWellFormed()) {
    throw new SkeinError('SKEIN_ERR_BAD_DOC_NAME', 'document name is not well-formed Unicode');
  }
  if (encoder.encode(name).byteLength > MAX_DOC_NAME_BYTES) {
    throw new SkeinError('SKEIN_ERR_BAD_DOC_NAME', `document name is longer than ${MAX_DOC_NAME_BYTES} bytes`);
  }
}
