import { readFileSync } from 'node:fs';

/** The @skein/server version (read from its package.json next to `dist/` or `src/`). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
