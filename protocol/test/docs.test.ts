import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, FIRST_EXTENSION_MESSAGE_TYPE, ProtocolErrorCode } from '../src/index.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

describe('docs/protocol.md agrees with the code', () => {
  it('documents every ProtocolErrorCode', () => {
    for (const code of Object.values(ProtocolErrorCode)) {
      expect(doc, code).toContain(`\`${code}\``);
    }
  });

  it('lists every close code with its number and retryable flag', () => {
    for (const info of CLOSE_CODES) {
      const row = `| ${info.name} | ${info.code} | ${info.retryable ? 'yes' : 'no'} |`;
      expect(doc, info.name).toContain(row);
    }
    const rows = doc.split('\n').filter((line) => /^\| \w+ \| \d{4} \| (yes|no) \|/.test(line));
    expect(rows).toHaveLength(CLOSE_CODES.length);
  });

  it('states the reserved extension range', () => {
    expect(doc).toContain(`**≥ ${FIRST_EXTENSION_MESSAGE_TYPE}**`);
  });
});
