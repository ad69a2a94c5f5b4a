import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../src/errors/registry.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of the error table: | `CODE` | http | close | exit | summary | */
function documentedErrors(): Map<string, { http: string; close: string; exit: string }> {
  const rows = new Map<string, { http: string; close: string; exit: string }>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`(SKEIN_ERR_[A-Z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|/.exec(line);
    if (m) rows.set(m[1]!, { http: m[2]!.trim(), close: m[3]!.trim(), exit: m[4]!.trim() });
  }
  return rows;
}

const cell = (n: number | undefined): string => (n === undefined ? '—' : String(n));

describe('docs/errors.md agrees with the error registry', () => {
  const documented = documentedErrors();

  it('documents exactly the registered codes', () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it.each(Object.entries(ERRORS))('%s has the documented HTTP status, close code and exit status', (code, spec) => {
    const row = documented.get(code);
    expect(row).toBeDefined();
    const s = spec as { httpStatus?: number; closeCode?: number; exitCode?: number };
    expect(row).toEqual({ http: cell(s.httpStatus), close: cell(s.closeCode), exit: cell(s.exitCode) });
  });
});
