#!/usr/bin/env node
// Rewrites the table between the markers in docs/errors.md from the built error registry
// (server/dist). Run after `pnpm build`: `node scripts/gen-errors-doc.mjs`.
// server/test/errors-doc.test.ts fails when the doc and the registry disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { ERRORS } from '../server/dist/errors/registry.js';

const path = new URL('../docs/errors.md', import.meta.url);
const doc = readFileSync(path, 'utf8');
const cell = (n) => (n === undefined ? '—' : String(n));
const rows = Object.entries(ERRORS).map(
  ([code, s]) => `| \`${code}\` | ${cell(s.httpStatus)} | ${cell(s.closeCode)} | ${cell(s.exitCode)} | ${s.summary.replaceAll('|', '\\|')} |`,
);
const table = ['| code | HTTP | close | exit | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
const start = '<!-- errors:start -->';
const end = '<!-- errors:end -->';
const i = doc.indexOf(start);
const j = doc.indexOf(end);
if (i < 0 || j < 0) throw new Error('markers not found in docs/errors.md');
writeFileSync(path, `${doc.slice(0, i + start.length)}\n${table}\n${doc.slice(j)}`);
process.stdout.write(`docs/errors.md: ${rows.length} codes\n`);
