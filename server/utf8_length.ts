// The size limits count bytes on the wire, but a text message arrives as a
// JavaScript string: its UTF-8 length, counted without encoding it.

/**
 * A text's size in UTF-8 bytes; a lone surrogate counts 3, as the U+FFFD
 * that replaces it would.
 *
 * @param text The text.
 * @returns Its UTF-8 length.
 * @example
 * ```ts
 * import { utf8Length } from "./utf8_length.ts";
 * const text = "aé€😀\ud800";
 * if (utf8Length(text) !== 1 + 2 + 3 + 4 + 3) throw new Error(String(utf8Length(text)));
 * if (utf8Length("aé€😀") !== new TextEncoder().encode("aé€😀").length) throw new Error();
 * ```
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // the pair's two units make one 4-byte character
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}
