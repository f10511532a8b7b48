/**
 * Turning a DBC file's bytes into text.
 *
 * @module
 */

/**
 * Decodes a DBC file's bytes: UTF-8 when they are valid UTF-8, else Latin-1
 * (Windows-1252, what Vector's tools write; cantools' corpus has such files).
 *
 * @param bytes The file's bytes.
 * @returns Its text, without a byte order mark.
 * @example
 * ```ts
 * import { decodeDbcText } from "./text.ts";
 * if (decodeDbcText(Uint8Array.of(0x22, 0xe4, 0x22)) !== '"\u00e4"') throw new Error();
 * if (decodeDbcText(Uint8Array.of(0xc3, 0xa4)) !== "\u00e4") throw new Error();
 * ```
 */
export function decodeDbcText(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder("latin1").decode(bytes);
  }
}
