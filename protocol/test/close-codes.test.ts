import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, CloseCode, closeCodeInfo, isRetryableClose } from '../src/index.js';

describe('close codes', () => {
  it('lists every CloseCode exactly once', () => {
    expect(CLOSE_CODES.map((c) => c.code).sort()).toEqual(Object.values(CloseCode).sort());
    expect(new Set(CLOSE_CODES.map((c) => c.code)).size).toBe(CLOSE_CODES.length);
  });

  it("agrees with y-websocket's default shouldReconnect for Skein's 4xxx codes", () => {
    // y-websocket/src/y-websocket.js: reconnect unless 4400 <= code < 4500.
    for (const { code, retryable, name } of CLOSE_CODES) {
      if (code >= 4000) expect(retryable, name).toBe(!(code >= 4400 && code < 4500));
    }
  });

  it('treats unknown codes as retryable', () => {
    expect(closeCodeInfo(4999)).toBeUndefined();
    expect(isRetryableClose(4999)).toBe(true);
    expect(isRetryableClose(CloseCode.MalformedMessage)).toBe(false);
    expect(isRetryableClose(CloseCode.GoingAway)).toBe(true);
  });
});
