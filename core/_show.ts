// Private: bad values quoted for error messages, the same way in the codecs
// and the filter checks. A missing value says "is missing", never "got nothing".

/**
 * A short, quoted rendering of a bad value for an error message.
 *
 * @param value Any value.
 * @returns Its JSON text, cut at 40 characters.
 * @example
 * ```ts
 * import { show } from "./_show.ts";
 * if (show("abc") !== '"abc"') throw new Error();
 * ```
 */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = typeof value === "bigint" ? `${value}n` : Object.prototype.toString.call(value);
  }
  return text.length > 40 ? text.slice(0, 40) + "\u2026" : text;
}

/**
 * The message for a value of the wrong type or range.
 *
 * @param subject What the value is (`Filter 0: can_mask`).
 * @param expected What it must be (`an integer 0-0xFFFFFFFF`).
 * @param value The value given.
 * @returns `<subject> is missing` for `undefined`, else
 *   `<subject> must be <expected>, got <value>`.
 * @example
 * ```ts
 * import { mustBe } from "./_show.ts";
 * if (mustBe("period", "a number", undefined) !== "period is missing") throw new Error();
 * ```
 */
export function mustBe(subject: string, expected: string, value: unknown): string {
  if (value === undefined) return `${subject} is missing`;
  return `${subject} must be ${expected}, got ${show(value)}`;
}
