/**
 * UTF-8 text codecs. TextEncoder/TextDecoder exist in every browser and in Node ≥ 11 as
 * globals, but this package compiles against plain ES2022 (no DOM, no Node types) so that
 * nothing else from those environments can creep in; the two globals are typed here.
 */

interface Utf8Decoder {
  decode(input: Uint8Array): string;
}

interface Utf8Encoder {
  encode(input: string): Uint8Array;
}

interface TextCodecGlobals {
  TextDecoder: new (label: 'utf-8', options: { fatal: boolean; ignoreBOM: boolean }) => Utf8Decoder;
  TextEncoder: new () => Utf8Encoder;
}

const codecs = globalThis as unknown as TextCodecGlobals;

/**
 * Strict UTF-8: invalid sequences throw (`fatal`); a leading BOM is kept as U+FEFF
 * (`ignoreBOM`), as lib0 does, so a string survives decode → encode byte for byte.
 */
export const utf8Decoder: Utf8Decoder = new codecs.TextDecoder('utf-8', {
  fatal: true,
  ignoreBOM: true,
});

export const utf8Encoder: Utf8Encoder = new codecs.TextEncoder();
