// Preloaded into a server process (`node --import <this> …`): at exit it writes the files of
// every CommonJS module the process loaded, one per line, to SKEIN_TEST_MODULES_FILE.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const file = process.env.SKEIN_TEST_MODULES_FILE;
const require = createRequire(import.meta.url);
if (file) process.on('exit', () => writeFileSync(file, Object.keys(require.cache).join('\n')));
