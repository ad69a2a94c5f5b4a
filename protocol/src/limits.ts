/**
 * Decoder limits. Every limit is an option with a safe default; the bytes actually present
 * always bound lengths too, whatever the limit says.
 */

export interface DecodeLimits {
  /** Largest `varUint8Array` (sync data, awareness update) accepted. Default 2^31. */
  maxBytesLength?: number;
  /** Largest entry count of an awareness update. Default 100 000. */
  maxAwarenessEntries?: number;
  /** Largest string (auth reason, awareness state JSON) in UTF-8 bytes. Default: maxBytesLength. */
  maxStringBytes?: number;
}

/** The limits in force when none are given. */
export const DEFAULT_DECODE_LIMITS: Readonly<Required<DecodeLimits>> = Object.freeze({
  maxBytesLength: 2 ** 31,
  maxAwarenessEntries: 100_000,
  maxStringBytes: 2 ** 31,
});

export interface ResolvedLimits {
  readonly maxBytesLength: number;
  readonly maxAwarenessEntries: number;
  readonly maxStringBytes: number;
}

/**
 * Fill in defaults. Limits are compared as `value <= limit`, so a NaN limit rejects every
 * length (fails closed) and Infinity disables the limit (the input size still bounds it).
 */
export function resolveLimits(limits: DecodeLimits | undefined): ResolvedLimits {
  if (limits === undefined) {
    return DEFAULT_DECODE_LIMITS;
  }
  const maxBytesLength = limits.maxBytesLength ?? DEFAULT_DECODE_LIMITS.maxBytesLength;
  return {
    maxBytesLength,
    maxAwarenessEntries: limits.maxAwarenessEntries ?? DEFAULT_DECODE_LIMITS.maxAwarenessEntries,
    maxStringBytes: limits.maxStringBytes ?? maxBytesLength,
  };
}
